//! The results as the pages see them: one tree of plain values, built from
//! the results files, that the templates lay out and the claims test.
//!
//! Names in the tree are identifiers (`workers-fast` becomes `fast`,
//! `slowloris-1000` becomes `slowloris_1000`), so that a claim reads
//! `bench.cpu.percore_server.rps > 1.5 * bench.cpu.multiplexingio_server.rps`.
//! Every server and scenario the course knows has its place, `null` where a
//! run measured nothing, so that a partial run leaves a gap, not an error.
//! Numbers are kept as measured; the templates format them.
//!
//! The tree, for whoever writes a claim or a template (`S` is a server,
//! `nginx` and `bare_mio` included where they were measured):
//!
//! - `bench.<scenario>.S`: `c10`, `c100`, `c1000`, `pipelined`, `close`,
//!   `slow`, `cpu`, `logging_quiet`, `logging_verbose`. Fields: `rps` (median),
//!   `rps_min`, `rps_max`, `spread` (%), `ok_rps` (answers that were not
//!   error statuses, per second), `p50`, `p99`, `max` (µs), `cpu` (ms per
//!   1,000 requests), `cores` (cores busy: CPU time per second), `pss`, `rss`
//!   (KiB), `processes`, `waiting` (clients left unserved), `errors`,
//!   `status_errors`, `troubled` (errors or waiting), `workers`, `na` (why the
//!   scenario does not apply), `runs`, `failed`.
//! - `sweep.slow.S`, `sweep.fast.S`: lists of rows, each with `workers`.
//! - `idle.S`: `held` (the most at once, at any step), `kib` (per
//!   connection, at the largest step that held all its connections, or at
//!   the first step when none did), `pss`, `rss`, `threads`,
//!   `processes`, `kernel_kib`, `probe_p50`, `probe_p99` (ms), `passed_all`,
//!   `stopped_at`, `stopped_by.kinds` (list of `kind`, `count`), `steps` (list:
//!   `connections`, `held`, `pss`, `kib`, `threads`, `maps`, ...).
//! - `hostile.<attack>.S`: `verdict` (`survived`, `starved`, `broke`), `sent`,
//!   `answered`, `turned_away`, `unanswered`, `p50`, `p99`, `max`, `after`
//!   (ms), `pss_before`, `pss_peak`, `threads`, `processes`, `cpu_pct`,
//!   `churn` (`completed`, `turned_away`, `errors`, `p99`).
//! - `survived.S`: `survived`, `starved`, `broke`, `of`, `said_503`.
//! - `syscalls.<load>.S`, load `keepalive`, `close` or `pipelined`:
//!   `requests`, `total`, `per_request`, `per.<call>` (per request), `calls`.
//! - `python.S`: the Python original's requests/s; `lines.S`: lines of the
//!   server's own code; `run.<file>`: when and where each file was measured.
//!
//! Besides the tree, claims may call `ratio(a, b)`, `within(a, b, frac)`,
//! `increasing(list)` and `all_of(rows, field)`
//! ([`crate::claims`]).

use std::path::PathBuf;

use anyhow::Context;
use results::bench::BenchFile;
use results::capacity::{ConnectionsFile, ServerRun, Step};
pub use results::json::{newest_bench, read};
use results::robustness::{RobustnessFile, Verdict};
use results::scenario::{BARE_MIO, HYPER, NGINX, SERVERS, Scenario, WORKER_COUNTS};
use results::stats::Summary;
use results::syscalls::{ServerCount, SyscallsFile};
use serde_json::{Map, Value, json};

/// The results files the pages are made from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub bench: BenchFile,
    pub connections: Option<ConnectionsFile>,
    pub robustness: Option<RobustnessFile>,
    pub syscalls: Option<SyscallsFile>,
    /// Lines of each server's own code (`code::strategy_lines`).
    pub lines: Vec<(String, usize)>,
}

impl Inputs {
    /// Reads each file from the first of `dirs` that has it: a partial run
    /// writes one file and borrows the others from docs/results.
    pub fn load(dirs: &[PathBuf]) -> anyhow::Result<Inputs> {
        let bench = dirs
            .iter()
            .find_map(|d| newest_bench(d))
            .with_context(|| format!("no bench-*.json in {}", dirs[0].display()))?;
        let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.exists());
        Ok(Inputs {
            bench: read(&bench)?,
            connections: find("connections.json").map(|p| read(&p)).transpose()?,
            robustness: find("robustness.json").map(|p| read(&p)).transpose()?,
            syscalls: find("syscalls.json").map(|p| read(&p)).transpose()?,
            lines: Vec::new(),
        })
    }
}

/// What the Python original measured with `wrk -t2 -c10 -d10s` (requests/s),
/// Python 3.5.1 on its author's machine (its README, in facts.md).
const PYTHON_ORIGINAL: [(&str, f64); 8] = [
    ("simple_server", 7610.66),
    ("cgi_server", 337.54),
    ("cgi_threading_server", 3838.05),
    ("prefork_server", 8220.92),
    ("threadpool1_server", 5623.53),
    ("threadpool2_server", 8103.66),
    ("noblocking_server", 198.14),
    ("multiplexingio_server", 6834.32),
];

/// Every name that has a column: our servers in course order, then the references.
fn everyone() -> Vec<&'static str> {
    SERVERS
        .iter()
        .copied()
        .chain([NGINX, HYPER, BARE_MIO])
        .collect()
}

fn key(name: &str) -> String {
    name.replace('-', "_")
}

/// The tree every template and claim reads.
pub fn tree(inputs: &Inputs) -> Value {
    let mut root = Map::new();
    root.insert("servers".into(), json!(SERVERS));
    root.insert("run".into(), runs(inputs));
    let file = &inputs.bench;
    root.insert("bench".into(), bench(file));
    root.insert("sweep".into(), sweeps(file));
    root.insert("scenarios".into(), scenarios());
    let python: Map<String, Value> = PYTHON_ORIGINAL
        .iter()
        .map(|(s, v)| (s.to_string(), json!(v)))
        .collect();
    root.insert("python".into(), Value::Object(python));
    if let Some(c) = &inputs.connections {
        root.insert("idle".into(), idle(c));
        let limits = c.limits.iter().map(|(k, v)| json!({"name": k, "value": v}));
        root.insert("limits".into(), Value::Array(limits.collect()));
    }
    if let Some(r) = &inputs.robustness {
        root.insert("hostile".into(), hostile(r));
        root.insert("attacks".into(), attacks(r));
        root.insert("survived".into(), survived(r));
    }
    if let Some(s) = &inputs.syscalls {
        root.insert("syscalls".into(), syscalls(s));
    }
    let lines = inputs.lines.iter().map(|(s, n)| (s.clone(), json!(n)));
    root.insert("lines".into(), Value::Object(lines.collect()));
    Value::Object(root)
}

/// Two records as one object, the fields of both.
fn both(a: &impl serde::Serialize, b: &impl serde::Serialize) -> Value {
    let mut merged = json!(a);
    if let (Some(into), Value::Object(from)) = (merged.as_object_mut(), json!(b)) {
        into.extend(from);
    }
    merged
}

/// Where and when each file was measured.
fn runs(inputs: &Inputs) -> Value {
    let b = &inputs.bench;
    let m = &b.machine;
    json!({
        "bench": {
            "date": b.date, "file": b.file_name(), "cpu": m.cpu_model, "cores": m.cores,
            "kernel": m.kernel, "rustc": m.rustc, "wrk": m.wrk, "nginx": m.nginx,
            "repeat": b.settings.repeat, "duration": b.settings.duration_s,
            "warmup": b.settings.warmup_s, "timeout": b.settings.wrk_timeout_s,
            "pinning": b.settings.pinning.name(), "quick": b.settings.quick,
            "logging_server": b.settings.logging_server, "problems": b.problems,
            "failed": b.runs.iter().filter(|r| !r.ok).map(|r| json!({
                "server": r.server, "label": r.label(), "why": r.failure,
            })).collect::<Vec<_>>(),
            "runs": b.runs.len(),
        },
        // The others: their machine and their settings, as the files name them.
        "idle": inputs.connections.as_ref().map(|c| both(&c.machine, &c.settings)),
        "hostile": inputs.robustness.as_ref().map(|r| both(&r.machine, &r.settings)),
        "syscalls": inputs.syscalls.as_ref().map(|s| both(&s.machine, &s.settings)),
    })
}

/// One row of the benchmark: a server in a scenario, over its repeats.
fn row(file: &BenchFile, s: &Summary) -> Value {
    let cores = s
        .cpu_ms_per_1k_requests_median
        .zip(s.requests_per_s_median)
        .map(|(cpu, rps)| cpu * rps / 1e6);
    json!({
        "rps": s.requests_per_s_median, "rps_min": s.requests_per_s_min,
        "rps_max": s.requests_per_s_max, "spread": s.spread_pct,
        "ok_rps": file.ok_rps(s),
        "p50": s.p50_us_median, "p99": s.p99_us_median,
        // wrk reports 0 when no request was timed (none came back whole).
        "max": s.max_us.filter(|&m| m > 0),
        "cpu": s.cpu_ms_per_1k_requests_median, "cores": cores,
        "pss": s.peak_pss_kib, "rss": s.peak_rss_kib, "processes": s.peak_processes,
        "waiting": s.waiting_max, "errors": s.errors_summed.total,
        "errors_text": s.errors_summed.describe(), "status_errors": s.errors_summed.status,
        "runs": s.runs, "runs_with_errors": s.runs_with_errors, "failed": s.failed_runs,
        "troubled": s.troubled(), "steal": s.steal_pct_median,
        "workers": file.runs_of(s).find_map(|r| r.workers), "na": null,
    })
}

/// The row of a server that was not measured in a scenario: every figure
/// `null`, and why when the scenario does not apply to it.
fn empty(file: &BenchFile, na: Option<&str>) -> Value {
    let mut row = row(file, &Summary::default());
    row["na"] = json!(na);
    row
}

/// `bench.<scenario>.<server>`: every plain scenario and the two logging runs.
fn bench(file: &BenchFile) -> Value {
    let plain = Scenario::ALL
        .into_iter()
        .filter(|s| !s.is_sweep() && *s != Scenario::Logging);
    let mut names: Vec<String> = plain.map(|s| key(s.name())).collect();
    names.extend(["logging_quiet".to_string(), "logging_verbose".to_string()]);
    let mut out = Map::new();
    for name in &names {
        let mut by_server = Map::new();
        for server in everyone() {
            by_server.insert(server.to_string(), empty(file, None));
        }
        out.insert(name.clone(), Value::Object(by_server));
    }
    for s in &file.summaries {
        let name = match s.scenario {
            Scenario::Logging => format!("logging_{}", s.variant),
            sc if sc.is_sweep() => continue,
            sc => key(sc.name()),
        };
        if let Some(Value::Object(by_server)) = out.get_mut(&name) {
            by_server.insert(s.server.clone(), row(file, s));
        }
    }
    for n in &file.not_applicable {
        let Some(Value::Object(by_server)) = out.get_mut(&key(n.scenario.name())) else {
            continue;
        };
        if by_server.get(&n.server).is_none_or(|r| r["rps"].is_null()) {
            by_server.insert(n.server.clone(), empty(file, Some(&n.reason)));
        }
    }
    Value::Object(out)
}

/// The plain scenarios in their order, with what wrk does in each.
fn scenarios() -> Value {
    let plain = Scenario::ALL
        .into_iter()
        .filter(|s| !s.is_sweep() && *s != Scenario::Logging);
    let list = plain.map(|s| {
        let w = s.workload();
        json!({
            "name": s.name(), "key": key(s.name()), "connections": w.connections,
            "path": w.path, "close": w.close, "pipeline": w.pipeline,
        })
    });
    Value::Array(list.collect())
}

/// `sweep.slow.<server>` and `sweep.fast.<server>`: one point per pool size.
fn sweeps(file: &BenchFile) -> Value {
    let mut out = Map::new();
    for (name, sweep) in [("slow", Scenario::Workers), ("fast", Scenario::WorkersFast)] {
        let mut by_server = Map::new();
        for server in SERVERS {
            let points: Vec<Value> = WORKER_COUNTS
                .iter()
                .filter_map(|w| {
                    let variant = format!("w={w}");
                    let s = file.summaries.iter().find(|s| {
                        s.server == server && s.scenario == sweep && s.variant == variant
                    })?;
                    let mut point = row(file, s);
                    point["workers"] = json!(w);
                    Some(point)
                })
                .collect();
            if !points.is_empty() {
                by_server.insert(server.to_string(), Value::Array(points));
            }
        }
        out.insert(name.to_string(), Value::Object(by_server));
    }
    Value::Object(out)
}

/// "N × kind" of a step's failures, most frequent first.
fn failures(step: &Step) -> Value {
    let mut kinds: Vec<(&String, &u64)> = step.failures.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let probes: u64 = step.probe_failures.values().sum();
    json!({
        "kinds": kinds.iter().map(|(k, n)| json!({"kind": k, "count": n})).collect::<Vec<_>>(),
        "probes": probes,
    })
}

fn step(s: &Step) -> Value {
    let sample = s.held_sample.unwrap_or_default();
    let probe = s.probe_ms.unwrap_or_default();
    let rate = (s.ramp_s > 0.0 && s.held > 0).then(|| s.held as f64 / s.ramp_s);
    json!({
        "connections": s.connections, "held": s.held, "passed": s.passed,
        "pss_before": s.baseline.pss_kib, "pss": sample.pss_kib, "rss": sample.rss_kib,
        "kib": s.kib_per_connection, "threads": sample.threads, "processes": sample.processes,
        "maps": sample.max_maps, "probe_p50": probe.p50, "probe_p99": probe.p99,
        "probe_max": probe.max, "kernel_kib": s.kernel_kib(), "rate": rate,
        "failures": failures(s), "reason": s.reason,
    })
}

/// `idle.<server>`: the most idle connections it held, what they cost, and
/// the step that stopped it.
fn idle(file: &ConnectionsFile) -> Value {
    let one = |run: &ServerRun| {
        let stopped = run.first_failure();
        // The figures per connection come from the largest step that held all
        // its connections; for a server that held none of its first step
        // whole (a pool), from that step: what it held while it turned the
        // rest away.
        let best = run.best().or(stopped);
        let sample = best.and_then(|b| b.held_sample).unwrap_or_default();
        json!({
            // The most it held at once, at any step.
            "held": run.steps.iter().map(|s| s.held).max().unwrap_or(0),
            "tried": stopped.or(run.steps.last()).map(|s| s.connections),
            "passed_all": stopped.is_none() && !run.steps.is_empty(),
            "kib": best.and_then(|b| b.kib_per_connection),
            "pss": best.map(|_| sample.pss_kib), "rss": best.map(|_| sample.rss_kib),
            "threads": best.map(|_| sample.threads), "processes": best.map(|_| sample.processes),
            "kernel_kib": best.and_then(Step::kernel_kib),
            "probe_p50": best.and_then(|b| b.probe_ms?.p50),
            "probe_p99": best.and_then(|b| b.probe_ms?.p99),
            "stopped_at": stopped.map(|s| s.connections),
            "stopped_held": stopped.map(|s| s.held),
            "stopped_by": stopped.map(failures),
            "stopped_why": stopped.and_then(|s| s.reason.clone()),
            "open_files": run.open_files, "error": run.error,
            "steps": run.steps.iter().map(step).collect::<Vec<_>>(),
        })
    };
    let mut out = Map::new();
    for server in SERVERS {
        let run = file.servers.iter().find(|r| r.server == server);
        out.insert(server.to_string(), run.map_or(Value::Null, one));
    }
    Value::Object(out)
}

/// `hostile.<attack>.<server>`: what one attack did to one server.
fn hostile(file: &RobustnessFile) -> Value {
    let mut out = Map::new();
    for attack in &file.attacks {
        let mut by_server = Map::new();
        for server in SERVERS {
            let o = file
                .outcomes
                .iter()
                .find(|o| o.server == server && o.attack == attack.name);
            let value = o.map_or(Value::Null, |o| {
                let p = &o.probes;
                json!({
                    "verdict": verdict(o.verdict), "sent": p.sent, "answered": p.answered,
                    "turned_away": p.turned_away, "unanswered": p.unanswered(),
                    "p50": p.p50_ms, "p99": p.p99_ms, "max": p.max_ms, "after": o.after_ms,
                    "pss_before": o.pss_before_kib, "pss_peak": o.pss_peak_kib,
                    "threads": o.threads_peak, "processes": o.processes_peak,
                    "cpu_pct": o.cpu_pct, "died": o.died, "attacker": o.attacker_connections,
                    "churn": o.churn.as_ref().map(|c| json!({
                        "clients": c.clients, "completed": c.completed,
                        "turned_away": c.turned_away, "p99": c.p99_ms,
                        "errors": c.errors.values().sum::<u64>(),
                    })),
                })
            });
            by_server.insert(server.to_string(), value);
        }
        out.insert(key(&attack.name), Value::Object(by_server));
    }
    Value::Object(out)
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Survived => "survived",
        Verdict::Starved => "starved",
        Verdict::Broke => "broke",
    }
}

/// The attacks in the order they ran.
fn attacks(file: &RobustnessFile) -> Value {
    let list = file.attacks.iter().map(|a| {
        let most = (file.outcomes.iter())
            .filter(|o| o.attack == a.name)
            .map(|o| o.attacker_connections)
            .max();
        json!({"name": a.name, "key": key(&a.name), "seconds": a.seconds, "connections": most})
    });
    Value::Array(list.collect())
}

/// `survived.<server>`: its verdicts counted.
fn survived(file: &RobustnessFile) -> Value {
    let mut out = Map::new();
    for server in SERVERS {
        let mine: Vec<Verdict> = (file.outcomes.iter())
            .filter(|o| o.server == server)
            .map(|o| o.verdict)
            .collect();
        let count = |v: Verdict| mine.iter().filter(|m| **m == v).count();
        let turned_away = (file.outcomes.iter())
            .filter(|o| o.server == server)
            .any(|o| o.probes.turned_away > 0);
        out.insert(
            server.to_string(),
            json!({
                "survived": count(Verdict::Survived), "starved": count(Verdict::Starved),
                "broke": count(Verdict::Broke), "of": mine.len(), "said_503": turned_away,
            }),
        );
    }
    Value::Object(out)
}

fn count(c: &ServerCount) -> Value {
    let calls: Vec<Value> = c
        .by_count()
        .into_iter()
        .map(|(name, n)| {
            json!({
                "name": name, "calls": n,
                "failed": c.errors.get(name).copied().unwrap_or(0),
                "per_request": c.per_request(n),
            })
        })
        .collect();
    let per: Map<String, Value> = (c.calls.iter())
        .map(|(name, n)| (name.clone(), json!(c.per_request(*n))))
        .collect();
    json!({
        "requests": c.requests, "total": c.total(), "per_request": c.per_request(c.total()),
        "calls": calls, "per": per, "error": c.error,
    })
}

/// `syscalls.<load>.<server>`: keepalive, and where counted close and pipelined.
fn syscalls(file: &SyscallsFile) -> Value {
    let mut out = Map::new();
    let loads = [
        ("keepalive", &file.servers),
        ("close", &file.close),
        ("pipelined", &file.pipelined),
    ];
    for (name, list) in loads {
        let mut by_server = Map::new();
        for server in everyone() {
            let c = list.iter().find(|c| c.server == server);
            by_server.insert(server.to_string(), c.map_or(Value::Null, count));
        }
        out.insert(name.to_string(), Value::Object(by_server));
    }
    Value::Object(out)
}
