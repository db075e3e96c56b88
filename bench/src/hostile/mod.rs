//! # `bench hostile` — what hostile clients do to each server
//!
//! The benchmark measures polite clients; this measures the others. For
//! each server and each attack (slowloris, slow bodies, slow readers,
//! pipelined floods, connection churn, running the server out of
//! descriptors), the server is started afresh, the attack runs for a bounded
//! time, and meanwhile a fresh client asks `GET /` every 250 ms
//! ([`watch`]) while the server's process tree is sampled. Afterwards the
//! server must still be running and answer a fresh request within a
//! second. Every attack stays on loopback and ends at its deadline.
//!
//! The results go to `docs/results/robustness.json`, from which `report`
//! makes the marked sections of `docs/robustness.md` and of each chapter.

mod attacks;
mod watch;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use std::{env, process, thread};

use crate::pages_dir;
use anyhow::Context;
use results::json::create_dir;
use results::robustness::{AttackInfo, Outcome, RobustnessFile, Settings};
use results::scenario::SERVERS;
use testkit::procfs;

use crate::cli::HostileArgs;
use crate::server::{self, Running};
use crate::{machine, stop_requested};
use attacks::Kind;

/// The names of the attacks, for the command line.
pub const ATTACKS: [&str; 9] = [
    "slowloris-10",
    "slowloris-100",
    "slowloris-1000",
    "slow-body",
    "slow-reader",
    "pipelined-cpu",
    "pipelined-flood",
    "churn",
    "descriptors",
];

/// One attack as this run makes it.
struct Attack {
    name: &'static str,
    kind: Kind,
    seconds: f64,
}

impl Attack {
    /// Every attack, full size, or shorter and with fewer churning clients
    /// with `--quick` (sockets are cheap: their counts stay).
    fn all(quick: bool) -> Vec<Attack> {
        let (every, long, short) = match quick {
            false => (Duration::from_secs(5), 15.0, 10.0),
            true => (Duration::from_millis(500), 2.0, 2.0),
        };
        let scale = |full: usize, small: usize| if quick { small } else { full };
        let attack = |name, kind, seconds| Attack {
            name,
            kind,
            seconds,
        };
        vec![
            attack("slowloris-10", Kind::Slowloris { sockets: 10, every }, long),
            attack(
                "slowloris-100",
                Kind::Slowloris {
                    sockets: 100,
                    every,
                },
                long,
            ),
            attack(
                "slowloris-1000",
                Kind::Slowloris {
                    sockets: 1000,
                    every,
                },
                long,
            ),
            attack(
                "slow-body",
                Kind::SlowBody {
                    sockets: 1000,
                    every,
                },
                long,
            ),
            attack(
                "slow-reader",
                Kind::SlowReader {
                    clients: scale(50, 10),
                },
                short,
            ),
            attack(
                "pipelined-cpu",
                Kind::PipelinedCpu {
                    requests: 500,
                    units: scale(100_000, 10_000) as u64,
                },
                short,
            ),
            attack("pipelined-flood", Kind::PipelinedFlood, short),
            attack(
                "churn",
                Kind::Churn {
                    clients: scale(3000, 300),
                },
                if quick { 3.0 } else { 30.0 },
            ),
            attack(
                "descriptors",
                Kind::Descriptors {
                    limit: scale(1024, 256) as u64,
                    connections: scale(1200, 300),
                },
                short,
            ),
        ]
    }

    /// What the attacker does, in words, for the page.
    fn what(&self) -> String {
        match self.kind {
            Kind::Slowloris { sockets, every } => format!(
                "{sockets} connections, each sending one byte of a request head every {:.1} s, \
                 opened again when the server closes one",
                every.as_secs_f64()
            ),
            Kind::SlowBody { sockets, every } => format!(
                "{sockets} connections, each sending a whole head that announces a 1 MiB body, \
                 then one byte of the body every {:.1} s",
                every.as_secs_f64()
            ),
            Kind::SlowReader { clients } => format!(
                "{clients} clients pipelining `POST /echo` with 64 KiB bodies, never reading the answers"
            ),
            Kind::PipelinedCpu { requests, units } => format!(
                "one client sending {requests} `GET /cpu?n={units}` (about {:.1} s of work) in one write",
                requests as f64 * units as f64 / 1e6
            ),
            Kind::PipelinedFlood => {
                "one client pipelining `GET /` as fast as it can, reading the answers".to_string()
            }
            Kind::Churn { clients } => format!(
                "{clients} clients, each connecting, sending `POST /echo` with a small body, reading \
                 the answer and closing, over and over"
            ),
            Kind::Descriptors { limit, connections } => format!(
                "the server started with an open-file limit of {limit}; {connections} connections \
                 opened and held, then released halfway"
            ),
        }
    }
}

/// Every server under every attack; `Ok(false)` when a server could not be
/// started or stopped as promised.
pub fn run(args: &HostileArgs) -> anyhow::Result<bool> {
    let exe = env::current_exe().context("cannot find my own binary")?;
    let bin_dir = exe
        .parent()
        .context("cannot find my own directory")?
        .to_path_buf();
    let logs = create_dir(env::temp_dir().join(format!("bench-hostile-{}", process::id())))?;
    let attacks: Vec<Attack> = Attack::all(args.quick)
        .into_iter()
        .filter(|a| args.attacks.is_empty() || args.attacks.iter().any(|n| n == a.name))
        .collect();
    let servers: Vec<String> = match args.only.is_empty() {
        true => SERVERS.map(String::from).to_vec(),
        false => args.only.clone(),
    };
    let seconds: f64 = attacks.iter().map(|a| a.seconds + 3.0).sum::<f64>() * servers.len() as f64;
    println!(
        "hostile: {} attack(s) on {} server(s), about {} min",
        attacks.len(),
        servers.len(),
        (seconds / 60.0).ceil()
    );
    let (mut outcomes, mut problems) = (Vec::new(), Vec::new());
    'servers: for name in &servers {
        println!("\n== {name}");
        for attack in &attacks {
            if stop_requested() {
                break 'servers;
            }
            let log = logs.join(format!("{name}-{}.log", attack.name));
            let limit = match attack.kind {
                Kind::Descriptors { limit, .. } => Some(limit),
                _ => None,
            };
            let binary = bin_dir.join(name);
            match server::start_ours(name, &binary, &[], &log, None, limit) {
                Ok(running) => {
                    let (outcome, stopped) = attack_one(running, attack);
                    println!("   {:16} {}", attack.name, line(&outcome));
                    problems.extend(stopped.err().map(|e| format!("{name}: {e:#}")));
                    outcomes.push(outcome);
                }
                Err(e) => problems.push(format!("{name}: {e:#}")),
            }
        }
    }
    for problem in &problems {
        eprintln!("bench hostile: {problem}");
    }
    if stop_requested() {
        eprintln!("bench hostile: interrupted; nothing written");
        return Ok(false);
    }
    let file = results_file(args, &attacks, outcomes);
    // Only a full run of every server writes into docs/, unless --out says otherwise.
    let partial = args.quick || !args.only.is_empty() || !args.attacks.is_empty();
    let out = pages_dir(args.out.as_deref(), partial, "bench-hostile")?;
    report::site::publish(&out, "robustness.json", &file, partial)?;
    let _ = std::fs::remove_dir_all(&logs);
    let broke = file.outcomes.iter().filter(|o| o.died.is_some()).count();
    println!(
        "hostile: {} outcomes, {broke} with a dead server",
        file.outcomes.len()
    );
    Ok(problems.is_empty())
}

/// One attack on a freshly started server, watched; then the server is
/// stopped (the result of that is returned beside the outcome).
fn attack_one(mut running: Running, attack: &Attack) -> (Outcome, anyhow::Result<()>) {
    let addr = SocketAddr::from(([127, 0, 0, 1], running.port));
    // The server settles after answering the start-up probe.
    thread::sleep(Duration::from_millis(300));
    let mut peaks = watch::Peaks::default();
    peaks.sample(running.pid);
    let before = peaks.pss_kib;
    let ticks = procfs::sample_tree(running.pid, false).ticks;
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(attack.seconds);
    let prober = watch::Prober::start(addr);
    let kind = attack.kind;
    let attacker = thread::spawn(move || attacks::run(kind, addr, until));
    let mut died = None;
    while !attacker.is_finished() {
        thread::sleep(Duration::from_millis(500));
        peaks.sample(running.pid);
        died = died.or_else(|| server::died(&mut running));
    }
    let done = attacker.join().unwrap_or_default();
    let probes = prober.finish();
    let cpu_ticks = procfs::sample_tree(running.pid, false)
        .ticks
        .saturating_sub(ticks);
    let cpu_pct =
        cpu_ticks as f64 / procfs::ticks_per_second() as f64 / started.elapsed().as_secs_f64()
            * 100.0;
    died = died.or_else(|| server::died(&mut running));
    let after_ms = if died.is_none() {
        watch::answers_within(addr, watch::PATIENCE)
    } else {
        None
    };
    let mut outcome = Outcome {
        server: running.name.clone(),
        attack: attack.name.to_string(),
        attacker_connections: done.most_open,
        probes,
        pss_before_kib: before,
        pss_peak_kib: peaks.pss_kib,
        threads_peak: peaks.threads,
        processes_peak: peaks.processes,
        cpu_pct,
        churn: done.churn,
        after_ms,
        died: died.map(|d| format!("{d}; log: {}", server::tail(&running.log, 2))),
        ..Outcome::default()
    };
    outcome.judge();
    let stopped = match outcome.died {
        Some(_) => Ok(()),
        None => server::stop(running),
    };
    (outcome, stopped)
}

/// The progress line of one outcome.
fn line(o: &Outcome) -> String {
    let p = &o.probes;
    let note = if o.note.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.note)
    };
    format!(
        "{:?}{note}  fresh GET / {} of {} answered, {} turned away  PSS {} → {} KiB  CPU {:.0}%",
        o.verdict, p.answered, p.sent, p.turned_away, o.pss_before_kib, o.pss_peak_kib, o.cpu_pct
    )
}

fn results_file(args: &HostileArgs, attacks: &[Attack], outcomes: Vec<Outcome>) -> RobustnessFile {
    RobustnessFile {
        machine: machine::host(),
        settings: Settings {
            quick: args.quick,
            probe_every_ms: watch::PROBE_EVERY.as_millis() as u64,
            probe_patience_ms: watch::PATIENCE.as_millis() as u64,
            server_args: "--host 127.0.0.1 --port 0 (defaults otherwise)".to_string(),
        },
        attacks: attacks
            .iter()
            .map(|a| AttackInfo {
                name: a.name.to_string(),
                what: a.what(),
                seconds: a.seconds,
            })
            .collect(),
        outcomes,
    }
}
