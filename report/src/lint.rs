//! The lint of hand-written prose: a figure typed into a page goes stale
//! with the next run, so every figure in docs/ must either sit in a
//! generated section or be a fixed fact listed in `docs/facts.md` with its
//! source. The test `no_figure_in_the_docs_is_typed_by_hand` applies it.
//!
//! What is scanned: each page of docs/ (but `facts.md`, the list itself),
//! outside fenced code blocks, inline code spans, link targets, HTML
//! comments and generated blocks (`<!-- NAME:start ... -->` to
//! `<!-- NAME:end -->`); the text of every template outside its `{{ }}`,
//! `{% %}` and `{# #}`; and the string literals of report's own code, which
//! must hold no figure at all.
//!
//! A figure is a number: digits, with `,` or `.` between digits (`35,458`,
//! `2.21`), and a `%` right after it if there is one (`62%`). It is allowed
//! when a figure of some entry of the facts table's first column is the same
//! text (the entry `` `Linux 5.19` `` allows `5.19`), or by one of these rules:
//! - a number glued to a letter, `_` or `/` is part of a name: `c10`,
//!   `threadpool1_server`, `HTTP/1.1`, `x86_64`, `3xx`;
//! - a number written with a leading zero is a name: `003`;
//! - a number right after a word that names things by number is a name:
//!   `RFC 9112`, `section 9.3.2`, `issue 236`, `CPU 0`, `worker 3`, `fd 3`,
//!   `socket 7`, `buffer 12`, `group 0`, `Part 2`;
//! - a number in parentheses right after a name is a manual page's section:
//!   `socket(7)`;
//! - the number of an ordered list item (`1. ` at the start of a line) is
//!   Markdown, not a figure.

/// A figure found in prose: its line (from 1) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stray {
    pub line: usize,
    pub figure: String,
}

/// The words after which a number is a name, not a quantity.
const NUMBERED: [&str; 13] = [
    "RFC", "section", "issue", "issues", "CPU", "worker", "Worker", "fd", "socket", "buffer",
    "group", "Part", "Exercise",
];

/// The allowed figures: every figure of the backticked entries in the first
/// cell of each row of the facts table (`| `20,000` | what it is | source |`).
pub fn facts(table: &str) -> Vec<String> {
    let mut allowed = Vec::new();
    for line in table.lines() {
        let Some(cell) = line
            .trim()
            .strip_prefix('|')
            .and_then(|r| r.split('|').next())
        else {
            continue;
        };
        // Every backticked span of the cell is an entry (`` `400`, `404` ``):
        // the odd pieces between backticks.
        for fact in cell.split('`').skip(1).step_by(2) {
            allowed.extend(figures(fact).into_iter().map(|(_, f)| f));
        }
    }
    allowed
}

/// The numbers of a piece of prose, each with its byte offset, as the lint
/// sees them (names excepted, see the module's rules).
fn figures(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_digit()
                || (matches!(bytes[i], b',' | b'.')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        let mut end = i;
        if bytes.get(i) == Some(&b'%') {
            end += 1;
        }
        let before = text[..start].chars().next_back();
        let after = text[i..].chars().next();
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphabetic() || c == '_' || c == '/');
        let leading_zero =
            bytes[start] == b'0' && bytes.get(start + 1).is_some_and(u8::is_ascii_digit);
        // `socket(7)`: a manual page's section.
        let man_section = before == Some('(')
            && text[..start - 1]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let word = text[..start].trim_end_matches(' ');
        let named = start > word.len()
            && NUMBERED.iter().any(|w| {
                word.ends_with(w) && !glued(word[..word.len() - w.len()].chars().next_back())
            });
        if !(glued(before) || glued(after) || leading_zero || named || man_section) {
            found.push((start, text[start..end].to_string()));
        }
        i = end.max(i);
    }
    found
}

/// Blanks out what is not prose in one line: link targets and HTML
/// comments opened and closed on it, and inline code spans, each left as
/// one word (`x`). `comment` carries an HTML comment left open from a line
/// before.
pub(crate) fn prose(line: &str, comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *comment {
            match rest.find("-->") {
                Some(at) => {
                    rest = &rest[at + 3..];
                    *comment = false;
                }
                None => return out,
            }
        }
        // The nearest of: a comment, a code span, a link target.
        let next = [rest.find("<!--"), rest.find('`'), rest.find("](")];
        let Some(at) = next.iter().flatten().min().copied() else {
            return out + rest;
        };
        out += &rest[..at];
        rest = &rest[at..];
        if rest.starts_with("<!--") {
            rest = &rest[4..];
            *comment = true;
        } else if rest.starts_with('`') {
            let ticks = rest.len() - rest.trim_start_matches('`').len();
            let fence = &rest[..ticks];
            rest = &rest[ticks..];
            match rest.find(fence) {
                Some(close) => rest = &rest[close + ticks..],
                None => return out,
            }
            out.push_str(" x");
        } else {
            // `](target)`: keep the bracket, drop the target.
            out.push(']');
            rest = rest[2..].split_once(')').map_or("", |(_, after)| after);
        }
        out.push(' ');
    }
}

/// Spaces for every byte of `text` but its line breaks: offsets and line
/// numbers stay where they were.
fn blank(text: &str) -> String {
    let spaces = |c: char| {
        if c == '\n' {
            "\n".to_string()
        } else {
            " ".repeat(c.len_utf8())
        }
    };
    text.chars().map(spaces).collect()
}

/// The page with every generated block blanked out, line breaks kept, so
/// that what is left is what a person wrote.
fn hand_written(page: &str) -> String {
    let mut text = page.to_string();
    for block in crate::blocks::blocks(page).unwrap_or_default() {
        let blank = blank(&page[block.body.clone()]);
        text.replace_range(block.body, &blank);
    }
    text
}

/// The figures of a page that are neither generated nor allowed.
pub fn stray_figures(page: &str, allowed: &[String]) -> Vec<Stray> {
    let page = hand_written(page);
    let mut strays = Vec::new();
    let (mut fenced, mut comment) = (None::<&str>, false);
    for (n, line) in page.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(fence) = fenced {
            if trimmed.starts_with(fence) {
                fenced = None;
            }
            continue;
        }
        if let Some(fence) = ["```", "~~~"].iter().find(|f| trimmed.starts_with(**f)) {
            fenced = Some(fence);
            continue;
        }
        // A reference-style link definition is a target, not prose.
        if trimmed.starts_with('[') && trimmed.contains("]: ") {
            continue;
        }
        let text = prose(line, &mut comment);
        // An ordered list's number is Markdown.
        let body = text.trim_start();
        let list_number = body
            .find(". ")
            .filter(|&at| at > 0 && body[..at].bytes().all(|b| b.is_ascii_digit()));
        let skip = list_number.map_or(0, |at| text.len() - body.len() + at + 1);
        for (at, figure) in figures(&text) {
            if at >= skip && !allowed.contains(&figure) {
                strays.push(Stray {
                    line: n + 1,
                    figure,
                });
            }
        }
    }
    strays
}

/// The figures of a template's own text: what lies outside its tags.
pub fn template_figures(template: &str, allowed: &[String]) -> Vec<Stray> {
    let mut text = template.to_string();
    for (open, close) in [("{{", "}}"), ("{%", "%}"), ("{#", "#}")] {
        while let Some(at) = text.find(open) {
            let end = text[at..]
                .find(close)
                .map_or(text.len(), |e| at + e + close.len());
            let blank = blank(&text[at..end]);
            text.replace_range(at..end, &blank);
        }
    }
    stray_figures(&text, allowed)
}

/// The figures in the string literals of some Rust source, before its
/// tests: code that builds pages must take its figures from the results or
/// the templates. Format arguments (`{v:.2}`) are not figures.
pub fn rust_string_figures(source: &str) -> Vec<Stray> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut strays = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let code_part = line.split("//").next().unwrap_or_default();
        for (i, literal) in code_part.split('"').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let mut text = literal.to_string();
            while let Some(at) = text.find('{') {
                let end = text[at..].find('}').map_or(text.len(), |e| at + e + 1);
                text.replace_range(at..end, " ");
            }
            for (_, figure) in figures(&text) {
                strays.push(Stray {
                    line: n + 1,
                    figure,
                });
            }
        }
    }
    strays
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn strays(page: &str, allowed: &[&str]) -> Vec<(usize, String)> {
        let allowed: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        (stray_figures(page, &allowed).into_iter())
            .map(|s| (s.line, s.figure))
            .collect()
    }

    #[test]
    fn figures_in_prose_are_found_and_the_rest_is_not() {
        let page = "\
# cgi_server on HTTP/1.1
It quotes 35,458 and 2.21 and 62% (±6%), against 0.94–1.08×.
Names: c10, threadpool1_server, x86_64, 3xx, 503s, `003`, RFC 9112, section 9.3.2, issue 236.
Hidden: `wrk -t2 -c10`, [the run](results/bench-2026-11-24.json), <!-- 41,203 -->.
<!-- bench:start server=simple_server -->
| simple_server | 20,580 |
<!-- bench:end -->
```text
8 of 10
```
1. the first step, then 2 more
[ref]: https://example.com/236
The limit is 20,000, from the machine; it ended in 2026.";
        assert_eq!(
            strays(page, &["20,000"]),
            [
                (2, "35,458".into()),
                (2, "2.21".into()),
                (2, "62%".into()),
                (2, "6%".into()),
                (2, "0.94".into()),
                (2, "1.08".into()),
                (11, "2".into()),
                (13, "2026".into()),
            ]
        );
    }

    #[test]
    fn a_comment_may_span_lines_and_a_facts_entry_allows_its_figures() {
        let page = "before <!-- 12\n34 --> after 56\n";
        assert_eq!(strays(page, &[]), [(2, "56".into())]);
        let table = "| figure | what it is | source |\n|---|---|---|\n\
                     | `20,000` | open files | the machine (`ulimit -Hn`) |\n\
                     | `Linux 5.19` | io_uring's oldest kernel here | uring_server |\n";
        assert_eq!(facts(table), ["20,000", "5.19"]);
    }

    #[test]
    fn templates_and_code_strings_are_linted_outside_their_tags() {
        let template = "{{ run.repeat }} runs of {% if x %}5{% endif %} s, {# 7 #} 8 more\n";
        let found: Vec<String> = (template_figures(template, &[]).into_iter())
            .map(|s| s.figure)
            .collect();
        assert_eq!(found, ["5", "8"]);
        let rust = "let a = format!(\"{v:.2} ms\"); let b = \"16 per write\"; // \"9\"\n#[cfg(test)]\n\"7\"";
        let found: Vec<String> = (rust_string_figures(rust).into_iter())
            .map(|s| s.figure)
            .collect();
        assert_eq!(found, ["16"]);
    }

    /// No page of docs/, no template and no string of report's code carries
    /// a figure typed by hand: every figure is generated or listed in
    /// docs/facts.md with its source.
    #[test]
    fn no_figure_in_the_docs_is_typed_by_hand() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let docs = root.join("docs");
        // A missing list allows nothing.
        let allowed = facts(&fs::read_to_string(docs.join("facts.md")).unwrap_or_default());
        let mut found = Vec::new();
        for page in crate::site::pages(&docs) {
            if page.ends_with("facts.md") {
                continue;
            }
            let name = page.strip_prefix(&docs).unwrap().display().to_string();
            for s in stray_figures(&fs::read_to_string(&page).unwrap(), &allowed) {
                found.push(format!("docs/{name}:{}: {}", s.line, s.figure));
            }
        }
        for (name, text) in crate::templates::all() {
            for s in template_figures(text, &allowed) {
                found.push(format!(
                    "report/templates/{name}.md:{}: {}",
                    s.line, s.figure
                ));
            }
        }
        for file in fs::read_dir(root.join("report/src")).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().to_string();
            if !name.ends_with(".rs") {
                continue;
            }
            // The book's checks are tests from their first line.
            if name == "book.rs" {
                continue;
            }
            for s in rust_string_figures(&fs::read_to_string(file.path()).unwrap()) {
                found.push(format!("report/src/{name}:{}: {}", s.line, s.figure));
            }
        }
        assert!(
            found.is_empty(),
            "{} figures typed by hand:\n{}\nA figure that a run produced belongs in a generated \
             block (report fills it from the results); a fixed fact (a limit of this project, a \
             figure quoted from a source) goes in docs/facts.md's table with its source.",
            found.len(),
            found.join("\n")
        );
    }
}
