//! # `bench latency` — open-loop load: latency against offered rate (scripts/latency.sh)
//!
//! With `--rate`, one run per server, printed (`--json`: one object per run,
//! the contract other tools read). Without it, the whole harness: for each
//! server, its closed-loop rate measured with wrk, then an open-loop run at
//! fractions of that rate stepping past it, on `GET /` and on
//! `/sleep?ms=10`; one run at a rate every server sustains, for CPU per
//! request; what it burns with no client; and once, coordinated omission
//! measured (one thread offered twice what it can do, open and closed).
//! Writes `docs/results/latency.json`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use clap::Args;
use clap::builder::PossibleValuesParser;
use results::latency::{Closed, Idle, LatencyFile, Omission, Purpose, Run, SLEEP, Settings};
use results::scenario::{BARE_MIO, HYPER, NGINX, SERVERS, Scenario, Workload};
use testkit::openloop::{self, Load};
use testkit::procfs;

use crate::benchmark::{self, Setup};
use crate::plan::ServerInfo;
use crate::server::{self, Running};
use crate::{machine, pages_dir, stop_requested};

#[derive(Clone, Debug, Default, Args)]
pub struct LatencyArgs {
    /// Servers, comma-separated (default: all, nginx if installed, hyper, bare_mio)
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(SERVERS.iter().chain(&[NGINX, HYPER, BARE_MIO])))]
    pub only: Vec<String>,
    /// One run at this offered rate (requests/s) instead of the curves
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// The request's path, with --rate
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub path: String,
    /// Keep-alive connections the requests share
    #[arg(long, value_name = "C", default_value_t = CONNECTIONS)]
    pub connections: usize,
    /// Seconds of each run [default: 5; 1 with --quick]
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// With --rate: print each run as one line of JSON
    #[arg(long)]
    pub json: bool,
    /// Two servers, three rates, 1 s runs; results in a temporary folder
    #[arg(long)]
    pub quick: bool,
    /// Where results and docs go (default: docs, or a temporary folder with --quick or --only)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// As many connections as `c100`, so that the curves sit beside its figures.
const CONNECTIONS: usize = 100;
/// The curve's offered rates, as fractions of the server's closed-loop rate.
const FRACTIONS: [f64; 8] = [0.1, 0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5];
const QUICK_FRACTIONS: [f64; 3] = [0.1, 0.5, 1.2];
/// The knee: p99 at most ten times what it was at the lightest rate.
const KNEE_FACTOR: f64 = 10.0;
/// The rate every server sustains on `GET /` over 100 connections: below
/// the slowest server's closed-loop rate (simple_server's, which opens a
/// connection for every request), so that all of them are compared doing
/// the same work, none of them flat out.
const FIXED_RATE: f64 = 10_000.0;
/// A request unanswered this long has failed.
const TIMEOUT: Duration = Duration::from_secs(2);
const QUICK: [&str; 2] = ["threadpool1_server", "multiplexingio_server"];

/// The servers' arguments in this harness: prefork_server at the pools'
/// size, so that 100 connections are not 98 left waiting by design.
fn server_args(name: &str) -> Vec<String> {
    match name {
        "prefork_server" => vec!["--workers".into(), "128".into()],
        _ => Vec::new(),
    }
}

/// The paths of a server's curves: nginx's reference config and bare_mio
/// answer the fixed hello only.
fn paths(name: &str) -> &'static [&'static str] {
    match name {
        NGINX | BARE_MIO => &["/"],
        _ => &["/", SLEEP],
    }
}

fn workload(path: &str) -> Workload {
    match path {
        "/" => Scenario::C100.workload(),
        _ => Scenario::Slow.workload(),
    }
}

pub fn run(args: &LatencyArgs) -> anyhow::Result<bool> {
    let setup = Setup::new()?;
    let only = match (args.only.is_empty(), args.quick) {
        (true, true) => QUICK.map(String::from).to_vec(),
        _ => args.only.clone(),
    };
    let servers = setup.servers(&only)?;
    let duration = args.duration.unwrap_or(if args.quick { 1.0 } else { 5.0 });
    if let Some(rate) = args.rate {
        return one_rate(&setup, &servers, args, rate, duration);
    }
    let fractions: &[f64] = if args.quick {
        &QUICK_FRACTIONS
    } else {
        &FRACTIONS
    };
    let mut file = LatencyFile {
        machine: machine::host(),
        settings: Settings {
            quick: args.quick,
            duration_s: duration,
            connections: args.connections,
            timeout_s: TIMEOUT.as_secs_f64(),
            fractions: fractions.to_vec(),
            knee_factor: KNEE_FACTOR,
            fixed_rate: FIXED_RATE,
            server_args: (servers.iter())
                .map(|s| (s.name.clone(), server_args(&s.name)))
                .filter(|(_, a)| !a.is_empty())
                .collect(),
        },
        ..LatencyFile::default()
    };
    for server in &servers {
        if stop_requested() {
            break;
        }
        if let Err(e) = curves(&setup, server, args, duration, fractions, &mut file) {
            println!("{:24} error: {e:#}", server.name);
            file.problems.push(format!("{}: {e:#}", server.name));
        }
    }
    if !stop_requested() && servers.iter().any(|s| s.name == "multiplexingio_server") {
        match omission(&setup, args.quick) {
            Ok(o) => file.omission = Some(o),
            Err(e) => file.problems.push(format!("coordinated omission: {e:#}")),
        }
    }
    if stop_requested() {
        eprintln!("bench latency: interrupted; nothing written");
        return Ok(false);
    }
    let partial = args.quick || !args.only.is_empty();
    let out = pages_dir(args.out.as_deref(), partial, "bench-latency")?;
    let ok = file.problems.is_empty();
    report::site::publish(&out, "latency.json", &file, partial)?;
    Ok(ok)
}

/// `--rate`: one run per server, printed.
fn one_rate(
    setup: &Setup,
    servers: &[ServerInfo],
    args: &LatencyArgs,
    rate: f64,
    duration: f64,
) -> anyhow::Result<bool> {
    for server in servers {
        let running = start(setup, server)?;
        let run = open(
            &running,
            &server.name,
            &args.path,
            rate,
            args.connections,
            duration,
        );
        server::stop(running)?;
        let run = run?;
        match args.json {
            true => println!("{}", serde_json::to_string(&run)?),
            false => println!("{}", line(&run)),
        }
    }
    Ok(true)
}

fn start(setup: &Setup, server: &ServerInfo) -> anyhow::Result<Running> {
    // No pinning: the generator and the server share both cores, as wrk
    // and the servers do in the benchmark's default.
    let cpus: Vec<usize> = (0..setup.cpus).collect();
    let running = setup.start(server, &server_args(&server.name), "latency", &cpus)?;
    setup.warm_up(&running, 1);
    Ok(running)
}

/// One open-loop run against a running server, with its CPU counted.
fn open(
    running: &Running,
    name: &str,
    path: &str,
    rate: f64,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Run> {
    let load = Load {
        addr: SocketAddr::from(([127, 0, 0, 1], running.port)),
        path: path.to_string(),
        rate,
        connections,
        duration: Duration::from_secs_f64(seconds),
        timeout: TIMEOUT,
    };
    let before = procfs::sample_tree(running.pid, false);
    let seen = openloop::run(&load)?;
    let ticks = benchmark::cpu_ticks_since(running, &before);
    let per = |micros: f64| (seen.ok > 0).then(|| micros / seen.ok as f64);
    let server_us = ticks as f64 * 1e6 / procfs::ticks_per_second() as f64;
    let q = |q: f64| seen.latency.value_at_quantile(q);
    Ok(Run {
        server: name.to_string(),
        path: path.to_string(),
        purpose: Purpose::Curve,
        connections,
        duration_s: seconds,
        offered_rps: rate,
        achieved_rps: seen.achieved_rps(),
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        p999_us: q(0.999),
        max_us: seen.latency.max(),
        errors: seen.status_errors + seen.failed,
        unanswered: seen.unanswered,
        due: seen.due,
        reconnects: seen.reconnects,
        lag_p99_us: seen.lag.value_at_quantile(0.99),
        generator_cpu_us_per_request: per(seen.cpu.as_secs_f64() * 1e6),
        server_cpu_us_per_request: per(server_us),
    })
}

fn line(r: &Run) -> String {
    format!(
        "{:24} {:14} offered {:>8.0} achieved {:>8.0} p50 {:>8} p99 {:>8} p99.9 {:>8} µs; {} errors, {} unanswered, lag p99 {} µs",
        r.server,
        r.path,
        r.offered_rps,
        r.achieved_rps,
        r.p50_us,
        r.p99_us,
        r.p999_us,
        r.errors,
        r.unanswered,
        r.lag_p99_us
    )
}

/// A server's curves, fixed-rate run and idle cost, in one start.
fn curves(
    setup: &Setup,
    server: &ServerInfo,
    args: &LatencyArgs,
    seconds: f64,
    fractions: &[f64],
    file: &mut LatencyFile,
) -> anyhow::Result<()> {
    let running = start(setup, server)?;
    let done = (|| -> anyhow::Result<()> {
        // Idle first, before any client has come.
        file.idle.push(idle(&running, &server.name));
        for path in paths(&server.name) {
            let closed = setup
                .measure(&running, workload(path), 2)?
                .report
                .requests_per_s;
            file.closed.push(Closed {
                server: server.name.clone(),
                path: path.to_string(),
                rps: closed,
            });
            for fraction in fractions {
                if stop_requested() {
                    return Ok(());
                }
                let run = open(
                    &running,
                    &server.name,
                    path,
                    closed * fraction,
                    args.connections,
                    seconds,
                )?;
                println!("{}", line(&run));
                if !run.kept_up() {
                    // What it left queued drains before the next rate.
                    thread::sleep(TIMEOUT);
                }
                file.runs.push(run);
            }
        }
        let mut fixed = open(
            &running,
            &server.name,
            "/",
            FIXED_RATE,
            args.connections,
            seconds,
        )?;
        fixed.purpose = Purpose::Fixed;
        println!("{} (fixed rate)", line(&fixed));
        file.runs.push(fixed);
        Ok(())
    })();
    let stopped = server::stop(running);
    done.and(stopped)
}

/// CPU time per second of a server with no client, over a few seconds.
fn idle(running: &Running, name: &str) -> Idle {
    let seconds = 2.0;
    let before = procfs::sample_tree(running.pid, false).ticks;
    thread::sleep(Duration::from_secs_f64(seconds));
    let ticks = procfs::sample_tree(running.pid, false)
        .ticks
        .saturating_sub(before);
    let cores = ticks as f64 / procfs::ticks_per_second() as f64 / seconds;
    Idle {
        server: name.to_string(),
        cores,
    }
}

/// One thread offered twice what it can do on `/cpu`: wrk, closed-loop,
/// reports about the service time; the open load, seconds that grow with
/// the run.
fn omission(setup: &Setup, quick: bool) -> anyhow::Result<Omission> {
    let name = "multiplexingio_server";
    let info = ServerInfo {
        name: name.into(),
        is_nginx: false,
        has_workers: false,
    };
    let workload = Scenario::Cpu.workload();
    let running = start(setup, &info)?;
    let done = (|| -> anyhow::Result<Omission> {
        let closed = setup.measure(&running, workload, 2)?.report;
        let lengths: &[f64] = if quick { &[1.0] } else { &[2.0, 4.0, 8.0] };
        let mut open_runs = Vec::new();
        for &seconds in lengths {
            let rate = 2.0 * closed.requests_per_s;
            let run = open(
                &running,
                name,
                workload.path,
                rate,
                workload.connections as usize,
                seconds,
            )?;
            println!("{} (coordinated omission)", line(&run));
            open_runs.push(run);
            // What the run left queued drains before the next one.
            thread::sleep(TIMEOUT);
        }
        Ok(Omission {
            server: name.into(),
            path: workload.path.into(),
            closed_rps: closed.requests_per_s,
            closed_p50_us: closed.latency_us.p50,
            closed_p99_us: closed.latency_us.p99,
            open: open_runs,
        })
    })();
    let stopped = server::stop(running);
    let omission = done?;
    stopped?;
    Ok(omission)
}
