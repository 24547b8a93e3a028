//! The scheduler's reads and writes: due schedules with their compare-and-set, failure counts
//! from the ledger, expired schedules, ledger retention, stale jobs and the status backlogs.

use chrono::{Duration, Utc};
use dashi_core::{OrgId, UserId};
use dashi_store::{
    Claim, DataSourceFields, DataSourceId, FirstOrg, NewJob, NewQuery, Outcome, Query, QueryFields, QueryUpdate, Store,
};
use dashi_testkit::TestDb;
use serde_json::{Map, Value, json};

use crate::open;

struct Fixture {
    store: Store,
    org: OrgId,
    user: UserId,
    source: DataSourceId,
}

async fn fixture(db: &TestDb) -> Fixture {
    let store = open(db).await;
    let first = FirstOrg {
        name: "Acme".into(),
        slug: "default".into(),
        settings: json!({}),
        admin_name: "Ada".into(),
        admin_email: "ada@example.com".into(),
        admin_password_hash: "unused".into(),
        admin_api_key: "k".repeat(40),
        admin_group_permissions: dashi_core::ADMIN_GROUP_PERMISSIONS,
        default_group_permissions: dashi_core::DEFAULT_GROUP_PERMISSIONS,
    };
    let (org, user) = dashi_store::create_org_with_admin(&store, &first, Utc::now()).await.unwrap();
    let group = dashi_store::group_by_name(&store, org, "default").await.unwrap().unwrap();
    let fields = DataSourceFields {
        name: "Shop".into(),
        type_name: "pg".into(),
        encrypted_options: String::new(),
        queue_name: "adhoc".into(),
        scheduled_queue_name: "scheduled".into(),
        concurrency_limit: None,
        timeout_secs: None,
    };
    let source = dashi_store::insert_data_source(&store, org, &fields, group.id, Utc::now()).await.unwrap().id;
    Fixture { store, org, user, source }
}

async fn scheduled(fixture: &Fixture, name: &str, schedule: Option<Value>) -> Query {
    let fields = QueryFields {
        name: name.into(),
        description: None,
        query_text: format!("select '{name}'"),
        query_hash: name.into(),
        data_source_id: Some(fixture.source),
        schedule,
        options: Map::new(),
        tags: Vec::new(),
        is_draft: false,
        is_archived: false,
    };
    let new = NewQuery {
        org_id: fixture.org,
        user_id: fixture.user,
        api_key: dashi_core::generate_api_key(),
        fields,
        latest_query_data_id: None,
        link_latest_result: false,
    };
    dashi_store::insert_query(&fixture.store, &new, &[], Utc::now()).await.unwrap()
}

fn job(fixture: &Fixture, query: &Query, run_key: &str, queue: &str) -> NewJob {
    NewJob {
        org_id: Some(fixture.org),
        queue: queue.into(),
        kind: "execute_query".into(),
        payload: json!({}),
        data_source_id: Some(fixture.source),
        query_id: Some(query.id.0),
        query_hash: Some(query.query_hash.clone()),
        dedupe_key: None,
        run_key: Some(run_key.into()),
        max_attempts: 1,
        run_after: Utc::now() - Duration::seconds(1),
    }
}

/// Enqueues a job, claims it and ends it with `outcome`.
async fn finished(fixture: &Fixture, new: &NewJob, outcome: Outcome) {
    let store = &fixture.store;
    let enqueued = dashi_store::enqueue(store, new, Utc::now()).await.unwrap();
    let Claim::Claimed(job) =
        dashi_store::claim(store, &enqueued.job.id, "w", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap()
    else {
        panic!("the job should be claimable");
    };
    assert!(dashi_store::finish(store, &job.id, job.fence, &outcome, Utc::now()).await.unwrap());
}

dashi_testkit::backend_tests! {
    async fn a_new_schedule_is_due_and_advances_once(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = scheduled(&fixture, "hourly", Some(json!({"interval": 3600}))).await;
        scheduled(&fixture, "unscheduled", None).await;
        let now = Utc::now() + Duration::seconds(1);
        let due = dashi_store::due_scheduled_queries(&fixture.store, now, None, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, query.id);
        assert_eq!(due[0].failures, 0);
        let next = due[0].due_at + Duration::hours(1);
        // Two schedulers advancing the same due run: exactly one wins.
        assert!(dashi_store::advance_schedule(&fixture.store, query.id, due[0].due_at, Some(next), 0).await.unwrap());
        assert!(!dashi_store::advance_schedule(&fixture.store, query.id, due[0].due_at, Some(next), 0).await.unwrap());
        assert!(dashi_store::due_scheduled_queries(&fixture.store, now, None, 10).await.unwrap().is_empty());
        let later = dashi_store::due_scheduled_queries(&fixture.store, next, None, 10).await.unwrap();
        assert_eq!(later[0].due_at, next);
    }

    async fn editing_the_schedule_makes_it_due_afresh_and_archiving_stops_it(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = scheduled(&fixture, "q", Some(json!({"interval": 3600}))).await;
        let due = dashi_store::due_scheduled_queries(&fixture.store, Utc::now(), None, 10).await.unwrap();
        let far = Utc::now() + Duration::days(30);
        assert!(dashi_store::advance_schedule(&fixture.store, query.id, due[0].due_at, Some(far), 0).await.unwrap());
        // A change elsewhere keeps the schedule's place.
        let renamed = QueryFields { name: "renamed".into(), ..query.fields() };
        let update = QueryUpdate { fields: renamed, latest_query_data_id: None, modified_by: fixture.user };
        let query = dashi_store::update_query(&fixture.store, &query, &update, Utc::now()).await.unwrap();
        assert!(dashi_store::due_scheduled_queries(&fixture.store, Utc::now(), None, 10).await.unwrap().is_empty());
        // A new schedule is due at once.
        let rescheduled = QueryFields { schedule: Some(json!({"interval": 60})), ..query.fields() };
        let update = QueryUpdate { fields: rescheduled, latest_query_data_id: None, modified_by: fixture.user };
        let query = dashi_store::update_query(&fixture.store, &query, &update, Utc::now()).await.unwrap();
        let soon = Utc::now() + Duration::seconds(1);
        assert_eq!(dashi_store::due_scheduled_queries(&fixture.store, soon, None, 10).await.unwrap().len(), 1);
        dashi_store::archive_query(&fixture.store, &query, fixture.user, Utc::now()).await.unwrap();
        assert!(dashi_store::due_scheduled_queries(&fixture.store, soon, None, 10).await.unwrap().is_empty());
    }

    async fn due_queries_come_in_pages(db: TestDb) {
        let fixture = fixture(&db).await;
        for index in 0..5 {
            scheduled(&fixture, &format!("q{index}"), Some(json!({"interval": 60}))).await;
        }
        let now = Utc::now() + Duration::seconds(1);
        let first = dashi_store::due_scheduled_queries(&fixture.store, now, None, 3).await.unwrap();
        let cursor = first.last().map(|due| (due.due_at, due.id));
        let second = dashi_store::due_scheduled_queries(&fixture.store, now, cursor, 3).await.unwrap();
        let mut ids: Vec<i64> = first.iter().chain(&second).map(|due| due.id.0).collect();
        assert_eq!((first.len(), second.len()), (3, 2));
        ids.dedup();
        assert_eq!(ids.len(), 5);
    }

    async fn failures_count_scheduled_runs_since_the_last_success(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = scheduled(&fixture, "flaky", Some(json!({"interval": 60}))).await;
        let failed = || Outcome::Failed { error: "boom".into() };
        finished(&fixture, &job(&fixture, &query, "refresh:1:1", "scheduled"), failed()).await;
        finished(&fixture, &job(&fixture, &query, "refresh:1:2", "scheduled"), Outcome::Succeeded { result_id: None }).await;
        finished(&fixture, &job(&fixture, &query, "refresh:1:3", "scheduled"), failed()).await;
        finished(&fixture, &job(&fixture, &query, "refresh:1:4", "scheduled"), failed()).await;
        // A failed run someone started by hand is not a scheduled failure.
        finished(&fixture, &job(&fixture, &query, "manual", "adhoc"), failed()).await;
        let due = dashi_store::due_scheduled_queries(&fixture.store, Utc::now() + Duration::seconds(1), None, 10).await.unwrap();
        assert_eq!(due[0].failures, 2);
    }

    async fn schedules_past_their_until_date_are_found_and_cleared(db: TestDb) {
        let fixture = fixture(&db).await;
        let expired = scheduled(&fixture, "old", Some(json!({"interval": 60, "until": "2024-01-01"}))).await;
        scheduled(&fixture, "current", Some(json!({"interval": 60, "until": "2999-01-01"}))).await;
        scheduled(&fixture, "forever", Some(json!({"interval": 60}))).await;
        let found = dashi_store::expired_schedules(&fixture.store, Utc::now().date_naive(), 100).await.unwrap();
        assert_eq!(found, vec![(fixture.org, expired.id)]);
        let cleared = dashi_store::unschedule_query(&fixture.store, &expired, Utc::now()).await.unwrap();
        assert_eq!(cleared.schedule, None);
        assert_eq!(cleared.version, expired.version + 1);
        assert_eq!(cleared.last_modified_by_id, expired.last_modified_by_id);
        assert!(dashi_store::expired_schedules(&fixture.store, Utc::now().date_naive(), 100).await.unwrap().is_empty());
    }

    async fn old_finished_jobs_are_pruned_and_stale_queued_ones_found(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = scheduled(&fixture, "q", None).await;
        finished(&fixture, &job(&fixture, &query, "done", "scheduled"), Outcome::Succeeded { result_id: None }).await;
        let queued = dashi_store::enqueue(&fixture.store, &job(&fixture, &query, "waiting", "scheduled"), Utc::now()).await.unwrap();
        let now = Utc::now();
        assert!(dashi_store::stale_queued_jobs(&fixture.store, now - Duration::minutes(1), 10).await.unwrap().is_empty());
        let stale = dashi_store::stale_queued_jobs(&fixture.store, now + Duration::seconds(1), 10).await.unwrap();
        assert_eq!(stale, vec![(queued.job.id.clone(), "scheduled".to_owned())]);
        assert_eq!(dashi_store::prune_finished_jobs(&fixture.store, now - Duration::days(1), 10).await.unwrap(), 0);
        assert_eq!(dashi_store::prune_finished_jobs(&fixture.store, now + Duration::seconds(1), 10).await.unwrap(), 1);
        // The queued job stays.
        assert!(dashi_store::job_by_id(&fixture.store, &queued.job.id).await.unwrap().is_some());
    }

    async fn backlogs_group_active_jobs_by_queue_and_data_source(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = scheduled(&fixture, "q", None).await;
        let first = dashi_store::enqueue(&fixture.store, &job(&fixture, &query, "a", "scheduled"), Utc::now()).await.unwrap();
        dashi_store::enqueue(&fixture.store, &job(&fixture, &query, "b", "scheduled"), Utc::now()).await.unwrap();
        dashi_store::enqueue(&fixture.store, &job(&fixture, &query, "c", "adhoc"), Utc::now()).await.unwrap();
        finished(&fixture, &job(&fixture, &query, "d", "adhoc"), Outcome::Succeeded { result_id: None }).await;
        dashi_store::claim(&fixture.store, &first.job.id, "w", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap();
        let backlogs = dashi_store::backlogs(&fixture.store).await.unwrap();
        let queue = |name: &str| backlogs.queues.iter().find(|(queue, _)| queue == name).map(|(_, backlog)| backlog.clone());
        let scheduled = queue("scheduled").unwrap();
        assert_eq!((scheduled.queued, scheduled.running), (1, 1));
        assert!(scheduled.oldest_queued_at.is_some());
        assert_eq!((queue("adhoc").unwrap().queued, queue("adhoc").unwrap().running), (1, 0));
        assert_eq!(backlogs.data_sources.len(), 1);
        assert_eq!((backlogs.data_sources[0].1.queued, backlogs.data_sources[0].1.running), (2, 1));
        assert_eq!(dashi_store::running_jobs(&fixture.store, 10).await.unwrap().len(), 1);
        let counts = dashi_store::object_counts(&fixture.store).await.unwrap();
        assert_eq!(counts.queries, 1);
        let (database, _) = dashi_store::database_sizes(&fixture.store).await.unwrap();
        assert!(database > 0);
    }
}
