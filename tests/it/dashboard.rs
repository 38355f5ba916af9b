//! The auditor dashboard in a real browser: `tests/browser/walk.mjs` drives headless
//! Chromium (Debian's, through npm's `playwright-core`) over the page the service serves,
//! once per mode. This side starts the service, then serves the script's requests for what
//! only it can do: edit a posting in the database, revoke the app's keys, cut the bus or
//! the read model.
//!
//! The line protocol: the script prints `@@ tamper <owner> <version>`, `@@ revoke`,
//! `@@ cut-bus`, `@@ restore-bus`, `@@ cut-read-model` or `@@ restore-read-model` on stdout and reads `ok` or `error <text>` on stdin;
//! every other line it prints is its progress, echoed here.

use crate::common::bus::{Proxy, TestBus, nats_addr};
use crate::common::{Backend, TestApp, TestDb};
use entity::posting;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The whole walk, Chromium's start included.
const WALK_TIMEOUT: Duration = Duration::from_secs(120);
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_embedded_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    walk(&app, "embedded", "sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_on_postgres_with_nats_and_a_read_model() {
    let store = Arc::new(TestDb::new(Backend::Postgres).await);
    let read = TestDb::new(Backend::Postgres).await;
    let bus = TestBus::new().await;
    // The service reaches NATS and the read model through proxies of the test's, so the
    // walk can cut either.
    let parts = Parts {
        bus: Proxy::start(nats_addr(), true).await,
        read_model: Proxy::start(authority(&read.url).to_owned(), true).await,
    };
    let read_url = read
        .url
        .replacen(authority(&read.url), &parts.read_model.addr.to_string(), 1);
    let app = TestApp::spawn_on(store, |c| {
        c.read_model_url = Some(read_url);
        bus.configure(c, &parts.bus.url());
    })
    .await;
    walk(&app, "bus", "postgres", Some(&parts)).await;
}

/// What the walk can cut in bus mode.
struct Parts {
    bus: Proxy,
    read_model: Proxy,
}

/// The `host:port` of a `postgres://user@host:port/db` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let server = rest.split('/').next().unwrap_or(rest);
    server.rsplit_once('@').map_or(server, |(_, host)| host)
}

/// `tests/browser`, once everything the walk needs is there; a test that cannot run says
/// what is missing rather than passing without having looked.
fn browser_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let install = "`.ci/run` installs both; or `apt-get install chromium` and \
                   `npm ci --prefix tests/browser`";
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        panic!("the dashboard walk needs Node.js (`node` on PATH): `apt-get install nodejs npm`");
    }
    if !Path::new(CHROMIUM).exists() {
        panic!("the dashboard walk needs Chromium at {CHROMIUM}: {install}");
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        panic!(
            "the dashboard walk needs playwright-core in {}: {install}",
            dir.join("node_modules").display()
        );
    }
    dir
}

/// Runs the walk in `mode` (`embedded` or `bus`) against `app`; screenshots go to
/// `target/dashboard/<label>/`. Fails with the script's output if the script fails.
async fn walk(app: &TestApp, mode: &str, label: &str, parts: Option<&Parts>) {
    let dir = browser_dir();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/dashboard")
        .join(label);
    // A failure.png left by an earlier run would tell of a failure that did not happen.
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("the screenshot directory");
    let mut child = Command::new("node")
        .arg("walk.mjs")
        .current_dir(&dir)
        .env("LEDGERFLOW_URL", app.url(""))
        .env("LEDGERFLOW_KEY", &app.key)
        .env("LEDGERFLOW_MODE", mode)
        .env("LEDGERFLOW_SHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node walk.mjs starts");
    let mut output = Vec::new();
    let served = tokio::time::timeout(WALK_TIMEOUT, converse(&mut child, app, parts, &mut output));
    let status = match served.await {
        Ok(status) => status,
        Err(_) => {
            let _ = child.kill().await;
            panic!(
                "the dashboard walk ({mode}) took over {WALK_TIMEOUT:?}; its output:\n{}",
                output.join("\n")
            );
        }
    };
    assert!(
        status.success(),
        "the dashboard walk ({mode}) failed ({status}); its output:\n{}\n\
         its screenshots (failure.png: the page as it failed) are in {}",
        output.join("\n"),
        shots.display()
    );
}

/// Echoes the script's lines into `output` and answers its requests, until it exits.
async fn converse(
    child: &mut Child,
    app: &TestApp,
    parts: Option<&Parts>,
    output: &mut Vec<String>,
) -> std::process::ExitStatus {
    let mut stdin = child.stdin.take().expect("the script's stdin");
    let stdout = child.stdout.take().expect("the script's stdout");
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.expect("the script's output") {
        println!("{line}");
        let request = line.strip_prefix("@@ ").map(str::to_owned);
        output.push(line);
        if let Some(request) = request {
            let answer = match serve(&request, app, parts).await {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("error {e}"),
            };
            println!("<< {answer}");
            output.push(format!("<< {answer}"));
            answer_with(&mut stdin, &answer).await;
        }
    }
    child.wait().await.expect("the script's exit status")
}

async fn answer_with(stdin: &mut ChildStdin, answer: &str) {
    // A script that died meanwhile fails through its exit status, which says more.
    let _ = stdin.write_all(format!("{answer}\n").as_bytes()).await;
    let _ = stdin.flush().await;
}

/// Does what the script asked.
async fn serve(request: &str, app: &TestApp, parts: Option<&Parts>) -> Result<(), String> {
    let words: Vec<&str> = request.split_whitespace().collect();
    match (words.as_slice(), parts) {
        (["tamper", owner, version], _) => {
            let version = version.parse().map_err(|e| format!("version: {e}"))?;
            tamper(app, owner, version).await
        }
        (["revoke"], _) => match app.ctx.apps.revoke(&app.name, None).await {
            Ok(0) => Err("no key to revoke".to_owned()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
        ([request], _) if request.starts_with("cut-") || request.starts_with("restore-") => {
            let (act, part) = request.split_once('-').unwrap_or_default();
            let proxy = match (parts, part) {
                (Some(parts), "bus") => &parts.bus,
                (Some(parts), "read-model") => &parts.read_model,
                (None, _) => return Err("nothing to cut in this mode".to_owned()),
                _ => return Err(format!("no part {part:?}")),
            };
            match act {
                "cut" => proxy.cut(),
                _ => proxy.restore(),
            }
            Ok(())
        }
        _ => Err(format!("unknown request {request:?}")),
    }
}

/// Backdates the owner's posting at `version` by an hour, as `audit.rs` does: its balance
/// still adds up, only the hash chain can tell.
async fn tamper(app: &TestApp, owner: &str, version: i64) -> Result<(), String> {
    let found = posting::Entity::find()
        .filter(posting::Column::OwnerId.eq(owner))
        .filter(posting::Column::Version.eq(version))
        .one(&app.store_sql)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{owner} has no posting v{version}"))?;
    let recorded_at = found.recorded_at - 3_600_000_000;
    let mut edit = found.into_active_model();
    edit.recorded_at = Set(recorded_at);
    edit.update(&app.store_sql)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
