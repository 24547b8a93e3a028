//! The embedded default: start, first-run hint, one process per data folder, bad settings.

use crate::support::{Running, dashi, finish, get};

#[tokio::test]
async fn all_in_one_serves_and_a_second_process_on_its_folder_is_refused() {
    let folder = tempfile::tempdir().expect("temp dir");
    let data_dir = folder.path().join("data");
    let mut first = Running::start(dashi(&data_dir));
    let address = first.address_from_log("server listening").await;
    let hint = first.wait_for_log(&format!("open http://{address}/setup to create the first admin")).await;
    assert!(hint.is_object());
    assert_eq!(get(&address, "/ping").await, (200, "PONG.".to_owned()));

    let (status, _, stderr) = finish(dashi(&data_dir)).await;
    assert!(!status.success(), "a second dashi on one data folder must fail");
    let expected = format!("another dashi process is using {} (pid {})", data_dir.display(), first.pid());
    assert!(stderr.contains(&expected), "stderr was: {stderr}");

    assert_eq!(get(&address, "/ping").await, (200, "PONG.".to_owned()), "the first keeps serving");
    let exit = first.terminate().await;
    assert!(exit.success(), "SIGTERM must end all-in-one with 0, got {exit}");

    let mut again = Running::start(dashi(&data_dir));
    let address = again.address_from_log("server listening").await;
    assert_eq!(get(&address, "/ping").await, (200, "PONG.".to_owned()), "restart on the same data works");
    assert!(again.terminate().await.success());
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_and_names_the_setting() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut command = dashi(folder.path());
    command.env("DASHI_BIND", "nonsense");
    let (status, _, stderr) = finish(command).await;
    assert!(!status.success());
    assert!(stderr.contains("DASHI_BIND: invalid socket address \"nonsense\""), "stderr was: {stderr}");

    let mut command = dashi(folder.path());
    command.args(["worker", "--queues", "adhoc,celery"]);
    let (status, _, stderr) = finish(command).await;
    assert!(!status.success());
    assert!(stderr.contains("--queues: unknown queue \"celery\""), "stderr was: {stderr}");

    let mut command = dashi(folder.path());
    command.env("REDASH_COOKIES_SECURE", "maybe").arg("server");
    let (status, _, stderr) = finish(command).await;
    assert!(!status.success());
    assert!(stderr.contains("REDASH_COOKIES_SECURE: invalid boolean"), "stderr was: {stderr}");
}

#[tokio::test]
async fn distributed_mode_without_a_secret_refuses_to_start() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut command = dashi(folder.path());
    command.env("DASHI_DATABASE_URL", "postgres://dashi@127.0.0.1:1/dashi").arg("server");
    let (status, _, stderr) = finish(command).await;
    assert!(!status.success());
    assert!(stderr.contains("DASHI_SECRET_KEY: must be set"), "stderr was: {stderr}");
}
