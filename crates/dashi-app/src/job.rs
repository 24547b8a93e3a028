//! Job status and cancellation, as `/api/jobs/<id>` exposes them.

use dashi_store::{Job, JobId, JobState};

use crate::actor::Actor;
use crate::{App, Error, Result};

/// A job with what a status page shows about it.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub job: Job,
    /// Jobs of the same queue ahead of this one, while it is queued.
    pub position: Option<i64>,
    /// Redash compat: what the job produced besides a query result. A finished schema job
    /// carries the schema here, because Redash's web client reads it from the job.
    pub result: Option<serde_json::Value>,
}

impl App {
    /// The job, if it belongs to the actor's organization. Unknown ids are a 404, never a 500
    /// (Redash answers 500 there).
    pub async fn job_status(&self, actor: &Actor, id: &str) -> Result<JobStatus> {
        let job = self.job_in_org(actor, id).await?;
        let position = if job.state == JobState::Queued {
            Some(dashi_store::position_in_queue(&self.store, &job).await?)
        } else {
            None
        };
        let result = match (job.kind.as_str(), job.state, job.data_source_id) {
            (dashi_core::REFRESH_SCHEMA_JOB, JobState::Succeeded, Some(data_source)) => {
                dashi_store::cached_schema(&self.store, data_source).await?.map(|(schema, _)| schema)
            }
            _ => None,
        };
        Ok(JobStatus { job, position, result })
    }

    async fn job_in_org(&self, actor: &Actor, id: &str) -> Result<Job> {
        dashi_store::job_by_id(&self.store, &JobId(id.to_owned()))
            .await?
            .filter(|job| job.org_id == Some(actor.org_id()))
            .ok_or(Error::NotFound("job"))
    }

    /// `DELETE /api/jobs/<id>`: any logged-in member of the org may cancel, as in Redash.
    pub async fn cancel_job(&self, actor: &Actor, id: &str) -> Result<Job> {
        let job = self.job_in_org(actor, id).await?;
        Ok(self.queue.cancel(&job.id).await?.unwrap_or(job))
    }

    /// Polls the ledger until the job finished or `wait` passed; returns it as it is then.
    pub(crate) async fn wait_for_job(&self, id: &JobId, wait: std::time::Duration) -> Result<Job> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let job = dashi_store::job_by_id(&self.store, id).await?.ok_or(Error::NotFound("job"))?;
            if job.state.is_finished() || tokio::time::Instant::now() >= deadline {
                return Ok(job);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
