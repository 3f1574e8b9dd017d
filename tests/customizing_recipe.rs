//! docs/customizing.md's "Add a fourth handler", followed on a copy of this
//! workspace: `new-handler thumbnail`, the one-line declaration it prints,
//! `synth`, a host build and the scaffold's own tests, and `invoke` against
//! a stack on moto. It proves the scaffold builds and its tests pass as
//! generated, that the printed line is the only wiring needed, and that
//! adding a handler leaves the other handlers' asset keys alone.
//!
//! The copy lives at a fixed path under the target directory and keeps the
//! sources' modification times, and its builds share this workspace's
//! target directory: cargo hashes a path package's location into its
//! artifacts, so a fresh temporary directory would rebuild every workspace
//! crate on every run, where this rebuilds only what changed.
//!
//! Every cargo command here selects the whole workspace (`--workspace` and
//! a target filter) rather than one package, so that the dependencies'
//! features unify exactly as in this workspace's own build: `-p upstack`
//! alone leaves out the dev-dependencies' features (the AWS SDKs'
//! `test-util`, `serde_core`'s `default`, ...), and about 300 registry
//! crates, the SDKs among them, built a second time with other features:
//! three of the four minutes this test took on a cold CI. What that
//! unification could hide is a feature the new handler uses without
//! declaring it (handler-common's `s3`, say): the scaffold uses only
//! handler-common's ungated modules (`s3_event`, `logging`, `process`), and
//! `upstack bundle`, which builds each handler as a package of its own, is
//! where such a handler would fail to build.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use upstack_test_support::{MotoServer, repo_root, run_ok};

const HANDLER: &str = "thumbnail";

/// The copy's CLI binary. Built under its own name: as `upstack` it would
/// replace this workspace's `target/debug/upstack`, which other tests run.
const SCRATCH_CLI: &str = "upstack-recipe";

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn succeed(command: &mut Command) -> String {
    String::from_utf8_lossy(&run_ok(command.stdin(Stdio::null())).stdout).into_owned()
}

/// `cargo <command> --workspace <targets>`: with `--examples` (there are
/// none) cargo resolves features with every member's dev-dependencies, as
/// the workspace's `--all-targets` build does, while building only
/// `targets`.
fn cargo(workspace: &Path, command: &str, targets: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    succeed(
        Command::new(cargo)
            .arg(command)
            .args(["--workspace", "--examples"])
            .args(targets)
            .current_dir(workspace)
            .env("CARGO_TARGET_DIR", target_dir()),
    )
}

fn upstack(cli: &Path, workspace: &Path, args: &[&str], endpoint: Option<&str>) -> String {
    let mut command = Command::new(cli);
    command
        .args(args)
        .arg("--root")
        .arg(workspace)
        .current_dir(workspace)
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    succeed(&mut command)
}

/// `functions[].asset_key` by handler, from a synthesized manifest.
fn asset_keys(workspace: &Path, env: &str) -> Vec<(String, String)> {
    let path = workspace.join("synth-out").join(env).join("manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    manifest["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|function| {
            (
                function["handler"].as_str().unwrap().to_owned(),
                function["asset_key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The stack `upstack-dev` on moto: `invoke` reads the deployed stack's
/// resources; the new function's environment refers to none of them.
fn create_stack(moto: &MotoServer) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
            .create_stack()
            .stack_name("upstack-dev")
            .template_body(
                serde_json::json!({"Resources": {
                    "AlertsTopic": {"Type": "AWS::SNS::Topic"}
                }})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn the_fourth_handler_recipe_works_on_a_copy_of_the_workspace() {
    let workspace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("customizing-recipe");
    // The recipe edits the pipeline declaration (the stack crate) and the
    // root manifest: those build apart, with every crate above the stack.
    upstack_test_support::copy_workspace(&repo_root(), &workspace, &["upstack", "upstack-stack"]);
    let main_cli = Path::new(env!("CARGO_BIN_EXE_upstack"));

    // 1. Scaffold: the crate, the workspace member, and where to declare it.
    let printed = upstack(main_cli, &workspace, &["new-handler", HANDLER], None);
    let (place, entry) = printed
        .split_once("Wire it into the pipeline: ")
        .and_then(|(_, rest)| rest.split_once(", add above that line:\n"))
        .map(|(place, rest)| (place.to_owned(), rest.lines().next().unwrap().to_owned()))
        .unwrap_or_else(|| panic!("no declaration point in:\n{printed}"));
    let (file, line) = place.rsplit_once(':').unwrap();
    let line: usize = line.parse().unwrap();
    assert_eq!(file, "stack/src/pipeline.rs", "{printed}");

    // 2. The documented one-line edit, exactly as printed.
    let declaration = workspace.join(file);
    let original_mtime = fs::metadata(&declaration).unwrap().modified().unwrap();
    let mut lines: Vec<String> = fs::read_to_string(&declaration)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.insert(line - 1, entry);
    fs::write(&declaration, lines.join("\n") + "\n").unwrap();
    // The same edit every run: keep the copied time, so a warm run does not
    // recompile the stack and every crate above it for identical bytes.
    fs::File::options()
        .write(true)
        .open(&declaration)
        .unwrap()
        .set_modified(original_mtime)
        .unwrap();

    // 3. synth, with a CLI built from the copy (the declaration is code).
    let manifest_path = workspace.join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path).unwrap();
    let renamed = manifest
        .replace(
            "default-run = \"upstack\"",
            &format!("default-run = \"{SCRATCH_CLI}\""),
        )
        .replace(
            "name = \"upstack\"\npath = \"src/main.rs\"",
            &format!("name = \"{SCRATCH_CLI}\"\npath = \"src/main.rs\""),
        );
    assert_ne!(
        renamed, manifest,
        "the root [[bin]] is no longer where this test looks"
    );
    // The changed crates build apart from this workspace's artifacts
    // (`copy_workspace`); the CLI binary's name is the one file name left to
    // tell apart.
    fs::write(&manifest_path, renamed).unwrap();
    // The new handler's host build (step 4) runs in the same cargo command:
    // it compiles beside the CLI's chain of crates instead of after it.
    cargo(
        &workspace,
        "build",
        &["--bin", SCRATCH_CLI, "--bin", HANDLER],
    );
    let scratch_cli = target_dir().join("debug").join(SCRATCH_CLI);
    let before = asset_keys(&workspace, "dev");
    let summary = upstack(&scratch_cli, &workspace, &["synth"], None);
    assert!(
        summary.contains(&format!("upstack-dev-{HANDLER} -> assets/{HANDLER}-")),
        "{summary}"
    );
    let after = asset_keys(&workspace, "dev");
    assert_eq!(
        after[..before.len()],
        before[..],
        "adding a handler changed another handler's asset key"
    );
    assert_eq!(after.len(), before.len() + 1);
    let template = fs::read_to_string(workspace.join("synth-out/dev/template.json")).unwrap();
    assert!(template.contains("\"ThumbnailFunction\""));

    // 4. The handler built for the host (above), and its generated tests
    // pass: the targets `cargo test -p upstack-thumbnail` builds (one
    // binary, whose unit tests are all the scaffold has).
    let crate_tests = workspace.join(format!("functions/{HANDLER}/tests"));
    let test_files: Vec<_> = fs::read_dir(&crate_tests)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .collect();
    assert_eq!(test_files, Vec::<PathBuf>::new(), "run these too");
    let tested = cargo(&workspace, "test", &["--bin", HANDLER]);
    assert!(
        tested.contains("test result: ok.") && !tested.contains("ok. 0 passed"),
        "{tested}"
    );

    // 5. invoke runs it with its deployed environment, on moto.
    let moto = MotoServer::start();
    create_stack(&moto);
    let fixture = workspace.join(format!(
        "functions/{HANDLER}/tests/fixtures/object-created.json"
    ));
    let binary = target_dir().join("debug").join(HANDLER);
    let invoked = upstack(
        &scratch_cli,
        &workspace,
        &[
            "invoke",
            HANDLER,
            "--env",
            "dev",
            "--event",
            fixture.to_str().unwrap(),
            "--binary",
            binary.to_str().unwrap(),
        ],
        Some(&moto.endpoint),
    );
    assert!(
        invoked.contains(&format!("invoke {HANDLER} as upstack-dev-{HANDLER}")),
        "{invoked}"
    );
    assert!(
        invoked.contains(&format!(
            "\"s3://upstack-dev-uploads-123456789012-eu-west-1/{HANDLER}/a photo.webp"
        )),
        "{invoked}"
    );
}
