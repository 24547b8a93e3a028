-- The scheduler's index into the schedules: when each scheduled query is next due (before any
-- back-off after failures). Written with the schedule (NULL when unscheduled) and advanced by
-- the leading scheduler in the same transaction that enqueues the run, so each tick reads only
-- the queries that are due instead of every schedule.
ALTER TABLE queries ADD COLUMN schedule_due_at TIMESTAMPTZ;
CREATE INDEX queries_schedule_due_at ON queries (schedule_due_at);
-- Existing schedules are due at once (the first run after the upgrade, as Redash does when it
-- has no record of a last run), then follow their schedule.
UPDATE queries SET schedule_due_at = created_at WHERE schedule IS NOT NULL AND is_archived = false;
-- Status and reconciliation: queued jobs of a queue by age.
CREATE INDEX jobs_state_created_at ON jobs (state, created_at);
