//! Scheduled refreshes against a real ledger: exactly once per due run across restarts, crashes
//! and two leaders; Redash's back-off; `until`; cron in a time zone; default parameter values.

use chrono::{DateTime, Duration, Utc};
use dashi_app::{App, AppSettings, SetupForm};
use dashi_core::{OrgId, UserId};
use dashi_scheduler::{RefreshCounts, clear_expired_schedules, refresh_due};
use dashi_store::{Claim, DataSourceFields, DataSourceId, Job, NewJob, NewQuery, Outcome, Query, QueryFields, QueryId, Store, StoreSettings};
use dashi_testkit::TestDb;
use serde_json::{Map, Value, json};

struct Fixture {
    app: App,
    org: OrgId,
    user: UserId,
    source: DataSourceId,
    _db: TestDb,
}

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&StoreSettings { url: db.url.clone(), max_connections: 4 }).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn app_on(store: Store) -> App {
    App::new(store, AppSettings::with_secrets("test-secret", "test-cookie-secret"))
}

async fn fixture(db: TestDb) -> Fixture {
    let app = app_on(open(&db).await);
    let form = SetupForm { name: "Ada".into(), email: "ada@example.com".into(), password: "password-1".into(), org_name: "Acme".into() };
    let admin = app.setup(&form).await.unwrap();
    let org = admin.org_id;
    let group = dashi_store::group_by_name(app.store(), org, "default").await.unwrap().unwrap();
    let fields = DataSourceFields {
        name: "shop".into(),
        type_name: "pg".into(),
        encrypted_options: String::new(),
        queue_name: "adhoc".into(),
        scheduled_queue_name: "scheduled".into(),
        concurrency_limit: None,
        timeout_secs: None,
    };
    let source = dashi_store::insert_data_source(app.store(), org, &fields, group.id, Utc::now()).await.unwrap().id;
    Fixture { app, org, user: admin.id, source, _db: db }
}

async fn scheduled(fixture: &Fixture, text: &str, schedule: Value, options: Map<String, Value>) -> Query {
    let fields = QueryFields {
        name: text.into(),
        description: None,
        query_text: text.into(),
        query_hash: dashi_core::query_hash(text),
        data_source_id: Some(fixture.source),
        schedule: Some(schedule),
        options,
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
    dashi_store::insert_query(fixture.app.store(), &new, &[], Utc::now()).await.unwrap()
}

/// Every job the ledger holds for `query`, however it ended.
async fn jobs_of(fixture: &Fixture, query: QueryId) -> Vec<Job> {
    let ids = dashi_store::due_job_ids(fixture.app.store(), &["scheduled"], Utc::now() + Duration::days(400), 1000).await.unwrap();
    let mut jobs = Vec::new();
    for id in ids {
        let job = dashi_store::job_by_id(fixture.app.store(), &id).await.unwrap().unwrap();
        if job.query_id == Some(query.0) {
            jobs.push(job);
        }
    }
    jobs
}

async fn due_at(fixture: &Fixture, query: QueryId) -> Option<DateTime<Utc>> {
    let due = dashi_store::due_scheduled_queries(fixture.app.store(), Utc::now() + Duration::days(400), None, 1000).await.unwrap();
    due.into_iter().find(|due| due.id == query).map(|due| due.due_at)
}

/// Runs a scheduled job to a failed end, as a worker would.
async fn fail(fixture: &Fixture, query: &Query, run_key: &str) {
    let store = fixture.app.store();
    let job = NewJob {
        org_id: Some(fixture.org),
        queue: "scheduled".into(),
        kind: "execute_query".into(),
        payload: json!({}),
        data_source_id: Some(fixture.source),
        query_id: Some(query.id.0),
        query_hash: None,
        dedupe_key: None,
        run_key: Some(run_key.into()),
        max_attempts: 1,
        run_after: Utc::now() - Duration::seconds(1),
    };
    let enqueued = dashi_store::enqueue(store, &job, Utc::now()).await.unwrap();
    let Claim::Claimed(job) = dashi_store::claim(store, &enqueued.job.id, "w", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap()
    else {
        panic!("claimable");
    };
    dashi_store::finish(store, &job.id, job.fence, &Outcome::Failed { error: "boom".into() }, Utc::now()).await.unwrap();
}

dashi_testkit::backend_tests! {
    async fn each_due_run_is_enqueued_once_across_restarts_crashes_and_two_leaders(db: TestDb) {
        let fixture = fixture(db).await;
        let every_minute = json!({"interval": 60});
        let query = scheduled(&fixture, "select 1", every_minute.clone(), Map::new()).await;
        let first_due = due_at(&fixture, query.id).await.unwrap();
        let now = first_due + Duration::seconds(1);
        let counts = refresh_due(&fixture.app, now).await.unwrap();
        assert_eq!(counts, RefreshCounts { enqueued: 1, ..RefreshCounts::default() });
        // A restarted scheduler at the same instant finds nothing left to do.
        assert_eq!(refresh_due(&fixture.app, now).await.unwrap(), RefreshCounts::default());
        assert_eq!(jobs_of(&fixture, query.id).await.len(), 1);
        assert_eq!(due_at(&fixture, query.id).await, Some(first_due + Duration::seconds(60)));

        // A leader that crashed after enqueueing but before advancing the schedule: its successor
        // computes the same run key and finds the job instead of adding one.
        let crashed = scheduled(&fixture, "select 2", every_minute.clone(), Map::new()).await;
        let crashed_due = due_at(&fixture, crashed.id).await.unwrap();
        let run_key = dashi_store::refresh_run_key(crashed.id, crashed_due);
        fixture.app.enqueue_scheduled_refresh(fixture.org, crashed.id, run_key.clone()).await.unwrap();
        let counts = refresh_due(&fixture.app, crashed_due + Duration::seconds(1)).await.unwrap();
        assert_eq!((counts.enqueued, counts.attached), (0, 1));
        let jobs = jobs_of(&fixture, crashed.id).await;
        assert_eq!(jobs.len(), 1);

        // Two schedulers that both believe they lead, on their own connections, at once.
        let both = scheduled(&fixture, "select 3", every_minute, Map::new()).await;
        let both_due = due_at(&fixture, both.id).await.unwrap();
        let other = app_on(fixture.app.store().clone());
        let at = both_due + Duration::seconds(1);
        let (a, b) = tokio::join!(refresh_due(&fixture.app, at), refresh_due(&other, at));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.enqueued + b.enqueued, 1, "{a:?} {b:?}");
        assert_eq!(jobs_of(&fixture, both.id).await.len(), 1);

        // Once the first run is done, the next due run is a new job with its own key (while it
        // runs, a due run of the same text attaches to it, as Redash's lock does).
        let store = fixture.app.store();
        let first = jobs_of(&fixture, query.id).await.remove(0);
        let Claim::Claimed(first) = dashi_store::claim(store, &first.id, "w", Utc::now() + Duration::seconds(30), Utc::now()).await.unwrap()
        else {
            panic!("claimable");
        };
        dashi_store::finish(store, &first.id, first.fence, &Outcome::Succeeded { result_id: None }, Utc::now()).await.unwrap();
        let counts = refresh_due(&fixture.app, first_due + Duration::seconds(61)).await.unwrap();
        assert_eq!(counts.enqueued, 1);
        let jobs = jobs_of(&fixture, query.id).await;
        assert_eq!(jobs.len(), 1);
        assert_ne!(jobs[0].id, first.id);
    }

    async fn failures_back_off_by_powers_of_two_minutes(db: TestDb) {
        let fixture = fixture(db).await;
        let query = scheduled(&fixture, "select 1", json!({"interval": 60}), Map::new()).await;
        fail(&fixture, &query, "refresh:failed:1").await;
        fail(&fixture, &query, "refresh:failed:2").await;
        let due = due_at(&fixture, query.id).await.unwrap();
        // Two failures: four more minutes.
        let counts = refresh_due(&fixture.app, due + Duration::minutes(4)).await.unwrap();
        assert_eq!((counts.backing_off, counts.enqueued), (1, 0));
        let counts = refresh_due(&fixture.app, due + Duration::minutes(4) + Duration::seconds(1)).await.unwrap();
        assert_eq!(counts.enqueued, 1);
        let stored = dashi_store::query_by_id(fixture.app.store(), fixture.org, query.id).await.unwrap().unwrap();
        assert_eq!(stored.schedule_failures, 2);
    }

    async fn schedules_past_until_stop_and_are_cleared(db: TestDb) {
        let fixture = fixture(db).await;
        let query = scheduled(&fixture, "select 1", json!({"interval": 60, "until": "2020-01-01"}), Map::new()).await;
        let counts = refresh_due(&fixture.app, Utc::now() + Duration::seconds(1)).await.unwrap();
        assert_eq!((counts.stopped, counts.enqueued), (1, 0));
        assert_eq!(due_at(&fixture, query.id).await, None);
        assert_eq!(clear_expired_schedules(&fixture.app, Utc::now()).await, 1);
        let stored = dashi_store::query_by_id(fixture.app.store(), fixture.org, query.id).await.unwrap().unwrap();
        assert_eq!(stored.schedule, None);
        assert_eq!(stored.version, query.version + 1);
    }

    async fn cron_schedules_run_at_their_local_time(db: TestDb) {
        let fixture = fixture(db).await;
        let cron = json!({"cron": "30 8 * * *", "timezone": "America/New_York"});
        let query = scheduled(&fixture, "select 1", cron, Map::new()).await;
        let due = due_at(&fixture, query.id).await.unwrap();
        let local = due.with_timezone(&chrono_tz::America::New_York);
        assert_eq!(local.format("%H:%M:%S").to_string(), "08:30:00");
        assert!(due > Utc::now());
        assert_eq!(refresh_due(&fixture.app, Utc::now()).await.unwrap(), RefreshCounts::default());
        assert_eq!(refresh_due(&fixture.app, due + Duration::seconds(1)).await.unwrap().enqueued, 1);
        let jobs = jobs_of(&fixture, query.id).await;
        assert_eq!(jobs.len(), 1);
        let next = due_at(&fixture, query.id).await.unwrap();
        assert_eq!(next.with_timezone(&chrono_tz::America::New_York).format("%H:%M").to_string(), "08:30");
        assert!(next > due + Duration::hours(22));
    }

    async fn scheduled_runs_use_default_values_and_the_scheduled_queue(db: TestDb) {
        let fixture = fixture(db).await;
        let mut options = Map::new();
        options.insert("parameters".into(), json!([{"name": "n", "title": "n", "type": "number", "value": 5}]));
        let query = scheduled(&fixture, "select {{ n }}", json!({"interval": 3600}), options).await;
        refresh_due(&fixture.app, Utc::now() + Duration::seconds(1)).await.unwrap();
        let jobs = jobs_of(&fixture, query.id).await;
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(job.queue, "scheduled");
        assert_eq!(job.payload["query"], "select 5");
        assert_eq!(job.payload["scheduled"], true);
        assert_eq!(job.payload["user_id"], fixture.user.0);
    }
}
