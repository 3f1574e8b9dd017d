use super::*;

/// The environment the fixture workspaces are fingerprinted in: nothing of
/// the machine running the tests (its `~/.cargo/config.toml`, its
/// `RUSTFLAGS`) reaches them.
fn test_env(root: &Path) -> BuildEnv {
    BuildEnv::from_vars([("HOME", root.join("home"))])
}

fn fingerprint_in(
    root: &Path,
    handler: &str,
    arch: Architecture,
) -> Result<String, FingerprintError> {
    Fingerprinter::with_env(root, test_env(root))?.fingerprint(handler, arch, BuildProfile::Lambda)
}

fn write(path: &Path, contents: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// A miniature copy of the real layout: root workspace, contract, common, two handlers.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        r#"[workspace]
members = ["contract", "functions/common", "functions/notify", "functions/ingest", "cli"]
[workspace.package]
edition = "2024"
[workspace.dependencies]
upstack-contract = { path = "contract" }
handler-common = { path = "functions/common" }
serde = { version = "1", features = ["derive"] }
tokio = "1"
clap = "4"
[profile.release]
debug = false
[profile.lambda]
inherits = "release"
opt-level = 3
[profile.lambda-fast]
inherits = "release"
opt-level = 1
"#,
    );
    write(
        &root.join(toolchain::TOOL_PINS_FILE),
        "boto3==1.35.49\ncargo-zigbuild==0.24.0\nmoto==5.2.5\nziglang==0.17.1\n",
    );
    write(
        &root.join("contract/Cargo.toml"),
        "[package]\nname = \"upstack-contract\"\n",
    );
    write(
        &root.join("contract/src/lib.rs"),
        "pub const A: &str = \"a\";\n",
    );
    write(
        &root.join("functions/common/Cargo.toml"),
        "[package]\nname = \"handler-common\"\n[dependencies]\nupstack-contract.workspace = true\nserde.workspace = true\n",
    );
    write(
        &root.join("functions/common/src/lib.rs"),
        "pub fn common() {}\n",
    );
    write(
        &root.join("functions/notify/Cargo.toml"),
        "[package]\nname = \"notify\"\n[dependencies]\nhandler-common.workspace = true\n[dev-dependencies]\ntokio.workspace = true\n",
    );
    write(&root.join("functions/notify/src/main.rs"), "fn main() {}\n");
    write(
        &root.join("functions/ingest/Cargo.toml"),
        "[package]\nname = \"ingest\"\n[dependencies]\ntokio.workspace = true\n",
    );
    write(&root.join("functions/ingest/src/main.rs"), "fn main() {}\n");
    write(
        &root.join("cli/Cargo.toml"),
        "[package]\nname = \"cli\"\n[dependencies]\nclap.workspace = true\n",
    );
    write(&root.join("cli/src/main.rs"), "fn main() {}\n");
    write(
        &root.join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.96.0\"\n",
    );
    write(
        &root.join("Cargo.lock"),
        r#"version = 4

[[package]]
name = "clap"
version = "4.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[[package]]
name = "cli"
version = "0.1.0"
dependencies = [
 "clap",
]

[[package]]
name = "handler-common"
version = "0.1.0"
dependencies = [
 "serde",
 "upstack-contract",
]

[[package]]
name = "ingest"
version = "0.1.0"
dependencies = [
 "tokio",
]

[[package]]
name = "notify"
version = "0.1.0"
dependencies = [
 "handler-common",
 "tokio",
]

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

[[package]]
name = "tokio"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

[[package]]
name = "upstack-contract"
version = "0.1.0"
"#,
    );
    dir
}

fn notify(root: &Path) -> String {
    fingerprint_in(root, "notify", Architecture::X86_64).unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} does not contain {from:?}",
        path.display()
    );
    fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn is_lowercase_hex_sha256_and_stable() {
    let ws = workspace();
    let first = notify(ws.path());
    assert_eq!(first.len(), 64);
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{first}"
    );
    assert_eq!(first, notify(ws.path()));
}

#[test]
fn differs_per_architecture_and_handler() {
    let ws = workspace();
    let x86 = notify(ws.path());
    let arm = fingerprint_in(ws.path(), "notify", Architecture::Arm64).unwrap();
    let ingest = fingerprint_in(ws.path(), "ingest", Architecture::X86_64).unwrap();
    assert_ne!(x86, arm);
    assert_ne!(x86, ingest);
}

#[test]
fn changes_with_own_and_path_dependency_sources() {
    let ws = workspace();
    let root = ws.path();
    let before = notify(root);
    write(
        &root.join("functions/notify/src/extra.rs"),
        "pub fn extra() {}\n",
    );
    let with_new_file = notify(root);
    assert_ne!(before, with_new_file);
    // contract is reached only through handler-common's workspace dependency.
    edit(&root.join("contract/src/lib.rs"), "\"a\"", "\"b\"");
    assert_ne!(with_new_file, notify(root));
}

#[test]
fn changes_with_toolchain_profile_inherited_features_and_reached_lock_entries() {
    let ws = workspace();
    let root = ws.path();
    let mut last = notify(root);
    let mut assert_changed = |what: &str| {
        let now = notify(root);
        assert_ne!(last, now, "fingerprint did not change after {what}");
        last = now;
    };
    edit(&root.join("rust-toolchain.toml"), "1.96.0", "1.97.0");
    assert_changed("toolchain bump");
    edit(
        &root.join("Cargo.toml"),
        "opt-level = 3",
        "opt-level = \"s\"",
    );
    assert_changed("lambda profile change");
    edit(
        &root.join("Cargo.toml"),
        "features = [\"derive\"]",
        "features = [\"derive\", \"rc\"]",
    );
    assert_changed("feature added to an inherited workspace dependency");
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
        "checksum = \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"",
    );
    assert_changed("serde lock entry change");
}

#[test]
fn ignores_what_cannot_reach_the_binary() {
    let ws = workspace();
    let root = ws.path();
    let before = notify(root);
    // Another package's dependency and lock entry.
    edit(&root.join("Cargo.toml"), "clap = \"4\"", "clap = \"4.1\"");
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        "checksum = \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"",
    );
    // A sibling handler's sources.
    edit(
        &root.join("functions/ingest/src/main.rs"),
        "fn main() {}",
        "fn main() { println!(); }",
    );
    // Integration tests, snapshots and editor files of the handler itself.
    write(
        &root.join("functions/notify/tests/it.rs"),
        "#[test] fn t() {}\n",
    );
    write(&root.join("functions/notify/src/snapshots/x.snap"), "---\n");
    write(&root.join("functions/notify/src/.main.rs.swp"), "swap");
    write(&root.join("functions/notify/target/debug/notify"), "binary");
    assert_eq!(before, notify(root));
}

#[test]
fn test_harness_settings_are_not_hashed_but_target_settings_are() {
    let ws = workspace();
    let root = ws.path();
    let manifest = root.join("functions/notify/Cargo.toml");
    let before = notify(root);
    // One integration-test binary, no unit-test harness, no doctests.
    edit(
        &manifest,
        "name = \"notify\"\n",
        "name = \"notify\"\nautotests = false\n[lib]\ntest = false\ndoctest = false\n[[bin]]\nname = \"notify\"\npath = \"src/main.rs\"\ntest = false\n[[test]]\nname = \"it\"\npath = \"tests/it.rs\"\n",
    );
    let with_bin = notify(root);
    // Declaring the binary is a build setting; only its harness flags are not.
    assert_ne!(before, with_bin);
    edit(&manifest, "test = false\n[[test]]", "[[test]]");
    edit(&manifest, "autotests = false\n", "");
    edit(&manifest, "[lib]\ntest = false\ndoctest = false\n", "");
    let bin_only = notify(root);
    assert_eq!(with_bin, bin_only);
    // A library setting that reaches the binary still counts.
    edit(
        &manifest,
        "[[bin]]",
        "[lib]\npath = \"src/lib.rs\"\n[[bin]]",
    );
    assert_ne!(bin_only, notify(root));
}

#[test]
fn dev_dependency_paths_are_not_followed() {
    let ws = workspace();
    let root = ws.path();
    let before = fingerprint_in(root, "ingest", Architecture::X86_64).unwrap();
    // notify's dev-dependency on tokio does not make ingest depend on notify, and
    // handler-common is not reached by ingest: editing it leaves ingest alone.
    edit(
        &root.join("functions/common/src/lib.rs"),
        "common()",
        "common2()",
    );
    assert_eq!(
        before,
        fingerprint_in(root, "ingest", Architecture::X86_64).unwrap()
    );
}

/// Test-only manifest entries and their lock entries move no asset key.
#[test]
fn dev_dependencies_and_test_targets_are_not_hashed() {
    let ws = workspace();
    let root = ws.path();
    let before = notify(root);
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "[dev-dependencies]\ntokio.workspace = true\n",
        "[dev-dependencies]\ntokio.workspace = true\nclap.workspace = true\n\n[[bench]]\nname = \"b\"\nharness = false\n",
    );
    edit(
        &root.join("Cargo.lock"),
        "name = \"notify\"\nversion = \"0.1.0\"\ndependencies = [\n",
        "name = \"notify\"\nversion = \"0.1.0\"\ndependencies = [\n \"clap\",\n",
    );
    assert_eq!(before, notify(root), "a dev-dependency moved the key");
    // The dev-dependency's own lock entry is not reached either.
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        "checksum = \"abababababababababababababababababababababababababababababababab\"",
    );
    assert_eq!(
        before,
        notify(root),
        "a dev-dependency's lock entry moved the key"
    );
    // notify's lock entry lists tokio (a dev-dependency) from the start:
    // tokio's entry is not hashed for notify.
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"",
        "checksum = \"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\"",
    );
    assert_eq!(before, notify(root));
    // A normal dependency is hashed, manifest and lock entry.
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "[dependencies]\n",
        "[dependencies]\nclap.workspace = true\n",
    );
    let with_clap = notify(root);
    assert_ne!(before, with_clap);
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"abababababababababababababababababababababababababababababababab\"",
        "checksum = \"acacacacacacacacacacacacacacacacacacacacacacacacacacacacacacacac\"",
    );
    assert_ne!(with_clap, notify(root));
}

/// An optional path dependency behind a feature the handler does not
/// turn on (a test fixture behind `testing`) is not hashed; turned on
/// through a normal dependency, it is.
#[test]
fn optional_dependencies_count_only_when_a_feature_enables_them() {
    let ws = workspace();
    let root = ws.path();
    write(
        &root.join("support/Cargo.toml"),
        "[package]\nname = \"support\"\n",
    );
    write(&root.join("support/src/lib.rs"), "pub fn fixture() {}\n");
    edit(
        &root.join("functions/common/Cargo.toml"),
        "serde.workspace = true\n",
        "serde.workspace = true\nsupport = { path = \"../../support\", optional = true }\n[features]\ntesting = [\"dep:support\"]\n",
    );
    let before = notify(root);
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "[dev-dependencies]\n",
        "[dev-dependencies]\nhandler-common = { workspace = true, features = [\"testing\"] }\n",
    );
    edit(&root.join("support/src/lib.rs"), "fixture()", "fixture2()");
    assert_eq!(
        before,
        notify(root),
        "a feature only tests enable moved the key"
    );
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "[dependencies]\nhandler-common.workspace = true\n",
        "[dependencies]\nhandler-common = { workspace = true, features = [\"testing\"] }\n",
    );
    let enabled = notify(root);
    assert_ne!(before, enabled);
    edit(&root.join("support/src/lib.rs"), "fixture2()", "fixture3()");
    assert_ne!(
        enabled,
        notify(root),
        "the enabled optional crate is not hashed"
    );
}

fn append(path: &Path, text: &str) {
    let mut contents = fs::read_to_string(path).unwrap();
    contents.push_str(text);
    fs::write(path, contents).unwrap();
}

/// A library crate at `dir` (relative to `root`) with `manifest` after its `[package]`.
fn library(root: &Path, dir: &str, manifest: &str) {
    let name = dir.rsplit('/').next().unwrap();
    write(
        &root.join(dir).join("Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\n{manifest}"),
    );
    write(&root.join(dir).join("src/lib.rs"), "pub fn f() {}\n");
}

/// Whether editing `dir`'s `src/lib.rs` moves notify's key.
fn notify_hashes(root: &Path, dir: &str) -> bool {
    let before = notify(root);
    append(&root.join(dir).join("src/lib.rs"), "pub fn g() {}\n");
    before != notify(root)
}

/// A dependency renamed with `package = ...` is found in Cargo.lock by its
/// package name, whether the crate or `[workspace.dependencies]` renames it.
#[test]
fn renamed_dependencies_reach_their_lock_entries() {
    for (workspace_entry, crate_entry) in [
        ("", "args = { package = \"clap\", version = \"4\" }\n"),
        (
            "args = { package = \"clap\", version = \"4\" }\n",
            "args.workspace = true\n",
        ),
    ] {
        let ws = workspace();
        let root = ws.path();
        let ingest = || fingerprint_in(root, "ingest", Architecture::X86_64).unwrap();
        edit(
            &root.join("Cargo.toml"),
            "clap = \"4\"\n",
            &format!("clap = \"4\"\n{workspace_entry}"),
        );
        append(&root.join("functions/ingest/Cargo.toml"), crate_entry);
        edit(
            &root.join("Cargo.lock"),
            "name = \"ingest\"\nversion = \"0.1.0\"\ndependencies = [\n",
            "name = \"ingest\"\nversion = \"0.1.0\"\ndependencies = [\n \"clap\",\n",
        );
        let before = ingest();
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "checksum = \"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"",
        );
        assert_ne!(
            before,
            ingest(),
            "{crate_entry}: clap's lock entry is not hashed"
        );
    }
}

/// Features name a dependency by its key in the manifest, not its package:
/// `fixtures/extra` turns on `extra` of the renamed `support`.
#[test]
fn renamed_path_dependency_features_are_followed() {
    let ws = workspace();
    let root = ws.path();
    library(
        root,
        "support",
        "[dependencies]\ndeep = { path = \"../deep\", optional = true }\n[features]\nextra = [\"dep:deep\"]\n",
    );
    library(root, "deep", "");
    append(
        &root.join("functions/notify/Cargo.toml"),
        "[dependencies.fixtures]\npackage = \"support\"\npath = \"../../support\"\n",
    );
    assert!(notify_hashes(root, "support"));
    assert!(!notify_hashes(root, "deep"), "deep is off");
    append(
        &root.join("functions/notify/Cargo.toml"),
        "[features]\ndefault = [\"fixtures/extra\"]\n",
    );
    assert!(notify_hashes(root, "deep"), "fixtures/extra turns deep on");
}

/// `[target.'cfg(..)'.dependencies]` and `.build-dependencies` can reach the
/// binary (whatever the cfg: the walk does not evaluate it); the target's
/// dev-dependencies cannot.
#[test]
fn target_specific_dependencies_count_but_not_their_dev_dependencies() {
    let ws = workspace();
    let root = ws.path();
    for dir in ["linux-only", "codegen", "test-fixture"] {
        library(root, dir, "");
    }
    append(
        &root.join("functions/notify/Cargo.toml"),
        "[target.'cfg(target_os = \"linux\")'.dependencies]\nlinux-only = { path = \"../../linux-only\" }\n\
         [target.'cfg(unix)'.build-dependencies]\ncodegen = { path = \"../../codegen\" }\n\
         [target.'cfg(unix)'.dev-dependencies]\ntest-fixture = { path = \"../../test-fixture\" }\n",
    );
    assert!(notify_hashes(root, "linux-only"));
    assert!(notify_hashes(root, "codegen"));
    assert!(!notify_hashes(root, "test-fixture"));
    // Nor does the dev-dependency's manifest entry.
    let before = notify(root);
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "test-fixture = { path = \"../../test-fixture\" }",
        "test-fixture = { path = \"../../test-fixture\", features = [\"x\"] }",
    );
    assert_eq!(before, notify(root));
}

/// `build_dependencies`, the spelling cargo still reads before edition 2024.
#[test]
fn build_dependencies_spelled_with_an_underscore_count() {
    let ws = workspace();
    let root = ws.path();
    library(root, "codegen", "");
    library(root, "platform-codegen", "");
    append(
        &root.join("functions/notify/Cargo.toml"),
        "[build_dependencies]\ncodegen = { path = \"../../codegen\" }\n\
         [target.'cfg(unix)'.build_dependencies]\nplatform-codegen = { path = \"../../platform-codegen\" }\n",
    );
    assert!(notify_hashes(root, "codegen"));
    assert!(notify_hashes(root, "platform-codegen"));
}

/// `default-features = false` keeps a path dependency's default features
/// (and what they turn on) out, written in the crate with either spelling.
/// A `workspace = true` entry turns them back on with
/// `default-features = true` when its workspace entry turns them off.
#[test]
fn default_features_of_path_dependencies() {
    let ws = workspace();
    let root = ws.path();
    library(
        root,
        "support",
        "[dependencies]\ndeep = { path = \"../deep\", optional = true }\n[features]\ndefault = [\"dep:deep\"]\n",
    );
    library(root, "deep", "");
    let notify_manifest = root.join("functions/notify/Cargo.toml");
    edit(
        &notify_manifest,
        "[dependencies]\n",
        "[dependencies]\nsupport = { path = \"../../support\", default-features = false }\n",
    );
    assert!(notify_hashes(root, "support"));
    assert!(!notify_hashes(root, "deep"), "default-features = false");
    edit(&notify_manifest, "default-features", "default_features");
    assert!(!notify_hashes(root, "deep"), "default_features = false");
    edit(&notify_manifest, ", default_features = false", "");
    assert!(
        notify_hashes(root, "deep"),
        "support's default turns deep on"
    );
    edit(
        &root.join("Cargo.toml"),
        "tokio = \"1\"\n",
        "tokio = \"1\"\nsupport = { path = \"support\", default-features = false }\n",
    );
    edit(
        &notify_manifest,
        "support = { path = \"../../support\" }",
        "support = { workspace = true, default-features = true }",
    );
    assert!(
        notify_hashes(root, "deep"),
        "the crate turned the workspace entry's default features back on"
    );
}

/// A `[patch]` or `[replace]` entry with a path builds that crate in place
/// of the registry's wherever the graph has it: its sources count, and
/// those of the path crates it reaches with any of its features.
#[test]
fn path_patches_and_replacements_count() {
    for table in [
        "[patch.crates-io]\nserde = { path = \"vendor/serde\" }\n",
        "[replace]\n\"serde:1.0.0\" = { path = \"vendor/serde\" }\n",
    ] {
        let ws = workspace();
        let root = ws.path();
        library(
            root,
            "vendor/serde",
            "version = \"1.0.0\"\n[dependencies]\nserde_derive = { path = \"../serde_derive\", optional = true }\n[features]\nderive = [\"dep:serde_derive\"]\n",
        );
        library(root, "vendor/serde_derive", "");
        append(&root.join("Cargo.toml"), table);
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n",
            "",
        );
        edit(
            &root.join("Cargo.lock"),
            "name = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            "name = \"serde\"\nversion = \"1.0.0\"\n",
        );
        assert!(notify_hashes(root, "vendor/serde"), "{table}");
        assert!(notify_hashes(root, "vendor/serde_derive"), "{table}");
    }
}

/// Cargo's config can patch a crate with a path too (`[patch]`, or the
/// older `paths = [...]`): its sources count like a manifest patch's.
#[test]
fn path_patches_in_cargo_config_count() {
    for config in [
        "[patch.crates-io]\nserde = { path = \"vendor/serde\" }\n",
        "paths = [\"vendor/serde\"]\n",
    ] {
        let ws = workspace();
        let root = ws.path();
        library(root, "vendor/serde", "version = \"1.0.0\"\n");
        write(&root.join(".cargo/config.toml"), config);
        assert!(notify_hashes(root, "vendor/serde"), "{config}");
    }
}

#[test]
fn unknown_handler_and_missing_workspace_dependency_are_named() {
    let ws = workspace();
    let root = ws.path();
    let error = fingerprint_in(root, "resize", Architecture::Arm64).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("handler `resize` is not a package"),
        "{error}"
    );
    edit(
        &root.join("functions/notify/Cargo.toml"),
        "[dev-dependencies]",
        "ghost.workspace = true\n[dev-dependencies]",
    );
    let error = notify_err(root);
    assert!(
        error.contains("dependency `ghost`") && error.contains("notify/Cargo.toml"),
        "{error}"
    );
}

fn notify_err(root: &Path) -> String {
    fingerprint_in(root, "notify", Architecture::X86_64)
        .unwrap_err()
        .to_string()
}

#[test]
fn falls_back_to_the_whole_lock_file_when_the_handler_is_not_locked() {
    let ws = workspace();
    let root = ws.path();
    write(
        &root.join("functions/fresh/Cargo.toml"),
        "[package]\nname = \"fresh\"\n",
    );
    write(&root.join("functions/fresh/src/main.rs"), "fn main() {}\n");
    let before = fingerprint_in(root, "fresh", Architecture::X86_64).unwrap();
    edit(
        &root.join("Cargo.lock"),
        "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        "checksum = \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"",
    );
    assert_ne!(
        before,
        fingerprint_in(root, "fresh", Architecture::X86_64).unwrap()
    );
}

#[test]
fn asset_key_layout() {
    assert_eq!(
        asset_key("photo-check", Architecture::Arm64, "ab12"),
        "assets/photo-check-arm64-ab12.zip"
    );
    assert_eq!(
        asset_key("notify", Architecture::X86_64, "ff"),
        "assets/notify-x86_64-ff.zip"
    );
}

/// The real workspace's lock file is one this reader understands (no
/// fallback to hashing the whole file), for every handler. Its speed is
/// a figure of the bundle bench, not a timed test.
#[test]
fn real_workspace_handlers_use_the_lock_closure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // As synth reads it: Cargo.lock parsed on a thread of its own, the
    // sources read meanwhile, lock entries shared between handlers.
    let mut fingerprinter = Fingerprinter::reading_lock_ahead(root).unwrap();
    let handlers = upstack_stack::pipeline::handlers();
    fingerprinter.read_sources_ahead(&handlers);
    for handler in handlers {
        let fingerprint = fingerprinter
            .fingerprint(handler, Architecture::Arm64, BuildProfile::Lambda)
            .unwrap();
        assert_eq!(fingerprint.len(), 64);
        assert_eq!(
            fingerprint,
            handler_fingerprint(root, handler, Architecture::Arm64, BuildProfile::Lambda).unwrap(),
            "{handler}: the shared reads changed the fingerprint"
        );
        assert_eq!(
            fingerprinter.package(handler).unwrap(),
            format!("upstack-{handler}"),
            "the handler crates are upstack-<handler>, with a <handler> binary"
        );
        let dir = fingerprinter.find_package_dir(handler).unwrap();
        let crates = fingerprinter.path_dependency_closure(&dir).unwrap();
        let Some(LockInput::Parsed { lock, .. }) = &fingerprinter.lock else {
            panic!("Cargo.lock is not a lock file cargo-lock reads");
        };
        let closure = lock_closure(lock, &crates.linked, &mut BTreeMap::new())
            .unwrap_or_else(|| panic!("{handler}: Cargo.lock not understood"));
        // The CLI-only validator never reaches a handler.
        assert!(!closure.contains("cloudformation-validate"), "{handler}");
    }
}

fn notify_in(root: &Path, env: BuildEnv, profile: BuildProfile) -> String {
    Fingerprinter::with_env(root, env)
        .unwrap()
        .fingerprint("notify", Architecture::Arm64, profile)
        .unwrap()
}

/// A variable name each rule of [`build_env::BUILD_ENV`] covers.
fn example_name(rule: &build_env::EnvRule) -> String {
    match rule.name {
        build_env::EnvName::Exact(name) => name.to_owned(),
        build_env::EnvName::Prefix(prefix) => format!("{prefix}EXAMPLE"),
        build_env::EnvName::ForTarget(base) => {
            build_env::for_target(base, Architecture::Arm64.rust_target())
        }
    }
}

/// Every variable the table says passes through moves the key; every one
/// bundle sets or clears itself (or that cannot change the bytes) does not.
#[test]
fn each_hashed_variable_moves_the_key_and_no_other_does() {
    use build_env::Treatment;
    let ws = workspace();
    let root = ws.path();
    let baseline = notify_in(root, test_env(root), BuildProfile::Lambda);
    for rule in build_env::BUILD_ENV {
        let name = example_name(rule);
        assert_eq!(
            build_env::rule_for(&name, Architecture::Arm64.rust_target()),
            Some(rule),
            "{name} is not covered by its own rule"
        );
        let mut env = test_env(root);
        env.set(&name, "-Cexample=1");
        let key = notify_in(root, env, BuildProfile::Lambda);
        match rule.treatment {
            Treatment::Hashed | Treatment::Extended => {
                assert_ne!(key, baseline, "{name} ({}) did not move the key", rule.why)
            }
            Treatment::Set | Treatment::Cleared | Treatment::Checked | Treatment::NoEffect => {
                assert_eq!(key, baseline, "{name} ({}) moved the key", rule.why)
            }
        }
    }
    // What the table does not name is not hashed.
    let mut env = test_env(root);
    env.set("CARGO_TERM_COLOR", "always");
    env.set("CARGO_MANIFEST_DIR", "/elsewhere");
    assert_eq!(notify_in(root, env, BuildProfile::Lambda), baseline);
}

/// The environment scripts/test.sh builds and runs `synth --check` in moves
/// no key: its lint wrapper, incremental setting and allocator tuning are
/// controlled by bundle or cannot change the bytes.
#[test]
fn the_test_scripts_environment_moves_no_key() {
    let ws = workspace();
    let root = ws.path();
    let baseline = notify_in(root, test_env(root), BuildProfile::Lambda);
    let mut env = test_env(root);
    for (name, value) in [
        ("CARGO_INCREMENTAL", "0"),
        ("RUSTC_WORKSPACE_WRAPPER", "/toolchain/bin/clippy-driver"),
        (
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        ),
        ("MALLOC_CONF", "thp:always,metadata_thp:always"),
        ("RUSTUP_TOOLCHAIN", "1.96.0-x86_64-unknown-linux-gnu"),
        ("CARGO", "/toolchain/bin/cargo"),
        ("CARGO_TARGET_TMPDIR", "/w/target/tmp"),
    ] {
        env.set(name, value);
    }
    assert_eq!(notify_in(root, env, BuildProfile::Lambda), baseline);
}

#[test]
fn the_build_profile_and_its_inherited_settings_are_hashed() {
    let ws = workspace();
    let root = ws.path();
    let lambda = || notify_in(root, test_env(root), BuildProfile::Lambda);
    let fast = || notify_in(root, test_env(root), BuildProfile::Fast);
    let (lambda_before, fast_before) = (lambda(), fast());
    assert_ne!(lambda_before, fast_before);
    // One profile's settings do not move the other's keys.
    edit(&root.join("Cargo.toml"), "opt-level = 1", "opt-level = 0");
    assert_eq!(lambda(), lambda_before);
    let fast_edited = fast();
    assert_ne!(fast_edited, fast_before);
    // Both inherit release: a release setting moves both.
    edit(&root.join("Cargo.toml"), "debug = false", "debug = true");
    assert_ne!(lambda(), lambda_before);
    assert_ne!(fast(), fast_edited);
    // A profile cargo does not know is refused, naming it.
    edit(
        &root.join("Cargo.toml"),
        "[profile.lambda-fast]",
        "[profile.other]",
    );
    let error = Fingerprinter::with_env(root, test_env(root))
        .unwrap()
        .fingerprint("notify", Architecture::Arm64, BuildProfile::Fast)
        .unwrap_err()
        .to_string();
    assert!(
        error
            .contains("cannot build with profile `lambda-fast`: there is no [profile.lambda-fast]"),
        "{error}"
    );
}

/// The zig and cargo-zigbuild pins are hashed; the rest of the lock file
/// (moto, cfn-lint, ...) is not; a missing pin is refused.
#[test]
fn tool_pins_are_hashed_and_required() {
    let ws = workspace();
    let root = ws.path();
    let lock = root.join(toolchain::TOOL_PINS_FILE);
    let mut last = notify(root);
    edit(&lock, "moto==5.2.5", "moto==5.3.0");
    assert_eq!(notify(root), last, "a test tool's pin moved the key");
    for (from, to) in [
        ("ziglang==0.17.1", "ziglang==0.17.2"),
        ("cargo-zigbuild==0.24.0", "cargo-zigbuild==0.24.1"),
    ] {
        edit(&lock, from, to);
        let now = notify(root);
        assert_ne!(now, last, "{to} did not move the key");
        last = now;
    }
    edit(&lock, "ziglang==0.17.2\n", "");
    let error = notify_err(root);
    assert!(
        error.contains("requirements-test.lock pins no `ziglang==<version>`"),
        "{error}"
    );
}

/// The toolchain file is found where rustup looks (the workspace root or
/// above); only an exact release counts as a pin, anything else is asked
/// of rustc.
#[test]
fn an_unpinned_toolchain_is_asked_of_rustc() {
    let ws = workspace();
    let root = ws.path();
    let pinned = Toolchain::detect(root, &BuildEnv::from_process()).unwrap();
    assert!(
        matches!(&pinned, Toolchain::Pinned { version, .. } if version == "1.96.0"),
        "{pinned:?}"
    );
    // The repository's toolchain (installed wherever these tests run),
    // named so that only rustc can say which release it is.
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rust-toolchain.toml");
    let release = toolchain::exact_channel(&repository, &fs::read_to_string(&repository).unwrap())
        .expect("the repository pins a release");
    let full_name = format!("{release}-{}-unknown-linux-gnu", std::env::consts::ARCH);
    edit(
        &root.join("rust-toolchain.toml"),
        "\"1.96.0\"",
        &format!("\"{full_name}\""),
    );
    match Toolchain::detect(root, &BuildEnv::from_process()).unwrap() {
        Toolchain::Unpinned {
            rustc_version,
            file,
        } => {
            assert_eq!(
                toolchain::release_of(&rustc_version),
                Some(release.as_str()),
                "{rustc_version}"
            );
            assert!(file.is_some());
        }
        other => panic!("{full_name} is not an exact pin: {other:?}"),
    }
    // A workspace below a directory with the pin is pinned by it.
    let nested = root.join("nested");
    write(&nested.join("Cargo.toml"), "[package]\nname = \"x\"\n");
    edit(
        &root.join("rust-toolchain.toml"),
        &format!("\"{full_name}\""),
        "\"1.95.0\"",
    );
    assert!(matches!(
        Toolchain::detect(&nested, &BuildEnv::from_process()).unwrap(),
        Toolchain::Pinned { version, .. } if version == "1.95.0"
    ));
}

/// Every cargo config file the build reads counts, in the workspace, above
/// it and in `$CARGO_HOME`, except what cannot change a build.
#[test]
fn cargo_config_files_count_wherever_cargo_reads_them() {
    let outer = tempfile::tempdir().unwrap();
    let ws = workspace();
    // The workspace, one level below a directory of its own.
    let root = outer.path().join("checkout");
    copy_dir(ws.path(), &root);
    let home = outer.path().join("home");
    let env = || BuildEnv::from_vars([("CARGO_HOME", home.as_os_str())]);
    let key = || notify_in(&root, env(), BuildProfile::Lambda);
    let mut last = key();
    for config in [
        root.join(".cargo/config.toml"),
        outer.path().join(".cargo/config.toml"),
        home.join("config.toml"),
    ] {
        // Only tables that cannot change the bytes: no new key.
        write(
            &config,
            "[net]\nretry = 5\n[term]\ncolor = \"never\"\n[alias]\nb = \"build\"\n[build]\njobs = 2\n",
        );
        assert_eq!(
            key(),
            last,
            "{}: no-effect tables moved the key",
            config.display()
        );
        append(&config, "rustflags = [\"-Ctarget-cpu=neoverse-n1\"]\n");
        let now = key();
        assert_ne!(
            now,
            last,
            "{}: build.rustflags did not move the key",
            config.display()
        );
        last = now;
        // A table this code does not know is hashed.
        append(&config, "[future-table]\nx = 1\n");
        let now = key();
        assert_ne!(
            now,
            last,
            "{}: an unknown table did not move the key",
            config.display()
        );
        last = now;
    }
    // cargo reads `.cargo/config` instead of `config.toml` when both exist.
    write(
        &root.join(".cargo/config"),
        "[build]\nrustflags = [\"-Cdebuginfo=1\"]\n",
    );
    let with_legacy = key();
    assert_ne!(with_legacy, last);
    append(&root.join(".cargo/config.toml"), "[another]\ny = 2\n");
    assert_eq!(
        key(),
        with_legacy,
        "config.toml is not read beside .cargo/config"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::create_dir_all(to).unwrap();
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The same sources checked out at another path, or with another
/// `$CARGO_HOME`, fingerprint alike (bundle remaps both out of the binary).
#[test]
fn the_checkout_path_and_cargo_home_do_not_move_the_key() {
    let ws = workspace();
    let other = tempfile::tempdir().unwrap();
    copy_dir(ws.path(), &other.path().join("elsewhere"));
    let first = notify_in(
        ws.path(),
        BuildEnv::from_vars([("CARGO_HOME", "/one/.cargo")]),
        BuildProfile::Lambda,
    );
    let second = notify_in(
        &other.path().join("elsewhere"),
        BuildEnv::from_vars([("CARGO_HOME", "/two/.cargo")]),
        BuildProfile::Lambda,
    );
    assert_eq!(first, second);
}
