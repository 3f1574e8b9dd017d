//! `upstack new-handler NAME`: a new handler crate in `functions/NAME`, laid
//! out like the others (package `upstack-NAME`, binary `NAME`, workspace
//! dependencies and lints), added to the workspace's members. Wiring it into
//! the pipeline is one line of the declaration, which this only points at:
//! what triggers a handler and what it may do is a decision, not a default.
//!
//! Nothing is half-written: the crate is written into a hidden directory
//! beside its destination and renamed into place, and the root manifest is
//! replaced atomically; a failure after the rename removes the crate again.

use std::fs;
use std::path::{Path, PathBuf};

use upstack_stack::pipeline;

use crate::fsutil::write_atomic;

/// Where handler crates live, relative to the workspace root.
pub const FUNCTIONS_DIR: &str = "functions";

/// Directory names cargo keeps for itself under `target/<profile>/`: a
/// binary may not take one (<https://doc.rust-lang.org/cargo/reference/cargo-targets.html#target-selection>).
const RESERVED: [&str; 5] = ["build", "deps", "examples", "incremental", "defaults"];

/// The longest name. `<app>-<env>-<name>` is the function's `FunctionName`,
/// at most 64 characters: env names are at most 10 and the bucket-name check
/// keeps app names to 17 at most (with a 9-character region), so 32 fits.
pub const MAX_NAME: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum NewHandlerError {
    #[error(
        "`{name}` is not a usable handler name: {reason} (use lowercase letters, digits and single hyphens, starting with a letter, at most {MAX_NAME} characters, e.g. `thumbnail`)"
    )]
    BadName { name: String, reason: &'static str },
    #[error("handler `{name}` is already declared in {file}")]
    Declared { name: String, file: &'static str },
    #[error("{path} already exists; choose another name or remove it")]
    Exists { path: PathBuf },
    #[error("the workspace's Cargo.toml already has a member building package `{package}`")]
    PackageExists { package: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`cargo metadata` could not add `{package}` to Cargo.lock: {message}")]
    Lock { package: String, message: String },
}

/// What [`scaffold`] created, and where to wire the handler in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffold {
    pub name: String,
    pub package: String,
    /// `functions/<name>`, relative to the workspace root.
    pub crate_dir: PathBuf,
    /// Every file written, relative to the workspace root.
    pub files: Vec<PathBuf>,
    /// Whether the root manifest's `members` gained the crate.
    pub added_member: bool,
    /// The declaration file, relative to the workspace root.
    pub declaration_file: &'static str,
    /// 1-based line of the declaration the new function's line goes before.
    pub declaration_line: usize,
    /// The line to add there.
    pub declaration_entry: String,
}

/// Refuses a name that would not make a crate, a binary, a logical ID
/// (`<Pascal>Function`) and a Lambda function name that all agree.
pub fn check_name(name: &str) -> Result<(), NewHandlerError> {
    let bad = |reason| {
        Err(NewHandlerError::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() || name.len() > MAX_NAME {
        return bad("its length");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lowercase letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        // `_` too: `photo_check` and `photo-check` would both be `PhotoCheckFunction`.
        return bad("only a-z, 0-9 and `-` are allowed");
    }
    if name.ends_with('-') || name.contains("--") {
        return bad("a hyphen must sit between two words");
    }
    if RESERVED.contains(&name) {
        return bad("the name is reserved");
    }
    Ok(())
}

/// Creates `functions/<name>` under `root`, adds it to the workspace and
/// returns where to declare it.
pub fn scaffold(root: &Path, name: &str) -> Result<Scaffold, NewHandlerError> {
    check_name(name)?;
    if pipeline::handlers().contains(&name) {
        return Err(NewHandlerError::Declared {
            name: name.to_owned(),
            file: pipeline::DECLARATION_FILE,
        });
    }
    let package = format!("upstack-{name}");
    let crate_dir = Path::new(FUNCTIONS_DIR).join(name);
    let destination = root.join(&crate_dir);
    if destination.exists() {
        return Err(NewHandlerError::Exists { path: crate_dir });
    }
    let manifest_path = root.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let (members, added_member) = with_member(&manifest_path, &manifest, &crate_dir, &package)?;
    let (declaration_line, declaration_entry) = declaration_point(root, name)?;

    let staging = root
        .join(FUNCTIONS_DIR)
        .join(format!(".{name}.new-{}", std::process::id()));
    let files = crate_files(name, &package);
    let written = write_tree(&staging, &files).and_then(|()| {
        fs::rename(&staging, &destination).map_err(|source| NewHandlerError::Write {
            path: destination.clone(),
            source,
        })
    });
    if let Err(error) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    if added_member && let Err(source) = write_atomic(&manifest_path, members.as_bytes()) {
        let _ = fs::remove_dir_all(&destination);
        return Err(NewHandlerError::Write {
            path: manifest_path,
            source,
        });
    }
    Ok(Scaffold {
        name: name.to_owned(),
        package,
        files: files
            .iter()
            .map(|(relative, _)| crate_dir.join(relative))
            .collect(),
        crate_dir,
        added_member,
        declaration_file: pipeline::DECLARATION_FILE,
        declaration_line,
        declaration_entry,
    })
}

/// Adds the new package to `Cargo.lock` (no network: every dependency it
/// uses is the workspace's, already locked), so `synth` can fingerprint it
/// and `--locked` builds keep passing.
pub fn lock(root: &Path, package: &str) -> Result<(), NewHandlerError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| NewHandlerError::Lock {
            package: package.to_owned(),
            message: error.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(NewHandlerError::Lock {
        package: package.to_owned(),
        message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

fn read(path: &Path) -> Result<String, NewHandlerError> {
    fs::read_to_string(path).map_err(|source| NewHandlerError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The root manifest with `crate_dir` in `[workspace] members`, after the
/// last handler crate; unchanged (and `false`) when a member already covers it.
fn with_member(
    path: &Path,
    manifest: &str,
    crate_dir: &Path,
    package: &str,
) -> Result<(String, bool), NewHandlerError> {
    let invalid = |message: String| NewHandlerError::Manifest {
        path: path.to_owned(),
        message,
    };
    let parsed: toml::Table = manifest
        .parse()
        .map_err(|error: toml::de::Error| invalid(error.message().to_owned()))?;
    let members: Vec<&str> = parsed
        .get("workspace")
        .and_then(|workspace| workspace.get("members"))
        .and_then(toml::Value::as_array)
        .ok_or_else(|| invalid("no [workspace] members list".to_owned()))?
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    // A package is found by name anywhere in the workspace: two crates
    // named `upstack-<name>` would make `cargo build -p` ambiguous.
    for member in &members {
        let existing = Path::new(path).with_file_name(member).join("Cargo.toml");
        if let Ok(text) = fs::read_to_string(&existing)
            && text.contains(&format!("name = \"{package}\""))
        {
            return Err(NewHandlerError::PackageExists {
                package: package.to_owned(),
            });
        }
    }
    let relative = crate_dir.to_string_lossy().replace('\\', "/");
    let covered = members.iter().any(|member| {
        *member == relative
            || member
                .strip_suffix("/*")
                .is_some_and(|dir| Path::new(dir) == crate_dir.parent().unwrap_or(crate_dir))
    });
    if covered {
        return Ok((manifest.to_owned(), false));
    }
    // Inserted as text after the last handler line, so comments and
    // layout stay as written.
    let lines: Vec<&str> = manifest.lines().collect();
    let members_start = lines
        .iter()
        .position(|line| line.trim_start().starts_with("members"))
        .ok_or_else(|| invalid("no `members = [` line".to_owned()))?;
    let members_end = lines[members_start..]
        .iter()
        .position(|line| line.trim_end().ends_with(']'))
        .map(|offset| members_start + offset)
        .ok_or_else(|| invalid("the members list does not close".to_owned()))?;
    let after = (members_start..members_end)
        .rev()
        .find(|&i| {
            lines[i]
                .trim_start()
                .starts_with(&format!("\"{FUNCTIONS_DIR}/"))
        })
        .unwrap_or(members_end.saturating_sub(1));
    let mut out: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
    out.insert(after + 1, format!("    \"{relative}\","));
    let mut text = out.join("\n");
    if manifest.ends_with('\n') {
        text.push('\n');
    }
    Ok((text, true))
}

/// The line of the declaration's `functions` list that closes it, and the
/// entry to add above it.
fn declaration_point(root: &Path, name: &str) -> Result<(usize, String), NewHandlerError> {
    let path = root.join(pipeline::DECLARATION_FILE);
    let text = read(&path)?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start().starts_with("functions: &["))
        .ok_or_else(|| NewHandlerError::Manifest {
            path: path.clone(),
            message: "no `functions: &[` list".to_owned(),
        })?;
    let close = lines[start..]
        .iter()
        .position(|line| line.trim() == "],")
        .map(|offset| start + offset)
        .ok_or_else(|| NewHandlerError::Manifest {
            path,
            message: "the `functions` list does not close".to_owned(),
        })?;
    let entry = format!("        Function::new(\"{name}\").on(&[any(\"{name}/\")]),");
    Ok((close + 1, entry))
}

fn write_tree(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), NewHandlerError> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, contents)
        };
        write().map_err(|source| NewHandlerError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The crate's files: `(path inside the crate, contents)`.
fn crate_files(name: &str, package: &str) -> Vec<(PathBuf, String)> {
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{package}}", package)
    };
    vec![
        (
            PathBuf::from("Cargo.toml"),
            fill(include_str!("new_handler/Cargo.toml.in")),
        ),
        (
            PathBuf::from("src/main.rs"),
            fill(include_str!("new_handler/main.rs.in")),
        ),
        (
            PathBuf::from("tests/fixtures/object-created.json"),
            fill(include_str!("new_handler/object-created.json.in")),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with the real root manifest and declaration, and one
    /// existing handler crate directory.
    fn workspace() -> tempfile::TempDir {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = tempfile::tempdir().unwrap();
        let copy = |relative: &str| {
            let to = dir.path().join(relative);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(repo.join(relative), to).unwrap();
        };
        copy("Cargo.toml");
        copy(pipeline::DECLARATION_FILE);
        copy("functions/notify/Cargo.toml");
        dir
    }

    /// Every file under `dir`, relative, sorted.
    fn tree(dir: &Path) -> Vec<PathBuf> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().to_path_buf());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[test]
    fn names_that_would_not_make_a_crate_binary_and_function_are_refused() {
        for name in [
            "",
            "Thumb",
            "1thumb",
            "thumb_nail",
            "thumb--nail",
            "thumb-",
            "deps",
            "a b",
        ] {
            assert!(
                matches!(check_name(name), Err(NewHandlerError::BadName { .. })),
                "{name:?}"
            );
        }
        assert!(check_name(&"a".repeat(MAX_NAME + 1)).is_err());
        for name in ["thumbnail", "photo-resize", "v2"] {
            assert!(check_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn a_new_handler_is_a_crate_a_member_and_a_declaration_point() {
        let dir = workspace();
        let scaffold = scaffold(dir.path(), "thumbnail").unwrap();
        assert_eq!(scaffold.package, "upstack-thumbnail");
        assert!(scaffold.added_member);
        let manifest = fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        let members: toml::Table = manifest.parse().unwrap();
        let members = members["workspace"]["members"].as_array().unwrap();
        assert!(
            members
                .iter()
                .any(|m| m.as_str() == Some("functions/thumbnail"))
        );
        let crate_manifest =
            fs::read_to_string(dir.path().join("functions/thumbnail/Cargo.toml")).unwrap();
        assert!(crate_manifest.contains("name = \"upstack-thumbnail\""));
        assert!(crate_manifest.contains("[lints]\nworkspace = true"));
        let main = fs::read_to_string(dir.path().join("functions/thumbnail/src/main.rs")).unwrap();
        assert!(main.contains("pub const IAM_ACTIONS"));
        assert!(main.contains("#[test]"));
        assert!(!main.contains("{{"), "an unfilled placeholder");
        // The printed line closes the functions list: the entry goes above it.
        let declaration = fs::read_to_string(dir.path().join(pipeline::DECLARATION_FILE)).unwrap();
        let lines: Vec<&str> = declaration.lines().collect();
        assert_eq!(lines[scaffold.declaration_line - 1].trim(), "],");
        assert!(lines[scaffold.declaration_line - 2].contains("Function::new("));
        // No staging directory is left behind.
        assert_eq!(
            tree(&dir.path().join("functions"))
                .iter()
                .filter(|path| path.to_string_lossy().contains(".new-"))
                .count(),
            0
        );
    }

    #[test]
    fn refusals_write_nothing() {
        let dir = workspace();
        let before = tree(dir.path());
        let manifest = fs::read(dir.path().join("Cargo.toml")).unwrap();
        for (name, expected) in [
            ("Bad_Name", "BadName"),
            ("ingest", "Declared"),
            ("notify", "Declared"),
        ] {
            let error = scaffold(dir.path(), name).unwrap_err();
            assert!(
                format!("{error:?}").starts_with(expected),
                "{name}: {error:?}"
            );
        }
        fs::create_dir_all(dir.path().join("functions/orphan")).unwrap();
        let error = scaffold(dir.path(), "orphan").unwrap_err();
        assert!(matches!(error, NewHandlerError::Exists { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "functions/orphan already exists; choose another name or remove it"
        );
        fs::remove_dir(dir.path().join("functions/orphan")).unwrap();
        assert_eq!(tree(dir.path()), before);
        assert_eq!(fs::read(dir.path().join("Cargo.toml")).unwrap(), manifest);
    }
}
