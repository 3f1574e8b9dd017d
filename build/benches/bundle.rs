//! Bundle figures, printed (harness = false):
//! - cold bundle of all handlers (fresh target dir `target/bundle-bench-cold`:
//!   no earlier lambda-profile artifacts, so every dependency compiles);
//! - no-change bundle (same target dir, nothing edited; target < 1 s);
//! - zipped size per function (target < 8 MB);
//! - cold start, process spawn -> first Runtime API `/next` (target < 20 ms),
//!   median of 5 runs of each zipped bootstrap under the local Runtime API;
//! - handler_fingerprint time per handler (target < 10 ms).
//!
//! `cargo bench -p upstack-toolkit --bench bundle`. The handlers are built for
//! the host architecture (x86_64) so their cold start can be measured here.
//! BENCH_REUSE_COLD=1 keeps an existing `target/bundle-bench-cold` (the cold
//! figure is then reported as not measured). BENCH_WORKSPACE=<dir> measures
//! another checkout of the workspace.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use upstack_build::bundle::{BundleOptions, BundledAsset, bundle};
use upstack_contract::{Architecture, BuildProfile, env};
use upstack_project::fingerprint::handler_fingerprint;
use upstack_runtime_api::{Invocation, invoke_once};

fn main() {
    // BENCH_WORKSPACE: measure another checkout (default: this repository).
    let root = match std::env::var_os("BENCH_WORKSPACE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("toolkit/ has a parent")
            .to_path_buf(),
    };
    let arch = Architecture::X86_64;
    // The handlers the pipeline declares, as synth recorded them.
    let handlers: Vec<String> = upstack_project::manifest::load(&root, "prod")
        .expect("synth-out/prod/manifest.json (run `upstack synth`)")
        .functions
        .into_iter()
        .map(|function| function.handler)
        .collect();
    let targets: Vec<(String, Architecture)> = handlers.iter().map(|h| (h.clone(), arch)).collect();
    let cold_dir = root.join("target/bundle-bench-cold");
    let options = BundleOptions {
        target_dir: Some(cold_dir.clone()),
        tools_bin: None,
        quiet: true,
        env: None,
    };

    println!(
        "bundle bench: {} handlers, {}",
        targets.len(),
        arch.lambda_name()
    );
    for name in &handlers {
        let started = Instant::now();
        let runs = 20;
        for _ in 0..runs {
            handler_fingerprint(&root, name, arch, BuildProfile::Lambda).expect("fingerprint");
        }
        println!(
            "fingerprint {name:<12} {:>8.2} ms",
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
        );
    }

    if std::env::var_os("BENCH_REUSE_COLD").is_some() && cold_dir.exists() {
        println!(
            "cold bundle        not measured (BENCH_REUSE_COLD set, reusing {})",
            cold_dir.display()
        );
    } else {
        if cold_dir.exists() {
            std::fs::remove_dir_all(&cold_dir).expect("remove the bench's own cold target dir");
        }
        let started = Instant::now();
        bundle(&root, &targets, &options).unwrap_or_else(|e| panic!("cold bundle failed: {e}"));
        println!(
            "cold bundle        {:>8.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    let started = Instant::now();
    let assets = bundle(&root, &targets, &options)
        .unwrap_or_else(|e| panic!("no-change bundle failed: {e}"));
    let no_change = started.elapsed();
    println!(
        "no-change bundle   {:>8.0} ms (re-zipped: {})",
        no_change.as_secs_f64() * 1000.0,
        assets.iter().filter(|a| a.rezipped).count()
    );

    for asset in &assets {
        println!(
            "zip {:<12} {:>8.2} MB  (binary {:.2} MB, glibc {:?})",
            asset.handler,
            asset.size as f64 / 1_000_000.0,
            asset.binary_size as f64 / 1_000_000.0,
            asset.max_glibc
        );
    }

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let scratch = tempfile::tempdir().expect("temp dir");
    for asset in &assets {
        let bootstrap = unzip_bootstrap(asset, scratch.path());
        let mut inits = Vec::new();
        for _ in 0..5 {
            let report = runtime
                .block_on(invoke_once(invocation(&bootstrap, &asset.handler)))
                .expect("invoke");
            match report.init_duration {
                Some(init) => inits.push(init),
                None => {
                    let logs: Vec<&str> = report.logs.iter().map(|l| l.text.as_str()).collect();
                    panic!(
                        "{} never asked for an event: {:?}\n{}",
                        asset.handler,
                        report.outcome,
                        logs.join("\n")
                    );
                }
            }
        }
        inits.sort();
        println!(
            "cold start {:<12} {:>6.2} ms median (min {:.2}, max {:.2})",
            asset.handler,
            inits[2].as_secs_f64() * 1000.0,
            inits[0].as_secs_f64() * 1000.0,
            inits[4].as_secs_f64() * 1000.0
        );
    }
}

fn unzip_bootstrap(asset: &BundledAsset, dir: &Path) -> PathBuf {
    let file = std::fs::File::open(&asset.zip_path).expect("open zip");
    let mut archive = zip::ZipArchive::new(file).expect("read zip");
    let mut entry = archive.by_name("bootstrap").expect("bootstrap entry");
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("unzip");
    let path = dir.join(format!("{}-bootstrap", asset.handler));
    std::fs::write(&path, bytes).expect("write bootstrap");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The variables the stack sets, with placeholder values: enough for each
/// handler's init to succeed; the event itself is an empty S3 batch.
fn invocation(binary: &Path, handler: &str) -> Invocation {
    let environment: BTreeMap<String, String> = [
        (env::TABLE_NAME, "bench-table"),
        (env::TOPIC_ARN, "arn:aws:sns:eu-west-1:123456789012:bench"),
        (
            env::FIFO_TOPIC_ARN,
            "arn:aws:sns:eu-west-1:123456789012:bench.fifo",
        ),
        (env::APP_ENV, "bench"),
        (env::INGEST_PK_COLUMNS, "customer_id"),
        (env::INGEST_SK_COLUMNS, "order_id"),
        (env::PHOTO_MIN_CONFIDENCE, "90"),
        (env::PHOTO_MIN_EYES_OPEN_CONFIDENCE, "80"),
        (env::PHOTO_MAX_YAW, "20"),
        (env::PHOTO_MAX_PITCH, "20"),
        (env::PHOTO_MAX_ROLL, "15"),
        (env::PHOTO_MIN_FACE_AREA, "0.05"),
        (env::PHOTO_MIN_BRIGHTNESS, "40"),
        (env::PHOTO_MIN_SHARPNESS, "40"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Invocation {
        binary: binary.to_path_buf(),
        function_name: format!("bench-{handler}"),
        environment,
        memory_mb: 256,
        timeout: Duration::from_secs(3),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        event: br#"{"Records":[]}"#.to_vec(),
        extra_passthrough: Vec::new(),
    }
}
