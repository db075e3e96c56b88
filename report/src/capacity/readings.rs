//! What a capacity run says, in sentences: the readings of
//! `docs/connections.md`, the charts of memory per connection and of
//! connections held, the rate at which the connections were opened, the
//! cost of a million, and each chapter's sentence against the reference
//! event loop. Every figure and every comparative word here comes from the
//! results file, so the next run rewrites them; what a strategy *is* (why a
//! thread costs a stack) stays in the page's hand-written prose.

use std::fmt::Write as _;

use super::{ConnectionsFile, ServerRun, Step};
use crate::markdown::{Markers, bar_chart, memory, row, thousands};

/// The second generated section of `docs/connections.md`: the readings,
/// below the tables they read.
pub const READINGS: Markers = Markers(
    "<!-- connections-readings:start -->",
    "<!-- connections-readings:end -->",
);

/// The third: a million idle connections at the measured cost of one.
pub const MILLION: Markers = Markers(
    "<!-- connections-million:start -->",
    "<!-- connections-million:end -->",
);

/// The event loop every other server's idle connection is compared with.
pub const REFERENCE: &str = "multiplexingio_server";

/// What seed document 000 measured in Python (gunicorn, 50 clients): fixed
/// facts, quoted with their source, not measurements of ours.
pub const SEED_000: &str = "Seed `000` (a Django demo under gunicorn, 50 simultaneous clients) \
    measured the same contrast in Python: 50 forked processes used about 1,210 MB and one gevent \
    process about 38 MB, from which it concluded that the server \"could support 31 times as many \
    simultaneous connections\" with gevent.";

/// What seed document 002's client logged while it opened connections to an
/// async Ruby server and held them (its 2020 and 2019 logs), quoted.
pub const SEED_002: &str = "Seed `002`'s client, opening connections to an async Ruby server and \
    holding them, logged 1,152.85 connections/second after 10,001 and 1,066.37 after 90,001 (its \
    2020 log): a little slower with every connection held. Its 2019 log fell from 591.10 after \
    10,001 to 0.58 after 90,001.";

/// How a server held its idle connections, as the measurements show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// It held none: every connection was closed after one answer.
    None,
    /// It held as many as it had workers, and left the rest waiting.
    Pool,
    /// A child process per connection.
    Process,
    /// A thread per connection.
    Thread,
    /// A few threads for any number of connections.
    Loop,
}

/// The kind of a server, from its figures alone: who passed a step, and how
/// many threads and processes it had while it held the connections.
pub fn kind(run: &ServerRun) -> Option<Kind> {
    let Some(best) = run.best() else {
        let failed = run.first_failure()?;
        return Some(if failed.held == 0 {
            Kind::None
        } else {
            Kind::Pool
        });
    };
    let sample = best.held_sample?;
    let half = (best.held / 2) as u64;
    Some(match () {
        _ if sample.processes > half.max(1) => Kind::Process,
        _ if sample.threads > half.max(1) => Kind::Thread,
        _ => Kind::Loop,
    })
}

fn of_kind(file: &ConnectionsFile, k: Kind) -> Vec<&ServerRun> {
    (file.servers.iter())
        .filter(|run| kind(run) == Some(k))
        .collect()
}

/// `a`, `a` and `b`, `a`, `b` and `c`.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}

fn code(name: &str) -> String {
    format!("`{name}`")
}

fn ms(value: f64) -> String {
    match value {
        _ if value < 10.0 => format!("{value:.2} ms"),
        _ if value < 1000.0 => format!("{value:.1} ms"),
        _ => format!("{:.2} s", value / 1000.0),
    }
}

fn kib(value: f64) -> String {
    match value {
        _ if value < 10.0 => format!("{value:.2} KiB"),
        _ => format!("{value:.1} KiB"),
    }
}

/// "3.2 times", "129 times": how many times `a` is `b`.
fn times(a: f64, b: f64) -> String {
    let r = a / b;
    match r {
        _ if r < 10.0 => format!("{r:.1} times"),
        _ => format!("{} times", thousands(r.round() as u64)),
    }
}

/// "the same as", "1.9 times", "a third of": `a` against `b`, in words.
fn against(a: f64, b: f64) -> String {
    match a / b {
        r if (0.9..=1.1).contains(&r) => "about the same as".to_string(),
        r if r > 1.0 => format!("{} as much as", times(a, b)),
        r => format!("{:.0}% of", r * 100.0),
    }
}

/// The passing steps of a run that have a per-connection figure.
fn measured(run: &ServerRun) -> Vec<&Step> {
    (run.steps.iter())
        .filter(|s| s.passed && s.kib_per_connection.is_some())
        .collect()
}

fn held_words(step: &Step) -> String {
    thousands(step.held as u64)
}

/// Why a step failed, without the failed probes (they follow from the rest).
fn why(step: &Step) -> String {
    let reason = step.reason.as_deref().unwrap_or("it failed");
    let reason = reason.split("; ").filter(|part| !part.contains("probe(s)"));
    reason.collect::<Vec<_>>().join("; ")
}

/// The KiB per connection of a server at its largest passing step.
pub fn kib_per_connection(run: &ServerRun) -> Option<f64> {
    run.best()?.kib_per_connection
}

fn reference(file: &ConnectionsFile) -> Option<&ServerRun> {
    let loops = of_kind(file, Kind::Loop);
    (loops.iter().find(|run| run.server == REFERENCE))
        .or_else(|| loops.first())
        .copied()
}

/// The sentence a chapter's connections section gains: this server's cost
/// of an idle connection against the reference event loop's.
pub fn chapter_sentence(file: &ConnectionsFile, run: &ServerRun) -> String {
    let Some(reference) = reference(file) else {
        return String::new();
    };
    let (Some(mine), Some(theirs)) = (kib_per_connection(run), kib_per_connection(reference))
    else {
        return match kind(run) {
            Some(Kind::None) => {
                "It held no idle connection at all, so it has no cost per connection.".into()
            }
            Some(Kind::Pool) => format!(
                "It held only {} idle connections, one per worker, too few for a cost per connection.",
                run.first_failure().map_or("a few".into(), held_words)
            ),
            _ => String::new(),
        };
    };
    if run.server == reference.server {
        return format!(
            "Each idle connection cost it {}: the yardstick the other chapters compare with.",
            kib(mine)
        );
    }
    format!(
        "Each idle connection cost it {}, {} {}'s {}.",
        kib(mine),
        against(mine, theirs),
        code(&reference.server),
        kib(theirs)
    )
}

/// A chart of the server's memory per idle connection, at each server's
/// largest passing step, and one of the most connections each held.
pub fn charts(file: &ConnectionsFile) -> String {
    let per: Vec<(String, f64)> = (file.servers.iter())
        .filter_map(|run| Some((run.server.clone(), kib_per_connection(run)?)))
        .collect();
    let held: Vec<(String, f64)> = (file.servers.iter())
        .map(|run| {
            let shown = run.best().or_else(|| run.first_failure());
            (run.server.clone(), shown.map_or(0.0, |s| s.held as f64))
        })
        .collect();
    let mut out = String::new();
    if !per.is_empty() {
        out += &bar_chart(
            "Server memory per idle connection (KiB, PSS)",
            "KiB",
            &per,
            2,
        );
        out += "\n";
    }
    out + &bar_chart("Idle connections held", "connections", &held, 0)
}

/// Connections opened per second at each step: the connections held over
/// the seconds until every one was held or had failed.
pub fn rate_table(file: &ConnectionsFile) -> String {
    let steps = &file.settings.steps;
    let mut out = format!(
        "Connections opened per second at each step (held ÷ seconds until every connection was held or \
         had failed; connhold asked for {}/s; *failed* marks the step that stopped a server):\n\n",
        thousands(file.settings.rate.round() as u64)
    );
    out += &row(std::iter::once("Server".to_string()).chain(steps.iter().map(|s| thousands(*s))));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(steps.len()));
    for run in &file.servers {
        let cells = steps.iter().map(|&n| {
            let Some(step) = run.steps.iter().find(|s| s.connections as u64 == n) else {
                return String::new();
            };
            let rate = opened_per_s(step).map_or("–".into(), |r| thousands(r.round() as u64));
            match step.passed {
                true => rate,
                false => format!("{rate} *failed*"),
            }
        });
        out += &row(std::iter::once(run.server.clone()).chain(cells));
    }
    out
}

fn opened_per_s(step: &Step) -> Option<f64> {
    (step.ramp_s > 0.0 && step.held > 0).then(|| step.held as f64 / step.ramp_s)
}

/// The reading of the rate table.
fn rate_reading(file: &ConnectionsFile) -> String {
    let asked = file.settings.rate;
    let passed: Vec<(&ServerRun, &Step, f64)> = (file.servers.iter())
        .flat_map(|run| run.steps.iter().map(move |s| (run, s)))
        .filter(|(_, s)| s.passed)
        .filter_map(|(run, s)| Some((run, s, opened_per_s(s)?)))
        .collect();
    let Some(min) = passed.iter().map(|p| p.2).min_by(f64::total_cmp) else {
        return String::new();
    };
    let slow: Vec<String> = (passed.iter())
        .filter(|p| p.2 < asked * 0.95)
        .map(|(run, s, r)| {
            format!(
                "{} at {} ({}/s)",
                code(&run.server),
                thousands(s.connections as u64),
                thousands(r.round() as u64)
            )
        })
        .collect();
    let mut out = if slow.is_empty() {
        format!(
            "**The rate.** Every step that passed was opened at the rate asked for, {}/s or within 5% of it \
             (the slowest at {}/s): no server here took longer to accept a connection because it already \
             held thousands.",
            thousands(asked.round() as u64),
            thousands(min.round() as u64)
        )
    } else {
        format!(
            "**The rate.** Of the steps that passed, {} fell more than 5% below the {}/s asked for: {}. \
             Every other passing step was opened at the rate asked for, whatever the server already held.",
            if slow.len() == 1 { "one" } else { "some" },
            thousands(asked.round() as u64),
            and_list(&slow)
        )
    };
    out += " A failed step's figure counts the time its last clients spent waiting for an answer that \
            never came, so it says when the server gave up, not how fast it accepted. ";
    out + SEED_002
}

/// Everything the readings section says, paragraph by paragraph.
pub fn readings(file: &ConnectionsFile) -> String {
    let parts = [
        loops_reading(file),
        probes_reading(file),
        threads_reading(file),
        processes_reading(file),
        pools_reading(file),
        none_reading(file),
        ratio_reading(file),
        kernel_reading(file),
        rate_reading(file),
    ];
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    match parts.is_empty() {
        true => "(no server held any connection: nothing to read)".into(),
        false => parts.join("\n\n"),
    }
}

fn loops_reading(file: &ConnectionsFile) -> String {
    let loops = of_kind(file, Kind::Loop);
    if loops.is_empty() {
        return String::new();
    }
    let names: Vec<String> = loops.iter().map(|r| code(&r.server)).collect();
    let most = loops.iter().filter_map(|r| r.best()).map(|s| s.held).max();
    let mut out = format!(
        "**The event loops.** {} each held up to {} idle connections, in {} at most. ",
        and_list(&names),
        thousands(most.unwrap_or(0) as u64),
        match loops
            .iter()
            .filter_map(|r| r.best()?.held_sample)
            .map(|s| s.threads)
            .max()
        {
            Some(1) => "one thread".to_string(),
            Some(n) => format!("{n} threads"),
            None => "a few threads".to_string(),
        }
    );
    // Flat or growing: the same cost at the first and the last step.
    let mut per: Vec<String> = Vec::new();
    for run in &loops {
        let steps = measured(run);
        let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
            continue;
        };
        let (a, b) = (
            first.kib_per_connection.unwrap_or(0.0),
            last.kib_per_connection.unwrap_or(0.0),
        );
        let shape = if steps.len() == 1 {
            format!("{} at {}", kib(b), held_words(last))
        } else if (b / a - 1.0).abs() <= 0.1 {
            format!(
                "{} from {} to {} connections",
                kib(b),
                held_words(first),
                held_words(last)
            )
        } else {
            format!(
                "from {} at {} to {} at {}",
                kib(a),
                held_words(first),
                kib(b),
                held_words(last)
            )
        };
        per.push(format!("{} {shape}", code(&run.server)));
    }
    if !per.is_empty() {
        let _ = write!(out, "Their memory per connection: {}. ", and_list(&per));
    }
    let costs: Vec<(&str, f64)> = (loops.iter())
        .filter_map(|r| Some((r.server.as_str(), kib_per_connection(r)?)))
        .collect();
    let cheapest = costs.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let dearest = costs.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(c), Some(d)) = (cheapest, dearest)
        && c.0 != d.0
    {
        let _ = write!(
            out,
            "{} spent {}, {} {}'s. ",
            code(d.0),
            kib(d.1),
            against(d.1, c.1),
            code(c.0)
        );
    }
    // What stopped them, grouped by the reason.
    let mut stops: Vec<(String, Vec<String>)> = Vec::new();
    for run in &loops {
        let Some(step) = run.first_failure() else {
            continue;
        };
        let reason = why(step);
        let reason = reason.split("; ").next().unwrap_or("").to_string();
        let who = format!(
            "{} ({} held)",
            code(&run.server),
            thousands(step.held as u64)
        );
        let at = thousands(step.connections as u64);
        match stops
            .iter_mut()
            .find(|(r, _)| *r == format!("{at}|{reason}"))
        {
            Some((_, names)) => names.push(who),
            None => stops.push((format!("{at}|{reason}"), vec![who])),
        }
    }
    for (key, names) in stops {
        let (at, reason) = key.split_once('|').unwrap_or(("?", ""));
        let _ = write!(
            out,
            "At the {at} step {} stopped: {reason}. ",
            and_list(&names)
        );
    }
    let passed_all: Vec<String> = (loops.iter())
        .filter(|r| r.first_failure().is_none() && r.error.is_none())
        .map(|r| code(&r.server))
        .collect();
    if !passed_all.is_empty() {
        let _ = write!(out, "{} passed every step. ", and_list(&passed_all));
    }
    out.trim_end().to_string()
}

/// How long a fresh request waited while the connections were held: flat
/// for a loop that sleeps until something happens, growing for one that
/// polls every socket.
fn probes_reading(file: &ConnectionsFile) -> String {
    let mut flat = Vec::new();
    let mut growing = Vec::new();
    let mut slowest: Option<(&str, &Step, f64)> = None;
    for run in of_kind(file, Kind::Loop) {
        let steps: Vec<(&Step, f64)> = (run.steps.iter())
            .filter(|s| s.passed)
            .filter_map(|s| Some((s, s.probe_ms?.p50?)))
            .collect();
        let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
            continue;
        };
        if last.1 > first.1 * 4.0 && steps.len() > 1 {
            growing.push(format!(
                "{} grew with the connections it held, from {} at {} to {} at {}",
                code(&run.server),
                ms(first.1),
                held_words(first.0),
                ms(last.1),
                held_words(last.0)
            ));
        } else {
            let top = steps.iter().map(|s| s.1).fold(0.0, f64::max);
            flat.push((code(&run.server), top));
            // The outlier worth naming is a sleeping loop's: a polling
            // one is slow at every probe.
            for (s, _) in &steps {
                let p99 = s.probe_ms.and_then(|p| p.p99).unwrap_or(0.0);
                if slowest.is_none_or(|(_, _, worst)| p99 > worst) {
                    slowest = Some((&run.server, s, p99));
                }
            }
        }
    }
    let mut out = String::new();
    if !flat.is_empty() {
        let names: Vec<String> = flat.iter().map(|f| f.0.clone()).collect();
        let top = flat.iter().map(|f| f.1).fold(0.0, f64::max);
        let _ = write!(
            out,
            "**A fresh request among the idle ones.** The median probe of {} stayed at or below {} at every \
             step that passed, however many connections were held: a loop that sleeps until the kernel \
             reports a ready socket does no work for a silent one. ",
            and_list(&names),
            ms(top)
        );
    }
    if !growing.is_empty() {
        let _ = write!(
            out,
            "{}{}: a loop that asks every socket in turn pays for the silent ones on every pass. ",
            if out.is_empty() {
                "**A fresh request among the idle ones.** The median probe of "
            } else {
                "Against that, the median probe of "
            },
            and_list(&growing)
        );
    }
    if let Some((server, step, p99)) = slowest {
        let probes = step.probes;
        let p50 = step.probe_ms.and_then(|p| p.p50).unwrap_or(0.0);
        let _ = write!(
            out,
            "The slowest probe of theirs was {}'s at the {} step: {} where the median was {}. A step has \
             {} probes, so its p99 is simply its slowest one, and one slow probe is enough to set it.",
            code(server),
            thousands(step.connections as u64),
            ms(p99),
            ms(p50),
            probes
        );
    }
    out.trim_end().to_string()
}

fn threads_reading(file: &ConnectionsFile) -> String {
    let max_maps =
        (file.limits.get("vm.max_map_count")).and_then(|v| v.as_str()?.trim().parse::<u64>().ok());
    let mut out = String::new();
    for run in of_kind(file, Kind::Thread) {
        let Some(best) = run.best() else { continue };
        let Some(sample) = best.held_sample else {
            continue;
        };
        let _ = write!(
            out,
            "**A thread per connection.** {} held {} connections, each a thread of its own: {} of the \
             server's memory per connection",
            code(&run.server),
            held_words(best),
            best.kib_per_connection.map_or("?".into(), kib),
        );
        if let Some(tasks) = best.kernel_stack_and_page_tables_kib_per_connection {
            let _ = write!(
                out,
                ", and {} more in the kernel's stacks and page tables",
                kib(tasks)
            );
        }
        let _ = write!(
            out,
            ". At {} threads its process had {} memory mappings, {:.1} per thread",
            thousands(sample.threads),
            thousands(sample.max_maps),
            sample.max_maps as f64 / sample.threads as f64
        );
        if let Some(limit) = max_maps {
            let per = sample.max_maps as f64 / sample.threads as f64;
            let _ = write!(
                out,
                "; under `vm.max_map_count` ({}) that leaves room for about {} threads",
                thousands(limit),
                thousands((limit as f64 / per).floor() as u64)
            );
        }
        out += ". ";
        if let Some(fail) = run.first_failure() {
            let _ = write!(
                out,
                "At the {} step it stopped after {} connections: {}. ",
                thousands(fail.connections as u64),
                held_words(fail),
                why(fail)
            );
        }
        out = out.trim_end().to_string() + "\n\n";
    }
    out.trim_end().to_string()
}

fn processes_reading(file: &ConnectionsFile) -> String {
    let mut out = String::new();
    for run in of_kind(file, Kind::Process) {
        let Some(best) = run.best() else { continue };
        let Some(sample) = best.held_sample else {
            continue;
        };
        let _ = write!(
            out,
            "**A process per connection.** {} held {} connections in {} processes: {} of memory per \
             connection (PSS, the pages each child wrote to)",
            code(&run.server),
            held_words(best),
            thousands(sample.processes),
            best.kib_per_connection.map_or("?".into(), kib)
        );
        if let Some(tasks) = best.kernel_stack_and_page_tables_kib_per_connection {
            let _ = write!(
                out,
                ", and {} more in the kernel for each child's page tables and kernel stack",
                kib(tasks)
            );
        }
        let _ = write!(
            out,
            ". Summed over the tree, RSS came to {} against a PSS of {}: {} as much, because RSS counts \
             every page a child still shares with its parent once per child. ",
            memory(sample.rss_kib),
            memory(sample.pss_kib),
            times(sample.rss_kib as f64, sample.pss_kib.max(1) as f64)
        );
        let probes: Vec<String> = (run.steps.iter())
            .filter_map(|s| {
                let p = s.probe_ms?;
                Some(format!(
                    "{} with {} held",
                    ms(p.p50?),
                    thousands(s.held as u64)
                ))
            })
            .collect();
        if !probes.is_empty() {
            let _ = write!(out, "A fresh request waited {} (p50). ", and_list(&probes));
        }
        if let Some(fail) = run.first_failure() {
            let _ = write!(
                out,
                "At the {} step it held {} of them: {}.",
                thousands(fail.connections as u64),
                held_words(fail),
                why(fail)
            );
        }
        out = out.trim_end().to_string() + "\n\n";
    }
    out.trim_end().to_string()
}

fn pools_reading(file: &ConnectionsFile) -> String {
    let pools = of_kind(file, Kind::Pool);
    if pools.is_empty() {
        return String::new();
    }
    let each: Vec<String> = (pools.iter())
        .filter_map(|run| {
            let fail = run.first_failure()?;
            let sample = fail.held_sample?;
            let workers = match sample.processes {
                1 => format!("{} threads", thousands(sample.threads)),
                n => format!("{} processes", thousands(n)),
            };
            Some(format!(
                "{} held {} of {} ({workers})",
                code(&run.server),
                held_words(fail),
                thousands(fail.connections as u64)
            ))
        })
        .collect();
    let first = pools
        .iter()
        .filter_map(|r| r.first_failure())
        .map(|s| s.connections)
        .min()
        .unwrap_or(0);
    format!(
        "**A fixed pool.** At the {} step, {}: the servers' own threads or processes, counting the main \
         thread or the parent, are the only places a connection can be held. The rest waited in the accept queue \
         or were turned away, as the table's last column says.",
        thousands(first as u64),
        and_list(&each)
    )
}

fn none_reading(file: &ConnectionsFile) -> String {
    let none: Vec<String> = (of_kind(file, Kind::None).iter())
        .map(|run| code(&run.server))
        .collect();
    match none.is_empty() {
        true => String::new(),
        false => format!(
            "**No idle connection at all.** {} answered every connection and closed it, so it held none; \
             its probes, one request each, were answered.",
            and_list(&none)
        ),
    }
}

/// The ratio seed 000 asked for: a process per idle connection against an
/// event loop, beside the seed's own figures.
fn ratio_reading(file: &ConnectionsFile) -> String {
    let Some(reference) = reference(file) else {
        return String::new();
    };
    let Some(theirs) = kib_per_connection(reference) else {
        return String::new();
    };
    let mut sides: Vec<String> = Vec::new();
    for k in [Kind::Process, Kind::Thread] {
        for run in of_kind(file, k) {
            let Some(mine) = kib_per_connection(run) else {
                continue;
            };
            sides.push(format!(
                "{}'s {} per idle connection is {} {}'s {}",
                code(&run.server),
                kib(mine),
                times(mine, theirs),
                code(&reference.server),
                kib(theirs)
            ));
        }
    }
    if sides.is_empty() {
        return String::new();
    }
    format!(
        "**A process per connection against an event loop.** {}. {SEED_000} Their figure is a whole \
         server's memory under 50 clients, ours the growth per idle connection, so the two ratios answer \
         the same question from different ends.",
        and_list(&sides)
    )
}

fn kernel_reading(file: &ConnectionsFile) -> String {
    let loops = of_kind(file, Kind::Loop);
    let slabs: Vec<(&ServerRun, f64)> = (loops.iter())
        .filter_map(|r| Some((*r, r.best()?.kernel_slab_kib_per_connection?)))
        .collect();
    let Some(low) = slabs.iter().map(|s| s.1).min_by(f64::total_cmp) else {
        return String::new();
    };
    let high = slabs.iter().map(|s| s.1).fold(low, f64::max);
    let tcp = (file.servers.iter())
        .flat_map(|r| &r.steps)
        .filter_map(|s| s.kernel_tcp_mem_kib_per_connection)
        .fold(0.0, f64::max);
    let buffers = if tcp < 1.0 {
        "The TCP buffer memory did not grow by as much as a KiB per connection at any step: an idle \
         connection whose request was read and answered holds no buffer."
            .to_string()
    } else {
        format!(
            "The TCP buffer memory grew by up to {} per connection.",
            kib(tcp)
        )
    };
    let range = if high - low < 0.05 {
        format!("{low:.1}")
    } else {
        format!("{low:.1} to {high:.1}")
    };
    let mut out = format!(
        "**The kernel's share.** {buffers} What an idle connection holds in the kernel is the socket \
         itself, its file and its epoll entry: at their largest step the event loops grew the slab by \
         {range} KiB per connection, for both ends of the loopback connection together, so about {} \
         for the server's end.",
        kib(high / 2.0)
    );
    if let Some(reference) = reference(file)
        && let Some(theirs) = kib_per_connection(reference)
    {
        let _ = write!(
            out,
            " That is {} what {} itself spends on a connection.",
            times(high / 2.0, theirs),
            code(&reference.server)
        );
    }
    out
}

/// The kernel memory of the server's end of one idle connection: the slab
/// growth less the client's end (half an event loop's slab growth, the
/// socket alone), plus kernel stacks and page tables.
fn server_kernel_kib(step: &Step, client_end: f64) -> Option<f64> {
    let slab = step.kernel_slab_kib_per_connection?;
    let tasks = step
        .kernel_stack_and_page_tables_kib_per_connection
        .unwrap_or(0.0)
        .max(0.0);
    Some((slab - client_end).max(0.0) + tasks)
}

/// A million idle connections at the measured cost of one: the server's
/// memory and the kernel's, for each server that has both figures.
pub fn million(file: &ConnectionsFile) -> String {
    let loops = of_kind(file, Kind::Loop);
    let slabs: Vec<f64> = (loops.iter())
        .filter_map(|r| r.best()?.kernel_slab_kib_per_connection)
        .collect();
    if slabs.is_empty() {
        return String::new();
    }
    let client_end = slabs.iter().sum::<f64>() / slabs.len() as f64 / 2.0;
    let gib = |kib: f64| {
        let g = kib * 1e6 / 1024.0 / 1024.0;
        match g {
            _ if g < 10.0 => format!("{g:.1} GiB"),
            _ => format!("{g:.0} GiB"),
        }
    };
    let mut out = format!(
        "A million idle connections at the measured cost of one, server side only (the clients on other \
         machines): the server's memory per connection × 1,000,000, and the kernel's: the slab's growth \
         less the client's end of each loopback connection (half the event loops' mean, {}), plus kernel \
         stacks and page tables.\n\n",
        kib(client_end)
    );
    out += &row(["Server", "Server memory", "Kernel memory", "Both"]);
    out += "|---|--:|--:|--:|\n";
    for run in &file.servers {
        let Some(best) = run.best() else { continue };
        let (Some(server), Some(kernel)) =
            (best.kib_per_connection, server_kernel_kib(best, client_end))
        else {
            continue;
        };
        out += &row([
            code(&run.server),
            gib(server),
            gib(kernel),
            gib(server + kernel),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::capacity::tests::EARLIER;

    /// An earlier run whose figures stay fixed, whatever the next run says.
    fn committed() -> ConnectionsFile {
        serde_json::from_str(EARLIER).unwrap()
    }

    #[test]
    fn the_kinds_follow_from_threads_processes_and_what_was_held() {
        let file = committed();
        let kinds: Vec<(&str, Option<Kind>)> = (file.servers.iter())
            .map(|r| (r.server.as_str(), kind(r)))
            .collect();
        use Kind::*;
        let want = [
            ("simple_server", None),
            ("cgi_server", Process),
            ("cgi_threading_server", Thread),
            ("prefork_server", Pool),
            ("threadpool1_server", Pool),
            ("threadpool2_server", Pool),
            ("noblocking_server", Loop),
            ("multiplexingio_server", Loop),
            ("async_server", Loop),
        ];
        assert_eq!(kinds, want.map(|(s, k)| (s, Some(k))));
    }

    #[test]
    fn the_readings_say_what_the_committed_tables_say() {
        let file = committed();
        let text = readings(&file);
        // The multiplexingio probe of 10.01 ms at 15,000 is named, not hidden.
        assert!(
            text.contains(
                "`multiplexingio_server`'s at the 15,000 step: 10.0 ms where the median was 0.44 ms"
            ),
            "{text}"
        );
        // noblocking_server's probe grows; the others do not.
        assert!(text.contains("`noblocking_server` grew with the connections it held, from 1.27 ms at 1,000 to 28.3 ms at 19,000"), "{text}");
        assert!(text.contains("stayed at or below 0.44 ms"), "{text}");
        // The thread server's map count and the ceiling it gives.
        assert!(
            text.contains("60,062 memory mappings, 4.0 per thread"),
            "{text}"
        );
        assert!(text.contains("about 16,366 threads"), "{text}");
        // Seed 000's ratio beside ours.
        assert!(text.contains("`cgi_server`'s 73.4 KiB per idle connection is 129 times `multiplexingio_server`'s 0.57 KiB"), "{text}");
        assert!(text.contains("1,210 MB") && text.contains("31 times"));
        // The rate: cgi_server fell behind at 5,000.
        assert!(text.contains("`cgi_server` at 5,000 (1,777/s)"), "{text}");
        assert!(text.contains("1,152.85 connections/second"));
    }

    #[test]
    fn a_chapter_sentence_compares_with_the_reference_in_words_chosen_by_the_figures() {
        let file = committed();
        let by = |name: &str| {
            let run = file.servers.iter().find(|r| r.server == name).unwrap();
            chapter_sentence(&file, run)
        };
        assert_eq!(
            by("async_server"),
            "Each idle connection cost it 1.13 KiB, 2.0 times as much as `multiplexingio_server`'s 0.57 KiB."
        );
        assert_eq!(
            by("noblocking_server"),
            "Each idle connection cost it 0.54 KiB, about the same as `multiplexingio_server`'s 0.57 KiB."
        );
        assert!(by("multiplexingio_server").contains("yardstick"));
        assert!(by("simple_server").contains("no idle connection"));
        assert!(by("prefork_server").contains("only 2 idle"));
    }

    #[test]
    fn charts_rates_and_the_million() {
        let file = committed();
        let charts = charts(&file);
        assert!(
            charts.contains("bar [0.00") || charts.contains("\"cgi\", \"cgi_threading\""),
            "{charts}"
        );
        assert!(
            charts.contains("bar [0, 5000, 15000, 2, 128, 128, 19000, 19000, 19000]"),
            "{charts}"
        );
        let rates = rate_table(&file);
        assert!(
            rates.contains("| cgi_server | 2,000 | 1,777 | 776 *failed* |"),
            "{rates}"
        );
        let million = million(&file);
        assert!(
            million.contains("| `multiplexingio_server` | 0.5 GiB |"),
            "{million}"
        );
    }
}
