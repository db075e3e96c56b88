//! Turning summaries into Markdown: each chapter's table, the comparison
//! page's tables and charts, and the rewriting of the marked sections.

use std::fmt::Write;

use crate::machine::Machine;
use crate::plan::{NotApplicable, Scenario, WORKER_COUNTS};
use crate::stats::Summary;

pub const START_MARKER: &str = "<!-- bench:start -->";
pub const END_MARKER: &str = "<!-- bench:end -->";

/// What seed 001 measured for the Python original (`wrk -t2 -c10 -d10s`,
/// requests/s). It had no async server.
pub const PYTHON_SEED: [(&str, f64); 8] = [
    ("simple_server", 7610.66),
    ("cgi_server", 337.54),
    ("cgi_threading_server", 3838.05),
    ("prefork_server", 8220.92),
    ("threadpool1_server", 5623.53),
    ("threadpool2_server", 8103.66),
    ("noblocking_server", 198.14),
    ("multiplexingio_server", 6834.32),
];

pub fn python_seed(server: &str) -> Option<f64> {
    PYTHON_SEED
        .iter()
        .find(|(s, _)| *s == server)
        .map(|(_, v)| *v)
}

/// Replaces what lies between the bench markers, keeping the markers and
/// everything outside them byte for byte.
pub fn rewrite_section(doc: &str, body: &str) -> Result<String, String> {
    rewrite_between(doc, START_MARKER, END_MARKER, body)
}

/// Replaces what lies between the markers `start` and `end` (each present
/// once, in that order), keeping them and everything outside byte for byte.
pub fn rewrite_between(doc: &str, start: &str, end: &str, body: &str) -> Result<String, String> {
    let at = doc
        .find(start)
        .ok_or_else(|| format!("no {start} marker"))?;
    let to = doc.find(end).ok_or_else(|| format!("no {end} marker"))?;
    if to < at {
        return Err(format!("{end} comes before {start}"));
    }
    if doc[at + start.len()..].contains(start) || doc[to + end.len()..].contains(end) {
        return Err(format!("the {start} markers appear more than once"));
    }
    let mut out = String::with_capacity(doc.len() + body.len());
    out.push_str(&doc[..at + start.len()]);
    out.push('\n');
    out.push_str(body.trim_end_matches('\n'));
    out.push('\n');
    out.push_str(&doc[to..]);
    Ok(out)
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

/// Microseconds as a person reads them: "812 µs", "8.1 ms", "1.20 s".
pub fn latency(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// KiB as "812 KiB", "3.2 MiB", "1.21 GiB".
pub fn memory(kib: u64) -> String {
    if kib < 1024 {
        format!("{kib} KiB")
    } else if kib < 1024 * 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{:.2} GiB", kib as f64 / 1024.0 / 1024.0)
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

const WARN: &str = "⚠";

/// "41,203 ±4%", with a warning sign when a repeat had errors and "failed"
/// when no repeat completed.
pub fn rate_cell(s: &Summary) -> String {
    let Some(median) = s.rps_median else {
        return "failed".to_string();
    };
    let mut cell = rate(median);
    if s.runs > 1 {
        let _ = write!(cell, " ±{:.0}%", s.spread_pct.unwrap_or(0.0));
    }
    if s.runs_with_errors > 0 || s.failed > 0 || s.waiting_max.unwrap_or(0) > 0 {
        cell = format!("{WARN} {cell}");
    }
    cell
}

fn errors_cell(s: &Summary) -> String {
    let mut cell = if s.errors.total() == 0 {
        "0".to_string()
    } else {
        format!(
            "{WARN} {} ({}/{} runs)",
            s.errors.describe(),
            s.runs_with_errors,
            s.runs
        )
    };
    if s.failed > 0 {
        let _ = write!(cell, "; {} failed", s.failed);
    }
    cell
}

/// Clients left waiting unserved: invisible to wrk, so flagged like errors.
fn waiting_cell(s: &Summary) -> String {
    match s.waiting_max {
        Some(0) => "0".to_string(),
        Some(n) => format!("{WARN} {}", thousands(n)),
        None => "–".to_string(),
    }
}

fn opt(value: Option<f64>, f: fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_string(), f)
}

fn memory_cell(s: &Summary) -> String {
    match (s.peak_pss_kib, s.peak_rss_kib) {
        (Some(pss), Some(rss)) => format!("{} ({})", memory(pss), memory(rss)),
        _ => "–".to_string(),
    }
}

/// Everything a page needs besides the summaries.
pub struct Context<'a> {
    pub machine: &'a Machine,
    pub duration_s: u64,
    pub repeat: u32,
    pub pinning: &'a str,
    /// The results file, relative to the docs folder.
    pub results_file: &'a str,
    pub summaries: &'a [Summary],
    pub not_applicable: &'a [NotApplicable],
    /// Failures that belong to no single run (a server that did not stop).
    pub problems: &'a [String],
    pub logging_server: &'a str,
}

impl Context<'_> {
    fn header(&self) -> String {
        format!(
            "_Generated by `scripts/bench_all.sh` on {date} — {machine}; {repeat} × {duration} s per row \
             (median ± spread), wrk pinning: {pin}. Raw data: [{file}]({file}). \
             How to read this: [method](README.md#method)._\n",
            date = self.machine.date,
            machine = self.machine.describe(),
            repeat = self.repeat,
            duration = self.duration_s,
            pin = self.pinning,
            file = self.results_file,
        )
    }

    fn find(&self, server: &str, label: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|s| s.server == server && s.label == label)
    }

    fn servers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for s in self.summaries {
            if !names.contains(&s.server.as_str()) {
                names.push(&s.server);
            }
        }
        names
    }

    /// The plain scenarios that appear in the results, in their usual order.
    fn plain_scenarios(&self) -> Vec<Scenario> {
        Scenario::ALL
            .into_iter()
            .filter(|&sc| !matches!(sc, Scenario::Workers | Scenario::Logging))
            .filter(|&sc| self.summaries.iter().any(|s| s.label == sc.name()))
            .collect()
    }
}

/// The table in `docs/<server>.md`.
pub fn chapter_section(ctx: &Context, server: &str) -> String {
    let mut out = ctx.header();
    out.push('\n');
    out.push_str(
        "| scenario | load | req/s | p50 | p99 | max | errors | waiting | CPU per 1k req | peak PSS (RSS) | steal |\n\
         |---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|\n",
    );
    let rows: Vec<&Summary> = ctx
        .summaries
        .iter()
        .filter(|s| s.server == server)
        .collect();
    for s in &rows {
        let load = s
            .scenario
            .map(|sc| {
                let w = sc.workload();
                let close = if w.close { ", close" } else { "" };
                format!("c{} `{}`{close}", w.connections, w.path)
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.label,
            load,
            rate_cell(s),
            opt(s.p50_us, latency),
            opt(s.p99_us, latency),
            opt(s.max_us.map(|m| m as f64), latency),
            errors_cell(s),
            waiting_cell(s),
            opt(s.cpu_ms_per_1k, cpu),
            memory_cell(s),
            opt(s.steal_median_pct, |p| format!("{p:.1}%")),
        );
    }
    if rows.is_empty() {
        out.push_str("| – | not measured in this run | | | | | | | | | |\n");
    }
    if let Some(py) = python_seed(server) {
        let _ = writeln!(
            out,
            "\nThe Python original measured **{} req/s** with `wrk -t2 -c10 -d10s` (seed 001), \
             on other hardware.",
            rate(py)
        );
    }
    let skipped: Vec<&NotApplicable> = ctx
        .not_applicable
        .iter()
        .filter(|n| n.server == server)
        .collect();
    if !skipped.is_empty() {
        out.push_str("\nNot applicable:\n");
        for n in skipped {
            let _ = writeln!(out, "- `{}`: {}.", n.scenario.name(), n.reason);
        }
    }
    let failures: Vec<String> = rows
        .iter()
        .flat_map(|s| {
            s.failures
                .iter()
                .map(move |f| format!("- `{}`: {f}", s.label))
        })
        .collect();
    if !failures.is_empty() {
        out.push_str("\nFailed runs (left out of the figures above):\n");
        out.push_str(&failures.join("\n"));
        out.push('\n');
    }
    out
}

/// The generated part of `docs/README.md`.
pub fn comparison_section(ctx: &Context) -> String {
    let mut out = ctx.header();
    let servers = ctx.servers();
    let scenarios = ctx.plain_scenarios();

    out.push_str("\n### Requests per second\n\n");
    out.push_str(&format!(
        "{WARN} marks a figure with errors or timeouts in at least one repeat; see [errors](#errors-and-timeouts).\n\n"
    ));
    let mut head = "| server |".to_string();
    let mut rule = "|---|".to_string();
    for sc in &scenarios {
        if *sc == Scenario::Seed {
            head.push_str(" seed, Python original |");
            rule.push_str("--:|");
        }
        let _ = write!(head, " {} |", sc.name());
        rule.push_str("--:|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for server in &servers {
        let mut row = format!("| {server} |");
        for sc in &scenarios {
            if *sc == Scenario::Seed {
                let _ = write!(
                    row,
                    " {} |",
                    python_seed(server).map_or("–".to_string(), rate)
                );
            }
            let cell = match ctx.find(server, sc.name()) {
                Some(s) => rate_cell(s),
                None => "n/a".to_string(),
            };
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(out, "{row}");
    }

    let cost_table = |out: &mut String, title: &str, cell: &dyn Fn(&Summary) -> String| {
        let _ = write!(out, "\n### {title}\n\n| server |");
        for sc in &scenarios {
            let _ = write!(out, " {} |", sc.name());
        }
        out.push_str("\n|---|");
        for _ in &scenarios {
            out.push_str("--:|");
        }
        out.push('\n');
        for server in &servers {
            let _ = write!(out, "| {server} |");
            for sc in &scenarios {
                let text = ctx.find(server, sc.name()).map_or("n/a".to_string(), cell);
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
    };
    cost_table(&mut out, "p99 latency", &|s| opt(s.p99_us, latency));
    cost_table(&mut out, "Server CPU time per 1,000 requests", &|s| {
        opt(s.cpu_ms_per_1k, cpu)
    });
    cost_table(
        &mut out,
        "Peak memory: PSS summed over the process tree (RSS)",
        &memory_cell,
    );

    // The sweep.
    let sweep: Vec<&str> = servers
        .iter()
        .copied()
        .filter(|server| {
            ctx.summaries
                .iter()
                .any(|s| &s.server == server && s.scenario == Some(Scenario::Workers))
        })
        .collect();
    if !sweep.is_empty() {
        out.push_str("\n### Worker sweep: `slow` at `--workers N` (req/s, p99)\n\n| server |");
        for n in WORKER_COUNTS {
            let _ = write!(out, " {n} |");
        }
        out.push_str("\n|---|");
        for _ in WORKER_COUNTS {
            out.push_str("--:|");
        }
        out.push('\n');
        for server in sweep {
            let _ = write!(out, "| {server} |");
            for n in WORKER_COUNTS {
                let text = ctx
                    .find(server, &format!("workers w={n}"))
                    .map_or("n/a".to_string(), |s| {
                        format!("{}, {}", rate_cell(s), opt(s.p99_us, latency))
                    });
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
    }

    // The logging pair.
    let quiet = ctx.find(ctx.logging_server, "logging quiet");
    let verbose = ctx.find(ctx.logging_server, "logging verbose");
    if quiet.is_some() || verbose.is_some() {
        let _ = write!(
            out,
            "\n### Logging: `seed` on {} without and with `--verbose`\n\n\
             | | req/s | p99 | CPU per 1k req |\n|---|--:|--:|--:|\n",
            ctx.logging_server
        );
        for (name, s) in [("quiet", quiet), ("--verbose", verbose)] {
            if let Some(s) = s {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} |",
                    rate_cell(s),
                    opt(s.p99_us, latency),
                    opt(s.cpu_ms_per_1k, cpu)
                );
            }
        }
        if let (Some(q), Some(v)) = (
            quiet.and_then(|s| s.rps_median),
            verbose.and_then(|s| s.rps_median),
        ) && q > 0.0
        {
            let _ = writeln!(
                out,
                "\nWith a log line per request the server answers {:.0}% of the quiet rate \
                 (log written to a file, not a terminal).",
                v / q * 100.0
            );
        }
    }

    // Errors, wherever they happened.
    out.push_str("\n### Errors and timeouts\n\n");
    let with_errors: Vec<&Summary> = ctx
        .summaries
        .iter()
        .filter(|s| s.errors.total() > 0 || s.failed > 0 || s.waiting_max.unwrap_or(0) > 0)
        .collect();
    if with_errors.is_empty() {
        out.push_str("No run had a socket error, a timeout, a status of 400 or more, or clients left waiting.\n");
    } else {
        out.push_str(
            "\"Waiting\" counts clients the server left unserved for a quarter of a second or more \
             (in its accept queue, or accepted with their request unread), the most seen at once; \
             wrk reports no error for them. See [method](#method).\n\n\
             | server | scenario | errors, summed over the repeats | runs with errors | waiting | failed runs |\n\
             |---|---|---|--:|--:|--:|\n",
        );
        for s in with_errors {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}/{} | {} | {} |",
                s.server,
                s.label,
                if s.errors.total() == 0 {
                    "none".to_string()
                } else {
                    s.errors.describe()
                },
                s.runs_with_errors,
                s.runs,
                s.waiting_max.map_or("–".to_string(), thousands),
                s.failed
            );
        }
    }
    if !ctx.problems.is_empty() {
        out.push_str("\nOther problems:\n");
        for p in ctx.problems {
            let _ = writeln!(out, "- {p}");
        }
    }
    if !ctx.not_applicable.is_empty() {
        out.push_str("\nNot applicable:\n");
        for n in ctx.not_applicable {
            let _ = writeln!(out, "- {} `{}`: {}.", n.server, n.scenario.name(), n.reason);
        }
    }

    // Charts.
    for sc in [Scenario::Seed, Scenario::Slow, Scenario::C1000] {
        if !scenarios.contains(&sc) {
            continue;
        }
        let bars: Vec<(&str, f64)> = servers
            .iter()
            .filter_map(|server| Some((*server, ctx.find(server, sc.name())?.rps_median?)))
            .collect();
        if !bars.is_empty() {
            out.push('\n');
            out.push_str(&bar_chart(
                &format!(
                    "{}: requests/s ({})",
                    sc.name(),
                    sc.workload().describe(ctx.duration_s)
                ),
                &bars,
            ));
        }
    }
    out
}

/// A Mermaid `xychart-beta` bar chart, which GitHub renders.
pub fn bar_chart(title: &str, bars: &[(&str, f64)]) -> String {
    let top = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    // A round upper bound a little above the tallest bar.
    let magnitude = 10f64.powi((top.max(1.0)).log10().floor() as i32);
    let upper = ((top * 1.1 / magnitude).ceil() * magnitude).max(1.0);
    let names: Vec<String> = bars
        .iter()
        .map(|(n, _)| format!("\"{}\"", n.trim_end_matches("_server")))
        .collect();
    let values: Vec<String> = bars.iter().map(|(_, v)| format!("{:.0}", v)).collect();
    format!(
        "```mermaid\nxychart-beta\n    title \"{}\"\n    x-axis [{}]\n    y-axis \"requests/s\" 0 --> {:.0}\n    bar [{}]\n```\n",
        title.replace('"', "'"),
        names.join(", "),
        upper,
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrk::Errors;

    #[test]
    fn only_the_marked_section_changes() {
        let doc = "# Title\n\nprose\n<!-- bench:start -->\nold table\n<!-- bench:end -->\nafter\n";
        let new = rewrite_section(doc, "new table\n\n").unwrap();
        assert_eq!(
            new,
            "# Title\n\nprose\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\nafter\n"
        );
        // Rewriting again with the same body changes nothing.
        assert_eq!(rewrite_section(&new, "new table").unwrap(), new);
        // Markers on one line work too.
        let tight = "a <!-- bench:start --><!-- bench:end --> b";
        assert_eq!(
            rewrite_section(tight, "x").unwrap(),
            "a <!-- bench:start -->\nx\n<!-- bench:end --> b"
        );
    }

    #[test]
    fn bad_markers_are_refused() {
        assert!(rewrite_section("no markers", "x").is_err());
        assert!(rewrite_section("<!-- bench:end --> <!-- bench:start -->", "x").is_err());
        let twice = "<!-- bench:start --><!-- bench:end --><!-- bench:start --><!-- bench:end -->";
        assert!(rewrite_section(twice, "x").is_err());
        assert!(rewrite_section("<!-- bench:start --> only", "x").is_err());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(41_203), "41,203");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(rate(41_203.4), "41,203");
        assert_eq!(rate(19.84), "19.8");
        assert_eq!(latency(812.0), "812 µs");
        assert_eq!(latency(8_123.0), "8.12 ms");
        assert_eq!(latency(81_234.0), "81.2 ms");
        assert_eq!(latency(2_010_000.0), "2.01 s");
        assert_eq!(memory(812), "812 KiB");
        assert_eq!(memory(3_277), "3.2 MiB");
        assert_eq!(memory(1_268_777), "1.21 GiB");
        assert_eq!(cpu(4.567), "4.57 ms");
        assert_eq!(cpu(31.4), "31 ms");
    }

    fn summary(server: &str, label: &str, rps: f64, timeouts: u64) -> Summary {
        let scenario = Scenario::parse(label.split(' ').next().unwrap());
        Summary {
            server: server.to_string(),
            label: label.to_string(),
            scenario,
            variant: label
                .split_once(' ')
                .map(|(_, v)| v.to_string())
                .unwrap_or_default(),
            runs: 3,
            waiting_max: Some(0),
            rps_median: Some(rps),
            spread_pct: Some(4.2),
            p50_us: Some(200.0),
            p99_us: Some(900.0),
            max_us: Some(12_000),
            errors: Errors {
                timeout: timeouts,
                ..Errors::default()
            },
            runs_with_errors: usize::from(timeouts > 0) * 2,
            cpu_ms_per_1k: Some(31.0),
            peak_pss_kib: Some(1200),
            peak_rss_kib: Some(3400),
            ..Summary::default()
        }
    }

    fn context<'a>(
        summaries: &'a [Summary],
        machine: &'a Machine,
        na: &'a [NotApplicable],
    ) -> Context<'a> {
        Context {
            machine,
            duration_s: 5,
            repeat: 3,
            pinning: "none",
            results_file: "results/bench-x.json",
            summaries,
            not_applicable: na,
            problems: &[],
            logging_server: "threadpool1_server",
        }
    }

    #[test]
    fn errors_are_visible_next_to_their_number() {
        let s = summary("simple_server", "c1000", 5000.0, 1234);
        assert_eq!(rate_cell(&s), "⚠ 5,000 ±4%");
        assert_eq!(errors_cell(&s), "⚠ 1,234 timeout (2/3 runs)");
        let clean = summary("simple_server", "seed", 41_203.0, 0);
        assert_eq!(rate_cell(&clean), "41,203 ±4%");
        let failed = Summary {
            rps_median: None,
            ..clean
        };
        assert_eq!(rate_cell(&failed), "failed");
    }

    #[test]
    fn chapter_table_has_a_row_per_scenario_and_the_python_figure() {
        let machine = Machine::default();
        let summaries = [
            summary("simple_server", "seed", 41_203.0, 0),
            summary("simple_server", "c1000", 5000.0, 1234),
            summary("nginx", "seed", 60_000.0, 0),
        ];
        let na = [NotApplicable {
            server: "simple_server".to_string(),
            scenario: Scenario::Workers,
            reason: "no --workers option".to_string(),
        }];
        let text = chapter_section(&context(&summaries, &machine, &na), "simple_server");
        assert!(text.contains("| seed | c10 `/` | 41,203 ±4% | 200 µs | 900 µs | 12.0 ms | 0 | 0 | 31 ms | 1.2 MiB (3.3 MiB) | – |"), "{text}");
        assert!(text.contains("| c1000 | c1000 `/` | ⚠ 5,000 ±4% |"));
        assert!(text.contains("7,611 req/s"));
        assert!(text.contains("- `workers`: no --workers option."));
        assert!(!text.contains("60,000"));
    }

    #[test]
    fn comparison_puts_python_beside_seed_and_draws_a_chart() {
        let machine = Machine::default();
        let summaries = [
            summary("simple_server", "seed", 41_203.0, 0),
            summary("simple_server", "c1000", 5000.0, 1234),
            summary("nginx", "seed", 60_000.0, 0),
        ];
        let text = comparison_section(&context(&summaries, &machine, &[]));
        assert!(
            text.contains("| server | seed, Python original | seed | c1000 |"),
            "{text}"
        );
        assert!(text.contains("| simple_server | 7,611 | 41,203 ±4% | ⚠ 5,000 ±4% |"));
        assert!(text.contains("| nginx | – | 60,000 ±4% | n/a |"));
        assert!(text.contains("| simple_server | c1000 | 1,234 timeout | 2/3 | 0 | 0 |"));
        assert!(text.contains("```mermaid\nxychart-beta"));
        assert!(text.contains("x-axis [\"simple\", \"nginx\"]"));
    }

    #[test]
    fn clients_left_waiting_are_flagged_like_errors() {
        let machine = Machine::default();
        let mut starved = summary("prefork_server", "seed", 17_000.0, 0);
        starved.waiting_max = Some(8);
        let summaries = [starved];
        let chapter = chapter_section(&context(&summaries, &machine, &[]), "prefork_server");
        assert!(chapter.contains("| ⚠ 17,000 ±4% |"), "{chapter}");
        assert!(chapter.contains("| 0 | ⚠ 8 |"), "{chapter}");
        let comparison = comparison_section(&context(&summaries, &machine, &[]));
        assert!(
            comparison.contains("| prefork_server | seed | none | 0/3 | 8 | 0 |"),
            "{comparison}"
        );
    }

    #[test]
    fn chart_axis_is_rounded_above_the_top_bar() {
        let chart = bar_chart("t", &[("a_server", 41_203.0), ("b", 7_000.0)]);
        assert!(
            chart.contains("y-axis \"requests/s\" 0 --> 50000"),
            "{chart}"
        );
        assert!(chart.contains("bar [41203, 7000]"));
    }
}
