//! The job ledger: dedupe, run keys, claims with fences, parking, cancel and reclaim.

use chrono::{Duration, Utc};
use dashi_core::OrgId;
use dashi_store::{
    Claim, DataSourceFields, JobId, JobState, NewJob, Outcome, Store, claim, due_job_ids, enqueue, finish, hand_back,
    insert_data_source, job_by_id, reclaim_expired, renew, request_cancel,
};
use dashi_testkit::TestDb;

use crate::open;

async fn org_and_source(store: &Store) -> (OrgId, dashi_store::DataSourceId) {
    let first = dashi_store::FirstOrg {
        name: "Acme".into(),
        slug: "default".into(),
        settings: serde_json::json!({}),
        admin_name: "A".into(),
        admin_email: "a@example.com".into(),
        admin_password_hash: "x".into(),
        admin_api_key: "k".repeat(40),
        admin_group_permissions: dashi_core::ADMIN_GROUP_PERMISSIONS,
        default_group_permissions: dashi_core::DEFAULT_GROUP_PERMISSIONS,
    };
    let (org, _) = dashi_store::create_org_with_admin(store, &first, Utc::now()).await.unwrap();
    let group = dashi_store::group_by_name(store, org, "default").await.unwrap().unwrap();
    let fields = DataSourceFields {
        name: "warehouse".into(),
        type_name: "pg".into(),
        encrypted_options: String::new(),
        queue_name: "adhoc".into(),
        scheduled_queue_name: "scheduled".into(),
        concurrency_limit: Some(1),
        timeout_secs: None,
    };
    let source = insert_data_source(store, org, &fields, group.id, Utc::now()).await.unwrap();
    (org, source.id)
}

fn new_job(org: OrgId, source: dashi_store::DataSourceId, dedupe: Option<&str>, run_key: Option<&str>) -> NewJob {
    NewJob {
        org_id: Some(org),
        queue: "adhoc".into(),
        kind: "execute_query".into(),
        payload: serde_json::json!({"query": "select 1"}),
        data_source_id: Some(source),
        query_id: None,
        query_hash: Some("h".into()),
        dedupe_key: dedupe.map(str::to_owned),
        run_key: run_key.map(str::to_owned),
        max_attempts: 2,
        run_after: Utc::now() - Duration::seconds(1),
    }
}

fn claimed(outcome: Claim) -> dashi_store::Job {
    match outcome {
        Claim::Claimed(job) => *job,
        other => panic!("expected a claim, got {other:?}"),
    }
}

dashi_testkit::backend_tests! {
    async fn identical_work_shares_one_active_job(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let first = enqueue(&store, &new_job(org, source, Some("ds:h"), None), Utc::now()).await.unwrap();
        let second = enqueue(&store, &new_job(org, source, Some("ds:h"), None), Utc::now()).await.unwrap();
        assert!(first.created && !second.created);
        assert_eq!(first.job.id, second.job.id);
        // Once the first finishes, the same work makes a new job.
        let job = claimed(claim(&store, &first.job.id, "w1", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap());
        assert!(finish(&store, &job.id, job.fence, &Outcome::Succeeded { result_id: None }, Utc::now()).await.unwrap());
        let third = enqueue(&store, &new_job(org, source, Some("ds:h"), None), Utc::now()).await.unwrap();
        assert!(third.created);
        assert_ne!(third.job.id, first.job.id);
    }

    async fn a_run_key_is_enqueued_once_ever(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let first = enqueue(&store, &new_job(org, source, None, Some("sched:1:2026")), Utc::now()).await.unwrap();
        let job = claimed(claim(&store, &first.job.id, "w", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap());
        finish(&store, &job.id, job.fence, &Outcome::Failed { error: "boom".into() }, Utc::now()).await.unwrap();
        let again = enqueue(&store, &new_job(org, source, None, Some("sched:1:2026")), Utc::now()).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.job.id, first.job.id);
    }

    async fn one_claimant_wins_and_stale_fences_cannot_write(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let id = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let soon = Utc::now() + Duration::seconds(30);
        let winner = claimed(claim(&store, &id, "w1", soon, Utc::now()).await.unwrap());
        assert!(matches!(claim(&store, &id, "w2", soon, Utc::now()).await.unwrap(), Claim::Unavailable));
        assert!(renew(&store, &id, winner.fence, soon, Utc::now()).await.unwrap());
        assert!(!renew(&store, &id, winner.fence + 1, soon, Utc::now()).await.unwrap());
        assert!(!finish(&store, &id, winner.fence - 1, &Outcome::Cancelled, Utc::now()).await.unwrap());
        assert!(finish(&store, &id, winner.fence, &Outcome::Succeeded { result_id: None }, Utc::now()).await.unwrap());
        assert_eq!(job_by_id(&store, &id).await.unwrap().unwrap().state, JobState::Succeeded);
    }

    async fn a_busy_source_parks_its_jobs(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let first = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let second = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let soon = Utc::now() + Duration::seconds(30);
        let running = claimed(claim(&store, &first, "w1", soon, Utc::now()).await.unwrap());
        assert!(matches!(claim(&store, &second, "w2", soon, Utc::now()).await.unwrap(), Claim::Parked));
        // A scan skips the parked job, so work of other sources queued after it is still seen.
        let mut sourceless = new_job(org, source, None, None);
        sourceless.data_source_id = None;
        let other = enqueue(&store, &sourceless, Utc::now()).await.unwrap().job.id;
        assert_eq!(due_job_ids(&store, &["adhoc"], Utc::now(), 1).await.unwrap(), vec![other.clone()]);
        finish(&store, &first, running.fence, &Outcome::Succeeded { result_id: None }, Utc::now()).await.unwrap();
        assert_eq!(due_job_ids(&store, &["adhoc"], Utc::now(), 10).await.unwrap(), vec![second.clone(), other]);
        claimed(claim(&store, &second, "w2", soon, Utc::now()).await.unwrap());
    }

    async fn cancel_and_reclaim(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let queued = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let cancelled = request_cancel(&store, &queued, Utc::now()).await.unwrap().unwrap();
        assert_eq!(cancelled.state, JobState::Cancelled);
        assert!(request_cancel(&store, &JobId("nope".into()), Utc::now()).await.unwrap().is_none());

        // A worker that dies leaves an expired lease: the job is retried once, then failed.
        let id = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let past = Utc::now() - Duration::seconds(1);
        let first = claimed(claim(&store, &id, "dead", past, Utc::now()).await.unwrap());
        assert_eq!(reclaim_expired(&store, Utc::now()).await.unwrap(), (1, 0));
        assert!(!finish(&store, &id, first.fence, &Outcome::Succeeded { result_id: None }, Utc::now()).await.unwrap());
        claimed(claim(&store, &id, "dead-again", past, Utc::now()).await.unwrap());
        assert_eq!(reclaim_expired(&store, Utc::now()).await.unwrap(), (0, 1));
        let failed = job_by_id(&store, &id).await.unwrap().unwrap();
        assert_eq!(failed.state, JobState::Failed);
        assert!(failed.error.unwrap().contains("stopped responding"));
    }

    async fn a_handed_back_job_keeps_its_attempts(db: TestDb) {
        let store = open(&db).await;
        let (org, source) = org_and_source(&store).await;
        let id = enqueue(&store, &new_job(org, source, None, None), Utc::now()).await.unwrap().job.id;
        let soon = Utc::now() + Duration::seconds(30);
        let first = claimed(claim(&store, &id, "stopping", soon, Utc::now()).await.unwrap());
        assert!(hand_back(&store, &id, first.fence, Utc::now()).await.unwrap());
        assert!(!hand_back(&store, &id, first.fence, Utc::now()).await.unwrap(), "only a running claim can be handed back");
        let again = claimed(claim(&store, &id, "next", soon, Utc::now()).await.unwrap());
        assert_eq!(again.attempts, 1, "a graceful hand-back does not use up a retry");
        assert!(again.fence > first.fence);
    }
}
