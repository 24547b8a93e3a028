//! The account commands against a set-up organization: what an admin does from a shell.

use crate::support::{Running, dashi, finish, finish_with_input, post_form};

#[tokio::test]
async fn admins_create_users_and_reset_passwords_from_the_command_line() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut all = Running::start(dashi(folder.path()));
    let address = all.address_from_log("server listening").await;
    let form = "name=Ada&email=ada%40example.com&password=correct-horse&org_name=Acme";
    let (status, _) = post_form(&address, "/setup", form).await;
    assert_eq!(status, 303, "setup redirects after creating the organization");

    let mut create = dashi(folder.path());
    create.args(["create-user", "--email", "bob@example.com", "--name", "Bob", "--admin", "--password-stdin"]);
    let (status, stdout, stderr) = finish_with_input(create, "battery-staple\n").await;
    assert!(status.success(), "create-user failed: {stderr}");
    assert!(stdout.starts_with("created admin Bob <bob@example.com> with id "), "stdout was: {stdout}");

    let mut again = dashi(folder.path());
    again.args(["create-user", "--email", "BOB@example.com", "--name", "Bob"]);
    let (status, _, stderr) = finish(again).await;
    assert!(!status.success());
    assert!(stderr.contains("Email already taken."), "stderr was: {stderr}");

    let mut reset = dashi(folder.path());
    reset.args(["reset-password", "--email", "bob@example.com"]);
    let (status, stdout, stderr) = finish(reset).await;
    assert!(status.success(), "reset-password failed: {stderr}");
    assert!(stdout.contains("new password: "), "stdout was: {stdout}");

    let mut unknown = dashi(folder.path());
    unknown.args(["reset-password", "--email", "nobody@example.com", "--password-stdin"]);
    let (status, _, stderr) = finish_with_input(unknown, "long-enough-1\n").await;
    assert!(!status.success());
    assert!(stderr.contains("user not found"), "stderr was: {stderr}");

    assert!(all.terminate().await.success());
}
