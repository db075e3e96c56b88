//! The Markdown every page is made of: the number formats, table rows,
//! lists and Mermaid charts, and the rewriting of a page's marked section,
//! which leaves everything else in the page as it was written by hand.

use std::fmt::Write;
use std::fs;
use std::path::Path;

use anyhow::Context;

/// The start and end markers of a generated section in a page.
pub struct Markers(pub &'static str, pub &'static str);

pub const BENCH: Markers = Markers("<!-- bench:start -->", "<!-- bench:end -->");
pub const CONNECTIONS: Markers = Markers("<!-- connections:start -->", "<!-- connections:end -->");
pub const ROBUSTNESS: Markers = Markers("<!-- robustness:start -->", "<!-- robustness:end -->");

impl Markers {
    /// Replaces what lies between the markers (each present once, in that
    /// order), keeping them and everything outside byte for byte.
    pub fn rewrite(&self, doc: &str, body: &str) -> anyhow::Result<String> {
        let Markers(start, end) = *self;
        let at = doc
            .find(start)
            .with_context(|| format!("no {start} marker"))?;
        let to = doc.find(end).with_context(|| format!("no {end} marker"))?;
        anyhow::ensure!(at < to, "{end} comes before {start}");
        let twice = doc[at + start.len()..].contains(start) || doc[to + end.len()..].contains(end);
        anyhow::ensure!(!twice, "the {start} markers appear more than once");
        let body = body.trim_end_matches('\n');
        Ok(format!(
            "{}\n{body}\n{}",
            &doc[..at + start.len()],
            &doc[to..]
        ))
    }

    /// Rewrites the section of the page at `path`. A missing page or
    /// missing markers only earn a warning: the pages are written by hand,
    /// and a new one may not have its section yet.
    pub fn update(&self, who: &str, path: &Path, body: &str) -> anyhow::Result<()> {
        let shown = path.display();
        let Ok(doc) = fs::read_to_string(path) else {
            println!("{who}: warning: {shown} does not exist; its section was not written");
            return Ok(());
        };
        match self.rewrite(&doc, body) {
            Ok(new) if new == doc => {}
            Ok(new) => {
                fs::write(path, new).with_context(|| format!("cannot write {shown}"))?;
                println!("{who}: updated {shown}");
            }
            Err(e) => println!("{who}: warning: {shown}: {e}; its section was not written"),
        }
        Ok(())
    }
}

pub use ::results::thousands;
/// Requests per second, rounded to a whole number (three figures below 100).
pub fn rate(rps: f64) -> String {
    if rps < 100.0 {
        format!("{rps:.1}")
    } else {
        thousands(rps.round() as u64)
    }
}

/// Microseconds as a person reads them: "812 µs", "8.12 ms", "81.2 ms", "1.20 s".
pub fn latency(us: f64) -> String {
    match us {
        _ if us < 1000.0 => format!("{us:.0} µs"),
        _ if us < 10_000.0 => format!("{:.2} ms", us / 1000.0),
        _ if us < 1_000_000.0 => format!("{:.1} ms", us / 1000.0),
        _ => format!("{:.2} s", us / 1e6),
    }
}

/// KiB as "812 KiB", "3.2 MiB", "1.21 GiB".
pub fn memory(kib: u64) -> String {
    match kib {
        _ if kib < 1024 => format!("{kib} KiB"),
        _ if kib < 1024 * 1024 => format!("{:.1} MiB", kib as f64 / 1024.0),
        _ => format!("{:.2} GiB", kib as f64 / 1024.0 / 1024.0),
    }
}

/// CPU milliseconds per 1,000 requests.
pub fn cpu(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A figure, or "–" when there is none.
pub fn opt<T>(value: Option<T>, f: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "–".to_string(), f)
}

/// One Markdown table row: `| a | b |`.
pub fn row<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut line = String::from("|");
    for cell in cells {
        let _ = write!(line, " {} |", cell.as_ref());
    }
    line + "\n"
}

/// A table of servers against numeric columns: `cell(server, column index)`.
pub(crate) fn grid(
    head: &[String],
    servers: &[&str],
    cell: impl Fn(&str, usize) -> String,
) -> String {
    let mut out = row(std::iter::once("server").chain(head.iter().map(String::as_str)));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(head.len()));
    for server in servers {
        out += &row(
            std::iter::once(server.to_string()).chain((0..head.len()).map(|i| cell(server, i)))
        );
    }
    out
}

/// A titled Markdown list, or nothing when there are no items.
pub(crate) fn list(title: &str, items: impl IntoIterator<Item = String>) -> String {
    let items: String = items
        .into_iter()
        .map(|item| format!("- {item}\n"))
        .collect();
    if items.is_empty() {
        items
    } else {
        format!("\n{title}\n{items}")
    }
}

/// A Mermaid `xychart-beta` bar chart, which GitHub renders. Names lose
/// their `_server`; values are shown with `decimals` decimals.
pub fn bar_chart(title: &str, axis: &str, bars: &[(String, f64)], decimals: usize) -> String {
    let top = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    // A round upper bound a little above the tallest bar.
    let magnitude = 10f64.powi(top.max(1.0).log10().floor() as i32);
    let upper = ((top * 1.1 / magnitude).ceil() * magnitude).max(1.0);
    let names: Vec<String> = bars
        .iter()
        .map(|(n, _)| format!("\"{}\"", n.replace("_server", "")))
        .collect();
    let values: Vec<String> = bars
        .iter()
        .map(|(_, v)| format!("{v:.decimals$}"))
        .collect();
    let (title, names, values) = (title.replace('"', "'"), names.join(", "), values.join(", "));
    format!(
        "```mermaid\nxychart-beta\n    title \"{title}\"\n    x-axis [{names}]\n    \
         y-axis \"{axis}\" 0 --> {upper:.0}\n    bar [{values}]\n```\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_section_changes() {
        let (start, end, other) = (
            BENCH.0,
            BENCH.1,
            format!("{}{}", CONNECTIONS.0, CONNECTIONS.1),
        );
        let doc = format!("# Title\n{start}\nold\n{end}\nafter {other}\n");
        let new = BENCH.rewrite(&doc, "new\n\n").unwrap();
        assert_eq!(
            (new.clone(), BENCH.rewrite(&new, "new").unwrap()),
            (doc.replace("old", "new"), new.clone())
        );
        assert!(
            CONNECTIONS
                .rewrite(&new, "c")
                .unwrap()
                .ends_with(&format!("{}\nc\n{}\n", CONNECTIONS.0, CONNECTIONS.1))
        );
        for bad in [
            "none".into(),
            format!("{end} {start}"),
            format!("{start} only"),
            format!("{start}{end}{start}{end}"),
        ] {
            assert!(BENCH.rewrite(&bad, "x").is_err(), "{bad}");
        }
    }
}
