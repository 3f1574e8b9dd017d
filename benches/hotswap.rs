//! The dev loop as a user runs it, against moto: a one-line change in
//! notify, then (1) `upstack deploy --env dev --hotswap --yes` as a whole
//! process, and (2) `upstack watch --env dev`, from the save to its
//! `live:` line. Targets: ≤ 15 s each, warm.
//!
//! cargo bench --bench hotswap
//!
//! The builds are real (`cargo zigbuild`, arm64, the dev env's `fast`
//! profile) in a copy of the workspace under target/bench-hotswap, whose
//! own target directory is kept between runs: the first run pays one cold
//! build of notify (about 10 minutes on 2 cores), later runs are warm. The
//! stack is deployed first with stand-in zips (`deploy --no-build`), since
//! moto's Lambda only stores the code. Needs the test tools
//! (`bash scripts/setup-test-tools.sh --venv`: moto, zig, cargo-zigbuild).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use upstack_test_support::{MotoServer, repo_root, stand_in_bundle, tracked_files};

const RUNS: usize = 3;
const CHANGED: &str = "functions/notify/src/lib.rs";

fn main() {
    let work = repo_root().join("target/bench-hotswap");
    let root = work.join("workspace");
    sync_copy(&repo_root(), &root);
    let moto = MotoServer::start();
    let endpoint = moto.endpoint.clone();
    let upstack = |args: &[&str]| run(&root, &endpoint, args);

    check(&upstack(&["bootstrap", "--env", "dev"]));
    check(&upstack(&["synth", "--env", "dev"]));
    stand_in_bundle(&root, "dev");
    check(&upstack(&["deploy", "--env", "dev", "--yes", "--no-build"]));

    // The first hotswap builds notify, cold on a first run.
    change(&root, 0);
    let started = Instant::now();
    check(&upstack(&["deploy", "--env", "dev", "--hotswap", "--yes"]));
    println!(
        "first deploy --hotswap (notify's build cold on a first run): {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut hotswaps = Vec::new();
    for run in 1..=RUNS {
        change(&root, run);
        let started = Instant::now();
        let output = upstack(&["deploy", "--env", "dev", "--hotswap", "--yes"]);
        let elapsed = started.elapsed();
        check(&output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("hotswap done: 1 function(s) updated"),
            "{stdout}"
        );
        hotswaps.push(elapsed);
    }
    report(
        "warm `deploy --env dev --hotswap` after a one-line change in notify, whole process",
        &mut hotswaps,
    );

    let mut lives = watch_runs(&root, &endpoint);
    report(
        "`watch --env dev`: save of a one-line change in notify to its `live:` line",
        &mut lives,
    );
    // Leave the copy as the repository has it.
    std::fs::copy(repo_root().join(CHANGED), root.join(CHANGED)).unwrap();
}

/// `upstack watch`, started once; each run saves a change and waits for
/// the `live:` line; Ctrl-C must end it with 130.
fn watch_runs(root: &Path, endpoint: &str) -> Vec<Duration> {
    let mut child = command(root, endpoint)
        .args(["watch", "--env", "dev"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let wait_for = |needles: &[&str]| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(900))
            .unwrap_or_else(|error| panic!("watch said none of {needles:?}: {error}"));
        println!("  watch> {line}");
        if needles.iter().any(|needle| line.contains(needle)) || line.contains("failed") {
            assert!(!line.contains("failed"), "{line}");
            return;
        }
    };
    // The start's round: notify runs what its sources build (the last
    // hotswap above), or is set once more (warm).
    wait_for(&["in sync", "live: notify"]);
    let mut lives = Vec::new();
    for run in 1..=RUNS {
        change(root, RUNS + run);
        let saved = Instant::now();
        wait_for(&["live: notify"]);
        lives.push(saved.elapsed());
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
    lives
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let seconds: Vec<String> = times
        .iter()
        .map(|time| format!("{:.1}", time.as_secs_f64()))
        .collect();
    println!(
        "{label}: {:.1} s median of {} (runs: {} s); target ≤ 15 s",
        times[times.len() / 2].as_secs_f64(),
        times.len(),
        seconds.join(", ")
    );
}

/// A one-line change in notify's library: the e-mail subject's string
/// literal, which the handler uses, made unique to this bench run (the same
/// bytes again would find rustc's incremental cache warm for them, and
/// flatter the figure).
fn change(root: &Path, run: usize) {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let source = std::fs::read_to_string(repo_root().join(CHANGED)).unwrap();
    let line = "New upload: {}\", event.key";
    assert!(source.contains(line), "{CHANGED} no longer has {line:?}");
    let changed = source.replacen(
        line,
        &format!("New upload ({nonce}-{run}): {{}}\", event.key"),
        1,
    );
    std::fs::write(root.join(CHANGED), changed).unwrap();
}

fn command(root: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
    command
        .arg("--root")
        .arg(root)
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdin(Stdio::null());
    command
}

fn run(root: &Path, endpoint: &str, args: &[&str]) -> Output {
    command(root, endpoint).args(args).output().unwrap()
}

fn check(output: &Output) {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The tracked files of `repo` in `copy`, each written only when its bytes
/// differ, so the copy's own `target/` stays warm from run to run.
fn sync_copy(repo: &Path, copy: &Path) {
    for relative in tracked_files(repo) {
        let from = repo.join(&relative);
        let to = copy.join(&relative);
        let bytes = std::fs::read(&from).unwrap();
        if std::fs::read(&to).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, bytes).unwrap();
    }
    // The test tools (moto, zig, cargo-zigbuild) are the repository's.
    let venv = copy.join(".venv");
    if !venv.exists() {
        std::os::unix::fs::symlink(repo.join(".venv"), &venv).unwrap();
    }
}
