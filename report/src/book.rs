//! The book as a reader meets it: every link and image of every page leads
//! somewhere, every page is in the table of contents, and every lesson keeps
//! the course's shape (short, with its code, a chart, its figures and
//! exercises that can be checked).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use results::scenario::SERVERS;

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

/// The lines of a page outside fenced code.
fn outside_code(page: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (n, line) in page.lines().enumerate() {
        let t = line.trim_start();
        match fence {
            Some(f) if t.starts_with(f) => fence = None,
            Some(_) => {}
            None if t.starts_with("```") || t.starts_with("~~~") => fence = Some(&t[..3]),
            None => out.push((n + 1, line)),
        }
    }
    out
}

/// The targets of a line's links and images, inline code left out.
fn targets(line: &str) -> Vec<String> {
    let mut text = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            text.push_str(part);
        }
    }
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        found.push(
            after[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
        );
        rest = &after[end..];
    }
    if let Some(def) = text
        .trim()
        .strip_prefix('[')
        .and_then(|d| d.split_once("]: "))
    {
        found.push(def.1.trim().to_string());
    }
    found
}

/// The anchors of a page's headings, as mdBook makes them.
fn anchors(page: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in outside_code(page) {
        let Some(text) = line
            .strip_prefix('#')
            .map(|t| t.trim_start_matches('#').trim())
        else {
            continue;
        };
        // The heading's text as rendered: code marks and link targets gone.
        let mut plain = String::new();
        let mut rest = text.replace(['`', '*'], "");
        while let Some(at) = rest.find("](") {
            plain.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            rest = after[after.find(')').map_or(after.len(), |e| e + 1)..].to_string();
        }
        plain.push_str(&rest);
        let id: String = (plain.chars())
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while seen.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        seen.insert(unique);
    }
    seen
}

/// The broken links of one page: "line: target: why".
fn broken_links(docs: &Path, page: &Path) -> Vec<String> {
    let text = fs::read_to_string(page).unwrap_or_default();
    let dir = page.parent().unwrap_or(docs);
    let mut broken = Vec::new();
    for (n, line) in outside_code(&text) {
        for target in targets(line) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.to_path_buf()
            } else {
                dir.join(path)
            };
            let why = match file.canonicalize() {
                Err(_) => Some("no such file".to_string()),
                Ok(f) if !f.starts_with(docs.canonicalize().unwrap()) => {
                    Some("outside docs/, so not in the book".to_string())
                }
                Ok(f) if !anchor.is_empty() && f.extension().is_some_and(|e| e == "md") => {
                    let heads = anchors(&fs::read_to_string(&f).unwrap_or_default());
                    (!heads.contains(anchor)).then(|| format!("no heading #{anchor}"))
                }
                Ok(_) => None,
            };
            if let Some(why) = why {
                broken.push(format!("{n}: {target}: {why}"));
            }
        }
    }
    broken
}

#[test]
fn every_link_and_image_of_the_book_leads_somewhere() {
    let docs = root().join("docs");
    let mut broken = Vec::new();
    for page in crate::site::pages(&docs) {
        let name = page.strip_prefix(&docs).unwrap().display().to_string();
        broken.extend(
            broken_links(&docs, &page)
                .into_iter()
                .map(|b| format!("docs/{name}:{b}")),
        );
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_page_is_in_the_table_of_contents() {
    let docs = root().join("docs");
    let summary = fs::read_to_string(docs.join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> = (outside_code(&summary).into_iter())
        .flat_map(|(_, l)| targets(l))
        .collect();
    let missing: Vec<String> = crate::site::pages(&docs)
        .iter()
        .map(|p| p.strip_prefix(&docs).unwrap().display().to_string())
        .filter(|p| p != "SUMMARY.md" && !listed.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages not in docs/SUMMARY.md: {missing:?}"
    );
}

/// The words of a page's prose, by the course's rule: code blocks, tables,
/// `<details>` blocks and comments do not count; generated prose does; an
/// inline code span counts as one word, a link as its text.
pub fn prose_words(page: &str) -> usize {
    let (mut details, mut comment) = (0usize, false);
    let mut words = 0;
    for (_, line) in outside_code(page) {
        let s = line.trim();
        if s.starts_with("<details") {
            details += 1;
        }
        if s.starts_with("</details") {
            details = details.saturating_sub(1);
            continue;
        }
        if details > 0 || s.starts_with('|') {
            continue;
        }
        let plain = crate::lint::prose(s, &mut comment);
        words += plain
            .split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
            .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
            .count();
    }
    words
}

/// Every lesson: at most 2,200 words of prose, its figures beside nginx
/// and the strategy before it, its code as whole items, a chart, and at
/// least two exercises, each with a check that exists.
#[test]
fn every_lesson_keeps_the_course_shape() {
    let root = root();
    let mut wrong = Vec::new();
    for server in SERVERS {
        let page = fs::read_to_string(root.join("docs").join(format!("{server}.md"))).unwrap();
        let words = prose_words(&page);
        if words > 2200 {
            wrong.push(format!("{server}: {words} words"));
        }
        for (what, mark) in [
            ("a box of figures", "<!-- bench:start"),
            ("an excerpt", "<!-- code:start"),
            ("a chart", "<!-- chart:start"),
            ("lab notes", "(lab/"),
        ] {
            if !page.contains(mark) {
                wrong.push(format!("{server}: no {what}"));
            }
        }
        let exercises = page.split("\n## Exercises").nth(1).unwrap_or("");
        let tests: String = fs::read_dir(root.join(server).join("tests"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .collect();
        let checks: Vec<&str> = exercises
            .split("--ignored ")
            .skip(1)
            .filter_map(|rest| {
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
            })
            .collect();
        if checks.len() < 2 {
            wrong.push(format!("{server}: {} exercises with a check", checks.len()));
        }
        for check in checks {
            if !tests.contains(&format!("fn {check}")) {
                wrong.push(format!("{server}: no test {check} in {server}/tests"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "lessons out of shape:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn anchors_links_and_words_are_read_as_the_book_reads_them() {
    let page = "# Title: `simple_server`\n## What it costs\n## What it costs\n\
                See [the loop](x.md#the-loop) and ![c](charts/a.svg), `[not](a link)`.\n\
                ```\n[code](no.md)\n```\n| a | table |\n<!-- a comment -->\n";
    assert_eq!(
        anchors(page).into_iter().collect::<Vec<_>>(),
        ["title-simple_server", "what-it-costs", "what-it-costs-1"]
    );
    let links: Vec<String> = outside_code(page)
        .iter()
        .flat_map(|(_, l)| targets(l))
        .collect();
    assert_eq!(links, ["x.md#the-loop", "charts/a.svg"]);
    // Title x, What it costs (twice), See the loop and c, x.
    assert_eq!(prose_words(page), 2 + 3 + 3 + 6);
}
