//! Writing a results file (the `results` crate), and the copies of the
//! pages that a partial run writes instead of docs/.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub use ::results::json::*;

/// A copy of the pages of `docs` (its Markdown files, not its folders) in
/// `to`, for a run that must not touch the docs but should still exercise
/// rewriting them.
pub fn copy_pages(docs: &Path, to: PathBuf) -> anyhow::Result<PathBuf> {
    let to = create_dir(to)?;
    for page in fs::read_dir(docs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
    {
        if let (Some(name), Some("md")) =
            (page.file_name(), page.extension().and_then(|e| e.to_str()))
        {
            fs::copy(&page, to.join(name))
                .with_context(|| format!("cannot copy {}", page.display()))?;
        }
    }
    Ok(to)
}

/// Where a harness writes its results and pages: `out` if given; docs/ for
/// a full run; otherwise a copy of docs/'s pages in a temporary folder named
/// after `harness`, so that a partial run never replaces the full tables.
pub fn pages_dir(out: Option<&Path>, partial: bool, harness: &str) -> anyhow::Result<PathBuf> {
    match out {
        Some(dir) => Ok(dir.to_path_buf()),
        None if !partial => Ok(PathBuf::from("docs")),
        None => {
            let copy = std::env::temp_dir().join(format!("{harness}-{}-docs", std::process::id()));
            copy_pages(Path::new("docs"), copy)
        }
    }
}
