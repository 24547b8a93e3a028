//! `cargo xtask`: the repository's two commands, in Rust so they need nothing but cargo (and
//! Node for the web UI).
//!
//! - `cargo xtask run [-- dashi args]`: builds the web UI when `web/` exists, builds the release
//!   binary and replaces this process with it (all-in-one unless told otherwise).
//! - `cargo xtask test`: installs missing Debian packages, cargo-nextest and the pinned Python
//!   test tools (a virtual environment under the target folder), starts one PostgreSQL for the
//!   whole run, then runs clippy, every Rust test and the web tests (vitest, then the browser
//!   suite in Debian's Chromium, screenshots under `target/web-e2e`). It keeps
//!   going after a failed step and exits non-zero if any step failed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

/// Debian packages the tests start servers from; later issues add more.
/// (`openssl` makes the certificates of the TLS Redis.)
const TEST_PACKAGES: &[&str] = &["postgresql", "redis-server", "openssl", "mariadb-server", "chromium"];
/// The variable that hands the shared PostgreSQL server to every test process.
const POSTGRES_URL_VAR: &str = dashi_testkit::SHARED_POSTGRES_URL_VAR;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let task = args.next().and_then(|task| task.into_string().ok());
    let rest: Vec<OsString> = args.skip_while(|arg| arg == "--").collect();
    let outcome = match task.as_deref() {
        Some("run") => run(&rest),
        Some("test") if rest.is_empty() => test(),
        _ => {
            eprintln!("usage: cargo xtask run [-- <dashi arguments>] | cargo xtask test");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (this crate's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives inside the repository").to_owned()
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` if set, else `<root>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        None => root().join("target"),
    }
}

/// The cargo that started us (cargo sets `CARGO`), else the one on `PATH`.
fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// Runs `command`, failing with `what` if it cannot start or exits non-zero.
fn check(what: &str, command: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: {what}");
    let status = command.status().with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn run(dashi_args: &[OsString]) -> anyhow::Result<()> {
    let web = root().join("web");
    if web.join("package.json").exists() {
        check_node()?;
        install_web_dependencies(&web)?;
        check("building the web UI", Command::new("npm").args(["run", "build"]).current_dir(&web))?;
    }
    check("building dashi (release)", cargo().args(["build", "--release", "-p", "dashi"]))?;
    let binary = target_dir().join("release").join("dashi");
    eprintln!("xtask: starting {}", binary.display());
    let error = Command::new(&binary).args(dashi_args).exec();
    Err(error).with_context(|| format!("cannot start {}", binary.display()))
}

fn check_node() -> anyhow::Result<()> {
    for tool in ["node", "npm"] {
        let output = Command::new(tool)
            .arg("--version")
            .output()
            .with_context(|| format!("{tool} is not installed; the web UI needs Node.js 20 or later with npm"))?;
        if !output.status.success() {
            bail!("`{tool} --version` failed; the web UI needs Node.js 20 or later with npm");
        }
        eprintln!("xtask: {tool} {}", String::from_utf8_lossy(&output.stdout).trim());
    }
    Ok(())
}

/// `npm ci` unless `node_modules` was installed after the last change of `package-lock.json`.
fn install_web_dependencies(web: &Path) -> anyhow::Result<()> {
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let lock = modified(web.join("package-lock.json"));
    // npm writes this file at the end of every install.
    let installed = modified(web.join("node_modules").join(".package-lock.json"));
    if matches!((lock, installed), (Some(lock), Some(installed)) if installed >= lock) {
        return Ok(());
    }
    check("installing web dependencies (npm ci)", Command::new("npm").arg("ci").current_dir(web))
}

fn test() -> anyhow::Result<()> {
    let started = Instant::now();
    install_packages(TEST_PACKAGES)?;
    install_nextest()?;
    let python_tools = install_python_tools()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut postgres = runtime.block_on(dashi_testkit::PgServer::start()).context("starting PostgreSQL for the tests")?;
    eprintln!("xtask: PostgreSQL for this run listens on port {}", postgres.port());

    let mut failed = Vec::new();
    let mut step = |what: &'static str, command: &mut Command| {
        if let Err(error) = check(what, command) {
            eprintln!("xtask: {error:#}");
            failed.push(what);
        }
    };
    // The UI is built before any Rust: `dashi` embeds `web/dist` when it is compiled (a folder
    // missing then stays missing in that binary), and the browser suite below needs it there.
    let web = root().join("web");
    if web.join("package.json").exists() {
        step("web dependencies", Command::new("npm").arg("ci").current_dir(&web));
        step("web tests", Command::new("npm").arg("test").current_dir(&web));
        step("building the web UI", Command::new("npm").args(["run", "build"]).current_dir(&web));
    }
    step("clippy", cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]));
    step(
        "Rust tests",
        cargo()
            .args(["nextest", "run", "--workspace", "--no-fail-fast"])
            .env(POSTGRES_URL_VAR, postgres.admin_url())
            .env(dashi_testkit::MOTO_SERVER_VAR, python_tools.join("moto_server")),
    );
    // A third-party Redash client against a real all-in-one dashi (tests/compat).
    step("building dashi for the client test", cargo().args(["build", "-p", "dashi"]));
    step(
        "Redash client compatibility (redash-toolbelt)",
        Command::new(python_tools.join("python"))
            .arg(root().join("tests").join("compat").join("redash_toolbelt_compat.py"))
            .arg("--dashi")
            .arg(target_dir().join("debug").join("dashi")),
    );
    if web.join("package.json").exists() {
        // The browser suite drives Debian's Chromium (never a downloaded browser) against a real
        // all-in-one dashi (the one built for the client test).
        step(
            "web end-to-end tests (Chromium)",
            Command::new("node")
                .arg(web.join("e2e").join("run.mjs"))
                .arg("--dashi")
                .arg(target_dir().join("debug").join("dashi"))
                .arg("--artifacts")
                .arg(target_dir().join("web-e2e"))
                .current_dir(&web),
        );
    }

    if let Err(error) = runtime.block_on(postgres.stop()) {
        eprintln!("xtask: stopping PostgreSQL: {error:#}");
    }
    let elapsed = started.elapsed().as_secs();
    if failed.is_empty() {
        eprintln!("xtask: every step passed in {elapsed} s");
        Ok(())
    } else {
        bail!("failed after {elapsed} s: {}", failed.join(", "))
    }
}

/// Installs the Debian packages that are missing; `apt-get update` runs at most once.
fn install_packages(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|package| !is_installed(package)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        bail!("missing Debian packages {}: run `apt-get install -y {}` as root", missing.join(", "), missing.join(" "));
    }
    let apt = || {
        let mut command = Command::new("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    check("apt-get update", apt().arg("update"))?;
    check(
        "installing test packages",
        apt().args(["install", "-y", "--no-install-recommends"]).args(&missing),
    )
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["--show", "--showformat=${db:Status-Status}", package])
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout == b"installed")
}

/// A virtual environment under the target folder holding the Python programs the tests drive
/// (`tests/python-requirements.txt`, every package pinned), made anew when that file changes.
/// Returns its `bin` folder.
fn install_python_tools() -> anyhow::Result<PathBuf> {
    let requirements = root().join("tests").join("python-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let venv = target_dir().join("python-tools");
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(venv.join("bin"));
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).with_context(|| format!("removing the stale {}", venv.display()))?;
    }
    check("creating the Python environment for tests", Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    check(
        "installing the Python test tools",
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv.join("bin"))
}

fn install_nextest() -> anyhow::Result<()> {
    let present = cargo()
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    check("installing cargo-nextest", cargo().args(["install", "--locked", "cargo-nextest"]))
}
