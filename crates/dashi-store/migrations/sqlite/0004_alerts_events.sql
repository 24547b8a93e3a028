-- Retention deletes events by age across every organization; without this index each pruning
-- batch would scan the whole table.
CREATE INDEX events_created_at ON events (created_at);
