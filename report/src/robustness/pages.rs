//! The pages made from `docs/results/robustness.json` alone: the
//! comparison of every server under every attack, the details, and the
//! connection churn next to what the seed document's servers did, between
//! the `robustness` markers of `docs/robustness.md`, and the readings of
//! [`readings`](super::readings) in their own section of it; and one small
//! table and its reading between the same markers of each chapter.

use std::fmt::Write as _;
use std::path::Path;

use super::readings::{self, READINGS};
use super::{Outcome, RobustnessFile, Verdict};
use crate::json::{create_dir, write_json};
use crate::markdown::{ROBUSTNESS, latency, memory, opt, row, thousands};

/// Writes `file` into `out/results/` and rewrites the pages in `out` from
/// the file as written.
pub fn publish(out: &Path, file: &RobustnessFile) -> anyhow::Result<()> {
    let json = create_dir(out.join("results"))?.join("robustness.json");
    let file = write_json(&json, file)?;
    println!("\nhostile: wrote {}", json.display());
    rewrite_pages(out, &file)
}

/// Rewrites the marked section of `robustness.md` in `out` and of every
/// chapter there is.
pub fn rewrite_pages(out: &Path, file: &RobustnessFile) -> anyhow::Result<()> {
    let page = out.join("robustness.md");
    ROBUSTNESS.update("hostile", &page, &section(file))?;
    READINGS.update("hostile", &page, &readings::readings(file))?;
    for server in file.servers() {
        let chapter = out.join(format!("{server}.md"));
        if chapter.exists() {
            ROBUSTNESS.update("hostile", &chapter, &chapter_section(file, server))?;
        }
    }
    Ok(())
}

fn ms(value: f64) -> String {
    latency(value * 1000.0)
}

/// The comparison's cell: the verdict, and the figure that matters for it.
fn cell(o: &Outcome) -> String {
    match o.verdict {
        Verdict::Survived if o.probes.turned_away > 0 => format!(
            "✓ {}, {}/{} turned away",
            opt(o.probes.p99_ms, ms),
            o.probes.turned_away,
            o.probes.sent
        ),
        Verdict::Survived => format!("✓ {}", opt(o.probes.p99_ms, ms)),
        Verdict::Starved => format!("⚠ {}/{} unanswered", o.probes.unanswered(), o.probes.sent),
        Verdict::Broke if o.died.is_some() => "✗ died".to_string(),
        Verdict::Broke => "✗ no answer after".to_string(),
    }
}

/// The verdict in words, for the detailed tables.
fn result(o: &Outcome) -> String {
    match o.verdict {
        Verdict::Survived if o.note.is_empty() => "survived".to_string(),
        Verdict::Survived => format!("survived; {}", o.note),
        Verdict::Starved => format!("starved: {}", o.note),
        Verdict::Broke => format!("**broke**: {}", o.note),
    }
}

fn probes_cell(o: &Outcome) -> String {
    let p = o.probes;
    opt(p.p50_ms.zip(p.p99_ms).zip(p.max_ms), |((p50, p99), max)| {
        format!("{} / {} / {}", ms(p50), ms(p99), ms(max))
    })
}

fn memory_cell(o: &Outcome) -> String {
    format!("{} → {}", memory(o.pss_before_kib), memory(o.pss_peak_kib))
}

/// The generated part of `docs/robustness.md`.
pub fn section(file: &RobustnessFile) -> String {
    let (m, s) = (&file.machine, &file.settings);
    let quick = if s.quick {
        " (a quick run: short attacks, fewer clients)"
    } else {
        ""
    };
    let mut out = format!(
        "Measured on {} ({} cores), Linux {}, {}, {} by `scripts/hostile.sh`{quick}. Each attack ran \
         against a freshly started server (`{}`); meanwhile a fresh client sent `GET /` every {} ms, \
         and a request not answered within {} ms counts as unanswered.\n\n",
        m.cpu,
        m.cores,
        m.kernel,
        m.rustc,
        m.date,
        s.server_args,
        s.probe_every_ms,
        s.probe_patience_ms
    );
    out += &row(["attack", "what the attacker does", "seconds"]);
    out += "|---|---|--:|\n";
    for a in &file.attacks {
        out += &row([
            format!("`{}`", a.name),
            a.what.clone(),
            format!("{:.0}", a.seconds),
        ]);
    }
    let find = |server: &str, attack: &str| {
        file.outcomes
            .iter()
            .find(|o| o.server == server && o.attack == attack)
    };
    out += "\n✓ survived, with the fresh client's p99 latency (and how many fresh requests were turned \
            away with 503, when some were); ⚠ starved: alive and answering once the attack was over, but \
            some fresh requests got no answer in time during it; ✗ broke.\n\n";
    let names: Vec<String> = file
        .attacks
        .iter()
        .map(|a| format!("`{}`", a.name))
        .collect();
    out += &row(std::iter::once("server".to_string()).chain(names));
    let _ = writeln!(out, "|---|{}", "---|".repeat(file.attacks.len()));
    for server in file.servers() {
        let cells = file
            .attacks
            .iter()
            .map(|a| opt(find(server, &a.name), cell));
        out += &row(std::iter::once(server.to_string()).chain(cells));
    }
    out += "\nEvery outcome (fresh `GET /` latency p50 / p99 / max over the answered ones; memory is \
            PSS summed over the server's process tree, before the attack and at its peak; CPU is the \
            tree's, as a share of one core):\n\n";
    out += &row([
        "server",
        "attack",
        "result",
        "attacker's connections",
        "fresh GET /",
        "memory",
        "threads",
        "processes",
        "CPU",
        "GET / after",
    ]);
    out += "|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n";
    for o in &file.outcomes {
        out += &row([
            o.server.clone(),
            format!("`{}`", o.attack),
            result(o),
            thousands(o.attacker_connections),
            probes_cell(o),
            memory_cell(o),
            o.threads_peak.to_string(),
            o.processes_peak.to_string(),
            format!("{:.0}%", o.cpu_pct),
            opt(o.after_ms, ms),
        ]);
    }
    out + &churn_section(file)
}

/// What seed document 004 (an echo-server benchmark with 3,000 clients that
/// connect, send, read the echo and close, for 30 s) says its servers did,
/// quoted. A fixed fact, not a measurement of ours.
const SEED_004: [(&str, &str); 5] = [
    ("rust mioco", "\"times out on 3000 clients\""),
    (
        "nodejs",
        "\"node crashes at the end when connections are closed\"",
    ),
    (
        "ruby eventmachine",
        "\"it crashed with memory allocation errors\" (go-bencher)",
    ),
    ("elixir", "\"crashes with strange errors under heavy load\""),
    ("golang", "\"the server completed 297555\""),
];

fn churn_section(file: &RobustnessFile) -> String {
    let churned: Vec<&Outcome> = file.outcomes.iter().filter(|o| o.churn.is_some()).collect();
    let Some(clients) = churned
        .first()
        .and_then(|o| o.churn.as_ref())
        .map(|c| c.clients)
    else {
        return String::new();
    };
    let mut out = format!(
        "\n### {} clients churning\n\nEach client connects, sends `POST /echo` with a small body, reads \
         the answer and closes, over and over, as in the benchmark of seed document 004. Requests \
         answered, turned away with 503, failed otherwise, and whether the server was still there \
         afterwards:\n\n",
        thousands(clients)
    );
    out += &row([
        "server",
        "answered",
        "503",
        "other failures",
        "p99",
        "alive and answering after",
    ]);
    out += "|---|--:|--:|---|--:|---|\n";
    for o in churned {
        let Some(c) = &o.churn else { continue };
        let errors: Vec<String> = c
            .errors
            .iter()
            .map(|(k, n)| format!("{} {k}", thousands(*n)))
            .collect();
        let alive = if o.verdict == Verdict::Broke {
            format!("**no**: {}", o.note)
        } else {
            "yes".into()
        };
        out += &row([
            o.server.clone(),
            thousands(c.completed),
            thousands(c.turned_away),
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            },
            opt(c.p99_ms, ms),
            alive,
        ]);
    }
    out += "\nWhat seed document 004 reports of its servers under 3,000 such clients (quoted; its \
            figures are requests completed in 30 s on its machine, not comparable with ours):\n\n";
    out += &row(["server in seed 004", "what happened"]);
    out += "|---|---|\n";
    for (server, what) in SEED_004 {
        out += &row([server, what]);
    }
    out
}

/// What goes between the robustness markers of a chapter.
pub fn chapter_section(file: &RobustnessFile, server: &str) -> String {
    let mut out = row([
        "attack",
        "result",
        "fresh GET / p50 / p99 / max",
        "memory",
        "GET / after",
    ]);
    out += "|---|---|--:|--:|--:|\n";
    for o in file.outcomes.iter().filter(|o| o.server == server) {
        out += &row([
            format!("`{}`", o.attack),
            result(o),
            probes_cell(o),
            memory_cell(o),
            opt(o.after_ms, ms),
        ]);
    }
    out + "\n"
        + &readings::chapter_reading(file, server)
        + "\n\nWhat each attack does, how it was measured, and every server side by side: \
           [Hostile clients](robustness.md)."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_results_give_the_committed_pages() {
        let file: RobustnessFile =
            serde_json::from_str(include_str!("../../../docs/results/robustness.json")).unwrap();
        let page = include_str!("../../../docs/robustness.md");
        let again = ROBUSTNESS.rewrite(page, &section(&file)).unwrap();
        let again = READINGS
            .rewrite(&again, &readings::readings(&file))
            .unwrap();
        assert_eq!(again, page);
        let chapter = include_str!("../../../docs/threadpool2_server.md");
        let table = chapter_section(&file, "threadpool2_server");
        assert_eq!(ROBUSTNESS.rewrite(chapter, &table).unwrap(), chapter);
    }
}
