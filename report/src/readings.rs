//! The readings: the sentences beside the tables that say what a run shows,
//! written from the results file with the tables, so the next run rewrites
//! them too. Each chapter gets the claims listed for it in [`claims`]; the
//! comparison page gets [`comparison_reading`].
//!
//! Every comparative word is chosen here from the figures, never assumed.
//! Two rows are compared by their repeats ([`Spread`]): when the ranges of
//! their repeats overlap, the rows "cannot be told apart" whatever their
//! medians say; only rows whose repeats do not overlap are ahead or behind,
//! and then by their ratio, put in words ("about half") when it is close to
//! a simple one ([`about`]).

use std::fmt::Write;

use crate::markdown::{Markers, bar_chart, cpu, latency, memory, rate, thousands};
use crate::results::BenchFile;
use crate::scenario::{BARE_MIO, NGINX, Scenario, WORKER_COUNTS};
use crate::stats::{Summary, median};

pub const READING: Markers = Markers("<!-- reading:start -->", "<!-- reading:end -->");

/// Servers that serve on several threads or processes, so can compute on
/// both cores (a fact of their code, not of a run).
const SEVERAL: [&str; 6] = [
    "cgi_server",
    "cgi_threading_server",
    "prefork_server",
    "threadpool1_server",
    "threadpool2_server",
    "percore_server",
];
/// Servers in which one thread serves every client.
const ONE_THREAD: [&str; 5] = [
    "simple_server",
    "noblocking_server",
    "multiplexingio_server",
    "async_server",
    "uring_server",
];
/// The blocking servers: a thread or process per connection being served.
const BLOCKING: [&str; 6] = [
    "simple_server",
    "cgi_server",
    "cgi_threading_server",
    "prefork_server",
    "threadpool1_server",
    "threadpool2_server",
];
/// Servers that turn keep-alive off and close after every answer.
const CLOSES_EVERY_CONNECTION: [&str; 1] = ["simple_server"];
/// The servers that wait in the kernel for readiness or completion.
const EVENT_LOOPS: [&str; 2] = ["multiplexingio_server", "async_server"];
/// The scenarios that keep one connection per client open, `GET /`.
const KEEP_ALIVE: [Scenario; 4] = [
    Scenario::C10,
    Scenario::C100,
    Scenario::C1000,
    Scenario::Pipelined,
];
const FEW_TO_MANY: [Scenario; 3] = [Scenario::C10, Scenario::C100, Scenario::C1000];

/// One figure of a row over its repeats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        Some(Spread {
            min: values.iter().copied().reduce(f64::min)?,
            median: median(values)?,
            max: values.iter().copied().reduce(f64::max)?,
        })
    }
}

/// Two rows side by side: the ratio of their medians, and whether every
/// repeat of one lies beyond every repeat of the other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compared {
    pub ratio: f64,
    pub apart: bool,
}

pub fn compare(a: Spread, b: Spread) -> Option<Compared> {
    (b.median > 0.0).then(|| Compared {
        ratio: a.median / b.median,
        apart: a.min > b.max || a.max < b.min,
    })
}

/// "about half", "about three times": a ratio in words, when it lies within
/// 8% of a simple one.
pub fn about(ratio: f64) -> Option<String> {
    const PARTS: [(f64, &str); 7] = [
        (0.1, "a tenth"),
        (0.2, "a fifth"),
        (0.25, "a quarter"),
        (1.0 / 3.0, "a third"),
        (0.5, "half"),
        (2.0 / 3.0, "two thirds"),
        (0.75, "three quarters"),
    ];
    const TIMES: [&str; 9] = [
        "twice", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    let near = |of: f64| (ratio / of - 1.0).abs() <= 0.08;
    if ratio >= 1.85 {
        let n = ratio.round();
        let word = TIMES.get(n as usize - 2).filter(|_| near(n))?;
        Some(match n as usize {
            2 => "about twice".to_string(),
            _ => format!("about {word} times"),
        })
    } else {
        let (_, word) = PARTS.iter().find(|(of, _)| near(*of))?;
        Some(format!("about {word}"))
    }
}

/// "1.05×, within the spread of the repeats" or "0.48×, about half".
pub fn verdict(c: Compared) -> String {
    let words = if c.apart {
        about(c.ratio).map_or(String::new(), |w| format!(", {w}"))
    } else {
        ", within the spread of the repeats".to_string()
    };
    format!("{:.2}×{words}", c.ratio)
}

/// The run a reading is made from.
pub struct Run<'a> {
    pub file: &'a BenchFile,
}

impl<'a> Run<'a> {
    pub fn row(&self, server: &str, label: &str) -> Option<&'a Summary> {
        let file = self.file;
        file.summaries
            .iter()
            .find(|s| s.server == server && s.label() == label)
    }

    fn has(&self, server: &str) -> bool {
        self.file.summaries.iter().any(|s| s.server == server)
    }

    /// Requests per second over the repeats.
    pub fn rate(&self, server: &str, label: &str) -> Option<Spread> {
        let s = self.row(server, label)?;
        Some(Spread {
            min: s.requests_per_s_min?,
            median: s.requests_per_s_median?,
            max: s.requests_per_s_max?,
        })
    }

    /// CPU ms per 1,000 requests over the repeats (from the runs: the
    /// summary keeps only the median).
    pub fn cpu(&self, server: &str, label: &str) -> Option<Spread> {
        let runs = self.file.runs.iter();
        let same = runs.filter(|r| r.ok && r.server == server && r.label() == label);
        let values: Vec<f64> = same.filter_map(|r| r.measured?.cpu_ms_per_1k).collect();
        Spread::of(&values)
    }

    /// Answers per second that were not errors (a pool's 503s left out),
    /// over the repeats: what a req/s figure with status errors overstates.
    pub fn answered(&self, server: &str, label: &str) -> Option<Spread> {
        let runs = self.file.runs.iter();
        let same = runs.filter(|r| r.ok && r.server == server && r.label() == label);
        let values: Vec<f64> = same
            .filter_map(|r| {
                let report = r.measured?.report;
                let seconds = report.duration_us as f64 / 1e6;
                let good = report.requests.saturating_sub(report.errors.status);
                (seconds > 0.0).then(|| good as f64 / seconds)
            })
            .collect();
        Spread::of(&values)
    }

    /// The servers of `group` measured in this run at `label`, with their figure.
    fn each(
        &self,
        group: &[&'a str],
        label: &str,
        of: impl Fn(&Self, &str, &str) -> Option<Spread>,
    ) -> Vec<(&'a str, Spread)> {
        (group.iter())
            .filter_map(|s| Some((*s, of(self, s, label)?)))
            .collect()
    }
}

/// "8,908–9,903": the medians of some rows, lowest to highest.
fn range(values: &[(&str, Spread)], format: fn(f64) -> String) -> String {
    let lo = values.iter().map(|v| v.1.median).fold(f64::MAX, f64::min);
    let hi = values.iter().map(|v| v.1.median).fold(f64::MIN, f64::max);
    let (lo, hi) = (format(lo), format(hi));
    if lo == hi {
        return lo;
    }
    // "6.93–8.32 ms", not "6.93 ms–8.32 ms".
    match (lo.rsplit_once(' '), hi.rsplit_once(' ')) {
        (Some((l, unit)), Some((_, same))) if unit == same => format!("{l}–{hi}"),
        _ => format!("{lo}–{hi}"),
    }
}

/// Whether every pair of the rows overlaps in its repeats.
fn all_level(values: &[(&str, Spread)]) -> bool {
    let lo = values.iter().map(|v| v.1.max).fold(f64::MAX, f64::min);
    let hi = values.iter().map(|v| v.1.min).fold(f64::MIN, f64::max);
    hi <= lo
}

fn names(servers: &[&str]) -> String {
    let quoted: Vec<String> = servers.iter().map(|s| format!("`{s}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn median_of(values: &[(&str, Spread)]) -> Option<f64> {
    median(&values.iter().map(|v| v.1.median).collect::<Vec<_>>())
}

/// The clients `slow` can serve at most: each of its connections waits
/// the sleep's milliseconds per request.
fn slow_bound() -> (u32, f64) {
    let w = Scenario::Slow.workload();
    let ms: f64 = (w.path.rsplit('=').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(10.0);
    (w.connections, 1000.0 / ms)
}

type Claim = fn(&Run, &str) -> Option<String>;

/// The claims each chapter makes, in its order.
fn claims(server: &str) -> Vec<Claim> {
    match server {
        "simple_server" => vec![
            slow,
            cpu_cores,
            queue_hides_it,
            cpu_against_the_loop,
            pipelined_and_closing,
            python,
        ],
        "cgi_server" => vec![
            c10_against_threads,
            python,
            close_against_prefork,
            pipelined_against_prefork,
            served,
            memory_at_c1000,
        ],
        "cgi_threading_server" => vec![
            c10_against_nginx_and_pools,
            slow,
            close_against_fork_and_pool,
            served,
            memory_at_c1000,
        ],
        "prefork_server" => vec![
            served,
            slow,
            sweep,
            fast_sweep,
            close_against_fork,
            memory_at_close,
            python,
        ],
        "threadpool1_server" => vec![served, sweep, fast_sweep, logging],
        "threadpool2_server" => vec![
            c10_against_blocking,
            close_against_thread_and_handoff,
            served,
            sweep_against_prefork,
            fast_sweep,
            memory_at_c1000,
        ],
        "noblocking_server" => vec![
            against_the_loop,
            slow_cpu_against_the_loop,
            cpu_cores,
            python,
        ],
        "multiplexingio_server" => vec![
            against_nginx,
            against_bare_mio,
            pipelined_http,
            slow_cpu_against_busy_polling,
            cpu_cores,
        ],
        "async_server" => vec![against_nginx, async_against_the_loop, slow],
        "percore_server" => vec![
            against_nginx,
            against_the_loop,
            loops_share_the_cores,
            cpu_against_one_loop,
            slow,
            fast_sweep,
        ],
        "uring_server" => vec![
            against_nginx,
            against_the_loop,
            fewer_crossings,
            slow,
            cpu_cores,
        ],
        _ => vec![against_nginx, slow, cpu_cores],
    }
}

/// The reading of `docs/<server>.md`: its claims, then its charts.
pub fn chapter_reading(file: &BenchFile, server: &str) -> String {
    let run = Run { file };
    if !run.has(server) {
        return format!(
            "Not measured in this run ([results/{0}](results/{0})).\n",
            file.file_name()
        );
    }
    let mut out = which_run(file, "the table above");
    out.push('\n');
    for claim in claims(server) {
        if let Some(text) = claim(&run, server) {
            let _ = writeln!(out, "- {text}");
        }
    }
    out + &crate::pages::chapter_charts(file, server)
}

/// Which run a reading reads, and where its table is (`where`).
fn which_run(file: &BenchFile, tables: &str) -> String {
    let steal: Vec<f64> = (file.summaries.iter())
        .filter_map(|s| s.steal_pct_median)
        .collect();
    format!(
        "Read by `report` from the run of {} ([results/{}](results/{})), with {tables}; \
         the median steal of its rows was {:.1}%. Compare servers within one run, never across runs.\n",
        file.date.get(..10).unwrap_or(&file.date),
        file.file_name(),
        file.file_name(),
        median(&steal).unwrap_or(0.0)
    )
}

/// Requests per second and CPU per request against another server, at
/// `labels`, with a closing sentence that counts the gaps beyond the noise.
fn versus(run: &Run, server: &str, other: &str, labels: &[&str], title: &str) -> Option<String> {
    let mut rates = Vec::new();
    let mut cpus = Vec::new();
    let (mut rate_gaps, mut cpu_less, mut cpu_more) = (Vec::new(), 0, 0);
    for label in labels {
        if let (Some(a), Some(b)) = (run.rate(server, label), run.rate(other, label)) {
            let c = compare(a, b)?;
            rates.push(format!(
                "`{label}` {} against {} req/s ({})",
                rate(a.median),
                rate(b.median),
                verdict(c)
            ));
            if c.apart {
                rate_gaps.push(*label);
            }
        }
        if let (Some(a), Some(b)) = (run.cpu(server, label), run.cpu(other, label)) {
            let c = compare(a, b)?;
            cpus.push(format!(
                "`{label}` {} against {} ({})",
                cpu(a.median),
                cpu(b.median),
                verdict(c)
            ));
            match (c.apart, c.ratio < 1.0) {
                (true, true) => cpu_less += 1,
                (true, false) => cpu_more += 1,
                _ => {}
            }
        }
    }
    if rates.is_empty() {
        return None;
    }
    let mut text = format!("**{title}:** {}.", rates.join(", "));
    let gaps = match rate_gaps.len() {
        0 => " In requests per second the two cannot be told apart.".to_string(),
        n if n == rates.len() => " Every one of these gaps is larger than the noise.".to_string(),
        1 => format!(" Only `{}` is a gap larger than the noise.", rate_gaps[0]),
        _ => format!(
            " Only {} are gaps larger than the noise.",
            rate_gaps
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    text += &gaps;
    if !cpus.is_empty() {
        let n = cpus.len();
        let _ = write!(text, " CPU per 1,000 requests: {}", cpus.join(", "));
        text += &match (cpu_less, cpu_more) {
            (l, 0) if l == n => format!(": less work per request than {other} in every scenario."),
            (0, m) if m == n => format!(": more work per request than {other} in every scenario."),
            (0, 0) => ": the same work per request, within the noise.".to_string(),
            (0, m) => format!(": more in {m} of {n} scenarios, the rest within the noise."),
            (l, 0) => format!(": less in {l} of {n} scenarios, the rest within the noise."),
            (l, m) => format!(": less in {l}, more in {m}, the rest within the noise."),
        };
    }
    Some(text)
}

fn labels(scenarios: &[Scenario]) -> Vec<&'static str> {
    scenarios.iter().map(|s| s.name()).collect()
}

fn against_nginx(run: &Run, server: &str) -> Option<String> {
    let mut text = versus(
        run,
        server,
        NGINX,
        &labels(&FEW_TO_MANY),
        "Against nginx, same run",
    )?;
    let pipelined = Scenario::Pipelined.name();
    if let (Some(a), Some(b)) = (run.rate(server, pipelined), run.rate(NGINX, pipelined)) {
        let c = compare(a, b)?;
        let _ = write!(
            text,
            " With 16 requests per write (`pipelined`): {} against {} req/s ({}).",
            rate(a.median),
            rate(b.median),
            verdict(c)
        );
    }
    if ONE_THREAD.contains(&server) {
        text += " This server is one thread, so it uses one core while wrk needs the other; \
                 nginx's workers share both cores with wrk.";
    }
    Some(text)
}

fn against_bare_mio(run: &Run, server: &str) -> Option<String> {
    versus(
        run,
        server,
        BARE_MIO,
        &labels(&FEW_TO_MANY),
        "Against `bare_mio`, the same loop with no HTTP at all",
    )
}

fn against_the_loop(run: &Run, server: &str) -> Option<String> {
    versus(
        run,
        server,
        "multiplexingio_server",
        &labels(&KEEP_ALIVE),
        "Against `multiplexingio_server` (epoll), same run",
    )
}

/// Where a loop per core costs more per request than one loop: said only
/// when the run shows it at `c1000`.
fn loops_share_the_cores(run: &Run, server: &str) -> Option<String> {
    let (label, other) = (Scenario::C1000.name(), "multiplexingio_server");
    let (a, b) = (run.cpu(server, label)?, run.cpu(other, label)?);
    let c = compare(a, b)?;
    (c.apart && c.ratio > 1.0).then(|| {
        format!(
            "**More work per request at `{label}`** than `multiplexingio_server` ({} against {}, {}): \
             on this machine the loops and wrk's two threads share two cores, so each loop wakes more \
             often for fewer ready sockets (the System calls section counts `epoll_wait` per request), \
             and every wake-up is a switch between threads. A loop per core pays off when it has the \
             core to itself.",
            cpu(a.median),
            cpu(b.median),
            verdict(c)
        )
    })
}

/// What completions save, and where that stops showing: said when the run
/// has the saving at `c100` and not at `c1000`.
fn fewer_crossings(run: &Run, server: &str) -> Option<String> {
    let other = "multiplexingio_server";
    let at = |label: &str| compare(run.cpu(server, label)?, run.cpu(other, label)?);
    let (few, many) = (at(Scenario::C100.name())?, at(Scenario::C1000.name())?);
    let saves = few.apart && few.ratio < 1.0;
    let still = many.apart && many.ratio < 1.0;
    (saves && !still).then(|| {
        format!(
            "**Less work per request at `c100`, not at `c1000`.** CPU per request against \
             `{other}`'s: `c100` {}; `c1000` {}. What io_uring saves is the crossings into the \
             kernel, many operations per `io_uring_enter` (the System calls section counts them). \
             The TCP work on each socket is the same either way, and with a thousand connections, \
             whose state no longer stays in the CPU's caches, it is most of what a request costs.",
            verdict(few),
            verdict(many)
        )
    })
}

/// `cpu` against the one-thread loop: what a loop per core buys.
fn cpu_against_one_loop(run: &Run, server: &str) -> Option<String> {
    let (label, other) = (Scenario::Cpu.name(), "multiplexingio_server");
    let (a, b) = (run.rate(server, label)?, run.rate(other, label)?);
    let c = compare(a, b)?;
    let why = if c.apart && c.ratio > 1.0 {
        "each loop computes on its own core, where `multiplexingio_server`'s one loop computes on one \
         and makes every other client wait meanwhile"
    } else {
        "no gain beyond the noise in this run"
    };
    Some(format!(
        "**`cpu` against `multiplexingio_server`:** {} against {} req/s ({}): {why}.",
        rate(a.median),
        rate(b.median),
        verdict(c)
    ))
}

fn async_against_the_loop(run: &Run, server: &str) -> Option<String> {
    versus(
        run,
        server,
        "multiplexingio_server",
        &labels(&KEEP_ALIVE),
        "Against the hand-written event loop (`multiplexingio_server`), same run",
    )
}

fn c10_against(run: &Run, server: &str, group: &[&str], who: &str) -> Option<String> {
    let c10 = Scenario::C10.name();
    let own = run.rate(server, c10)?;
    let others: Vec<(&str, Spread)> = run
        .each(group, c10, Run::rate)
        .into_iter()
        .filter(|(s, _)| *s != server)
        .collect();
    if others.is_empty() {
        return None;
    }
    let mut all = others.clone();
    all.push((server, own));
    let level = all_level(&all);
    let who_list: Vec<&str> = others.iter().map(|o| o.0).collect();
    let mut text = format!(
        "**`c10`: {} req/s**, against {} for {who} ({}): {}.",
        rate(own.median),
        range(&others, rate),
        names(&who_list),
        if level {
            "the repeats overlap, so they cannot be told apart"
        } else {
            "the repeats do not all overlap, so some of these differ beyond the noise"
        }
    );
    let cpu_all = run.each(&who_list, c10, Run::cpu);
    if let Some(own_cpu) = run.cpu(server, c10)
        && !cpu_all.is_empty()
    {
        let mut with = cpu_all.clone();
        with.push((server, own_cpu));
        let _ = write!(
            text,
            " CPU per 1,000 requests: {} against {}, {}.",
            cpu(own_cpu.median),
            range(&cpu_all, cpu),
            if all_level(&with) {
                "within the spread of the repeats"
            } else {
                "apart in some repeats"
            }
        );
    }
    Some(text)
}

fn c10_against_threads(run: &Run, server: &str) -> Option<String> {
    let text = c10_against(
        run,
        server,
        &[
            "cgi_threading_server",
            "threadpool1_server",
            "threadpool2_server",
        ],
        "the thread servers",
    )?;
    Some(
        text + " It forks per *connection*, and wrk keeps its connections open for the whole run, \
                so a keep-alive run costs one fork per connection, once.",
    )
}

fn c10_against_blocking(run: &Run, server: &str) -> Option<String> {
    c10_against(
        run,
        server,
        &["cgi_server", "cgi_threading_server", "threadpool1_server"],
        "the other blocking servers that serve every connection",
    )
}

fn c10_against_nginx_and_pools(run: &Run, server: &str) -> Option<String> {
    let mut text = c10_against(
        run,
        server,
        &[NGINX, "threadpool1_server", "threadpool2_server"],
        "nginx and the two pools",
    )?;
    let c1000 = Scenario::C1000.name();
    if let (Some(a), Some(b)) = (run.rate(server, c1000), run.rate(NGINX, c1000)) {
        let c = compare(a, b)?;
        let _ = write!(
            text,
            " With a thousand threads at `c1000`: {} req/s against nginx's {} ({}).",
            rate(a.median),
            rate(b.median),
            verdict(c)
        );
    }
    Some(text)
}

/// Who was served in the keep-alive scenarios: the clients left waiting and
/// the error answers that wrk's req/s figures do not show.
fn served(run: &Run, server: &str) -> Option<String> {
    let rows: Vec<&Summary> = (KEEP_ALIVE.iter())
        .filter_map(|sc| run.row(server, sc.name()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let troubled: Vec<&&Summary> = rows
        .iter()
        .filter(|s| s.waiting_max.unwrap_or(0) > 0 || s.errors_summed.total > 0)
        .collect();
    let all: Vec<String> = rows.iter().map(|s| format!("`{}`", s.label())).collect();
    if troubled.is_empty() {
        return Some(format!(
            "**Every client was served** at {}: no client left waiting, no error.",
            all.join(", ")
        ));
    }
    let duration = run.file.settings.duration_s.max(1) as f64;
    let mut parts = Vec::new();
    for s in &troubled {
        let n = s.scenario.workload().connections;
        let mut part = format!(
            "`{}`: {} req/s",
            s.label(),
            s.requests_per_s_median.map_or("–".into(), rate)
        );
        let e = &s.errors_summed;
        if e.total == 0 {
            part += ", no error";
        } else if e.status == e.total {
            let per_s = e.status as f64 / s.runs.max(1) as f64 / duration;
            let _ = write!(
                part,
                ", of which {} answers of 400 or more over the repeats (about {} a second: \
                 the pool's 503 to the clients it turns away, which wrk counts as requests)",
                thousands(e.status),
                rate(per_s)
            );
        } else {
            let _ = write!(part, ", errors: {}", e.describe());
        }
        match (s.p99_us_median, s.max_us) {
            (Some(p99), _) => {
                let _ = write!(part, ", p99 {}", latency(p99));
            }
            (None, Some(max)) => {
                let _ = write!(part, ", slowest batch {}", latency(max as f64));
            }
            _ => {}
        }
        let waiting = s.waiting_max.unwrap_or(0);
        if waiting > 0 {
            let _ = write!(
                part,
                " — and up to {} of the {} clients left waiting with their request unread",
                thousands(waiting),
                thousands(n.into())
            );
        }
        parts.push(part);
    }
    let mut text = format!("**Who was served.** {}.", parts.join("; "));
    if troubled.iter().any(|s| s.waiting_max.unwrap_or(0) > 0) {
        text += " wrk counts no error for a client it is still waiting on, and its latency \
                 figures describe only the clients that were served: the \"waiting\" column is \
                 the rest.";
    }
    let fine: Vec<&str> = (rows.iter())
        .filter(|s| !troubled.iter().any(|t| t.label() == s.label()))
        .map(|s| s.scenario.name())
        .collect();
    if !fine.is_empty() {
        let _ = write!(text, " At {} every client was served.", names(&fine));
    }
    Some(text)
}

/// `slow` against its bound: requests in service at once, by Little's law.
fn slow(run: &Run, server: &str) -> Option<String> {
    let s = run.row(server, Scenario::Slow.name())?;
    let rps = s.requests_per_s_median?;
    let (clients, per_client) = slow_bound();
    let bound = clients as f64 * per_client;
    let at_once = rps / per_client;
    let mut text = format!(
        "**`slow`: {} req/s**, {:.0}% of the {} that {} clients each waiting {:.0} ms allow: \
         on average {:.1} requests in service at once",
        rate(rps),
        rps / bound * 100.0,
        rate(bound),
        clients,
        1000.0 / per_client,
        at_once
    );
    text += &if at_once < 1.1 {
        ", one request at a time.".to_string()
    } else if rps >= 0.8 * bound {
        ": near the bound, because a request that waits blocks nobody else.".to_string()
    } else {
        ".".to_string()
    };
    if let Some(p99) = s.p99_us_median.filter(|p| *p >= 100_000.0) {
        let _ = write!(
            text,
            " Its p99 of {} is the queue: each client waits for those ahead of it.",
            latency(p99)
        );
    }
    if let Some(w) = s.waiting_max.filter(|w| *w > 0) {
        let _ = write!(
            text,
            " Up to {w} of the {clients} clients waited a quarter of a second or more with their \
             request unread, which wrk never reports."
        );
    }
    Some(text)
}

/// `cpu`: one thread computes for everyone, several use both cores.
fn cpu_cores(run: &Run, server: &str) -> Option<String> {
    let label = Scenario::Cpu.name();
    let own = run.rate(server, label)?;
    let several = run.each(&SEVERAL, label, Run::rate);
    let mid = Spread {
        min: several.iter().map(|s| s.1.min).fold(f64::MAX, f64::min),
        median: median_of(&several)?,
        max: several.iter().map(|s| s.1.max).fold(f64::MIN, f64::max),
    };
    let c = compare(own, mid)?;
    let mut text = format!(
        "**`cpu`** (about 200 µs of arithmetic per request): {} req/s, against {} for the servers \
         that compute on several threads or processes ({} their median)",
        rate(own.median),
        range(&several, rate),
        verdict(c)
    );
    text += if c.apart && c.ratio < 1.0 && ONE_THREAD.contains(&server) {
        ": one thread computes for everyone and cannot use the second core, and every other \
         client waits while a request computes."
    } else {
        "."
    };
    Some(text)
}

fn queue_hides_it(run: &Run, server: &str) -> Option<String> {
    let all: Vec<(&str, Spread)> = FEW_TO_MANY
        .iter()
        .filter_map(|sc| Some((sc.name(), run.rate(server, sc.name())?)))
        .collect();
    if all.len() < 2 {
        return None;
    }
    let level = all_level(&all);
    let p99 = |sc: Scenario| run.row(server, sc.name())?.p99_us_median;
    let mut text = format!(
        "**Fast requests hide the queue.** `c10`, `c100` and `c1000` land at {} req/s{}",
        range(&all, rate),
        if level {
            ", level within the spread of the repeats"
        } else {
            ""
        }
    );
    if let (Some(a), Some(b)) = (p99(Scenario::C10), p99(Scenario::C1000)) {
        let _ = write!(
            text,
            ". It is still a queue: p99 goes from {} at 10 clients to {} at 1,000 ({:.0}×)",
            latency(a),
            latency(b),
            b / a
        );
    }
    Some(text + ".")
}

fn cpu_against_the_loop(run: &Run, server: &str) -> Option<String> {
    let (label, other) = ("c10", "multiplexingio_server");
    let c = compare(run.cpu(server, label)?, run.cpu(other, label)?)?;
    let mut text = format!(
        "At `c10` it spends {} of CPU per 1,000 requests against {} for `{other}` ({})",
        cpu(run.cpu(server, label)?.median),
        cpu(run.cpu(other, label)?.median),
        verdict(c)
    );
    text += if c.apart && c.ratio > 1.0 {
        ": keep-alive is off, so every request pays for a new connection."
    } else {
        "."
    };
    Some(text)
}

fn pipelined_and_closing(run: &Run, server: &str) -> Option<String> {
    let a = run.rate(server, Scenario::Pipelined.name())?;
    let b = run.rate(server, Scenario::C10.name())?;
    let c = compare(a, b)?;
    Some(format!(
        "**`pipelined`: {} req/s**, against `c10`'s {} ({}). It answers the first of the sixteen requests in a \
         write and closes the connection, so the other fifteen are never answered; wrk reconnects \
         and counts no error for the ones it lost.",
        rate(a.median),
        rate(b.median),
        verdict(c)
    ))
}

fn python(run: &Run, server: &str) -> Option<String> {
    let own = run
        .row(server, Scenario::C10.name())?
        .requests_per_s_median?;
    let (_, py) = crate::pages::PYTHON_ORIGINAL
        .iter()
        .find(|(s, _)| *s == server)?;
    Some(format!(
        "`c10` here is {} req/s, {:.1}× the Python original's {} (`wrk -t2 -c10 -d10s`, on other \
         hardware): the ratio between strategies is what carries over, not the figure.",
        rate(own),
        own / py,
        rate(*py)
    ))
}

/// `close`: a new connection per request, against other servers' price for one.
fn close_against(run: &Run, server: &str, others: &[&str], why: &str) -> Option<String> {
    let label = Scenario::Close.name();
    let own = run.cpu(server, label)?;
    let rps = run.rate(server, label)?;
    let mut parts = Vec::new();
    for other in others {
        if let Some(theirs) = run.cpu(other, label) {
            parts.push(format!(
                "`{other}` {} ({})",
                cpu(theirs.median),
                verdict(compare(own, theirs)?)
            ));
        }
    }
    let mut text = format!(
        "**`close`** (a new connection per request): {} req/s at {} of CPU per 1,000 requests, \
         that is about {:.0} µs per connection from accept to close{why}",
        rate(rps.median),
        cpu(own.median),
        own.median
    );
    if !parts.is_empty() {
        let _ = write!(text, "; against {}", parts.join(", "));
    }
    Some(text + ".")
}

fn close_against_prefork(run: &Run, server: &str) -> Option<String> {
    close_against(
        run,
        server,
        &["prefork_server"],
        ", forking and reaping a child included",
    )
}

fn close_against_fork(run: &Run, server: &str) -> Option<String> {
    let waiting = run.row(server, Scenario::Close.name())?.waiting_max;
    let why = if waiting == Some(0) {
        ": every connection closes after one request, so every client gets its turn (nobody waiting)"
    } else {
        ""
    };
    close_against(run, server, &["cgi_server"], why)
}

fn close_against_fork_and_pool(run: &Run, server: &str) -> Option<String> {
    close_against(
        run,
        server,
        &["cgi_server", "threadpool2_server"],
        ", creating and ending a thread included",
    )
}

fn close_against_thread_and_handoff(run: &Run, server: &str) -> Option<String> {
    close_against(
        run,
        server,
        &["cgi_threading_server", "threadpool1_server"],
        ", with no thread created",
    )
}

fn pipelined_against_prefork(run: &Run, server: &str) -> Option<String> {
    let label = Scenario::Pipelined.name();
    let (a, b) = (run.cpu(server, label)?, run.cpu("prefork_server", label)?);
    let c = compare(a, b)?;
    let mut text = format!(
        "**`pipelined`**: its 256 connections cost 256 forks, once, and the children answered {} \
         req/s at {} of CPU per 1,000 requests, against {} for `prefork_server`'s workers ({})",
        opt_rate(run.rate(server, label)),
        cpu(a.median),
        cpu(b.median),
        verdict(c)
    );
    if !c.apart {
        text += ": once the fork is paid, a child forked on demand serves as cheaply as a \
                 preforked one";
    }
    Some(text + ".")
}

fn opt_rate(s: Option<Spread>) -> String {
    s.map_or("–".into(), |s| rate(s.median))
}

fn memory_at(run: &Run, server: &str, sc: Scenario) -> Option<String> {
    let s = run.row(server, sc.name())?;
    let (pss, rss) = (s.peak_pss_kib?, s.peak_rss_kib?);
    let n = sc.workload().connections;
    let mut text = format!(
        "**Memory at `{}`** ({} connections): the process tree peaked at {} of PSS and {} of RSS",
        sc.name(),
        thousands(n.into()),
        memory(pss),
        memory(rss)
    );
    if let Some(procs) = s.peak_processes.filter(|p| *p > 1) {
        let _ = write!(text, " over {} processes", thousands(procs as u64));
    }
    let ratio = rss as f64 / pss.max(1) as f64;
    if ratio >= 1.5 {
        let _ = write!(
            text,
            "; RSS is {ratio:.1}× the PSS because it counts the pages the processes share \
             (copy-on-write) once in every process, where PSS divides them"
        );
    }
    // Per connection only when every connection was being served.
    if n >= 100 && s.waiting_max == Some(0) {
        let _ = write!(
            text,
            ", about {:.0} KiB of PSS per connection",
            pss as f64 / n as f64
        );
    }
    Some(text + ".")
}

fn memory_at_c1000(run: &Run, server: &str) -> Option<String> {
    let mut text = memory_at(run, server, Scenario::C1000)?;
    let s = run.row(server, Scenario::C1000.name())?;
    if s.errors_summed.total == 0 && s.waiting_max == Some(0) {
        let _ = write!(
            text,
            " No error and no client waiting at `c1000`; the slowest answer took {}.",
            s.max_us.map_or("–".into(), |m| latency(m as f64))
        );
    }
    Some(text)
}

fn memory_at_close(run: &Run, server: &str) -> Option<String> {
    memory_at(run, server, Scenario::Close)
}

/// The worker sweep: requests in service per worker, the clients still
/// waiting, and the error answers, at each pool size.
fn sweep(run: &Run, server: &str) -> Option<String> {
    let (clients, per_client) = slow_bound();
    let rows: Vec<(u32, &Summary)> = WORKER_COUNTS
        .iter()
        .filter_map(|w| Some((*w, run.row(server, &format!("workers w={w}"))?)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let rates: Vec<String> = rows
        .iter()
        .map(|(_, s)| s.requests_per_s_median.map_or("–".into(), rate))
        .collect();
    let sizes: Vec<String> = rows.iter().map(|(w, _)| w.to_string()).collect();
    let mut text = format!(
        "**The worker sweep** (`slow` at `--workers N`): {} req/s for {} workers",
        rates.join(", "),
        sizes.join(", ")
    );
    // Answers that were served, not turned away with a 503.
    let per_worker: Vec<f64> = rows
        .iter()
        .filter_map(|(w, s)| {
            let answered = run.answered(server, &s.label())?.median;
            Some(answered / per_client / f64::from((*w).min(clients)))
        })
        .collect();
    let linear =
        per_worker.len() == rows.len() && per_worker.iter().all(|p| (0.9..=1.1).contains(p));
    let turned: Vec<String> = rows
        .iter()
        .filter(|(_, s)| s.errors_summed.status > 0)
        .map(|(w, s)| format!("{} at {w}", thousands(s.errors_summed.status)))
        .collect();
    if !turned.is_empty() {
        let _ = write!(
            text,
            ". wrk counted answers of 400 or more among them ({} over the repeats): the pool's \
             503s to the clients it had no room for, which come back and are turned away again",
            turned.join(", ")
        );
    }
    if linear {
        let answered: Vec<String> = (rows.iter())
            .filter_map(|(_, s)| Some(rate(run.answered(server, &s.label())?.median)))
            .collect();
        let less = if turned.is_empty() {
            "That".to_string()
        } else {
            format!(
                "Less the 503s, {} answers a second: that",
                answered.join(", ")
            )
        };
        let _ = write!(
            text,
            ". {less} is one 10 ms request per worker at a time ({} per second per worker): \
             the rate grows with the pool, as the model predicts",
            rate(per_client)
        );
    }
    let waiting = left_waiting(run, server, Scenario::Workers);
    if !waiting.is_empty() {
        let _ = write!(
            text,
            ". Clients left waiting, of {clients}: {}",
            waiting.join(", ")
        );
    }
    Some(text + ".")
}

/// The sweep on `GET /`: seed `003_…` asked whether a bigger pool slows
/// fast requests (its Python pool got slower with more threads).
fn fast_sweep(run: &Run, server: &str) -> Option<String> {
    let sweep = Scenario::WorkersFast;
    let rows: Vec<(u32, Spread)> = (WORKER_COUNTS.iter())
        .filter_map(|w| {
            Some((
                *w,
                run.answered(server, &format!("{} w={w}", sweep.name()))?,
            ))
        })
        .collect();
    let ((few, first), (many, last)) = (*rows.first()?, *rows.last()?);
    if few == many {
        return None;
    }
    let rates: Vec<String> = rows.iter().map(|(_, a)| rate(a.median)).collect();
    let sizes: Vec<String> = rows.iter().map(|(w, _)| w.to_string()).collect();
    let c = compare(last, first)?;
    let answer = match (c.apart, c.ratio < 1.0) {
        (false, _) => "no: within the spread of the repeats, the pool's size does not change it",
        (true, true) => {
            "here it does: the biggest pool answers fewer, its workers taking turns on the \
             machine's cores, each turn a switch from one to the next"
        }
        (true, false) => "no, the biggest pool answers more",
    };
    let mut text = format!(
        "**Does a bigger pool slow fast requests?** (seed `003_…`'s question; `GET /` from {} \
         keep-alive clients at `--workers N`, answers without 503s): {} a second for {} workers. \
         {many} against {few}: {}; {answer}",
        sweep.workload().connections,
        rates.join(", "),
        sizes.join(", "),
        verdict(c),
    );
    let waiting = left_waiting(run, server, sweep);
    if !waiting.is_empty() {
        let _ = write!(
            text,
            ". Clients left waiting: {}, the ones no worker had room for",
            waiting.join(", ")
        );
    }
    Some(text + ".")
}

/// "N at W" for each pool size W of `sweep` at which wrk's clients were
/// left waiting (N of them at most), for the sentences of both sweeps.
fn left_waiting(run: &Run, server: &str, sweep: Scenario) -> Vec<String> {
    (WORKER_COUNTS.iter())
        .filter_map(|w| {
            let s = run.row(server, &format!("{} w={w}", sweep.name()))?;
            let n = s.waiting_max.filter(|n| *n > 0)?;
            Some(format!("{n} at {w}"))
        })
        .collect()
}

fn sweep_against_prefork(run: &Run, server: &str) -> Option<String> {
    let mut text = sweep(run, server)?;
    let other = "prefork_server";
    let pairs: Vec<Compared> = WORKER_COUNTS
        .iter()
        .filter_map(|w| {
            let label = format!("workers w={w}");
            compare(run.rate(server, &label)?, run.rate(other, &label)?)
        })
        .collect();
    if pairs.is_empty() {
        return Some(text);
    }
    let apart = pairs.iter().filter(|c| c.apart).count();
    let _ = write!(
        text,
        " Against `{other}`'s sweep (the same model, with processes instead of threads): {}.",
        match apart {
            0 => "level at every pool size".to_string(),
            n => format!(
                "level at {} of {} pool sizes, apart beyond the noise at {n}",
                pairs.len() - n,
                pairs.len()
            ),
        }
    );
    Some(text)
}

fn logging(run: &Run, server: &str) -> Option<String> {
    if run.file.settings.logging_server != server {
        return None;
    }
    let (q, v) = ("logging quiet", "logging verbose");
    let rates = compare(run.rate(server, v)?, run.rate(server, q)?)?;
    let cpus = compare(run.cpu(server, v)?, run.cpu(server, q)?)?;
    let mut text = format!(
        "**Logging** one line per request (`--verbose`, to a file): {} against {} req/s without \
         ({})",
        opt_rate(run.rate(server, v)),
        opt_rate(run.rate(server, q)),
        verdict(rates)
    );
    let _ = write!(
        text,
        "; CPU per 1,000 requests {} against {} ({}){}.",
        cpu(run.cpu(server, v)?.median),
        cpu(run.cpu(server, q)?.median),
        verdict(cpus),
        match (cpus.apart, cpus.ratio > 1.0) {
            (true, true) => ": every repeat with logging used more than every repeat without",
            (true, false) => ": every repeat with logging used less, which asks for another run",
            _ => "",
        }
    );
    Some(text)
}

fn slow_cpu_against(run: &Run, server: &str, other: &str, why: &str) -> Option<String> {
    let label = Scenario::Slow.name();
    let (a, b) = (run.cpu(server, label)?, run.cpu(other, label)?);
    let c = compare(a, b)?;
    Some(format!(
        "**`slow`**, where each connection idles 10 ms between requests: {} of CPU per 1,000 \
         requests against {} for `{other}` ({}){}.",
        cpu(a.median),
        cpu(b.median),
        verdict(c),
        if c.apart { why } else { "" }
    ))
}

fn slow_cpu_against_the_loop(run: &Run, server: &str) -> Option<String> {
    slow_cpu_against(
        run,
        server,
        "multiplexingio_server",
        ": the reads that find nothing are the difference, and idle it burns a core",
    )
}

fn slow_cpu_against_busy_polling(run: &Run, server: &str) -> Option<String> {
    slow_cpu_against(
        run,
        server,
        "noblocking_server",
        ": waiting in `epoll_wait` instead of polling is the whole difference",
    )
}

/// What the shared HTTP code costs per request: the CPU gap to `bare_mio`
/// when sixteen requests share each write, if the repeats resolve it.
fn pipelined_http(run: &Run, server: &str) -> Option<String> {
    let label = Scenario::Pipelined.name();
    let (ra, rb) = (run.rate(server, label)?, run.rate(BARE_MIO, label)?);
    let (ca, cb) = (run.cpu(server, label)?, run.cpu(BARE_MIO, label)?);
    let (rc, cc) = (compare(ra, rb)?, compare(ca, cb)?);
    let mut text = format!(
        "**Pipelined, the HTTP layer shows:** {} req/s against `bare_mio`'s {} ({}), at {} of CPU \
         per 1,000 requests against {} ({})",
        rate(ra.median),
        rate(rb.median),
        verdict(rc),
        cpu(ca.median),
        cpu(cb.median),
        verdict(cc)
    );
    if cc.apart && cc.ratio > 1.0 {
        // ms per 1,000 requests is µs per request.
        let _ = write!(
            text,
            ". So the shared HTTP code (parsing, the session, an answer with its `Date` header) \
             costs about {:.2} µs of CPU per request on top of the loop (the gap between the \
             closest repeats is {:.2} µs)",
            ca.median - cb.median,
            ca.min - cb.max
        );
    } else {
        text += ". The repeats overlap, so this run cannot resolve what the HTTP layer costs";
    }
    Some(text + ".")
}

/// The reading of `docs/README.md`: the claims that set all servers side by side.
pub fn comparison_reading(file: &BenchFile) -> String {
    let run = Run { file };
    let mut out = which_run(file, "the tables under [Results](#results)");
    out.push('\n');
    let claims: [fn(&Run) -> Option<String>; 9] = [
        all_at_c10,
        close_separates,
        keep_alive_trap,
        slow_parts,
        cpu_parts,
        work_per_request,
        pipelined_parts,
        loops_against_nginx,
        logging_cost,
    ];
    for claim in claims {
        if let Some(text) = claim(&run) {
            let _ = writeln!(out, "- {text}");
        }
    }
    out
}

fn servers_of<'a>(run: &Run<'a>) -> Vec<&'a str> {
    let mut servers: Vec<&str> = Vec::new();
    for s in &run.file.summaries {
        if !servers.contains(&s.server.as_str()) {
            servers.push(&s.server);
        }
    }
    servers
}

fn all_at_c10(run: &Run) -> Option<String> {
    let c10 = Scenario::C10.name();
    let everyone: Vec<&str> = (servers_of(run).into_iter())
        .filter(|s| !CLOSES_EVERY_CONNECTION.contains(s))
        .filter(|s| {
            run.row(s, c10)
                .is_some_and(|r| r.waiting_max == Some(0) && !r.troubled())
        })
        .collect();
    let rates = run.each(&everyone, c10, Run::rate);
    if rates.len() < 2 {
        return None;
    }
    let mut text = format!(
        "**With keep-alive, at `c10`**, the {} servers that kept all ten connections open and \
         served them land at {} req/s{}",
        rates.len(),
        range(&rates, rate),
        if all_level(&rates) {
            ", all within one another's spread: the cost of a request is mostly the kernel's, two \
             system calls over loopback"
        } else {
            ", not all within one another's spread"
        }
    );
    for s in CLOSES_EVERY_CONNECTION {
        if let Some(r) = run.rate(s, c10) {
            let _ = write!(
                text,
                "; `{s}`, which closes every connection after one answer, {} req/s",
                rate(r.median)
            );
        }
    }
    if let Some(cgi) = run
        .rate("cgi_server", c10)
        .filter(|_| everyone.contains(&"cgi_server"))
    {
        let _ = write!(
            text,
            ". Even `cgi_server`, which forks, reaches {}: wrk opens its ten connections once, so \
             it forks ten times in the whole run",
            rate(cgi.median)
        );
    }
    Some(text + ".")
}

fn close_separates(run: &Run) -> Option<String> {
    let label = Scenario::Close.name();
    let mut rows: Vec<(&str, Spread, Spread)> = (servers_of(run).into_iter())
        .filter_map(|s| Some((s, run.rate(s, label)?, run.cpu(s, label)?)))
        .collect();
    if rows.len() < 2 {
        return None;
    }
    rows.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    let slowest: Vec<String> = rows
        .iter()
        .take(2)
        .map(|(s, r, c)| {
            format!(
                "`{s}` {} req/s at {} of CPU per 1,000 requests",
                rate(r.median),
                cpu(c.median)
            )
        })
        .collect();
    let rest: Vec<(&str, Spread)> = rows.iter().skip(2).map(|(s, r, _)| (*s, *r)).collect();
    // Whether the two slowest lie below every repeat of the rest.
    let below = rows
        .iter()
        .skip(2)
        .map(|r| r.1.min)
        .fold(f64::MAX, f64::min);
    let separates = rows.iter().take(2).all(|r| r.1.max < below);
    let mut text = format!(
        "**A new connection per request (`close`){}:** {}",
        if separates { " separates them" } else { "" },
        slowest.join(", ")
    );
    if !rest.is_empty() {
        let _ = write!(text, "; {} req/s for the rest", range(&rest, rate));
    }
    Some(text + ".")
}

fn keep_alive_trap(run: &Run) -> Option<String> {
    let mut parts = Vec::new();
    for server in servers_of(run) {
        let left: Vec<String> = [Scenario::C10, Scenario::C1000]
            .iter()
            .filter_map(|sc| {
                let s = run.row(server, sc.name())?;
                let w = s.waiting_max.filter(|w| *w > 0)?;
                Some(format!(
                    "{} of {} at `{}`",
                    thousands(w),
                    thousands(sc.workload().connections.into()),
                    sc.name()
                ))
            })
            .collect();
        if !left.is_empty() {
            parts.push(format!("`{server}` left {} waiting", left.join(" and ")));
        }
    }
    if parts.is_empty() {
        return Some(
            "**Nobody was left waiting** at `c10` or `c1000` in this run: every server served \
             every connection."
                .into(),
        );
    }
    let mut text = format!(
        "**The keep-alive trap, which wrk does not show:** {}. Their req/s can look healthy and \
         wrk reports no error for these clients; the \"waiting\" column counts them",
        parts.join("; ")
    );
    let c1000 = Scenario::C1000.name();
    let turned: Vec<String> = (servers_of(run).into_iter())
        .filter_map(|s| {
            let e = run.row(s, c1000)?.errors_summed.status;
            (e > 0).then(|| format!("`{s}` answered {} of them 503 at `c1000`", thousands(e)))
        })
        .collect();
    if !turned.is_empty() {
        let _ = write!(
            text,
            ". {} over the repeats, which wrk counts as answers",
            turned.join("; ")
        );
    }
    Some(text + ".")
}

fn slow_parts(run: &Run) -> Option<String> {
    let label = Scenario::Slow.name();
    let (clients, per_client) = slow_bound();
    let bound = clients as f64 * per_client;
    let rows = run.each(&servers_of(run), label, Run::rate);
    if rows.is_empty() {
        return None;
    }
    let near: Vec<(&str, Spread)> = rows
        .iter()
        .copied()
        .filter(|r| r.1.median >= 0.8 * bound)
        .collect();
    let far: Vec<String> = rows
        .iter()
        .filter(|r| r.1.median < 0.8 * bound)
        .map(|(s, r)| {
            format!(
                "`{s}` {} ({:.1} at once)",
                rate(r.median),
                r.median / per_client
            )
        })
        .collect();
    let mut text = format!(
        "**Waiting on I/O (`slow`) is where the strategies part most.** With {clients} clients \
         each waiting {:.0} ms, at most {} req/s are possible, and req/s ÷ {} is how many requests \
         were in service at once",
        1000.0 / per_client,
        rate(bound),
        rate(per_client)
    );
    if !far.is_empty() {
        let _ = write!(text, ": {}", far.join(", "));
    }
    if !near.is_empty() {
        let _ = write!(
            text,
            "; {} req/s for the {} servers that can have a hundred requests waiting at once",
            range(&near, rate),
            near.len()
        );
    }
    Some(text + ".")
}

fn cpu_parts(run: &Run) -> Option<String> {
    let label = Scenario::Cpu.name();
    let several = run.each(&SEVERAL, label, Run::rate);
    let one: Vec<(&str, Spread)> = run
        .each(&ONE_THREAD, label, Run::rate)
        .into_iter()
        .filter(|(s, _)| *s != "simple_server")
        .collect();
    let (a, b) = (median_of(&one)?, median_of(&several)?);
    let apart = one
        .iter()
        .all(|o| several.iter().all(|s| o.1.max < s.1.min));
    Some(format!(
        "**CPU-bound work (`cpu`)**: {} req/s for the servers that compute on several threads or \
         processes, {} for the one-thread event loops ({:.2}× their median{}){}.",
        range(&several, rate),
        range(&one, rate),
        a / b,
        about(a / b)
            .filter(|_| apart)
            .map_or(String::new(), |w| format!(", {w}")),
        if apart {
            ": one thread cannot use the second core, and every other client waits while one computes"
        } else {
            ": the repeats overlap, so this run does not separate them"
        }
    ))
}

fn work_per_request(run: &Run) -> Option<String> {
    let mut loops = Vec::new();
    let mut nginx = Vec::new();
    let mut blocking = Vec::new();
    for sc in FEW_TO_MANY {
        loops.extend(run.each(&EVENT_LOOPS, sc.name(), Run::cpu));
        nginx.extend(run.each(&[NGINX], sc.name(), Run::cpu));
        blocking.extend(run.each(&BLOCKING, sc.name(), Run::cpu));
    }
    if loops.is_empty() || blocking.is_empty() {
        return None;
    }
    let top = |v: &[(&str, Spread)]| v.iter().map(|s| s.1.median).fold(f64::MIN, f64::max);
    let bottom = |v: &[(&str, Spread)]| v.iter().map(|s| s.1.median).fold(f64::MAX, f64::min);
    let least =
        top(&loops) < bottom(&blocking) && (nginx.is_empty() || top(&loops) < bottom(&nginx));
    let mut text = format!(
        "**Work per request** (CPU per 1,000 requests at `c10`, `c100` and `c1000`): {} for {}",
        range(&loops, cpu),
        names(&EVENT_LOOPS)
    );
    if !nginx.is_empty() {
        let _ = write!(text, ", {} for nginx", range(&nginx, cpu));
    }
    let _ = write!(text, ", {} for the blocking servers", range(&blocking, cpu));
    if least {
        text += ": the event loops do the least work per request";
    }
    text += ".";
    if let Some(t) = slow_cpu_against(
        run,
        "noblocking_server",
        "multiplexingio_server",
        ": busy polling costs the most when the load is light",
    ) {
        text += &t.replace("**`slow`**", " Busy polling at `slow`");
    }
    Some(text)
}

fn pipelined_parts(run: &Run) -> Option<String> {
    let label = Scenario::Pipelined.name();
    let mut rows = run.each(&servers_of(run), label, Run::rate);
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| b.1.median.total_cmp(&a.1.median));
    let list: Vec<String> = rows
        .iter()
        .take(5)
        .map(|(s, r)| format!("`{s}` {}", rate(r.median)))
        .collect();
    let mut text = format!(
        "**Pipelining separates the fast servers** (16 requests per write, 256 connections): {} \
         req/s at the top",
        list.join(", ")
    );
    if let Some(n) = run.row(NGINX, label) {
        let _ = write!(
            text,
            "; nginx {} req/s{}",
            n.requests_per_s_median.map_or("–".into(), rate),
            match n.waiting_max.filter(|w| *w > 0) {
                Some(w) => format!(
                    ", with {w} of the 256 connections answered late enough to count as waiting \
                     and a slowest batch of {}",
                    n.max_us.map_or("–".into(), |m| latency(m as f64))
                ),
                None => String::new(),
            }
        );
    }
    if let Some(t) = pipelined_http(run, "multiplexingio_server") {
        text += &t.replace(
            "**Pipelined, the HTTP layer shows:**",
            ". For `multiplexingio_server`:",
        );
    } else {
        text += ".";
    }
    Some(text)
}

fn loops_against_nginx(run: &Run) -> Option<String> {
    let mut parts = Vec::new();
    let mut cpu_less = true;
    for server in EVENT_LOOPS {
        let mut ratios = Vec::new();
        let mut apart = 0;
        for sc in FEW_TO_MANY {
            if let (Some(a), Some(b)) = (run.rate(server, sc.name()), run.rate(NGINX, sc.name())) {
                let c = compare(a, b)?;
                ratios.push(c.ratio);
                apart += usize::from(c.apart);
            }
            if let (Some(a), Some(b)) = (run.cpu(server, sc.name()), run.cpu(NGINX, sc.name())) {
                cpu_less &= a.median < b.median;
            }
        }
        if ratios.is_empty() {
            continue;
        }
        let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
        let hi = ratios.iter().copied().fold(f64::MIN, f64::max);
        parts.push(format!(
            "`{server}` {lo:.2}–{hi:.2}× ({apart} of {} beyond the noise)",
            ratios.len()
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "**Against nginx** at `c10`, `c100` and `c1000`, in requests per second: {}. {} On two \
         cores a one-thread server shares the machine with wrk and cannot use the second core; \
         nginx's workers can.",
        parts.join(", "),
        if cpu_less {
            "Both use less CPU per request than nginx in each of these scenarios."
        } else {
            "In CPU per request they are not below nginx everywhere."
        }
    ))
}

fn logging_cost(run: &Run) -> Option<String> {
    let server = run.file.settings.logging_server.clone();
    let text = logging(run, &server)?;
    Some(text.replacen("**Logging**", &format!("**Logging** on `{server}`"), 1))
}

/// The chapter's chart of CPU per 1,000 requests, beside nginx where it ran.
pub fn cpu_chart(file: &BenchFile, server: &str) -> Option<String> {
    let run = Run { file };
    let mut bars = Vec::new();
    for sc in Scenario::ALL {
        // `cpu` is left out: its cost is the arithmetic each request asks
        // for, the same everywhere, and a bar that tall would flatten the rest.
        if sc.is_sweep() || matches!(sc, Scenario::Logging | Scenario::Cpu) {
            continue;
        }
        if let Some(own) = run.cpu(server, sc.name()) {
            bars.push((sc.name().to_string(), own.median));
            if let Some(n) = run.cpu(NGINX, sc.name()).filter(|_| server != NGINX) {
                bars.push((format!("nginx {}", sc.name()), n.median));
            }
        }
    }
    (!bars.is_empty()).then(|| {
        bar_chart(
            &format!("{server}: CPU ms per 1,000 requests, nginx beside it (cpu left out)"),
            "ms",
            &bars,
            2,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Machine, Settings};
    use crate::stats::{Measured, RunResult};
    use crate::wrk::{Errors, Report};

    /// One repeat of a run: its req/s, CPU per 1,000 requests, clients waiting.
    fn repeat(server: &str, sc: Scenario, rps: f64, cpu_ms: f64, waiting: u64) -> RunResult {
        RunResult {
            server: server.into(),
            scenario: sc,
            ok: true,
            measured: Some(Measured {
                report: Report {
                    requests: (rps * 5.0) as u64,
                    duration_us: 5_000_000,
                    requests_per_s: rps,
                    errors: Errors::default(),
                    ..Report::default()
                },
                cpu_ms_per_1k: Some(cpu_ms),
                waiting,
                ..Measured::default()
            }),
            ..RunResult::default()
        }
    }

    fn file(runs: Vec<RunResult>) -> BenchFile {
        let settings = Settings {
            duration_s: 5,
            logging_server: "threadpool1_server".into(),
            ..Settings::default()
        };
        let date = "2026-01-01T00:00:00Z".to_string();
        BenchFile::new(date, Machine::default(), settings, vec![], vec![], runs)
    }

    /// Three repeats of `server` at `sc` around `rps` (±`spread` req/s) and `cpu_ms`.
    fn rows(server: &str, sc: Scenario, rps: f64, spread: f64, cpu_ms: f64) -> Vec<RunResult> {
        [-spread, 0.0, spread]
            .iter()
            .map(|d| repeat(server, sc, rps + d, cpu_ms + d / rps, 0))
            .collect()
    }

    #[test]
    fn ratios_in_words() {
        assert_eq!(about(0.49).as_deref(), Some("about half"));
        assert_eq!(about(0.095).as_deref(), Some("about a tenth"));
        assert_eq!(about(3.1).as_deref(), Some("about three times"));
        assert_eq!(about(2.0).as_deref(), Some("about twice"));
        assert_eq!((about(0.6), about(1.3), about(25.0)), (None, None, None));
        let a = Spread {
            min: 90.0,
            median: 100.0,
            max: 110.0,
        };
        let b = Spread {
            min: 105.0,
            median: 120.0,
            max: 130.0,
        };
        let c = Spread {
            min: 190.0,
            median: 200.0,
            max: 210.0,
        };
        assert!(!compare(a, b).unwrap().apart);
        assert_eq!(
            verdict(compare(a, b).unwrap()),
            "0.83×, within the spread of the repeats"
        );
        assert_eq!(verdict(compare(a, c).unwrap()), "0.50×, about half");
    }

    #[test]
    fn level_or_ahead_is_decided_by_the_repeats() {
        let c10 = Scenario::C10;
        // Medians 5% apart, but the repeats overlap: level.
        let mut runs = rows("multiplexingio_server", c10, 100_000.0, 10_000.0, 7.0);
        runs.extend(rows(NGINX, c10, 95_000.0, 10_000.0, 7.0));
        let close = file(runs);
        let text = against_nginx(&Run { file: &close }, "multiplexingio_server").unwrap();
        assert!(text.contains("cannot be told apart"), "{text}");
        assert!(text.contains("the same work per request"), "{text}");
        // Medians twice apart with tight repeats: ahead, in words, and less CPU.
        let mut runs = rows("multiplexingio_server", c10, 100_000.0, 1_000.0, 7.0);
        runs.extend(rows(NGINX, c10, 50_000.0, 1_000.0, 14.0));
        let far = file(runs);
        let text = against_nginx(&Run { file: &far }, "multiplexingio_server").unwrap();
        assert!(
            text.contains("2.00×, about twice") && text.contains("larger than the noise"),
            "{text}"
        );
        assert!(
            text.contains("less work per request than nginx in every scenario"),
            "{text}"
        );
    }

    #[test]
    fn the_last_two_loops_are_explained_only_where_the_run_shows_it() {
        let (mio, uring, percore) = ("multiplexingio_server", "uring_server", "percore_server");
        let (c100, c1000, cpu) = (Scenario::C100, Scenario::C1000, Scenario::Cpu);
        // io_uring: less CPU at c100, the same at c1000.
        let mut runs = rows(uring, c100, 130_000.0, 1_000.0, 4.4);
        runs.extend(rows(mio, c100, 110_000.0, 1_000.0, 6.5));
        runs.extend(rows(mio, c1000, 120_000.0, 1_000.0, 6.0));
        let mut same = runs.clone();
        same.extend(rows(uring, c1000, 120_000.0, 1_000.0, 6.0));
        let same = file(same);
        let text = fewer_crossings(&Run { file: &same }, uring).unwrap();
        assert!(
            text.contains("`c100` 0.68×") && text.contains("`c1000` 1.00×, within the spread"),
            "{text}"
        );
        // Less at both: nothing to explain.
        runs.extend(rows(uring, c1000, 120_000.0, 1_000.0, 5.0));
        assert_eq!(fewer_crossings(&Run { file: &file(runs) }, uring), None);

        // A loop per core: more CPU at c1000 is explained, twice the rate at cpu is credited.
        let mut runs = rows(mio, c1000, 120_000.0, 1_000.0, 6.0);
        runs.extend(rows(mio, cpu, 5_400.0, 100.0, 185.0));
        let mut more = runs.clone();
        more.extend(rows(percore, c1000, 120_000.0, 1_000.0, 7.2));
        more.extend(rows(percore, cpu, 10_000.0, 100.0, 180.0));
        let more = file(more);
        let run = Run { file: &more };
        let text = loops_share_the_cores(&run, percore).unwrap();
        assert!(text.contains("7.20 ms against 6.00 ms, 1.20×"), "{text}");
        let text = cpu_against_one_loop(&run, percore).unwrap();
        assert!(
            text.contains("about twice") && text.contains("its own core"),
            "{text}"
        );
        runs.extend(rows(percore, c1000, 120_000.0, 1_000.0, 6.0));
        runs.extend(rows(percore, cpu, 5_400.0, 100.0, 185.0));
        let level = file(runs);
        let run = Run { file: &level };
        assert_eq!(loops_share_the_cores(&run, percore), None);
        let text = cpu_against_one_loop(&run, percore).unwrap();
        assert!(text.contains("no gain beyond the noise"), "{text}");
    }

    #[test]
    fn the_fast_sweep_answers_seed_003s_question_from_the_repeats() {
        let sweep = |rates: [f64; 4], waiting: u64| -> BenchFile {
            let mut runs = Vec::new();
            for (w, r) in WORKER_COUNTS.iter().zip(rates) {
                for d in [-500.0, 0.0, 500.0] {
                    let mut one =
                        repeat("threadpool2_server", Scenario::WorkersFast, r + d, 10.0, 0);
                    one.variant = format!("w={w}");
                    if *w == 1
                        && let Some(m) = one.measured.as_mut()
                    {
                        m.waiting = waiting;
                    }
                    runs.push(one);
                }
            }
            file(runs)
        };
        let level = sweep([80_000.0, 80_500.0, 79_800.0, 80_200.0], 99);
        let text = fast_sweep(&Run { file: &level }, "threadpool2_server").unwrap();
        assert!(
            text.contains("within the spread of the repeats, the pool's size does not change it"),
            "{text}"
        );
        assert!(text.contains("Clients left waiting: 99 at 1"), "{text}");
        let slower = sweep([80_000.0, 70_000.0, 60_000.0, 40_000.0], 0);
        let text = fast_sweep(&Run { file: &slower }, "threadpool2_server").unwrap();
        assert!(
            text.contains("0.50×, about half; here it does: the biggest pool answers fewer"),
            "{text}"
        );
        assert!(!text.contains("waiting"), "{text}");
    }

    #[test]
    fn waiting_clients_and_503s_are_told_and_a_full_house_too() {
        let mut runs = vec![repeat("prefork_server", Scenario::C10, 29_000.0, 18.0, 8)];
        runs.push(repeat("prefork_server", Scenario::C100, 29_000.0, 18.0, 0));
        let mut turned = repeat("threadpool1_server", Scenario::C1000, 30_000.0, 19.0, 64);
        if let Some(m) = turned.measured.as_mut() {
            m.report.errors.status = 50_000;
            m.report.errors.total = 50_000;
        }
        runs.push(turned);
        runs.push(repeat("cgi_server", Scenario::C10, 80_000.0, 12.0, 0));
        let f = file(runs);
        let run = Run { file: &f };
        let prefork = served(&run, "prefork_server").unwrap();
        assert!(
            prefork.contains("up to 8 of the 10 clients left waiting"),
            "{prefork}"
        );
        assert!(prefork.contains("no error") && prefork.contains("At `c100` every client"));
        let pool = served(&run, "threadpool1_server").unwrap();
        // 50,000 in one 5 s repeat: 10,000 a second.
        assert!(
            pool.contains("50,000 answers of 400 or more")
                && pool.contains("about 10,000 a second"),
            "{pool}"
        );
        assert!(
            served(&run, "cgi_server")
                .unwrap()
                .starts_with("**Every client was served**")
        );
        let trap = keep_alive_trap(&run).unwrap();
        assert!(
            trap.contains("`prefork_server` left 8 of 10 at `c10` waiting"),
            "{trap}"
        );
        assert!(
            trap.contains("`threadpool1_server` answered 50,000 of them 503"),
            "{trap}"
        );
    }

    #[test]
    fn slow_is_read_against_its_bound() {
        let mut runs = rows("simple_server", Scenario::Slow, 97.0, 0.1, 180.0);
        if let Some(m) = runs[0].measured.as_mut() {
            m.waiting = 76;
        }
        runs.extend(rows(
            "cgi_threading_server",
            Scenario::Slow,
            9_700.0,
            50.0,
            34.0,
        ));
        let f = file(runs);
        let run = Run { file: &f };
        let one = slow(&run, "simple_server").unwrap();
        assert!(
            one.contains("1% of the 10,000") && one.contains("one request at a time"),
            "{one}"
        );
        assert!(one.contains("Up to 76 of the 100 clients"), "{one}");
        let many = slow(&run, "cgi_threading_server").unwrap();
        assert!(
            many.contains("97.0 requests in service") && many.contains("near the bound"),
            "{many}"
        );
    }

    #[test]
    fn one_thread_at_cpu_is_about_half_only_when_the_data_says_so() {
        let cpu = Scenario::Cpu;
        let mut runs = rows("multiplexingio_server", cpu, 5_000.0, 100.0, 189.0);
        runs.extend(rows("cgi_server", cpu, 9_800.0, 100.0, 186.0));
        runs.extend(rows("threadpool1_server", cpu, 10_000.0, 100.0, 183.0));
        let f = file(runs);
        let text = cpu_cores(&Run { file: &f }, "multiplexingio_server").unwrap();
        assert!(
            text.contains("about half") && text.contains("cannot use the second core"),
            "{text}"
        );
        let mut runs = rows("multiplexingio_server", cpu, 9_000.0, 1_000.0, 189.0);
        runs.extend(rows("cgi_server", cpu, 9_800.0, 1_000.0, 186.0));
        let f = file(runs);
        let text = cpu_cores(&Run { file: &f }, "multiplexingio_server").unwrap();
        assert!(
            text.contains("within the spread") && !text.contains("second core"),
            "{text}"
        );
    }

    #[test]
    fn a_pool_sweep_is_linear_less_its_503s() {
        let mut runs = Vec::new();
        for (w, rps, waiting) in [
            (1, 97.0, 99),
            (4, 388.0, 96),
            (16, 1_548.0, 84),
            (64, 6_248.0, 36),
        ] {
            let mut r = repeat("prefork_server", Scenario::Workers, rps, 30.0, waiting);
            r.variant = format!("w={w}");
            runs.push(r);
        }
        let f = file(runs);
        let text = sweep(&Run { file: &f }, "prefork_server").unwrap();
        assert!(
            text.contains("one 10 ms request per worker") && text.contains("36 at 64"),
            "{text}"
        );
        assert!(!text.contains("503"), "{text}");
        let mut r = repeat("threadpool1_server", Scenario::Workers, 27_000.0, 30.0, 64);
        r.variant = "w=1".into();
        if let Some(m) = r.measured.as_mut() {
            // 26,900 a second turned away over a 5 s run.
            m.report.errors.status = 134_500;
            m.report.errors.total = 134_500;
        }
        let f = file(vec![r]);
        let text = sweep(&Run { file: &f }, "threadpool1_server").unwrap();
        assert!(
            text.contains("134,500 at 1") && text.contains("Less the 503s"),
            "{text}"
        );
    }

    #[test]
    fn a_server_without_rows_is_not_measured() {
        let f = file(rows("simple_server", Scenario::C10, 20_000.0, 100.0, 24.0));
        assert!(chapter_reading(&f, "uring_server").starts_with("Not measured in this run"));
        assert!(chapter_reading(&f, "simple_server").contains("Read by `report`"));
    }
}
