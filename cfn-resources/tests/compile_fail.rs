//! The crate docs' `compile_fail` examples must fail for the reason they
//! claim. rustdoc checks `compile_fail,E0061` error codes only on nightly,
//! so on our pinned stable toolchain an example that fails for an unrelated
//! reason (a typo, a moved import) would still pass. This test compiles each
//! example and checks the compiler's error codes.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Example {
    code: String,
    body: String,
}

/// ```` ```compile_fail,EXXXX ```` blocks of the crate docs in src/lib.rs.
fn examples(lib: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut current: Option<Example> = None;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match (&mut current, doc.strip_prefix("```compile_fail,")) {
            (None, Some(code)) => {
                current = Some(Example {
                    code: code.to_owned(),
                    body: String::new(),
                })
            }
            (Some(_), _) if doc == "```" => found.extend(current.take()),
            (Some(example), _) => {
                example.body.push_str(doc);
                example.body.push('\n');
            }
            (None, None) => {}
        }
    }
    found
}

fn error_codes(stderr: &str) -> Vec<String> {
    let mut codes: Vec<String> = stderr
        .match_indices("error[E")
        .filter_map(|(at, _)| stderr.get(at + 6..at + 11).map(str::to_owned))
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_compile_fail_example_fails_with_its_error_code() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(crate_dir.join("src").join("lib.rs")).unwrap();
    let examples = examples(&lib);
    assert!(
        examples.len() >= 3,
        "expected the compile_fail examples in src/lib.rs, found {}",
        examples.len()
    );

    // Each example is compiled by rustc against the rlibs cargo built for
    // this test, as rustdoc compiles doctests: a scratch crate of its own
    // had to `cargo check` serde and both crates again (13 CPU-s in a fresh
    // clone). `--emit=metadata` stops after type checking, where every
    // error these examples claim is found.
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-fail-examples");
    std::fs::create_dir_all(&scratch).unwrap();
    let compiler = ExampleCompiler::for_this_test(scratch);
    let mut problems = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let source = format!("#![allow(unused)]\nfn main() {{\n{}}}\n", example.body);
        let (compiled, stderr) = compiler.compile(&format!("example{index}"), &source);
        let codes = error_codes(&stderr);
        if compiled || codes != [example.code.clone()] {
            problems.push(format!(
                "example {index} should fail with exactly {} but got {codes:?}:\n{}\n{stderr}",
                example.code, example.body
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n---\n"));
}

/// rustc with the two crates the examples use as `--extern`s.
struct ExampleCompiler {
    rustc: PathBuf,
    /// The directory cargo linked this test from, holding both rlibs and
    /// everything they depend on.
    deps: PathBuf,
    upstack_cfn: PathBuf,
    upstack_cfn_resources: PathBuf,
    scratch: PathBuf,
}

impl ExampleCompiler {
    /// Builds that differ in features or toolchain leave several rlibs of a
    /// crate side by side, and an `upstack_cfn` other than the one the
    /// resources were built against makes every example fail for the wrong
    /// reason ("multiple different versions of crate"). So: the newest
    /// resources rlib, and the `upstack_cfn` with which a correct program
    /// using both compiles.
    fn for_this_test(scratch: PathBuf) -> ExampleCompiler {
        let deps = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.to_owned()))
            .unwrap_or_else(|| panic!("cannot locate this test's directory"));
        let resources = rlibs_newest_first(&deps, "upstack_cfn_resources")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no libupstack_cfn_resources-*.rlib in {}", deps.display()));
        let rustc = rustc();
        let probe = "fn main() {\n    let mut template = upstack_cfn::Template::new();\n    \
                     template.add(\"Uploads\", upstack_cfn_resources::s3::Bucket::new());\n}\n";
        let mut refused = Vec::new();
        for upstack_cfn in rlibs_newest_first(&deps, "upstack_cfn") {
            let compiler = ExampleCompiler {
                rustc: rustc.clone(),
                deps: deps.clone(),
                upstack_cfn,
                upstack_cfn_resources: resources.clone(),
                scratch: scratch.clone(),
            };
            let (compiled, stderr) = compiler.compile("probe", probe);
            if compiled {
                return compiler;
            }
            refused.push(format!("{}:\n{stderr}", compiler.upstack_cfn.display()));
        }
        panic!(
            "no libupstack_cfn-*.rlib in {} compiles with {} (an example that must compile \
             did not):\n{}",
            deps.display(),
            resources.display(),
            refused.join("\n")
        );
    }

    /// Compiles `source` as a binary crate up to its metadata: whether it
    /// compiled, and what rustc said.
    fn compile(&self, name: &str, source: &str) -> (bool, String) {
        let path = self.scratch.join(format!("{name}.rs"));
        std::fs::write(&path, source)
            .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
        let mut upstack_cfn = std::ffi::OsString::from("upstack_cfn=");
        upstack_cfn.push(&self.upstack_cfn);
        let mut upstack_cfn_resources = std::ffi::OsString::from("upstack_cfn_resources=");
        upstack_cfn_resources.push(&self.upstack_cfn_resources);
        let mut dependency_dir = std::ffi::OsString::from("dependency=");
        dependency_dir.push(&self.deps);
        let output = Command::new(&self.rustc)
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "bin",
                "--emit=metadata",
            ])
            .arg("--out-dir")
            .arg(&self.scratch)
            .arg("-L")
            .arg(dependency_dir)
            .arg("--extern")
            .arg(upstack_cfn)
            .arg("--extern")
            .arg(upstack_cfn_resources)
            .arg(&path)
            .output()
            .unwrap_or_else(|error| panic!("running {}: {error}", self.rustc.display()));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// The rlibs of `crate_name` in `deps`, newest first.
fn rlibs_newest_first(deps: &Path, crate_name: &str) -> Vec<PathBuf> {
    let prefix = format!("lib{crate_name}-");
    let entries = std::fs::read_dir(deps)
        .unwrap_or_else(|error| panic!("reading {}: {error}", deps.display()));
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".rlib")
        })
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|metadata| metadata.modified());
            Some((modified.ok()?, entry.path()))
        })
        .collect();
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().map(|(_, path)| path).collect()
}

/// The rustc beside the cargo that runs this test (cargo test sets `CARGO`),
/// so the examples compile with the toolchain that built the rlibs.
fn rustc() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| Some(cargo.parent()?.join("rustc")))
        .filter(|rustc| rustc.is_file())
        .unwrap_or_else(|| PathBuf::from("rustc"))
}
