//! Turning a results file into Markdown: each chapter's table, the
//! comparison page's tables and charts; the number formats and the
//! rewriting of marked sections that the capacity report uses too.

use std::fmt::Write;
use std::fs;
use std::path::Path;

use anyhow::Context;

use crate::plan::{Scenario, WORKER_COUNTS};
use crate::results::BenchFile;
use crate::stats::Summary;

/// The start and end markers of a generated section in a page.
pub struct Markers(pub &'static str, pub &'static str);

pub const BENCH: Markers = Markers("<!-- bench:start -->", "<!-- bench:end -->");
pub const CONNECTIONS: Markers = Markers("<!-- connections:start -->", "<!-- connections:end -->");

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

/// What the Python original measured (`wrk -t2 -c10 -d10s`, requests/s),
/// on other hardware and Python 3.5. It had no async server.
pub const PYTHON_ORIGINAL: [(&str, f64); 8] = [
    ("simple_server", 7610.66),
    ("cgi_server", 337.54),
    ("cgi_threading_server", 3838.05),
    ("prefork_server", 8220.92),
    ("threadpool1_server", 5623.53),
    ("threadpool2_server", 8103.66),
    ("noblocking_server", 198.14),
    ("multiplexingio_server", 6834.32),
];

fn python_original(server: &str) -> Option<f64> {
    PYTHON_ORIGINAL
        .iter()
        .find(|(s, _)| *s == server)
        .map(|(_, v)| *v)
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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
fn grid(head: &[String], servers: &[&str], cell: impl Fn(&str, usize) -> String) -> String {
    let mut out = row(std::iter::once("server").chain(head.iter().map(String::as_str)));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(head.len()));
    for server in servers {
        out += &row(
            std::iter::once(server.to_string()).chain((0..head.len()).map(|i| cell(server, i)))
        );
    }
    out
}

const WARN: &str = "⚠";

/// A titled Markdown list, or nothing when there are no items.
fn list(title: &str, items: impl IntoIterator<Item = String>) -> String {
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

/// "41,203 ±4%", with a warning sign when a repeat had errors or left
/// clients waiting, and "failed" when no repeat completed.
pub fn rate_cell(s: &Summary) -> String {
    let Some(median) = s.requests_per_s_median else {
        return "failed".to_string();
    };
    let mut cell = rate(median);
    if s.runs > 1 {
        let _ = write!(cell, " ±{:.0}%", s.spread_pct.unwrap_or(0.0));
    }
    if s.troubled() {
        format!("{WARN} {cell}")
    } else {
        cell
    }
}

fn errors_cell(s: &Summary) -> String {
    let mut cell = match s.errors_summed.total {
        0 => "0".to_string(),
        _ => format!(
            "{WARN} {} ({}/{} runs)",
            s.errors_summed.describe(),
            s.runs_with_errors,
            s.runs
        ),
    };
    if s.failed_runs > 0 {
        let _ = write!(cell, "; {} failed", s.failed_runs);
    }
    cell
}

/// Clients left waiting unserved: invisible to wrk, so flagged like errors.
fn waiting_cell(s: &Summary) -> String {
    match s.waiting_max {
        Some(0) => "0".to_string(),
        n => opt(n, |n| format!("{WARN} {}", thousands(n))),
    }
}

fn memory_cell(s: &Summary) -> String {
    opt(s.peak_pss_kib.zip(s.peak_rss_kib), |(pss, rss)| {
        format!("{} ({})", memory(pss), memory(rss))
    })
}

fn header(file: &BenchFile) -> String {
    let (date, machine, name) = (&file.date, file.machine.describe(), file.file_name());
    let (repeat, duration, pin) = (
        file.settings.repeat,
        file.settings.duration_s,
        file.settings.pinning.describe(),
    );
    format!(
        "_Generated by `scripts/bench_all.sh` on {date} — {machine}; {repeat} × {duration} s per row \
         (median ± spread), wrk pinning: {pin}. Raw data: [results/{name}](results/{name}). \
         How to read this: [method](README.md#method)._\n"
    )
}

fn find<'a>(file: &'a BenchFile, server: &str, label: &str) -> Option<&'a Summary> {
    file.summaries
        .iter()
        .find(|s| s.server == server && s.label() == label)
}

/// The table in `docs/<server>.md`.
pub fn chapter_section(file: &BenchFile, server: &str) -> String {
    let mut out = header(file);
    out.push_str(
        "\n| scenario | load | req/s | p50 | p99 | max | errors | waiting | CPU per 1k req | peak PSS (RSS) | steal |\n\
         |---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|\n",
    );
    let rows: Vec<&Summary> = file
        .summaries
        .iter()
        .filter(|s| s.server == server)
        .collect();
    for s in &rows {
        let w = s.scenario.workload();
        let close = if w.close { ", close" } else { "" };
        out += &row([
            s.label(),
            format!("c{} `{}`{close}", w.connections, w.path),
            rate_cell(s),
            opt(s.p50_us_median, latency),
            opt(s.p99_us_median, latency),
            opt(s.max_us, |m| latency(m as f64)),
            errors_cell(s),
            waiting_cell(s),
            opt(s.cpu_ms_per_1k_requests_median, cpu),
            memory_cell(s),
            opt(s.steal_pct_median, |p| format!("{p:.1}%")),
        ]);
    }
    if rows.is_empty() {
        out.push_str("| – | not measured in this run | | | | | | | | | |\n");
    }
    if let Some(py) = python_original(server) {
        let _ = writeln!(
            out,
            "\nThe Python original (LearnServer) measured **{} req/s** with `wrk -t2 -c10 -d10s`, \
             on other hardware.",
            rate(py)
        );
    }
    let skipped = file.not_applicable.iter().filter(|n| n.server == server);
    out += &list(
        "Not applicable:",
        skipped.map(|n| format!("`{}`: {}.", n.scenario.name(), n.reason)),
    );
    // Failed runs, by row: their reasons are in the runs.
    let labels: Vec<String> = rows.iter().map(|s| s.label()).collect();
    let failures = labels.iter().flat_map(|label| {
        let failed = file
            .runs
            .iter()
            .filter(move |r| !r.ok && r.server == server && r.label() == *label);
        failed.map(move |r| {
            format!(
                "`{label}`: {}",
                r.failure.as_deref().unwrap_or("no measurement")
            )
        })
    });
    out + &list("Failed runs (left out of the figures above):", failures)
}

/// The generated part of `docs/README.md`.
pub fn comparison_section(file: &BenchFile) -> String {
    let mut out = header(file);
    let mut servers: Vec<&str> = Vec::new();
    for s in &file.summaries {
        if !servers.contains(&s.server.as_str()) {
            servers.push(&s.server);
        }
    }
    // The plain scenarios that appear in the results, in their usual order.
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|&sc| !matches!(sc, Scenario::Workers | Scenario::Logging))
        .filter(|&sc| file.summaries.iter().any(|s| s.label() == sc.name()))
        .collect();
    let names: Vec<String> = scenarios.iter().map(|sc| sc.name().to_string()).collect();
    let summary = |server: &str, i: usize| find(file, server, &names[i]);

    let _ = write!(
        out,
        "\n### Requests per second\n\n{WARN} marks a figure with errors or timeouts in at least one \
         repeat; see [errors](#errors-and-timeouts).\n\n"
    );
    // The Python original's figure stands beside the scenario that ran its command.
    let columns: Vec<Option<Scenario>> = (scenarios.iter())
        .flat_map(|&sc| {
            if sc == Scenario::C10 {
                vec![None, Some(sc)]
            } else {
                vec![Some(sc)]
            }
        })
        .collect();
    let head: Vec<String> = columns
        .iter()
        .map(|c| c.map_or("c10, Python original".into(), |sc| sc.name().into()))
        .collect();
    out += &grid(&head, &servers, |server, i| match columns[i] {
        None => opt(python_original(server), rate),
        Some(sc) => find(file, server, sc.name()).map_or("n/a".to_string(), rate_cell),
    });
    type Cell = fn(&Summary) -> String;
    let costs: [(&str, Cell); 3] = [
        ("p99 latency", |s| opt(s.p99_us_median, latency)),
        ("Server CPU time per 1,000 requests", |s| {
            opt(s.cpu_ms_per_1k_requests_median, cpu)
        }),
        (
            "Peak memory: PSS summed over the process tree (RSS)",
            memory_cell,
        ),
    ];
    for (title, cell) in costs {
        let _ = write!(out, "\n### {title}\n\n");
        out += &grid(&names, &servers, |server, i| {
            summary(server, i).map_or("n/a".to_string(), cell)
        });
    }

    let has_sweep = |server: &&str| {
        file.summaries
            .iter()
            .any(|s| s.server == *server && s.scenario == Scenario::Workers)
    };
    let swept: Vec<&str> = servers.iter().copied().filter(has_sweep).collect();
    if !swept.is_empty() {
        out.push_str("\n### Worker sweep: `slow` at `--workers N` (req/s, p99)\n\n");
        let head: Vec<String> = WORKER_COUNTS.iter().map(u32::to_string).collect();
        out += &grid(&head, &swept, |server, i| {
            let s = find(file, server, &format!("workers w={}", WORKER_COUNTS[i]));
            s.map_or("n/a".to_string(), |s| {
                format!("{}, {}", rate_cell(s), opt(s.p99_us_median, latency))
            })
        });
    }

    let logging = &file.settings.logging_server;
    let quiet = find(file, logging, "logging quiet");
    let verbose = find(file, logging, "logging verbose");
    if quiet.is_some() || verbose.is_some() {
        let _ = write!(
            out,
            "\n### Logging: `c10` on {logging} without and with `--verbose`\n\n\
             | | req/s | p99 | CPU per 1k req |\n|---|--:|--:|--:|\n"
        );
        for (name, s) in [("quiet", quiet), ("--verbose", verbose)] {
            if let Some(s) = s {
                let cpu_cell = opt(s.cpu_ms_per_1k_requests_median, cpu);
                out += &row([
                    name.into(),
                    rate_cell(s),
                    opt(s.p99_us_median, latency),
                    cpu_cell,
                ]);
            }
        }
        let median = |s: Option<&Summary>| s.and_then(|s| s.requests_per_s_median);
        if let (Some(q), Some(v)) = (median(quiet), median(verbose))
            && q > 0.0
        {
            let _ = writeln!(
                out,
                "\nWith a log line per request the server answers {:.0}% of the quiet rate \
                 (log written to a file, not a terminal).",
                v / q * 100.0
            );
        }
    }

    out.push_str("\n### Errors and timeouts\n\n");
    let troubled: Vec<&Summary> = file.summaries.iter().filter(|s| s.troubled()).collect();
    if troubled.is_empty() {
        out.push_str(
            "No run had a socket error, a timeout, a status of 400 or more, or clients left waiting.\n",
        );
    } else {
        out.push_str(
            "\"Waiting\" counts clients the server left unserved for a quarter of a second or more \
             (in its accept queue, or accepted with their request unread), the most seen at once; \
             wrk reports no error for them. See [method](#method).\n\n\
             | server | scenario | errors, summed over the repeats | runs with errors | waiting | failed runs |\n\
             |---|---|---|--:|--:|--:|\n",
        );
        for s in troubled {
            out += &row([
                s.server.clone(),
                s.label(),
                s.errors_summed.describe(),
                format!("{}/{}", s.runs_with_errors, s.runs),
                opt(s.waiting_max, thousands),
                s.failed_runs.to_string(),
            ]);
        }
    }
    out += &list("Other problems:", file.problems.iter().cloned());
    let skipped = file
        .not_applicable
        .iter()
        .map(|n| format!("{} `{}`: {}.", n.server, n.scenario.name(), n.reason));
    out += &list("Not applicable:", skipped);

    for sc in [Scenario::C10, Scenario::Slow, Scenario::C1000] {
        let median = |s: &str| {
            Some((
                s.to_string(),
                find(file, s, sc.name())?.requests_per_s_median?,
            ))
        };
        let bars: Vec<(String, f64)> = servers.iter().filter_map(|s| median(s)).collect();
        if scenarios.contains(&sc) && !bars.is_empty() {
            let workload = sc.workload().describe(file.settings.duration_s);
            out.push('\n');
            out += &bar_chart(
                &format!("{}: requests/s ({workload})", sc.name()),
                "requests/s",
                &bars,
                0,
            );
        }
    }
    out
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

    fn committed() -> BenchFile {
        serde_json::from_str(include_str!(
            "../../docs/results/bench-2026-11-23T180123Z.json"
        ))
        .unwrap()
    }

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

    #[test]
    fn failed_runs_and_other_problems_are_listed() {
        let mut file = committed();
        (file.runs[0].ok, file.runs[0].failure) = (false, Some("wrk printed no report".into()));
        file.summaries = crate::stats::summarize_all(&file.runs);
        file.problems
            .push("nginx did not exit within 2s of SIGTERM (killed)".into());
        let chapter = chapter_section(&file, "simple_server");
        assert!(
            chapter.contains("| c10 | c10 `/` | ⚠ 14,719 ±3% |")
                && chapter.contains("| 0; 1 failed |")
        );
        assert!(chapter.contains(
            "\nFailed runs (left out of the figures above):\n- `c10`: wrk printed no report\n"
        ));
        let comparison = comparison_section(&file);
        assert!(comparison.contains("| simple_server | c10 | none | 0/2 | 0 | 1 |"));
        assert!(comparison.contains("\nOther problems:\n- nginx did not exit within 2s"));
        let none = Summary {
            requests_per_s_median: None,
            ..file.summaries[0].clone()
        };
        assert_eq!(rate_cell(&none), "failed");
    }

    #[test]
    fn the_committed_results_give_the_committed_pages() {
        let file = committed();
        // What the pages said before the scenario of the Python original's
        // command was named after it.
        let renamed = |page: String| {
            page.replace("| seed |", "| c10 |")
                .replace("seed, Python original", "c10, Python original")
                .replace("`seed` on", "`c10` on")
                .replace("title \"seed:", "title \"c10:")
                .replace("original measured", "original (LearnServer) measured")
                .replace("-d10s` (seed 001),", "-d10s`,")
        };
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
        let page = |name: &str| renamed(fs::read_to_string(format!("{docs}/{name}.md")).unwrap());
        let readme = page("README");
        assert_eq!(
            BENCH.rewrite(&readme, &comparison_section(&file)).unwrap(),
            readme
        );
        for server in crate::plan::SERVERS {
            // The pages were written from unrounded figures and the file
            // keeps three decimals: one steal of 9.35% now rounds down.
            let chapter = page(server).replace("(11.3 MiB) | 9.4%", "(11.3 MiB) | 9.3%");
            assert_eq!(
                BENCH
                    .rewrite(&chapter, &chapter_section(&file, server))
                    .unwrap(),
                chapter
            );
        }
    }
}
