//! What a hostile run says, in sentences: the readings of
//! `docs/robustness.md` and the one paragraph of each chapter. Every figure
//! and every comparison here comes from the results file, so the next run
//! rewrites them; why a strategy behaves so stays in the hand-written prose.

use std::fmt::Write as _;

use super::{Outcome, RobustnessFile, Verdict};
use crate::capacity::readings::and_list;
use crate::markdown::{Markers, latency, memory, thousands};

/// The generated section of `docs/robustness.md` below the tables: the readings.
pub const READINGS: Markers = Markers(
    "<!-- robustness-readings:start -->",
    "<!-- robustness-readings:end -->",
);

/// The attack every server meets with almost no traffic at all, so its CPU
/// is what a silent connection costs.
const QUIET: &str = "slowloris-1000";

fn code(name: &str) -> String {
    format!("`{name}`")
}

/// "1 thread", "129 threads", "1 process", "3 processes".
fn counted(n: u64, what: &str) -> String {
    match (n, what.ends_with('s')) {
        (1, _) => format!("1 {what}"),
        (_, true) => format!("{} {what}es", thousands(n)),
        _ => format!("{} {what}s", thousands(n)),
    }
}

fn ms(value: f64) -> String {
    latency(value * 1000.0)
}

fn find<'a>(file: &'a RobustnessFile, server: &str, attack: &str) -> Option<&'a Outcome> {
    (file.outcomes.iter()).find(|o| o.server == server && o.attack == attack)
}

/// The attacks of a server that ended with `verdict`, in the run's order.
fn with<'a>(file: &'a RobustnessFile, server: &str, verdict: Verdict) -> Vec<&'a Outcome> {
    (file.outcomes.iter())
        .filter(|o| o.server == server && o.verdict == verdict)
        .collect()
}

/// The slowloris attacks, fewest connections first: (connections, outcome).
fn slowloris<'a>(file: &'a RobustnessFile, server: &str) -> Vec<(u64, &'a Outcome)> {
    let mut all: Vec<(u64, &Outcome)> = (file.outcomes.iter())
        .filter(|o| o.server == server)
        .filter_map(|o| Some((o.attack.strip_prefix("slowloris-")?.parse().ok()?, o)))
        .collect();
    all.sort_by_key(|(n, _)| *n);
    all
}

/// "`slowloris-10` (14 of 17), `slow-body` (14 of 16)".
fn attacks_with_counts(outcomes: &[&Outcome], count: fn(&Outcome) -> (u64, u64)) -> String {
    let items: Vec<String> = (outcomes.iter())
        .map(|o| {
            let (n, of) = count(o);
            format!("{} ({n} of {of})", code(&o.attack))
        })
        .collect();
    and_list(&items)
}

fn unanswered(o: &Outcome) -> (u64, u64) {
    (o.probes.unanswered(), o.probes.sent)
}

fn turned_away(o: &Outcome) -> (u64, u64) {
    (o.probes.turned_away, o.probes.sent)
}

/// The paragraph of one chapter, below its table.
pub fn chapter_reading(file: &RobustnessFile, server: &str) -> String {
    let all: Vec<&Outcome> = file
        .outcomes
        .iter()
        .filter(|o| o.server == server)
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let survived = with(file, server, Verdict::Survived);
    let starved = with(file, server, Verdict::Starved);
    let broke = with(file, server, Verdict::Broke);
    let mut out = match (starved.len(), broke.len()) {
        (0, 0) => format!(
            "It answered every fresh client within the patience under all {} attacks.",
            all.len()
        ),
        _ => format!(
            "It survived {} of the {} attacks.",
            survived.len(),
            all.len()
        ),
    };
    if !starved.is_empty() {
        let _ = write!(
            out,
            " Fresh requests went unanswered in time under {}.",
            attacks_with_counts(&starved, unanswered)
        );
        // Where the slowloris line lies: the most that did no harm and the
        // fewest that starved it.
        let line = slowloris(file, server);
        let harmless = (line.iter())
            .filter(|(_, o)| o.verdict == Verdict::Survived)
            .map(|(n, _)| *n)
            .max();
        let harmful = (line.iter())
            .filter(|(_, o)| o.verdict == Verdict::Starved)
            .map(|(n, _)| *n)
            .min();
        match (harmless, harmful) {
            (Some(ok), Some(bad)) if ok < bad => {
                let _ = write!(
                    out,
                    " {} slow sockets did no harm and {} starved it.",
                    thousands(ok),
                    thousands(bad)
                );
            }
            (None, Some(bad)) => {
                let _ = write!(
                    out,
                    " The fewest slow sockets tried, {}, were enough.",
                    thousands(bad)
                );
            }
            _ => {}
        }
    }
    let refused: Vec<&Outcome> = (survived.iter())
        .filter(|o| o.probes.turned_away > 0)
        .copied()
        .collect();
    if !refused.is_empty() {
        let _ = write!(
            out,
            " It turned fresh requests away with 503 under {}, at once, rather than leaving them unanswered.",
            attacks_with_counts(&refused, turned_away)
        );
    }
    for o in &broke {
        let _ = write!(out, " Under {} it broke: {}.", code(&o.attack), o.note);
    }
    if let Some(o) = find(file, server, QUIET) {
        let _ = write!(
            out,
            " Under {} its memory went from {} to {} ({} and {} at most), and it used {:.0}% of a core.",
            code(&o.attack),
            memory(o.pss_before_kib),
            memory(o.pss_peak_kib),
            counted(o.threads_peak, "thread"),
            counted(o.processes_peak, "process"),
            o.cpu_pct
        );
    }
    if let Some(o) = find(file, server, "pipelined-cpu")
        && let Some(p50) = o.probes.p50_ms
    {
        let words = if p50 >= 10.0 {
            "waited behind the burst of work"
        } else {
            "did not wait for the burst of work"
        };
        let _ = write!(
            out,
            " Under `pipelined-cpu` a fresh request {words}: {} at the median.",
            ms(p50)
        );
    }
    out
}

/// Everything the readings section of `docs/robustness.md` says.
pub fn readings(file: &RobustnessFile) -> String {
    let parts = [
        starved_reading(file),
        refused_reading(file),
        memory_reading(file),
        cpu_reading(file),
        turns_reading(file),
        churn_reading(file),
        alive_reading(file),
    ];
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    match parts.is_empty() {
        true => "(no outcome recorded: nothing to read)".into(),
        false => parts.join("\n\n"),
    }
}

fn starved_reading(file: &RobustnessFile) -> String {
    let mut lines = Vec::new();
    for server in file.servers() {
        let starved = with(file, server, Verdict::Starved);
        if starved.is_empty() {
            continue;
        }
        let line = slowloris(file, server);
        let bad = line
            .iter()
            .filter(|(_, o)| o.verdict == Verdict::Starved)
            .map(|(n, _)| *n)
            .min();
        let ok = line
            .iter()
            .filter(|(_, o)| o.verdict == Verdict::Survived)
            .map(|(n, _)| *n)
            .max();
        let slow = match (ok, bad) {
            (Some(ok), Some(bad)) if ok < bad => format!(
                " ({} slow sockets did not starve it, {} did)",
                thousands(ok),
                thousands(bad)
            ),
            (None, Some(bad)) => format!(" ({} slow sockets were enough)", thousands(bad)),
            _ => String::new(),
        };
        let names: Vec<String> = starved.iter().map(|o| code(&o.attack)).collect();
        lines.push(format!("- {}: {}{slow}.", code(server), and_list(&names)));
    }
    if lines.is_empty() {
        return "**Nobody starved.** Every server answered every fresh client within the patience under \
                every attack."
            .into();
    }
    format!(
        "**Who starved**, and under which attacks; most of the fresh client's requests waited in the \
         kernel's accept queue for longer than the patience:\n\n{}",
        lines.join("\n")
    )
}

fn refused_reading(file: &RobustnessFile) -> String {
    let mut lines = Vec::new();
    for server in file.servers() {
        let refused: Vec<&Outcome> = (with(file, server, Verdict::Survived).into_iter())
            .filter(|o| o.probes.turned_away > 0)
            .collect();
        if !refused.is_empty() {
            lines.push(format!(
                "- {}: {}.",
                code(server),
                attacks_with_counts(&refused, turned_away)
            ));
        }
    }
    match lines.is_empty() {
        true => String::new(),
        false => format!(
            "**Who said 503 instead**: fresh requests turned away with 503, out of those sent. Such a \
             request was answered at once, so it counts as answered, not as starved.\n\n{}",
            lines.join("\n")
        ),
    }
}

/// The memory each server paid for the quiet attack's connections.
fn memory_reading(file: &RobustnessFile) -> String {
    let quiet: Vec<&Outcome> = file.outcomes.iter().filter(|o| o.attack == QUIET).collect();
    let Some(most) = quiet.iter().max_by_key(|o| o.pss_peak_kib) else {
        return String::new();
    };
    let least = quiet.iter().min_by_key(|o| o.pss_peak_kib).unwrap_or(most);
    let many: Vec<String> = (quiet.iter())
        .filter(|o| o.threads_peak.max(o.processes_peak) >= o.attacker_connections)
        .map(|o| {
            let (n, what) = match o.processes_peak > 1 {
                true => (o.processes_peak, "processes"),
                false => (o.threads_peak, "threads"),
            };
            format!(
                "{} grew to {} with {} {what}",
                code(&o.server),
                memory(o.pss_peak_kib),
                thousands(n)
            )
        })
        .collect();
    let mut out = format!(
        "**What holding the slow sockets cost.** Under {} ({} connections), ",
        code(QUIET),
        thousands(most.attacker_connections)
    );
    if !many.is_empty() {
        let _ = write!(out, "{}; ", and_list(&many));
    }
    let one: Vec<&&Outcome> = (quiet.iter())
        .filter(|o| o.threads_peak == 1 && o.processes_peak == 1)
        .collect();
    if let Some(top) = one.iter().max_by_key(|o| o.pss_peak_kib) {
        let names: Vec<String> = one.iter().map(|o| code(&o.server)).collect();
        let _ = write!(
            out,
            "the one-thread servers ({}) peaked at {} at most. ",
            and_list(&names),
            memory(top.pss_peak_kib)
        );
    }
    let _ = write!(
        out,
        "The most was {}'s {}, the least {}'s {}.",
        code(&most.server),
        memory(most.pss_peak_kib),
        code(&least.server),
        memory(least.pss_peak_kib)
    );
    out
}

fn cpu_reading(file: &RobustnessFile) -> String {
    let quiet: Vec<&Outcome> = file.outcomes.iter().filter(|o| o.attack == QUIET).collect();
    let busy: Vec<String> = (quiet.iter())
        .filter(|o| o.cpu_pct >= 50.0)
        .map(|o| format!("{} ({:.0}%)", code(&o.server), o.cpu_pct))
        .collect();
    let idle = quiet.iter().filter(|o| o.cpu_pct < 5.0).count();
    if quiet.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "**What silence cost in CPU.** Under {}, where the attacker sends a byte now and then, {} of the {} \
         servers used less than 5% of a core",
        code(QUIET),
        idle,
        quiet.len()
    );
    if busy.is_empty() {
        out += ".";
    } else {
        let _ = write!(out, ", and {} used half a core or more.", and_list(&busy));
    }
    out
}

/// The pipelined attacks: whose fresh client waited behind one client's work.
fn turns_reading(file: &RobustnessFile) -> String {
    let cpu: Vec<&Outcome> = (file.outcomes.iter())
        .filter(|o| o.attack == "pipelined-cpu")
        .collect();
    let waited: Vec<String> = (cpu.iter())
        .filter(|o| o.probes.p50_ms.is_some_and(|p| p >= 10.0))
        .map(|o| format!("{} {}", code(&o.server), opt_ms(o.probes.p50_ms)))
        .collect();
    let quick = (cpu.iter())
        .filter(|o| o.probes.p50_ms.is_some_and(|p| p < 10.0))
        .filter_map(|o| o.probes.p50_ms)
        .fold(None, |top: Option<f64>, p| {
            Some(top.map_or(p, |t| t.max(p)))
        });
    if cpu.is_empty() {
        return String::new();
    }
    let mut out = String::from("**Taking turns.** Under `pipelined-cpu`, ");
    if waited.is_empty() {
        out += "no server kept the fresh client waiting behind the burst.";
    } else {
        let _ = write!(
            out,
            "the fresh client's median wait was {}",
            and_list(&waited)
        );
        if let Some(top) = quick {
            let _ = write!(out, ", against {} at most for every other server", ms(top));
        }
        out += ".";
    }
    let flood: Vec<&Outcome> = (file.outcomes.iter())
        .filter(|o| o.attack == "pipelined-flood" && o.verdict != Verdict::Broke)
        .collect();
    if let Some(worst) = flood
        .iter()
        .filter(|o| o.probes.p50_ms.is_some())
        .max_by(|a, b| a.probes.p50_ms.total_cmp_opt(b.probes.p50_ms))
    {
        let _ = write!(
            out,
            " Under `pipelined-flood` the slowest median was {}'s {}.",
            code(&worst.server),
            opt_ms(worst.probes.p50_ms)
        );
    }
    out
}

trait CmpOpt {
    fn total_cmp_opt(&self, other: Self) -> std::cmp::Ordering;
}

impl CmpOpt for Option<f64> {
    fn total_cmp_opt(&self, other: Self) -> std::cmp::Ordering {
        self.unwrap_or(0.0).total_cmp(&other.unwrap_or(0.0))
    }
}

fn opt_ms(value: Option<f64>) -> String {
    value.map_or("–".into(), ms)
}

fn churn_reading(file: &RobustnessFile) -> String {
    let churned: Vec<(&Outcome, u64)> = (file.outcomes.iter())
        .filter_map(|o| Some((o, o.churn.as_ref()?.completed)))
        .collect();
    let Some((most, top)) = churned.iter().max_by_key(|c| c.1) else {
        return String::new();
    };
    let (least, bottom) = *churned.iter().min_by_key(|c| c.1).unwrap_or(&(*most, *top));
    let refused: Vec<String> = (churned.iter())
        .filter_map(|(o, _)| {
            let c = o.churn.as_ref()?;
            (c.turned_away > 0)
                .then(|| format!("{} ({})", code(&o.server), thousands(c.turned_away)))
        })
        .collect();
    let failed: Vec<String> = (churned.iter())
        .filter(|(o, _)| o.churn.as_ref().is_some_and(|c| !c.errors.is_empty()))
        .map(|(o, _)| code(&o.server))
        .collect();
    let mut out = format!(
        "**Churn.** The most requests answered was {}'s {}, the fewest {}'s {}: {} as many.",
        code(&most.server),
        thousands(*top),
        code(&least.server),
        thousands(bottom),
        match *top as f64 / bottom.max(1) as f64 {
            r if r < 10.0 => format!("{r:.1} times"),
            r => format!("{r:.0} times"),
        }
    );
    out += &match refused.is_empty() {
        true => " No server turned a churning client away with 503.".to_string(),
        false => format!(" Turned away with 503: {}.", and_list(&refused)),
    };
    out += &match failed.is_empty() {
        true => " No churning request failed in any other way.".to_string(),
        false => format!(" Other failures: {}.", and_list(&failed)),
    };
    out
}

fn alive_reading(file: &RobustnessFile) -> String {
    let broke: Vec<String> = (file.outcomes.iter())
        .filter(|o| o.verdict == Verdict::Broke)
        .map(|o| format!("{} under {} ({})", code(&o.server), code(&o.attack), o.note))
        .collect();
    match broke.is_empty() {
        true => format!(
            "**Alive afterwards.** All {} outcomes ended with the server running and answering a fresh \
             `GET /`: no server died or stopped answering under any attack.",
            file.outcomes.len()
        ),
        false => format!("**Broken.** {}.", and_list(&broke)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An earlier run, kept as test data: its figures stay fixed, whatever
    /// the next run says.
    const EARLIER: &str = include_str!("../../testdata/robustness-2026-11-24.json");

    fn committed() -> RobustnessFile {
        serde_json::from_str(EARLIER).unwrap()
    }

    #[test]
    fn the_readings_say_what_the_committed_tables_say() {
        let file = committed();
        let text = readings(&file);
        for said in [
            "- `threadpool2_server`: `slowloris-1000`, `slow-body` and `descriptors` (100 slow sockets did not starve it, 1,000 did).",
            "- `simple_server`: `slowloris-10`, `slowloris-100`, `slowloris-1000`, `slow-body` and `slow-reader` (10 slow sockets were enough).",
            "- `threadpool1_server`: `slowloris-1000` (59 of 61)",
            "`cgi_server` grew to 57.5 MiB with 1,001 processes",
            "`noblocking_server` (100%)",
            "`async_server` 254.2 ms",
            "The most requests answered was `simple_server`'s 652,142, the fewest `cgi_server`'s 154,456: 4.2 times as many.",
            "Turned away with 503: `threadpool1_server` (90,201).",
            "All 81 outcomes ended",
        ] {
            assert!(text.contains(said), "{said}\n\n{text}");
        }
    }

    #[test]
    fn a_chapter_reading_follows_its_rows() {
        let file = committed();
        let tp2 = chapter_reading(&file, "threadpool2_server");
        assert!(tp2.starts_with("It survived 6 of the 9 attacks."), "{tp2}");
        assert!(
            tp2.contains("100 slow sockets did no harm and 1,000 starved it."),
            "{tp2}"
        );
        assert!(tp2.contains("(129 threads and 1 process at most)"), "{tp2}");
        let mux = chapter_reading(&file, "multiplexingio_server");
        assert!(
            mux.starts_with(
                "It answered every fresh client within the patience under all 9 attacks."
            ),
            "{mux}"
        );
        assert!(
            mux.contains("waited behind the burst of work: 133.3 ms at the median"),
            "{mux}"
        );
        assert!(mux.contains("`descriptors` (19 of 41)"), "{mux}");
        let cgi = chapter_reading(&file, "cgi_server");
        assert!(
            cgi.contains("did not wait for the burst of work: 599 µs"),
            "{cgi}"
        );
        let mut died = file.clone();
        died.outcomes[0].verdict = Verdict::Broke;
        died.outcomes[0].note = "killed by signal 6".into();
        assert!(
            chapter_reading(&died, "simple_server")
                .contains("Under `slowloris-10` it broke: killed by signal 6.")
        );
        assert!(
            readings(&died)
                .contains("**Broken.** `simple_server` under `slowloris-10` (killed by signal 6).")
        );
        assert_eq!(chapter_reading(&file, "nobody"), "");
    }
}
