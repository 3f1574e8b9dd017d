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
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let externs = ["upstack_cfn", "upstack_cfn_resources"].map(|name| {
        let mut extern_arg = std::ffi::OsString::from(format!("{name}="));
        extern_arg.push(built_rlib(&deps, name));
        extern_arg
    });
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-fail-examples");
    std::fs::create_dir_all(&scratch).unwrap();
    let rustc = rustc();
    let mut problems = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let source = scratch.join(format!("example{index}.rs"));
        std::fs::write(
            &source,
            format!("#![allow(unused)]\nfn main() {{\n{}}}\n", example.body),
        )
        .unwrap();
        let mut command = Command::new(&rustc);
        command
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "bin",
                "--emit=metadata",
            ])
            .arg("--out-dir")
            .arg(&scratch)
            .arg("-L")
            .arg(format!("dependency={}", deps.display()));
        for extern_arg in &externs {
            command.arg("--extern").arg(extern_arg);
        }
        let output = command.arg(&source).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let codes = error_codes(&stderr);
        if output.status.success() || codes != [example.code.clone()] {
            problems.push(format!(
                "example {index} should fail with exactly {} but got {codes:?}:\n{}\n{stderr}",
                example.code, example.body
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n---\n"));
}

/// The rlib of `crate_name` in `deps`, the directory cargo linked this test
/// from. Should older builds have left others (other features, an older
/// toolchain), the newest is the one cargo built or checked for this run.
fn built_rlib(deps: &Path, crate_name: &str) -> PathBuf {
    let prefix = format!("lib{crate_name}-");
    let entries = std::fs::read_dir(deps)
        .unwrap_or_else(|error| panic!("reading {}: {error}", deps.display()));
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(&prefix) && name.ends_with(".rlib")) {
            continue;
        }
        let Ok(modified) = entry.metadata().and_then(|metadata| metadata.modified()) else {
            continue;
        };
        if newest.as_ref().is_none_or(|(time, _)| modified > *time) {
            newest = Some((modified, entry.path()));
        }
    }
    newest
        .unwrap_or_else(|| panic!("no {prefix}*.rlib in {}", deps.display()))
        .1
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
