//! The code beside the words: the lines of each server's source that are
//! its strategy, marked in the source with `// chapter:start` and
//! `// chapter:end` (comments only), copied into the chapter between the
//! `code` markers, so that the chapter shows the code as it is.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::markdown::Markers;
use crate::scenario::SERVERS;

pub const CODE: Markers = Markers("<!-- code:start -->", "<!-- code:end -->");
const START: &str = "// chapter:start";
const END: &str = "// chapter:end";

/// The marked regions of one source file, each dedented to its least
/// indented line, in the order they appear.
pub fn regions(source: &str) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut open: Option<Vec<&str>> = None;
    for (n, line) in source.lines().enumerate() {
        match (line.trim(), open.as_mut()) {
            (START, Some(_)) => anyhow::bail!("line {}: {START} inside a region", n + 1),
            (START, None) => open = Some(Vec::new()),
            (END, None) => anyhow::bail!("line {}: {END} without a start", n + 1),
            (END, Some(lines)) => {
                found.push(dedent(lines));
                open = None;
            }
            (_, Some(lines)) => lines.push(line),
            (_, None) => {}
        }
    }
    anyhow::ensure!(open.is_none(), "{START} without an end");
    Ok(found)
}

fn dedent(lines: &[&str]) -> String {
    let indent = (lines.iter())
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let cut: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    cut.join("\n")
}

/// The source files of a server crate: `main.rs` first, then the others.
fn sources(root: &Path, server: &str) -> Vec<PathBuf> {
    let dir = root.join(server).join("src");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort_by_key(|p| (!p.ends_with("main.rs"), p.clone()));
    files
}

/// The code section of `docs/<server>.md`: every marked region of the
/// server's crate, file by file, each file named and linked.
pub fn code_section(root: &Path, server: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    for path in sources(root, server) {
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let found = regions(&text).with_context(|| format!("{}", path.display()))?;
        if found.is_empty() {
            continue;
        }
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into());
        let shown = format!("{server}/src/{name}");
        out += &format!(
            "{}[`{shown}`](../{shown}), the lines that are the strategy:\n\n```rust\n{}\n```\n",
            if out.is_empty() { "" } else { "\n" },
            found.join("\n\n// …\n\n")
        );
    }
    anyhow::ensure!(
        !out.is_empty(),
        "{server}: no {START} region in its sources"
    );
    Ok(out)
}

/// Rewrites the code section of every chapter in `out` from the sources
/// under `root`.
pub fn rewrite_code(root: &Path, out: &Path) -> anyhow::Result<()> {
    for server in SERVERS {
        let page = out.join(format!("{server}.md"));
        CODE.update("pages", &page, &code_section(root, server)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_cut_and_dedented_and_bad_markers_refused() {
        let source = "fn main() {\n    // chapter:start\n    let a = 1;\n        b(a);\n    // chapter:end\n    c();\n    // chapter:start\n    d();\n    // chapter:end\n}\n";
        assert_eq!(
            regions(source).unwrap(),
            vec!["let a = 1;\n    b(a);".to_string(), "d();".to_string()]
        );
        for bad in [
            "// chapter:start\n",
            "// chapter:end\n",
            "// chapter:start\n// chapter:start\n// chapter:end\n",
        ] {
            assert!(regions(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_server_marks_its_strategy_in_a_few_lines() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        for server in SERVERS {
            let section = code_section(root, server).unwrap();
            let lines = section.lines().filter(|l| !l.starts_with("```")).count();
            assert!((5..=90).contains(&lines), "{server}: {lines} lines");
        }
    }
}
