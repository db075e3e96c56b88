//! The pages made from `docs/results/connections.json` alone: the summary
//! table (one row per server, also each chapter's line), the charts, every
//! step, the rate at which each step was opened and the limits, between the
//! `connections` markers of `docs/connections.md` and of each chapter; the
//! readings and the million of [`readings`](super::readings) in their own
//! sections of the same page; and the writing of the file and those pages.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Context;

use super::readings::{self, MILLION, READINGS};
use super::{ConnectionsFile, Host, Sample, ServerRun, Settings, Step};
use crate::json::{create_dir, write_json};
use crate::markdown::{CONNECTIONS, memory, opt, row, thousands};

/// Writes `file` into `out/results/` and rewrites the pages in `out` from
/// the file as written, as a later run from the file alone would make them.
pub fn publish(out: &Path, file: &ConnectionsFile) -> anyhow::Result<()> {
    let json = create_dir(out.join("results"))?.join("connections.json");
    let file = write_json(&json, file)?;
    println!("\ncapacity: wrote {}", json.display());
    rewrite_pages(out, &file)
}

/// Rewrites the marked sections of `connections.md` in `out` (a bare page
/// when there is none yet) and the line of each chapter that is there.
pub fn rewrite_pages(out: &Path, file: &ConnectionsFile) -> anyhow::Result<()> {
    let page = out.join("connections.md");
    if !page.exists() {
        // A first run, or a quick run in a fresh folder: a bare page.
        let bare = [CONNECTIONS, READINGS, MILLION].map(|m| format!("{}\n{}\n", m.0, m.1));
        let bare = format!("# Idle connections\n\n{}", bare.join("\n"));
        fs::write(&page, bare).with_context(|| format!("cannot write {}", page.display()))?;
    }
    CONNECTIONS.update("capacity", &page, &section(file))?;
    READINGS.update("capacity", &page, &readings::readings(file))?;
    MILLION.update("capacity", &page, &readings::million(file))?;
    for run in &file.servers {
        let chapter = out.join(format!("{}.md", run.server));
        if chapter.exists() {
            CONNECTIONS.update("capacity", &chapter, &chapter_line(file, run))?;
        }
    }
    Ok(())
}

fn kib_cell(kib: Option<f64>) -> String {
    opt(kib.filter(|k| k.is_finite()), |k| format!("{k:.2}"))
}

fn probe_cell(step: &Step) -> String {
    let p = step.probe_ms.unwrap_or_default();
    opt(p.p50.zip(p.p99).zip(p.max), |((p50, p99), max)| {
        format!("{p50:.2} / {p99:.2} / {max:.2} ms")
    })
}

/// The kernel's side of one connection: TCP buffers + slab + kernel stacks
/// and page tables.
fn kernel_cell(step: &Step) -> String {
    let tcp_and_slab = step
        .kernel_tcp_mem_kib_per_connection
        .zip(step.kernel_slab_kib_per_connection);
    let all = tcp_and_slab.zip(step.kernel_stack_and_page_tables_kib_per_connection);
    opt(all, |((tcp, slab), tasks)| {
        format!("{tcp:.1} + {slab:.1} + {tasks:.1}")
    })
}

const SUMMARY_HEADER: &str = "\
| Server | Held | Server PSS (RSS) | KiB per connection | Threads | Processes | Probe p50 / p99 / max | Kernel KiB per connection | Stopped by |
|---|---:|---:|---:|---:|---:|---|---:|---|
";

/// One server's row of the summary table: its largest passing step (or,
/// when none passed, how far the failing one got), and why the first
/// failing step failed.
fn summary_row(run: &ServerRun) -> String {
    let stopped = match (run.first_failure(), &run.error) {
        (Some(step), _) => {
            format!(
                "{} connections: {}",
                thousands(step.connections as u64),
                step.reason.as_deref().unwrap_or("?")
            )
        }
        (None, Some(err)) => err.clone(),
        (None, None) => "nothing: every step passed".to_string(),
    };
    let stopped = stopped.replace('|', "/");
    let shown = run.best().or_else(|| run.first_failure());
    let Some((step, held)) = shown.and_then(|step| Some((step, step.held_sample?))) else {
        return row([
            run.server.as_str(),
            "0",
            "–",
            "–",
            "–",
            "–",
            "–",
            "–",
            &stopped,
        ]);
    };
    let count = match step.passed {
        true => thousands(step.held as u64),
        false => {
            format!(
                "{} of {}",
                thousands(step.held as u64),
                thousands(step.connections as u64)
            )
        }
    };
    row([
        run.server.clone(),
        count,
        format!("{} ({})", memory(held.pss_kib), memory(held.rss_kib)),
        kib_cell(step.kib_per_connection),
        held.threads.to_string(),
        held.processes.to_string(),
        probe_cell(step),
        kernel_cell(step),
        stopped,
    ])
}

/// What goes between the markers of a chapter: its row, and its cost of an
/// idle connection against the reference event loop's.
pub fn chapter_line(file: &ConnectionsFile, run: &ServerRun) -> String {
    let sentence = readings::chapter_sentence(file, run);
    let sentence = if sentence.is_empty() {
        sentence
    } else {
        sentence + " "
    };
    format!(
        "{SUMMARY_HEADER}{}\n{sentence}The most idle keep-alive connections this server held, and what \
         they cost; every step and the limits behind them are in [Idle connections](connections.md).",
        summary_row(run)
    )
}

/// The generated part of docs/connections.md.
pub fn section(file: &ConnectionsFile) -> String {
    let Host {
        cpu,
        cores,
        kernel,
        rustc,
        date,
    } = &file.machine;
    let Settings {
        steps,
        rate,
        hold_s,
        server_args,
        ..
    } = &file.settings;
    let steps: Vec<String> = steps.iter().map(|s| thousands(*s)).collect();
    let mut out = format!(
        "Measured on {cpu} ({cores} cores), Linux {kernel}, {rustc}, {date} by `scripts/connections.sh`: \
         steps of {} connections opened at {rate}/s from 127.0.0.2 and up, each step held {hold_s} s against \
         a freshly started server (`{server_args}`). Memory is PSS summed over the server's process tree; \
         KiB per connection is (PSS held − PSS before any client) / connections held. Kernel KiB per \
         connection is the growth of TCP buffer memory (`mem` of `/proc/net/sockstat`) + the kernel's slab \
         (`Slab:` of `/proc/meminfo`) + kernel stacks and page tables (`KernelStack:` and `PageTables:`), \
         per connection held: the whole machine's, so both ends of every loopback connection, and anything \
         else the machine did meanwhile.\n\n{SUMMARY_HEADER}",
        steps.join(", ")
    );
    out.extend(file.servers.iter().map(summary_row));
    out = out + "\n" + &readings::charts(file) + "\n";
    out.push_str(
        "Every step (a server stops at its first failing step):\n\n\
         | Server | Step | Held | PSS before → held | RSS held | KiB per connection | Threads | Processes | Maps | Probe p50 / p99 / max | Kernel KiB per connection | Result |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n",
    );
    for run in &file.servers {
        for step in &run.steps {
            let held = step.held_sample;
            let of = |f: fn(&Sample) -> String| opt(held.as_ref(), f);
            out += &row([
                run.server.clone(),
                thousands(step.connections as u64),
                thousands(step.held as u64),
                format!(
                    "{} → {}",
                    memory(step.baseline.pss_kib),
                    of(|s| memory(s.pss_kib))
                ),
                of(|s| memory(s.rss_kib)),
                kib_cell(step.kib_per_connection),
                of(|s| s.threads.to_string()),
                of(|s| s.processes.to_string()),
                of(|s| s.max_maps.to_string()),
                probe_cell(step),
                kernel_cell(step),
                step.reason.as_deref().map_or("passed".into(), |r| {
                    format!("**failed**: {}", r.replace('|', "/"))
                }),
            ]);
        }
        if let Some(err) = &run.error {
            let _ = writeln!(
                out,
                "| {} | | | | | | | | | | | error: {} |",
                run.server,
                err.replace('|', "/")
            );
        }
    }
    out = out + "\n" + &readings::rate_table(file);
    out.push_str("\nThe limits as they were during this run:\n\n| Limit | Value |\n|---|---|\n");
    for (name, value) in &file.limits {
        out += &row([
            format!("`{name}`"),
            value.as_str().unwrap_or("?").to_string(),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::COMMITTED;

    #[test]
    fn the_committed_results_give_the_committed_pages() {
        let file: ConnectionsFile = serde_json::from_str(COMMITTED).unwrap();
        let page = include_str!("../../../docs/connections.md");
        let again = CONNECTIONS.rewrite(page, &section(&file)).unwrap();
        let again = READINGS
            .rewrite(&again, &readings::readings(&file))
            .unwrap();
        let again = MILLION.rewrite(&again, &readings::million(&file)).unwrap();
        assert_eq!(again, page);
        for chapter in [
            include_str!("../../../docs/threadpool1_server.md"),
            include_str!("../../../docs/async_server.md"),
        ] {
            let run = (file.servers.iter())
                .find(|run| chapter.contains(&format!("| {} |", run.server)))
                .unwrap();
            let line = chapter_line(&file, run);
            assert_eq!(CONNECTIONS.rewrite(chapter, &line).unwrap(), chapter);
        }
    }

    #[test]
    fn a_server_that_held_nothing_or_failed_to_start_still_has_its_row() {
        let none = ServerRun {
            server: "x".into(),
            error: Some("x failed to start".into()),
            ..Default::default()
        };
        assert_eq!(
            summary_row(&none),
            "| x | 0 | – | – | – | – | – | – | x failed to start |\n"
        );
        let text = section(&ConnectionsFile {
            servers: vec![none],
            ..Default::default()
        });
        assert!(
            text.contains("bar [0]")
                && text.contains("| x | | | | | | | | | | | error: x failed to start |"),
            "{text}"
        );
        let file = ConnectionsFile {
            servers: vec![ServerRun {
                server: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(readings::readings(&file).starts_with("(no server held"));
        assert_eq!(readings::million(&file), "");
    }
}
