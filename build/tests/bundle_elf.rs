//! The ELF checks `bundle` runs before zipping, on real binaries compiled here
//! from the C sources in fixtures/elf/: the host gcc (Debian 12, glibc 2.36)
//! for a program needing GLIBC_2.36, and zig (from .venv) for x86_64 and
//! aarch64 binaries linked against an old glibc.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use upstack_build::bundle::{BundleError, ElfProblem, check_binary};
use upstack_contract::{Architecture, LAMBDA_GLIBC};
use upstack_test_support::venv_tool;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/elf")
        .join(name)
}

fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn gcc(source: &str, out: &Path) {
    let mut command = Command::new("gcc");
    command.arg("-O1").arg("-o").arg(out).arg(fixture(source));
    run(command, "gcc (install it with `apt-get install gcc`)");
}

fn zig_cc(target: &str, source: &str, out: &Path) {
    let python = venv_tool("python");
    assert!(
        python.is_file(),
        "{} missing: run `scripts/setup-test-tools.sh` to install zig (ziglang) into .venv/",
        python.display()
    );
    let mut command = Command::new(python);
    command
        .args(["-m", "ziglang", "cc", "-target", target, "-O1", "-o"])
        .arg(out)
        .arg(fixture(source));
    run(command, &format!("zig cc -target {target}"));
}

#[test]
fn binary_needing_glibc_2_36_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("needs-2.36");
    gcc("glibc_2_36.c", &binary);
    let bytes = std::fs::read(&binary).unwrap();
    let problem = check_binary(&bytes, Architecture::X86_64, LAMBDA_GLIBC).unwrap_err();
    assert_eq!(
        problem,
        ElfProblem::GlibcTooNew {
            needs: (2, 36),
            lambda: (2, 34)
        }
    );
    // The message `bundle` prints for it, naming the function and its architecture.
    let error = BundleError::Refused {
        handler: "photo-check".into(),
        arch: "arm64",
        problem,
    };
    assert_eq!(
        error.to_string(),
        "photo-check (arm64): bootstrap needs GLIBC_2.36 but provided.al2023 has glibc 2.34"
    );
}

#[test]
fn aarch64_binary_passes_as_arm64_and_is_refused_as_x86_64() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("hello-aarch64");
    zig_cc("aarch64-linux-gnu.2.17", "hello.c", &binary);
    let bytes = std::fs::read(&binary).unwrap();
    let requirements = check_binary(&bytes, Architecture::Arm64, LAMBDA_GLIBC).unwrap();
    assert!(
        requirements.max_glibc.is_some_and(|v| v <= (2, 17)),
        "{requirements:?}"
    );
    let problem = check_binary(&bytes, Architecture::X86_64, LAMBDA_GLIBC).unwrap_err();
    assert_eq!(
        problem.to_string(),
        "bootstrap is built for arm64 (EM_AARCH64) but the function runs on x86_64 (EM_X86_64)"
    );
}

#[test]
fn x86_64_binary_linked_for_glibc_2_34_passes_and_fails_a_lower_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("hello-x86_64");
    zig_cc("x86_64-linux-gnu.2.34", "hello.c", &binary);
    let bytes = std::fs::read(&binary).unwrap();
    let requirements = check_binary(&bytes, Architecture::X86_64, LAMBDA_GLIBC).unwrap();
    let needed = requirements
        .max_glibc
        .expect("a dynamically linked binary needs some glibc version");
    assert!(needed <= (2, 34), "{needed:?}");
    // The same binary against an older runtime's glibc: the ceiling is really compared.
    let problem = check_binary(&bytes, Architecture::X86_64, (2, 1)).unwrap_err();
    assert!(
        matches!(problem, ElfProblem::GlibcTooNew { lambda: (2, 1), .. }),
        "{problem:?}"
    );
    assert!(matches!(
        check_binary(&bytes, Architecture::Arm64, LAMBDA_GLIBC),
        Err(ElfProblem::WrongMachine { .. })
    ));
}
