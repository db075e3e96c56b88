//! # `bench wrk` — every server under every scenario (scripts/bench_all.sh)
//!
//! For each server: start it on a free port, wait until it answers, warm it
//! up, run wrk once per scenario while sampling the server's process tree in
//! /proc, stop it with SIGTERM and check that nothing of it is left. Repeats
//! are rounds (every server once, then again), so a drift in the machine's
//! speed hits every server alike. At the end the runs become a results file,
//! which `report` writes and makes the chapters' tables and the comparison
//! page from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use anyhow::{Context, anyhow, bail};
use results::bench::{self, BenchFile, Pinning};
use results::json::create_dir;
use results::scenario::{self, BARE_MIO, HYPER, HYPER_BINARY, NGINX, SERVERS, Scenario, Workload};
use results::stats::{Measured, RunResult};
use testkit::eventually;
use testkit::procfs;

use crate::cli::WrkArgs;
use crate::plan::{self, Plan, ServerInfo};
use crate::server::{self, Running};
use crate::{machine, sockets, stop_requested, wrk};

/// How long a run's CPU count waits, after wrk, for the server's tree to
/// shrink back to its size before the run.
const SETTLE_CPU: Duration = Duration::from_secs(2);

/// Where things are, found once; shared with `bench pinning`.
pub struct Setup {
    bin_dir: PathBuf,
    wrk: PathBuf,
    nginx: Option<PathBuf>,
    /// A fresh folder for the logs, the Lua scripts and nginx's files.
    work: PathBuf,
    ticks_per_s: u64,
    pub cpus: usize,
}

/// A program on the PATH, or at one of the `extra` places.
pub fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    let candidates = env::split_paths(&path).map(|dir| dir.join(name));
    candidates
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

impl Setup {
    pub fn new() -> anyhow::Result<Setup> {
        let wrk = find_program("wrk", &[])
            .context("wrk is not installed. Install it with:\n  sudo apt-get install -y wrk")?;
        let exe = env::current_exe().unwrap_or_default();
        let bin_dir = exe
            .parent()
            .map_or(PathBuf::from("target/release"), Path::to_path_buf);
        let work = env::temp_dir().join(format!("bench-{}", machine::now().replace(':', "")));
        create_dir(work.join("logs"))?;
        for load in Scenario::ALL.map(Scenario::workload) {
            let path = work.join(wrk::lua_name(load));
            fs::write(&path, wrk::lua_script(load))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let nginx = find_program("nginx", &["/usr/sbin/nginx"]);
        let ticks_per_s = procfs::ticks_per_second();
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Setup {
            bin_dir,
            wrk,
            nginx,
            work,
            ticks_per_s,
            cpus,
        })
    }

    /// The servers asked for (all of them by default, nginx if installed),
    /// and whether each has a pool to size.
    pub fn servers(&self, only: &[String]) -> anyhow::Result<Vec<ServerInfo>> {
        if only.is_empty() && self.nginx.is_none() {
            println!("bench: nginx is not installed; the reference row is left out");
        }
        let mut servers = Vec::new();
        for name in SERVERS.iter().chain([&NGINX, &HYPER, &BARE_MIO]) {
            let is_nginx = *name == NGINX;
            let missing = is_nginx && self.nginx.is_none();
            if only.is_empty() && missing || !only.is_empty() && !only.iter().any(|w| w == name) {
                continue;
            }
            if missing {
                bail!(
                    "--only asks for nginx, which is not installed (apt-get install -y nginx-light)"
                );
            }
            let reference = is_nginx || [BARE_MIO, HYPER].contains(name);
            let has_workers = !reference && self.has_workers(name);
            servers.push(ServerInfo {
                name: name.to_string(),
                is_nginx,
                has_workers,
            });
        }
        Ok(servers)
    }

    /// Where a server's binary is: bare_mio is an example of
    /// multiplexingio_server, hyper the binary of its reference crate.
    fn binary(&self, name: &str) -> PathBuf {
        match name {
            BARE_MIO => self.bin_dir.join("examples").join(name),
            HYPER => self.bin_dir.join(HYPER_BINARY),
            _ => self.bin_dir.join(name),
        }
    }

    /// Whether a server's `--help` lists `--workers`. A binary that ignores
    /// `--help` (and starts serving instead) gets 3 s and then a SIGKILL.
    fn has_workers(&self, name: &str) -> bool {
        let mut cmd = Command::new(self.binary(name));
        cmd.arg("--help")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let Ok(mut child) = cmd.spawn() else {
            return false;
        };
        if !eventually(Duration::from_secs(3), || {
            !matches!(child.try_wait(), Ok(None))
        }) {
            let _ = child.kill();
        }
        let out = child.wait_with_output();
        out.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--workers"))
    }

    /// Starts a server; the error ends with the last lines of its log.
    pub fn start(
        &self,
        server: &ServerInfo,
        args: &[String],
        tag: &str,
        cpus: &[usize],
    ) -> anyhow::Result<Running> {
        let cpus = Some(cpus.to_vec());
        let (started, log) = match &self.nginx {
            Some(nginx) if server.is_nginx => {
                let dir = self.work.join(format!("nginx-{tag}"));
                (
                    server::start_nginx(nginx, &dir, cpus, server::NGINX_CONNECTIONS),
                    dir.join("error.log"),
                )
            }
            _ => {
                let log = self
                    .work
                    .join("logs")
                    .join(format!("{}-{tag}.log", server.name));
                (
                    server::start_ours(
                        &server.name,
                        &self.binary(&server.name),
                        args,
                        &log,
                        cpus,
                        None,
                    ),
                    log,
                )
            }
        };
        started.map_err(|e| {
            let (name, tail) = (&server.name, server::tail(&log, 40));
            anyhow!(
                "{name} failed to start: {e:#}\n--- {} ---\n{tail}\n---",
                log.display()
            )
        })
    }

    fn wrk(&self, workload: Workload, duration_s: u64, port: u16, output: Stdio) -> Command {
        let script = self.work.join(wrk::lua_name(workload));
        let url = format!("http://127.0.0.1:{port}{}", workload.path);
        let mut cmd = Command::new(&self.wrk);
        cmd.args(wrk::args(
            workload,
            duration_s,
            &script.to_string_lossy(),
            &url,
        ));
        cmd.stdin(Stdio::null())
            .stdout(output)
            .stderr(Stdio::piped());
        cmd
    }

    /// Load before measuring: connections, threads and caches get going.
    pub fn warm_up(&self, running: &Running, seconds: u64) {
        if seconds > 0 {
            let _ = self
                .wrk(
                    Scenario::C10.workload(),
                    seconds,
                    running.port,
                    Stdio::null(),
                )
                .output();
        }
    }

    /// One wrk run with the server's tree sampled around and during it:
    /// memory ten times a run (4 Hz at most), clients left waiting, and CPU
    /// time and steal before and after.
    pub fn measure(
        &self,
        running: &Running,
        workload: Workload,
        duration_s: u64,
    ) -> anyhow::Result<Measured> {
        let before = procfs::sample_tree(running.pid, false);
        let cpu_before = procfs::read_cpu_times();
        let started = Instant::now();
        let mut cmd = self.wrk(workload, duration_s, running.port, Stdio::piped());
        let mut child = cmd.spawn().context("cannot run wrk")?;
        let limit = Duration::from_secs(duration_s + 20);
        let interval = Duration::from_millis((duration_s * 100).clamp(250, 1000));
        let (mut next_sample, mut m) = (started, Measured::default());
        while child.try_wait().context("waiting for wrk")?.is_none() {
            if stop_requested() || started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                match stop_requested() {
                    true => bail!("interrupted"),
                    false => bail!("wrk did not finish within {} s", limit.as_secs()),
                }
            }
            if Instant::now() >= next_sample {
                let sample = procfs::sample_tree(running.pid, true);
                m.peak_pss_kib = m.peak_pss_kib.max(sample.memory.pss_kib);
                m.peak_rss_kib = m.peak_rss_kib.max(sample.memory.rss_kib);
                m.peak_processes = m.peak_processes.max(sample.processes);
                // Clients nobody serves: wrk counts no error for them.
                m.waiting = m.waiting.max(sockets::stuck(running.port).unwrap_or(0));
                next_sample += interval;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let ticks = cpu_ticks_since(running, &before);
        m.steal_pct = procfs::steal_percent(cpu_before, procfs::read_cpu_times());
        let output = child.wait_with_output().context("reading wrk's output")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        m.report = wrk::parse_report(&stdout).with_context(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let said = stderr
                .lines()
                .chain(stdout.lines())
                .find(|l| !l.trim().is_empty());
            format!("wrk said: {}", said.unwrap_or("nothing"))
        })?;
        m.cpu_ms_per_1k = procfs::cpu_ms_per_1k(ticks, self.ticks_per_s, m.report.requests);
        Ok(m)
    }
}

/// The CPU ticks a server's tree has used since `before`. A process or
/// thread per connection may still be finishing when the client exits; its
/// CPU time belongs to this run, not to the next one.
pub fn cpu_ticks_since(running: &Running, before: &procfs::Sample) -> u64 {
    let settled = || procfs::sample_tree(running.pid, false).processes <= before.processes;
    eventually(SETTLE_CPU, settled);
    procfs::sample_tree(running.pid, false)
        .ticks
        .saturating_sub(before.ticks)
}

/// Pins the harness (and so wrk) and returns the server's CPUs.
pub fn apply_pinning(pin: Pinning, cpus: usize) -> Vec<usize> {
    let (harness, server) = match pin {
        Pinning::Split if cpus >= 2 => (vec![0], (1..cpus).collect()),
        _ => ((0..cpus).collect(), (0..cpus).collect()),
    };
    server::pin_self(&harness);
    server
}

/// Runs the plan; `Ok(false)` when a run or a stop failed.
pub fn run(args: &WrkArgs) -> anyhow::Result<bool> {
    let setup = Setup::new()?;
    let servers = setup.servers(&args.load.only)?;
    let duration_s = args.load.duration_s();
    let plan = plan::build(
        &servers,
        &args.scenarios(),
        args.load.repeat(),
        &args.logging_server,
    );
    let estimate = plan::estimate_s(&plan, duration_s, args.load.warmup) as u64;
    println!(
        "bench: {} runs of {duration_s} s ({} round(s)), {} server starts, about {} min {} s; logs in {}",
        plan.runs(),
        plan.rounds.len(),
        plan.starts(),
        estimate / 60,
        estimate % 60,
        setup.work.display()
    );
    if args.dry_run {
        print_plan(&plan, &servers, duration_s);
        return Ok(true);
    }
    let server_cpus = apply_pinning(args.pin, setup.cpus);
    let started = Instant::now();
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    let finished = execute(
        &setup,
        args,
        &plan,
        &servers,
        &server_cpus,
        &mut runs,
        &mut problems,
    );
    let passed = runs.iter().filter(|r| r.ok).count();
    let failed = runs.len() - passed + problems.len();
    let took = started.elapsed().as_secs();
    println!("bench: finished in {} min {} s", took / 60, took % 60);
    let written = match finished {
        Err(reason) => Err(anyhow!("stopped early: {reason}; no docs were written")),
        Ok(()) => write_outputs(&setup, args, &plan, runs, problems),
    };
    if let Err(e) = &written {
        eprintln!("bench: {e:#}");
    }
    println!("bench: {passed} passed, {failed} failed");
    Ok(written.is_ok() && failed == 0)
}

fn print_plan(plan: &Plan, servers: &[ServerInfo], duration_s: u64) {
    println!("one round:");
    for instance in plan.rounds.first().into_iter().flatten() {
        let labels: Vec<String> = instance
            .runs
            .iter()
            .map(|(s, v)| scenario::label(*s, v))
            .collect();
        let (server, args) = (&servers[instance.server].name, instance.args.join(" "));
        println!("  {server} {args}: {}", labels.join(", "));
    }
    for sc in Scenario::ALL {
        println!(
            "  {:8} {}  ({})",
            sc.name(),
            sc.workload().describe(duration_s),
            sc.exposes()
        );
    }
    for n in &plan.not_applicable {
        println!("  n/a: {} {}: {}", n.server, n.scenario.name(), n.reason);
    }
}

/// Every round of the plan, each run recorded in `runs` and each broken
/// promise to stop in `problems`; `Err` with the reason when it had to stop
/// early (a server did not start, or a stop signal came).
fn execute(
    setup: &Setup,
    args: &WrkArgs,
    plan: &Plan,
    servers: &[ServerInfo],
    cpus: &[usize],
    runs: &mut Vec<RunResult>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let (total, duration_s, warmup) = (plan.runs(), args.load.duration_s(), args.load.warmup);
    let mut starts = 0;
    for (round, instance) in plan
        .rounds
        .iter()
        .zip(1..)
        .flat_map(|(r, n)| r.iter().map(move |i| (n, i)))
    {
        let server = &servers[instance.server];
        starts += 1;
        let start = |tag: String| {
            let running = setup
                .start(server, &instance.args, &tag, cpus)
                .map_err(|e| {
                    eprintln!("bench: {e:#}");
                    format!("{} failed to start", server.name)
                })?;
            setup.warm_up(&running, warmup);
            Ok::<_, String>(running)
        };
        let mut running =
            start(format!("r{round}-{starts}")).inspect_err(|e| problems.push(e.clone()))?;
        for (i, (scenario, variant)) in instance.runs.iter().enumerate() {
            if stop_requested() {
                let _ = server::stop(running);
                return Err("interrupted".to_string());
            }
            if i > 0 && server::died(&mut running).is_some() {
                // Started again for the remaining scenarios.
                running = start(format!("r{round}-{starts}-again{i}"))?;
            } else if i > 0 {
                thread::sleep(Duration::from_secs_f64(plan::SETTLE_S));
            }
            let workload = scenario.workload();
            let measured = setup.measure(&running, workload, duration_s);
            let mut failure = measured.as_ref().err().map(|e| format!("{e:#}"));
            if let Some(death) = server::died(&mut running) {
                failure = Some(format!("{death}; log: {}", server::tail(&running.log, 3)));
            }
            let result = RunResult {
                server: server.name.clone(),
                scenario: *scenario,
                variant: variant.clone(),
                round,
                server_args: instance.args.clone(),
                command: workload.describe(duration_s),
                ok: failure.is_none(),
                failure,
                workers: running.workers,
                measured: measured.ok(),
            };
            println!("[{}/{total}] {}", runs.len() + 1, progress(&result));
            runs.push(result);
        }
        if server::died(&mut running).is_none()
            && let Err(e) = server::stop(running)
        {
            println!("bench: FAILED to stop: {e:#}");
            problems.push(format!("{e:#}"));
        }
    }
    Ok(())
}

/// "prefork_server c1000  41,203 req/s  p99 8.10 ms  0 errors  steal 0.4%".
fn progress(result: &RunResult) -> String {
    use report::templates::{latency, rate};
    use results::thousands;
    let mut line = format!("{} {}", result.server, result.label());
    if let Some(Measured {
        report: r,
        waiting,
        steal_pct,
        ..
    }) = &result.measured
    {
        let errors = match r.errors.total {
            0 => "0 errors".to_string(),
            n => format!("{} errors ({})", thousands(n), r.errors.describe()),
        };
        let waiting = if *waiting == 0 {
            String::new()
        } else {
            format!("  {} waiting", thousands(*waiting))
        };
        // wrk's percentiles are wrong when it pipelines (`stats::PIPELINED_LATENCY`).
        let slowest = match result.scenario.workload().pipeline {
            2.. => format!("max {}", latency(r.latency_us.max as f64)),
            _ => format!("p99 {}", latency(r.latency_us.p99 as f64)),
        };
        let rps = rate(r.requests_per_s);
        line += &format!("  {rps} req/s  {slowest}  {errors}{waiting}  steal {steal_pct:.1}%");
    }
    match &result.failure {
        Some(failure) => format!("{line}  FAILED: {failure}"),
        None => line,
    }
}

/// Builds the results file; `report` writes it and rewrites the marked
/// sections from it. Only a full
/// run writes into docs/ unless `--out` says otherwise: a partial or quick
/// one writes into a copy of the docs, so that rewriting them is exercised.
fn write_outputs(
    setup: &Setup,
    args: &WrkArgs,
    plan: &Plan,
    runs: Vec<RunResult>,
    problems: Vec<String>,
) -> anyhow::Result<()> {
    let partial = !args.load.only.is_empty() || args.scenarios().len() < Scenario::ALL.len();
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None if !args.load.quick && !partial => PathBuf::from("docs"),
        None => {
            if partial && !args.load.quick {
                println!(
                    "bench: a partial run (--only/--scenario) leaves docs/ alone; pass --out docs to write there"
                );
            }
            report::site::copy_pages(Path::new("docs"), setup.work.join("docs"))?
        }
    };
    let machine = machine::detect(Some(&setup.wrk), setup.nginx.as_deref());
    let settings = bench::Settings {
        duration_s: args.load.duration_s(),
        repeat: args.load.repeat(),
        warmup_s: args.load.warmup,
        wrk_timeout_s: wrk::TIMEOUT_S,
        pinning: args.pin,
        quick: args.load.quick,
        logging_server: args.logging_server.clone(),
        memory: bench::MEMORY.to_string(),
        cpu: bench::CPU.to_string(),
    };
    let not_applicable = plan.not_applicable.clone();
    let file = BenchFile::new(
        machine::now(),
        machine,
        settings,
        not_applicable,
        problems,
        runs,
    );
    report::site::publish(&out, &file.file_name(), &file, partial || args.load.quick)
}
