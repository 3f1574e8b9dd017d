//! The crate docs' `compile_fail` examples must fail for the reason they
//! claim. rustdoc checks `compile_fail,E0061` error codes only on nightly,
//! so on our pinned stable toolchain an example that fails for an unrelated
//! reason (a typo, a moved import) would still pass. This test compiles each
//! example in a scratch crate and checks the compiler's error codes.

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
    let root = crate_dir.parent().unwrap();
    let lib = std::fs::read_to_string(crate_dir.join("src").join("lib.rs")).unwrap();
    let examples = examples(&lib);
    assert!(
        examples.len() >= 3,
        "expected the compile_fail examples in src/lib.rs, found {}",
        examples.len()
    );

    // Inside the repository so rustup picks the pinned toolchain from
    // rust-toolchain.toml; a target dir of its own so the outer build's lock
    // is not contended and dependencies stay cached between runs.
    let scratch: PathBuf = root.join("target").join("compile-fail-examples");
    std::fs::create_dir_all(scratch.join("src").join("bin")).unwrap();
    let manifest = format!(
        "[package]\nname = \"compile-fail-examples\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nupstack-cfn = {{ path = {cfn:?} }}\nupstack-cfn-resources = {{ path = {resources:?} }}\n\n[workspace]\n",
        cfn = root.join("cfn").display().to_string(),
        resources = crate_dir.display().to_string(),
    );
    std::fs::write(scratch.join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock file pins the same dependency versions offline.
    std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock")).unwrap();
    let bin_dir = scratch.join("src").join("bin");
    for stale in std::fs::read_dir(&bin_dir).unwrap() {
        std::fs::remove_file(stale.unwrap().path()).unwrap();
    }
    for (index, example) in examples.iter().enumerate() {
        let source = format!("#![allow(unused)]\nfn main() {{\n{}}}\n", example.body);
        std::fs::write(bin_dir.join(format!("example{index}.rs")), source).unwrap();
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut problems = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let output = Command::new(&cargo)
            .current_dir(&scratch)
            // `check`: every error these examples claim is a type error, and
            // check skips the code generation of serde and this crate.
            .args([
                "check",
                "--quiet",
                "--offline",
                "--bin",
                &format!("example{index}"),
            ])
            .env("CARGO_TARGET_DIR", scratch.join("target"))
            .output()
            .unwrap();
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
