//! Process heartbeat rows on both backends.

use chrono::{DateTime, TimeZone, Utc};
use dashi_store::{
    NewProcess, ProcessRole, deregister_process, heartbeat_process, list_processes, prune_dead_processes,
    register_process,
};
use dashi_testkit::TestDb;

use crate::open;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + seconds, 0).single().expect("a valid instant")
}

dashi_testkit::backend_tests! {
    async fn registered_processes_are_listed_with_their_heartbeat(db: TestDb) {
        let store = open(&db).await;
        let worker = NewProcess::new(ProcessRole::Worker, "host-a", 41, vec!["adhoc".into(), "schemas".into()]);
        let scheduler = NewProcess::new(ProcessRole::Scheduler, "host-a", 41, vec![]);
        assert_ne!(worker.id, scheduler.id, "roles of one process get distinct ids");
        assert!(worker.id.starts_with("host-a-41-"), "{}", worker.id);
        register_process(&store, &worker, at(0)).await.expect("register worker");
        register_process(&store, &scheduler, at(1)).await.expect("register scheduler");
        assert!(heartbeat_process(&store, &worker.id, at(5)).await.expect("heartbeat"));

        let listed = list_processes(&store).await.expect("list");
        assert_eq!(listed.len(), 2);
        let scheduler_row = &listed[0];
        let worker_row = &listed[1];
        assert_eq!((scheduler_row.role.as_str(), worker_row.role.as_str()), ("scheduler", "worker"));
        assert_eq!(worker_row.queues, vec!["adhoc".to_owned(), "schemas".to_owned()]);
        assert_eq!((worker_row.hostname.as_str(), worker_row.pid), ("host-a", 41));
        assert_eq!((worker_row.started_at, worker_row.heartbeat_at), (at(0), at(5)));
        assert!(scheduler_row.queues.is_empty());
    }

    async fn deregistered_process_is_gone_and_its_heartbeat_says_so(db: TestDb) {
        let store = open(&db).await;
        let worker = NewProcess::new(ProcessRole::Worker, "host-a", 7, vec!["adhoc".into()]);
        register_process(&store, &worker, at(0)).await.expect("register");
        deregister_process(&store, &worker.id).await.expect("deregister");
        assert!(list_processes(&store).await.expect("list").is_empty());
        assert!(!heartbeat_process(&store, &worker.id, at(5)).await.expect("heartbeat"));
        register_process(&store, &worker, at(6)).await.expect("register again");
        register_process(&store, &worker, at(7)).await.expect("registering twice refreshes the row");
        let listed = list_processes(&store).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].heartbeat_at, at(7));
    }

    async fn pruning_removes_only_silent_processes(db: TestDb) {
        let store = open(&db).await;
        let silent = NewProcess::new(ProcessRole::Worker, "host-a", 1, vec![]);
        let alive = NewProcess::new(ProcessRole::Worker, "host-b", 2, vec![]);
        register_process(&store, &silent, at(0)).await.expect("register");
        register_process(&store, &alive, at(0)).await.expect("register");
        assert!(heartbeat_process(&store, &alive.id, at(100)).await.expect("heartbeat"));
        assert_eq!(prune_dead_processes(&store, at(50)).await.expect("prune"), 1);
        let listed = list_processes(&store).await.expect("list");
        assert_eq!(listed.iter().map(|process| process.id.as_str()).collect::<Vec<_>>(), [alive.id.as_str()]);
    }
}
