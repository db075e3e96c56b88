//! Every generated section of docs/, from the committed results files and
//! the marked source: what `bench pages` writes, and what the test
//! `the_committed_results_give_the_committed_pages` checks the committed
//! pages against.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::DeserializeOwned;

use crate::capacity::ConnectionsFile;
use crate::results::BenchFile;
use crate::robustness::RobustnessFile;
use crate::syscalls::SyscallsFile;

/// The newest `bench-<date>.json` in `results`: the dates sort as text.
pub fn newest_bench(results: &Path) -> anyhow::Result<PathBuf> {
    let names = fs::read_dir(results)
        .with_context(|| format!("cannot read {}", results.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            name.is_some_and(|n| n.starts_with("bench-") && n.ends_with(".json"))
        });
    names
        .max()
        .with_context(|| format!("no bench-*.json in {}", results.display()))
}

fn read<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a results file", path.display()))
}

/// Rewrites every generated section of the pages in `out` from the results
/// in `root/docs/results/` and the sources under `root`: the benchmark's
/// tables, readings and charts (newest `bench-*.json`), the idle
/// connections (`connections.json`), the hostile clients
/// (`robustness.json`), the system calls (`syscalls.json`) and each
/// chapter's code.
pub fn rewrite_docs(root: &Path, out: &Path) -> anyhow::Result<()> {
    let results = root.join("docs").join("results");
    let bench: BenchFile = read(&newest_bench(&results)?)?;
    crate::pages::rewrite_pages(out, &bench)?;
    let connections = results.join("connections.json");
    if connections.exists() {
        crate::capacity::pages::rewrite_pages(out, &read::<ConnectionsFile>(&connections)?)?;
    }
    let robustness = results.join("robustness.json");
    if robustness.exists() {
        crate::robustness::pages::rewrite_pages(out, &read::<RobustnessFile>(&robustness)?)?;
    }
    let syscalls = results.join("syscalls.json");
    if syscalls.exists() {
        crate::syscalls::pages::rewrite_pages(out, &read::<SyscallsFile>(&syscalls)?)?;
    }
    crate::code::rewrite_code(root, out)
}
