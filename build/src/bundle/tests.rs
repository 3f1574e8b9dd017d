use std::collections::BTreeSet;
use std::ffi::OsString;

use upstack_project::fingerprint::build_env::{BUILD_ENV, EnvName, EnvRule, Treatment, for_target};

use super::cfg::TargetCfg;
use super::command::{
    CommandSpec, Invocation, PathRemap, RustflagsSource, path_remaps, rustflags_source,
    zigbuild_command,
};
use super::*;

#[test]
fn zip_layout_under_target_profile() {
    assert_eq!(
        zip_path(
            Path::new("/w/target"),
            "photo-check",
            Architecture::Arm64,
            BuildProfile::Lambda
        ),
        PathBuf::from("/w/target/lambda/photo-check-arm64/bootstrap.zip")
    );
    assert_eq!(
        zip_path(
            Path::new("/w/target"),
            "notify",
            Architecture::Arm64,
            BuildProfile::Fast
        ),
        PathBuf::from("/w/target/lambda-fast/notify-arm64/bootstrap.zip")
    );
}

#[test]
fn zigbuild_without_zig_is_refused_with_the_setup_command() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("venv/bin");
    fs::create_dir_all(&bin).unwrap();
    fs::write(bin.join("cargo-zigbuild"), "").unwrap();
    fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\n[profile.lambda]\ninherits = \"release\"\n",
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("functions/notify/src")).unwrap();
    fs::write(
        dir.path().join("functions/notify/Cargo.toml"),
        "[package]\nname = \"notify\"\n",
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("scripts")).unwrap();
    fs::write(
        dir.path().join("scripts/requirements-test.lock"),
        "cargo-zigbuild==0.24.0\nziglang==0.17.1\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.96.0\"\n",
    )
    .unwrap();
    let opts = BundleOptions {
        tools_bin: Some(bin),
        env: Some(BuildEnv::default()),
        ..Default::default()
    };
    let message = bundle(
        dir.path(),
        &[("notify".to_string(), Architecture::X86_64)],
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(message.starts_with("zig not found next to"), "{message}");
    assert!(message.contains("scripts/setup-test-tools.sh"), "{message}");
}

#[test]
fn records_are_read_in_sha256sum_format_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r");
    let hash = "a".repeat(64);
    fs::write(&path, format!("{hash}  bootstrap\n")).unwrap();
    assert_eq!(read_record(&path), Some(hash));
    fs::write(&path, "not-a-hash  bootstrap\n").unwrap();
    assert_eq!(read_record(&path), None);
    assert_eq!(read_record(&dir.path().join("missing")), None);
}

#[test]
fn build_failure_includes_the_end_of_cargos_output() {
    let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let tail = output_tail(&many);
    assert!(
        tail.contains("line 99") && tail.contains("line 60") && !tail.contains("line 59\n"),
        "{tail}"
    );
    assert_eq!(output_tail(""), "; cargo's output is above");
}

#[test]
fn manifest_functions_carry_their_profile_to_the_build() {
    let function = ManifestFunction {
        logical_id: "NotifyFunction".into(),
        handler: "notify".into(),
        function_name: "upstack-dev-notify".into(),
        architecture: Architecture::Arm64,
        build_profile: BuildProfile::Fast,
        asset_key: "assets/notify-arm64-00.zip".into(),
        log_group: "/aws/lambda/upstack-dev-notify".into(),
        reserved_concurrency: None,
    };
    assert_eq!(
        BundleTarget::from(&function),
        BundleTarget {
            handler: "notify".into(),
            arch: Architecture::Arm64,
            profile: BuildProfile::Fast,
        }
    );
    let targets = [
        BundleTarget::from(&function),
        BundleTarget::from(&function),
        BundleTarget::from(("notify".to_string(), Architecture::Arm64)),
    ];
    assert_eq!(unique(&targets).len(), 2, "same handler, two profiles");
}

const TARGET: &str = "aarch64-unknown-linux-gnu";

fn remaps() -> Vec<PathRemap> {
    path_remaps(
        Path::new("/home/dev/upstack"),
        Some(Path::new("/home/dev/.cargo")),
        Path::new("/home/dev/upstack/target"),
    )
    .unwrap()
}

fn spec(env: &BuildEnv, rustflags: RustflagsSource, profile: BuildProfile) -> CommandSpec {
    let remaps = remaps();
    let invocation = Invocation {
        workspace_root: Path::new("/home/dev/upstack"),
        zigbuild: Path::new("/home/dev/upstack/.venv/bin/cargo-zigbuild"),
        tools_bin: Some(Path::new("/home/dev/upstack/.venv/bin")),
        cargo: Path::new("/toolchains/1.96.0/bin/cargo"),
        rustc: Path::new("/toolchains/1.96.0/bin/rustc"),
        target_dir: Path::new("/home/dev/upstack/target"),
        arch: Architecture::Arm64,
        profile,
        package: "upstack-notify",
        env,
        remaps: &remaps,
        rustflags,
    };
    zigbuild_command(&invocation).unwrap()
}

fn example_name(rule: &EnvRule) -> String {
    match rule.name {
        EnvName::Exact(name) => name.to_owned(),
        EnvName::Prefix(prefix) => format!("{prefix}EXAMPLE"),
        EnvName::ForTarget(base) => for_target(base, TARGET),
    }
}

fn var(spec: &CommandSpec, name: &str) -> Option<String> {
    spec.var(name)
        .map(|value| value.to_string_lossy().into_owned())
}

/// Every input the table says bundle controls is set or removed on the
/// command, whatever the caller's environment held; everything else reaches
/// cargo as the caller had it (Extended inputs with the caller's value first).
#[test]
fn the_command_controls_exactly_what_the_table_says() {
    let mut env = BuildEnv::from_vars([("PATH", "/usr/bin")]);
    for rule in BUILD_ENV {
        env.set(example_name(rule), "caller-value");
    }
    env.set("HOME", "/home/dev");
    let spec = spec(&env, RustflagsSource::Encoded, BuildProfile::Lambda);
    for rule in BUILD_ENV {
        let name = example_name(rule);
        let value = var(&spec, &name);
        match rule.treatment {
            Treatment::Set => assert_ne!(
                value.as_deref(),
                Some("caller-value"),
                "{name} is not set by bundle"
            ),
            Treatment::Cleared => assert_eq!(value, None, "{name} reaches cargo"),
            Treatment::Extended => {
                let value = value.unwrap_or_default();
                assert!(value.starts_with("caller-value"), "{name} = {value:?}");
                // RUSTFLAGS is passed on as it is; its words are extended
                // in the encoded variable when it is cargo's source
                // (remap_flags_join_the_rustflags_source_cargo_uses).
                if name != "RUSTFLAGS" {
                    assert!(value.len() > "caller-value".len(), "{name} is not extended");
                }
            }
            Treatment::Hashed | Treatment::Checked | Treatment::NoEffect => assert_eq!(
                value.as_deref(),
                Some("caller-value"),
                "{name} does not pass through"
            ),
        }
    }
    assert_eq!(var(&spec, "HOME").as_deref(), Some("/home/dev"));
    // The values bundle sets.
    assert_eq!(
        var(&spec, "RUSTC").as_deref(),
        Some("/toolchains/1.96.0/bin/rustc")
    );
    assert_eq!(
        var(&spec, "CARGO").as_deref(),
        Some("/toolchains/1.96.0/bin/cargo")
    );
    assert_eq!(var(&spec, "RUSTC_WRAPPER").as_deref(), Some(""));
    assert_eq!(var(&spec, "RUSTC_WORKSPACE_WRAPPER").as_deref(), Some(""));
    assert_eq!(var(&spec, "CARGO_INCREMENTAL").as_deref(), Some("0"));
    assert_eq!(
        var(&spec, "CARGO_TARGET_DIR").as_deref(),
        Some("/home/dev/upstack/target")
    );
    assert_eq!(
        var(&spec, "CARGO_BUILD_BUILD_DIR").as_deref(),
        Some("/home/dev/upstack/target")
    );
    assert_eq!(
        var(&spec, "PATH").as_deref(),
        Some("/home/dev/upstack/.venv/bin:caller-value")
    );
    let fast = spec_for(BuildProfile::Fast);
    assert_eq!(var(&fast, "CARGO_INCREMENTAL").as_deref(), Some("1"));
    assert_eq!(
        fast.args,
        [
            "zigbuild",
            "--profile",
            "lambda-fast",
            "--target",
            "aarch64-unknown-linux-gnu.2.34",
            "-p",
            "upstack-notify",
            "--config",
            "build.rustflags=[\"--remap-path-prefix=/home/dev/upstack=/workspace\", \
             \"--remap-path-prefix=/home/dev/upstack/target=/target\", \
             \"--remap-path-prefix=/home/dev/.cargo/registry/src=/cargo/registry/src\", \
             \"--remap-path-prefix=/home/dev/.cargo/git/checkouts=/cargo/git/checkouts\"]"
        ]
        .map(OsString::from)
    );
}

fn spec_for(profile: BuildProfile) -> CommandSpec {
    spec(
        &BuildEnv::from_vars([("PATH", "/usr/bin")]),
        RustflagsSource::BuildConfig,
        profile,
    )
}

/// The remapping is appended to the one rustflags source cargo uses,
/// after the caller's own flags, for each of the four.
#[test]
fn remap_flags_join_the_rustflags_source_cargo_uses() {
    let remap = |remaps: &[PathRemap]| -> Vec<String> {
        remaps
            .iter()
            .map(|remap| format!("--remap-path-prefix={}={}", remap.from, remap.to))
            .collect()
    };
    let ours = remap(&remaps());

    let env = BuildEnv::from_vars([(
        "CARGO_ENCODED_RUSTFLAGS",
        "-Ctarget-cpu=neoverse-n1\x1f-Cdebuginfo=1",
    )]);
    let encoded = spec(&env, RustflagsSource::Encoded, BuildProfile::Lambda);
    let expected: Vec<String> = ["-Ctarget-cpu=neoverse-n1", "-Cdebuginfo=1"]
        .into_iter()
        .map(str::to_owned)
        .chain(ours.iter().cloned())
        .collect();
    assert_eq!(
        var(&encoded, "CARGO_ENCODED_RUSTFLAGS"),
        Some(expected.join("\x1f"))
    );
    assert!(!encoded.args.iter().any(|arg| arg == "--config"));

    // Set but empty: cargo uses it (no flags); ours are all there is.
    let env = BuildEnv::from_vars([("CARGO_ENCODED_RUSTFLAGS", "")]);
    let empty = spec(&env, RustflagsSource::Encoded, BuildProfile::Lambda);
    assert_eq!(
        var(&empty, "CARGO_ENCODED_RUSTFLAGS"),
        Some(ours.join("\x1f"))
    );

    let env = BuildEnv::from_vars([("RUSTFLAGS", "  -Ctarget-cpu=neoverse-n1   -Cdebuginfo=1 ")]);
    let plain = spec(&env, RustflagsSource::Rustflags, BuildProfile::Lambda);
    assert_eq!(
        var(&plain, "CARGO_ENCODED_RUSTFLAGS"),
        Some(expected.join("\x1f"))
    );
    assert_eq!(
        var(&plain, "RUSTFLAGS").as_deref(),
        Some("  -Ctarget-cpu=neoverse-n1   -Cdebuginfo=1 "),
        "passed on as it was"
    );

    let config = spec(
        &BuildEnv::default(),
        RustflagsSource::TargetConfig,
        BuildProfile::Lambda,
    );
    let config_arg = config.args.last().unwrap().to_string_lossy().into_owned();
    assert!(
        config_arg
            .starts_with("target.aarch64-unknown-linux-gnu.rustflags=[\"--remap-path-prefix="),
        "{config_arg}"
    );
    assert_eq!(var(&config, "CARGO_ENCODED_RUSTFLAGS"), None);
    let build = spec(
        &BuildEnv::default(),
        RustflagsSource::BuildConfig,
        BuildProfile::Lambda,
    );
    let build_arg = build.args.last().unwrap().to_string_lossy().into_owned();
    assert!(
        build_arg.starts_with("build.rustflags=[\"--remap-path-prefix="),
        "{build_arg}"
    );
}

/// Which source cargo uses: the encoded variable, then RUSTFLAGS, then any
/// target-level config that applies, then build.rustflags.
#[test]
fn the_rustflags_source_is_found_as_cargo_finds_it() {
    let none = BTreeSet::new();
    let keys =
        |list: &[&str]| -> BTreeSet<String> { list.iter().map(|key| key.to_string()).collect() };
    let linux = TargetCfg::parse("target_arch=\"aarch64\"\ntarget_os=\"linux\"\nunix\n");
    let source = |env: &[(&str, &str)], keys: &BTreeSet<String>| {
        rustflags_source(
            &BuildEnv::from_vars(env.iter().copied()),
            keys,
            TARGET,
            Some(&linux),
        )
    };
    assert_eq!(source(&[], &none), RustflagsSource::BuildConfig);
    assert_eq!(
        source(&[("RUSTFLAGS", ""), ("CARGO_ENCODED_RUSTFLAGS", "")], &none),
        RustflagsSource::Encoded
    );
    assert_eq!(
        source(&[("RUSTFLAGS", "")], &keys(&[TARGET])),
        RustflagsSource::Rustflags
    );
    assert_eq!(source(&[], &keys(&[TARGET])), RustflagsSource::TargetConfig);
    assert_eq!(
        source(&[], &keys(&["x86_64-unknown-linux-gnu"])),
        RustflagsSource::BuildConfig,
        "another target's flags do not apply"
    );
    assert_eq!(
        source(&[], &keys(&["cfg(unix)"])),
        RustflagsSource::TargetConfig
    );
    assert_eq!(
        source(&[], &keys(&["cfg(windows)"])),
        RustflagsSource::BuildConfig,
        "a cfg that does not match leaves build.rustflags in use"
    );
    assert_eq!(
        source(
            &[("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-Cfoo")],
            &none
        ),
        RustflagsSource::TargetConfig
    );
    assert_eq!(
        source(&[("CARGO_BUILD_RUSTFLAGS", "-Cfoo")], &none),
        RustflagsSource::BuildConfig
    );
}

/// C flags for the target keep the caller's and gain the prefix maps; a
/// path holding a space cannot be passed to cc-rs and is left out of them.
#[test]
fn c_flags_gain_the_prefix_maps_after_the_callers() {
    let env = BuildEnv::from_vars([("CFLAGS_aarch64_unknown_linux_gnu", "-O2 -g0")]);
    let spec = spec(&env, RustflagsSource::BuildConfig, BuildProfile::Lambda);
    let cflags = var(&spec, "CFLAGS_aarch64_unknown_linux_gnu").unwrap();
    assert_eq!(
        cflags,
        "-O2 -g0 -ffile-prefix-map=/home/dev/upstack=/workspace \
         -ffile-prefix-map=/home/dev/upstack/target=/target \
         -ffile-prefix-map=/home/dev/.cargo/registry/src=/cargo/registry/src \
         -ffile-prefix-map=/home/dev/.cargo/git/checkouts=/cargo/git/checkouts"
    );
    let cxxflags = var(&spec, "CXXFLAGS_aarch64_unknown_linux_gnu").unwrap();
    assert!(cxxflags.starts_with("-ffile-prefix-map="), "{cxxflags}");

    let spaced = path_remaps(
        Path::new("/Users/Jo Doe/upstack"),
        Some(Path::new("/opt/cargo")),
        Path::new("/tmp/target"),
    )
    .unwrap();
    let remaps = spaced;
    let env = BuildEnv::default();
    let invocation = Invocation {
        workspace_root: Path::new("/Users/Jo Doe/upstack"),
        zigbuild: Path::new("/z"),
        tools_bin: None,
        cargo: Path::new("/c"),
        rustc: Path::new("/r"),
        target_dir: Path::new("/tmp/target"),
        arch: Architecture::Arm64,
        profile: BuildProfile::Lambda,
        package: "p",
        env: &env,
        remaps: &remaps,
        rustflags: RustflagsSource::Encoded,
    };
    let spec = zigbuild_command(&invocation).unwrap();
    let cflags = var(&spec, "CFLAGS_aarch64_unknown_linux_gnu").unwrap();
    assert!(!cflags.contains("Jo Doe"), "{cflags}");
    assert!(
        cflags.contains("/opt/cargo/registry/src=/cargo/registry/src"),
        "{cflags}"
    );
    // rustc takes each flag as one argument: the spaced path is remapped there.
    let encoded = var(&spec, "CARGO_ENCODED_RUSTFLAGS").unwrap();
    assert!(
        encoded.contains("--remap-path-prefix=/Users/Jo Doe/upstack=/workspace"),
        "{encoded}"
    );
}

/// The longest prefix comes last, so it wins where several match; a path
/// the flag syntax cannot carry is refused.
#[test]
fn remaps_put_the_most_specific_prefix_last() {
    let remaps = remaps();
    let from: Vec<&str> = remaps.iter().map(|remap| remap.from.as_str()).collect();
    assert_eq!(
        from,
        [
            "/home/dev/upstack",
            "/home/dev/upstack/target",
            "/home/dev/.cargo/registry/src",
            "/home/dev/.cargo/git/checkouts",
        ]
    );
    assert_eq!(
        path_remaps(Path::new("/w/a=b"), None, Path::new("/t")).unwrap_err(),
        PathBuf::from("/w/a=b")
    );
}

/// A workspace with one handler and the pins, and a directory of fake tools
/// (shell scripts printing a fixed answer) as the only `PATH`.
struct FakeTools {
    dir: tempfile::TempDir,
}

impl FakeTools {
    fn new() -> FakeTools {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"functions/notify\"]\n[profile.lambda]\ninherits = \"release\"\n",
        );
        write(
            "functions/notify/Cargo.toml",
            "[package]\nname = \"notify\"\n",
        );
        write("functions/notify/src/main.rs", "fn main() {}\n");
        write(
            "scripts/requirements-test.lock",
            "cargo-zigbuild==0.24.0\nziglang==0.17.1\n",
        );
        write("rust-toolchain.toml", "[toolchain]\nchannel = \"1.96.0\"\n");
        let tools = FakeTools { dir };
        fs::create_dir_all(tools.bin()).unwrap();
        tools
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn tool(&self, name: &str, output: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin().join(name);
        fs::write(&path, format!("#!/bin/sh\necho '{output}'\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn bundle_error(&self) -> String {
        let opts = BundleOptions {
            tools_bin: Some(self.bin()),
            target_dir: Some(self.dir.path().join("target")),
            quiet: true,
            env: Some(BuildEnv::from_vars([("PATH", self.bin())])),
        };
        bundle(
            &self.root(),
            &[("notify".to_string(), Architecture::X86_64)],
            &opts,
        )
        .unwrap_err()
        .to_string()
    }
}

/// Each tool is checked against its pin before anything builds: the
/// message names the tool, both versions, the pin file and the fix.
#[test]
fn tools_that_are_not_the_pinned_versions_are_refused() {
    let tools = FakeTools::new();
    tools.tool("cargo-zigbuild", "cargo-zigbuild 0.23.0");
    tools.tool("zig", "0.16.0");
    tools.tool("rustup", &tools.bin().join("rustc").display().to_string());
    tools.tool("rustc", "rustc 1.95.0\nrelease: 1.95.0");
    let error = tools.bundle_error();
    assert!(
        error.starts_with(&format!(
            "cargo-zigbuild at {}/cargo-zigbuild is 0.23.0, but {}/scripts/requirements-test.lock pins 0.24.0",
            tools.bin().display(),
            tools.root().display()
        )),
        "{error}"
    );
    assert!(error.ends_with("run `bash scripts/setup-test-tools.sh` (it installs the pinned cargo-zigbuild and zig into .venv/)"), "{error}");

    tools.tool("cargo-zigbuild", "cargo-zigbuild 0.24.0");
    let error = tools.bundle_error();
    assert!(
        error.starts_with(&format!(
            "zig at {}/zig is 0.16.0, but",
            tools.bin().display()
        )) && error.contains("pins 0.17.1"),
        "{error}"
    );

    tools.tool("zig", "0.17.1");
    let error = tools.bundle_error();
    assert!(
        error.starts_with(&format!(
            "rustc at {}/rustc is 1.95.0, but {}/rust-toolchain.toml pins 1.96.0",
            tools.bin().display(),
            fs::canonicalize(tools.root()).unwrap().display()
        )),
        "{error}"
    );
    assert!(
        error.contains("scripts/setup-test-tools.sh --toolchain"),
        "{error}"
    );
}
