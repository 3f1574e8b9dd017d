//! Checks a handler binary can run on `provided.al2023` before it is zipped.
//!
//! Lambda only reports a wrong binary at the first invocation
//! (`Runtime.InvalidEntrypoint` for a wrong architecture, `GLIBC_2.xx not
//! found` for a too-new glibc), so `bundle` refuses such a binary up front.

use std::fmt;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, FileKind};
use upstack_contract::Architecture;

/// What the binary needs, as read from its ELF headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryRequirements {
    /// Highest `GLIBC_x.y` symbol version the binary needs (`None`: static or no glibc).
    pub max_glibc: Option<(u32, u32)>,
}

/// Why a binary cannot run on the function's runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfProblem {
    NotElf64 {
        found: String,
    },
    WrongMachine {
        found: String,
        expected: Architecture,
    },
    GlibcTooNew {
        needs: (u32, u32),
        lambda: (u32, u32),
    },
    Malformed {
        detail: String,
    },
}

impl fmt::Display for ElfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfProblem::NotElf64 { found } => {
                write!(
                    f,
                    "bootstrap is not a 64-bit ELF executable (found {found}); Lambda runs Linux ELF binaries"
                )
            }
            ElfProblem::WrongMachine { found, expected } => write!(
                f,
                "bootstrap is built for {found} but the function runs on {} ({})",
                expected.lambda_name(),
                machine_name(*expected)
            ),
            ElfProblem::GlibcTooNew {
                needs: (major, minor),
                lambda: (lambda_major, lambda_minor),
            } => write!(
                f,
                "bootstrap needs GLIBC_{major}.{minor} but provided.al2023 has glibc {lambda_major}.{lambda_minor}"
            ),
            ElfProblem::Malformed { detail } => {
                write!(f, "bootstrap has unreadable ELF headers: {detail}")
            }
        }
    }
}

fn machine_name(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "EM_X86_64",
        Architecture::Arm64 => "EM_AARCH64",
    }
}

fn expected_machine(arch: Architecture) -> elf::Machine {
    match arch {
        Architecture::X86_64 => elf::EM_X86_64,
        Architecture::Arm64 => elf::EM_AARCH64,
    }
}

/// Checks the ELF machine against `arch` and the needed glibc against `max_glibc`.
pub fn check_binary(
    bytes: &[u8],
    arch: Architecture,
    max_glibc: (u32, u32),
) -> Result<BinaryRequirements, ElfProblem> {
    match FileKind::parse(bytes) {
        Ok(FileKind::Elf64) => {}
        Ok(other) => {
            return Err(ElfProblem::NotElf64 {
                found: format!("{other:?}"),
            });
        }
        Err(_) => {
            return Err(ElfProblem::NotElf64 {
                found: "an unrecognised file format".to_string(),
            });
        }
    }
    let file = ElfFile64::<Endianness>::parse(bytes).map_err(|e| ElfProblem::Malformed {
        detail: e.to_string(),
    })?;
    let endian = file.endian();
    let machine = file.elf_header().e_machine(endian);
    if machine != expected_machine(arch) {
        let found = match machine {
            elf::EM_X86_64 => "x86_64 (EM_X86_64)".to_string(),
            elf::EM_AARCH64 => "arm64 (EM_AARCH64)".to_string(),
            other => format!("ELF machine {other}"),
        };
        return Err(ElfProblem::WrongMachine {
            found,
            expected: arch,
        });
    }
    let max_needed = max_glibc_needed(&file).map_err(|detail| ElfProblem::Malformed { detail })?;
    if let Some(needs) = max_needed
        && needs > max_glibc
    {
        return Err(ElfProblem::GlibcTooNew {
            needs,
            lambda: max_glibc,
        });
    }
    Ok(BinaryRequirements {
        max_glibc: max_needed,
    })
}

/// Highest `GLIBC_x.y` in `.gnu.version_r` (the versions the dynamic linker
/// must find in libc/libm/libpthread...). `GLIBC_PRIVATE` and non-glibc
/// entries (`GCC_3.0`) are ignored.
fn max_glibc_needed(file: &ElfFile64<'_, Endianness>) -> Result<Option<(u32, u32)>, String> {
    let endian = file.endian();
    let data = file.data();
    let sections = file.elf_section_table();
    let Some((mut verneeds, strings_index)) = sections
        .gnu_verneed(endian, data)
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let strings = sections
        .strings(endian, data, strings_index)
        .map_err(|e| e.to_string())?;
    let mut highest = None;
    while let Some((_verneed, mut auxes)) = verneeds.next().map_err(|e| e.to_string())? {
        while let Some(aux) = auxes.next().map_err(|e| e.to_string())? {
            let name = aux.name(endian, strings).map_err(|e| e.to_string())?;
            if let Some(version) = parse_glibc_version(name) {
                highest = highest.max(Some(version));
            }
        }
    }
    Ok(highest)
}

/// `GLIBC_2.34` -> (2, 34); `GLIBC_2.2.5` -> (2, 2) (the patch level never
/// introduces symbols Lambda lacks: 2.2.5 < 2.34 either way).
fn parse_glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(name).ok()?;
    let mut parts = text.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_glibc_version_names() {
        assert_eq!(parse_glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(parse_glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(parse_glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc_version(b"GCC_3.0"), None);
        // Versions compare numerically, not as text: 2.4 < 2.34.
        assert!(parse_glibc_version(b"GLIBC_2.4") < parse_glibc_version(b"GLIBC_2.34"));
    }

    #[test]
    fn refuses_non_elf_input() {
        let problem =
            check_binary(b"#!/bin/sh\necho hi\n", Architecture::X86_64, (2, 34)).unwrap_err();
        assert!(
            matches!(problem, ElfProblem::NotElf64 { .. }),
            "{problem:?}"
        );
        assert!(
            problem.to_string().contains("not a 64-bit ELF"),
            "{problem}"
        );
    }

    #[test]
    fn messages_name_what_is_needed_and_what_lambda_has() {
        let glibc = ElfProblem::GlibcTooNew {
            needs: (2, 36),
            lambda: (2, 34),
        };
        assert_eq!(
            glibc.to_string(),
            "bootstrap needs GLIBC_2.36 but provided.al2023 has glibc 2.34"
        );
        let machine = ElfProblem::WrongMachine {
            found: "x86_64 (EM_X86_64)".into(),
            expected: Architecture::Arm64,
        };
        assert_eq!(
            machine.to_string(),
            "bootstrap is built for x86_64 (EM_X86_64) but the function runs on arm64 (EM_AARCH64)"
        );
    }

    /// The test binary itself is a real ELF for the host: it must pass as
    /// x86_64 with a glibc ceiling of the host's, and fail as arm64.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn checks_the_running_test_binary() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let requirements = check_binary(&bytes, Architecture::X86_64, (2, 99)).unwrap();
        assert!(
            requirements.max_glibc.is_some_and(|v| v >= (2, 2)),
            "{requirements:?}"
        );
        let problem = check_binary(&bytes, Architecture::Arm64, (2, 99)).unwrap_err();
        assert!(
            matches!(problem, ElfProblem::WrongMachine { .. }),
            "{problem:?}"
        );
    }
}
