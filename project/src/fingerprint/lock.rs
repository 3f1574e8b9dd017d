//! The part of `Cargo.lock` a handler's dependency graph reaches.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cargo_lock::{Lockfile, Package};

use super::{FingerprintError, read_string};

pub(super) type LockReader = std::thread::JoinHandle<Result<LockInput, FingerprintError>>;

pub(super) enum LockInput {
    Absent,
    Parsed {
        lock: Box<Lockfile>,
        text: String,
        /// Entries of packages that are not workspace crates, by index in
        /// `lock`, formatted once: handlers share most of their dependency
        /// graph, and such an entry's text does not depend on which handler
        /// reaches it.
        entries_of_non_roots: BTreeMap<usize, String>,
    },
    /// Not a lock file cargo-lock reads: hashed whole (a safe over-approximation).
    Unparsed(String),
}

pub(super) fn read_lock(path: &Path) -> Result<LockInput, FingerprintError> {
    if !path.exists() {
        return Ok(LockInput::Absent);
    }
    let text = read_string(path)?;
    Ok(match text.parse::<Lockfile>() {
        Ok(lock) => LockInput::Parsed {
            lock: Box::new(lock),
            text,
            entries_of_non_roots: BTreeMap::new(),
        },
        Err(_) => LockInput::Unparsed(text),
    })
}

/// The packages of `Cargo.lock` reachable from `roots` (workspace crates,
/// each with the names of its normal and build dependencies), one line per
/// package (name, version, source, checksum) and per dependency edge, sorted.
/// A root's dev-dependencies are listed in its lock entry like any other
/// dependency: they are neither followed nor hashed. `None` when a root or a
/// dependency is not in the lock file (then the caller hashes the whole file).
pub(super) fn lock_closure(
    lock: &Lockfile,
    roots: &BTreeMap<String, BTreeSet<String>>,
    entries_of_non_roots: &mut BTreeMap<usize, String>,
) -> Option<String> {
    let packages = &lock.packages;
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_name
            .entry(package.name.as_str())
            .or_default()
            .push(index);
    }
    // A workspace crate's entry lists its dev-dependencies too; only the
    // ones its manifest links are kept. Registry crates list only what the
    // build resolves.
    let linked = |package: &Package, dependency: &cargo_lock::Dependency| {
        roots
            .get(package.name.as_str())
            .is_none_or(|names| names.contains(dependency.name.as_str()))
    };
    let mut reached = BTreeSet::new();
    let mut pending = Vec::new();
    for root in roots.keys() {
        pending.extend(by_name.get(root.as_str())?.iter().copied());
    }
    while let Some(index) = pending.pop() {
        if !reached.insert(index) {
            continue;
        }
        let package = &packages[index];
        for dependency in package
            .dependencies
            .iter()
            .filter(|dependency| linked(package, dependency))
        {
            let matching: Vec<usize> = by_name
                .get(dependency.name.as_str())?
                .iter()
                .copied()
                .filter(|&candidate| dependency.matches(&packages[candidate]))
                .collect();
            if matching.is_empty() {
                return None;
            }
            pending.extend(matching);
        }
    }
    let entry = |package: &Package| {
        let source = package
            .source
            .as_ref()
            .map_or_else(|| "workspace".to_owned(), ToString::to_string);
        let checksum = package
            .checksum
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let mut entry = format!("{} {} {source} {checksum}", package.name, package.version);
        let mut edges: Vec<String> = package
            .dependencies
            .iter()
            .filter(|dependency| linked(package, dependency))
            .map(|dependency| format!("\n  {dependency}"))
            .collect();
        edges.sort();
        entry.extend(edges);
        entry
    };
    let mut entries: Vec<&str> = Vec::with_capacity(reached.len());
    let mut root_entries = Vec::new();
    for &index in &reached {
        let package = &packages[index];
        if roots.contains_key(package.name.as_str()) {
            root_entries.push(entry(package));
        } else {
            entries_of_non_roots
                .entry(index)
                .or_insert_with(|| entry(package));
        }
    }
    entries.extend(
        reached
            .iter()
            .filter_map(|index| entries_of_non_roots.get(index))
            .map(String::as_str),
    );
    entries.extend(root_entries.iter().map(String::as_str));
    entries.sort();
    Some(entries.join("\n"))
}
