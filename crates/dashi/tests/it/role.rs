//! Each role starts, answers health, and stops with exit code 0 on SIGTERM, cleaning up after
//! itself (process rows gone, scheduler lease released).

use serde_json::Value;

use crate::support::{Running, dashi, get, poll_until, status};

#[tokio::test]
async fn server_stops_gracefully_on_sigterm() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut command = dashi(folder.path());
    command.arg("server");
    let mut server = Running::start(command);
    let address = server.address_from_log("server listening").await;
    assert_eq!(get(&address, "/ping").await, (200, "PONG.".to_owned()));
    let exit = server.terminate().await;
    assert!(exit.success(), "got {exit}");
}

#[tokio::test]
async fn worker_reports_health_and_leaves_no_row_behind() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut command = dashi(folder.path());
    command.env("DASHI_HEALTH_BIND", "127.0.0.1:0").args(["worker", "--queues", "queries,emails"]);
    let mut worker = Running::start(command);
    let address = worker.address_from_log("health listening").await;
    assert_eq!(get(&address, "/ping").await, (200, "PONG.".to_owned()));
    let (_, body) = poll_until(&address, "/health", |status, _| status == 200).await;
    let health: Value = serde_json::from_str(&body).expect("health is JSON");
    assert_eq!(health["role"], "worker");
    assert!(health["last_heartbeat_at"].is_string(), "{health}");

    let report = status(folder.path()).await;
    let processes = report["processes"].as_array().expect("processes");
    assert_eq!(processes.len(), 1, "{report}");
    assert_eq!(processes[0]["id"], health["id"]);
    assert_eq!(processes[0]["queues"], serde_json::json!(["adhoc", "notifications"]));

    let exit = worker.terminate().await;
    assert!(exit.success(), "got {exit}");
    let report = status(folder.path()).await;
    assert_eq!(report["processes"], serde_json::json!([]), "the row is removed on a graceful stop");
}

#[tokio::test]
async fn scheduler_leads_reports_health_and_releases_its_lease() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut command = dashi(folder.path());
    command.env("DASHI_HEALTH_BIND", "127.0.0.1:0").arg("scheduler");
    let mut scheduler = Running::start(command);
    let address = scheduler.address_from_log("health listening").await;
    let (_, body) = poll_until(&address, "/health", |status, body| status == 200 && body.contains("\"leader\":true")).await;
    let health: Value = serde_json::from_str(&body).expect("health is JSON");
    assert_eq!(health["role"], "scheduler");

    let report = status(folder.path()).await;
    assert_eq!(report["scheduler_lease"]["holder"], health["id"], "{report}");
    assert_eq!(report["scheduler_lease"]["live"], true);

    let exit = scheduler.terminate().await;
    assert!(exit.success(), "got {exit}");
    let report = status(folder.path()).await;
    assert_eq!(report["scheduler_lease"]["live"], false, "the lease is released on a graceful stop");
    assert_eq!(report["processes"], serde_json::json!([]));
}

#[tokio::test]
async fn all_in_one_stops_every_role_on_sigterm() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut all = Running::start(dashi(folder.path()));
    all.wait_for_log("lease won; this scheduler leads").await;
    let exit = all.terminate().await;
    assert!(exit.success(), "got {exit}");
    let report = status(folder.path()).await;
    assert_eq!(report["processes"], serde_json::json!([]));
    assert_eq!(report["scheduler_lease"]["live"], false);
}
