//! # `bench wrk` — every server under every scenario (scripts/bench_all.sh)
//!
//! For each server: start it on a free port, wait until it answers, warm it
//! up, run wrk once per scenario while sampling the server's process tree in
//! /proc, stop it with SIGTERM and check that nothing of it is left. Repeats
//! are rounds (every server once, then again), so a drift in the machine's
//! speed hits every server alike. At the end the results go to a JSON file,
//! the chapters' tables and the comparison page.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use anyhow::{Context, bail};
use testkit::procfs;

use crate::cli::{Pinning, WrkArgs};
use crate::plan::{self, Plan, Scenario, ServerInfo, Workload};
use crate::results::{self, BenchFile};
use crate::server::{self, Running};
use crate::stats::{self, Measured, RunResult};
use crate::{machine, report, sockets, stop_requested, wrk};

/// Where things are, found once; shared with `bench pinning`.
pub struct Setup {
    bin_dir: PathBuf,
    wrk: PathBuf,
    nginx: Option<PathBuf>,
    /// A fresh folder for the logs, the Lua scripts and nginx's files.
    pub work: PathBuf,
    ticks_per_s: u64,
    pub cpus: usize,
}

fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
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
        let bin_dir = env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("target/release"));
        let work = env::temp_dir().join(format!("bench-{}", machine::now().replace(':', "")));
        fs::create_dir_all(work.join("logs"))
            .with_context(|| format!("cannot create {}", work.display()))?;
        for close in [false, true] {
            let path = lua(&work, close);
            fs::write(&path, wrk::lua_script(close))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(Setup {
            bin_dir,
            wrk,
            nginx: find_program("nginx", &["/usr/sbin/nginx"]),
            work,
            ticks_per_s: procfs::ticks_per_second(),
            cpus: thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    /// The servers asked for (all of them by default), and whether each has
    /// a pool to size.
    pub fn servers(&self, only: &[String]) -> anyhow::Result<Vec<ServerInfo>> {
        if only.is_empty() && self.nginx.is_none() {
            println!("bench: nginx is not installed; the reference row is left out");
        }
        let mut servers = Vec::new();
        for name in plan::SERVERS.iter().chain([&plan::NGINX, &plan::BARE_MIO]) {
            let is_nginx = *name == plan::NGINX;
            let wanted = only.iter().any(|w| w == name)
                || (only.is_empty() && !(is_nginx && self.nginx.is_none()));
            if !wanted {
                continue;
            }
            if is_nginx && self.nginx.is_none() {
                bail!(
                    "--only asks for nginx, which is not installed (apt-get install -y nginx-light)"
                );
            }
            let has_workers =
                !is_nginx && *name != plan::BARE_MIO && has_workers_option(&self.binary(name));
            servers.push(ServerInfo {
                name: name.to_string(),
                is_nginx,
                has_workers,
            });
        }
        Ok(servers)
    }

    /// Where a server's binary is: bare_mio is an example of multiplexingio_server.
    fn binary(&self, name: &str) -> PathBuf {
        let dir = if name == plan::BARE_MIO {
            self.bin_dir.join("examples")
        } else {
            self.bin_dir.clone()
        };
        dir.join(name)
    }

    pub fn start(
        &self,
        server: &ServerInfo,
        args: &[String],
        tag: &str,
        cpus: Vec<usize>,
    ) -> anyhow::Result<Running> {
        let nginx_dir = self.work.join(format!("nginx-{tag}"));
        let log = self
            .work
            .join("logs")
            .join(format!("{}-{tag}.log", server.name));
        let started = match &self.nginx {
            Some(nginx) if server.is_nginx => server::start_nginx(nginx, &nginx_dir, Some(cpus)),
            _ => server::start_ours(
                &server.name,
                &self.binary(&server.name),
                args,
                &log,
                Some(cpus),
            ),
        };
        let log = if server.is_nginx {
            nginx_dir.join("error.log")
        } else {
            log
        };
        started.map_err(|e| {
            let tail = server::tail(&log, 40);
            anyhow::anyhow!(
                "{} failed to start: {e:#}\n--- {} ---\n{tail}\n---",
                server.name,
                log.display()
            )
        })
    }

    fn wrk(&self, workload: Workload, duration_s: u64, port: u16) -> Command {
        let script = lua(&self.work, workload.close);
        let url = format!("http://127.0.0.1:{port}{}", workload.path);
        let args = wrk::args(
            workload.threads,
            workload.connections,
            duration_s,
            &script.to_string_lossy(),
            &url,
        );
        let mut cmd = Command::new(&self.wrk);
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// Load before measuring: connections, threads and caches get going.
    pub fn warm_up(&self, running: &Running, seconds: u64) {
        if seconds > 0 {
            let mut cmd = self.wrk(Scenario::C10.workload(), seconds, running.port);
            let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
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
        let mut cmd = self.wrk(workload, duration_s, running.port);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let ticks_before = procfs::sample_tree(running.pid, false).ticks;
        let cpu_before = procfs::read_cpu_times();
        let started = Instant::now();
        let mut child = cmd.spawn().context("cannot run wrk")?;
        let limit = Duration::from_secs(duration_s + 20);
        let interval = Duration::from_millis((duration_s * 100).clamp(250, 1000));
        let mut next_sample = started;
        let mut measured = Measured::default();
        while child.try_wait().context("waiting for wrk")?.is_none() {
            if stop_requested() || started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                bail!(if stop_requested() {
                    "interrupted".to_string()
                } else {
                    format!("wrk did not finish within {} s", limit.as_secs())
                });
            }
            if Instant::now() >= next_sample {
                let sample = procfs::sample_tree(running.pid, true);
                measured.peak_pss_kib = measured.peak_pss_kib.max(sample.memory.pss_kib);
                measured.peak_rss_kib = measured.peak_rss_kib.max(sample.memory.rss_kib);
                measured.peak_processes = measured.peak_processes.max(sample.processes);
                // Clients nobody serves: wrk counts no error for them.
                if let Some(stuck) = sockets::stuck(running.port) {
                    measured.waiting = measured.waiting.max(stuck);
                }
                next_sample += interval;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let ticks = procfs::sample_tree(running.pid, false)
            .ticks
            .saturating_sub(ticks_before);
        measured.steal_pct = procfs::steal_percent(cpu_before, procfs::read_cpu_times());
        let output = child.wait_with_output().context("reading wrk's output")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        measured.report = wrk::parse_report(&stdout).with_context(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let said = stderr
                .lines()
                .chain(stdout.lines())
                .find(|l| !l.trim().is_empty());
            format!("wrk said: {}", said.unwrap_or("nothing"))
        })?;
        measured.cpu_ms_per_1k =
            procfs::cpu_ms_per_1k(ticks, self.ticks_per_s, measured.report.requests);
        Ok(measured)
    }
}

/// The Lua reporter, with or without `Connection: close`.
fn lua(work: &Path, close: bool) -> PathBuf {
    work.join(if close {
        "report-close.lua"
    } else {
        "report.lua"
    })
}

/// Whether a server's `--help` lists `--workers`. A binary that ignores
/// `--help` (and starts serving instead) gets 3 s and then a SIGKILL.
fn has_workers_option(binary: &Path) -> bool {
    let mut cmd = Command::new(binary);
    let Ok(mut child) = cmd
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Ok(None) = child.try_wait() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output();
    out.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--workers"))
}

/// Pins the harness (and so wrk) and returns the server's CPUs.
pub fn apply_pinning(pin: Pinning, cpus: usize) -> Vec<usize> {
    if pin == Pinning::Split && cpus >= 2 {
        server::pin_self(&[0]);
        (1..cpus).collect()
    } else {
        let all: Vec<usize> = (0..cpus).collect();
        server::pin_self(&all);
        all
    }
}

/// Runs the plan; `Ok(false)` when a run or a stop failed.
pub fn run(args: &WrkArgs) -> anyhow::Result<bool> {
    let setup = Setup::new()?;
    let servers = setup.servers(&args.load.only)?;
    let (duration_s, repeat) = (args.load.duration_s(), args.load.repeat());
    let plan = plan::build(&servers, &args.scenarios(), repeat, &args.logging_server);
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
    let outcome = execute(&setup, args, &plan, &servers, server_cpus);
    let passed = outcome.runs.iter().filter(|r| r.ok).count();
    let failed = outcome.runs.len() - passed + outcome.problems.len();
    let took = started.elapsed().as_secs();
    println!("bench: finished in {} min {} s", took / 60, took % 60);
    let written = match outcome.aborted {
        Some(reason) => Err(anyhow::anyhow!(
            "stopped early: {reason}; no docs were written"
        )),
        None => write_outputs(&setup, args, &plan, outcome.runs, outcome.problems),
    };
    if let Err(e) = &written {
        eprintln!("bench: {e:#}");
    }
    println!("bench: {passed} passed, {failed} failed");
    Ok(written.is_ok() && failed == 0)
}

fn print_plan(plan: &Plan, servers: &[ServerInfo], duration_s: u64) {
    if let Some(round) = plan.rounds.first() {
        println!("one round:");
        for instance in round {
            let labels: Vec<String> = instance.runs.iter().map(|r| r.label()).collect();
            let server = &servers[instance.server].name;
            println!(
                "  {server} {}: {}",
                instance.args.join(" "),
                labels.join(", ")
            );
        }
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

struct Outcome {
    runs: Vec<RunResult>,
    problems: Vec<String>,
    aborted: Option<String>,
}

fn execute(
    setup: &Setup,
    args: &WrkArgs,
    plan: &Plan,
    servers: &[ServerInfo],
    cpus: Vec<usize>,
) -> Outcome {
    let mut outcome = Outcome {
        runs: Vec::new(),
        problems: Vec::new(),
        aborted: None,
    };
    let (total, duration_s, warmup) = (plan.runs(), args.load.duration_s(), args.load.warmup);
    let (mut done, mut starts) = (0, 0);
    for (r, round) in plan.rounds.iter().enumerate() {
        for instance in round {
            let server = &servers[instance.server];
            starts += 1;
            let tag = format!("r{}-{starts}", r + 1);
            let mut running = match setup.start(server, &instance.args, &tag, cpus.clone()) {
                Ok(running) => running,
                Err(e) => {
                    eprintln!("bench: {e:#}");
                    outcome
                        .problems
                        .push(format!("{} failed to start", server.name));
                    outcome.aborted = Some(format!("{} failed to start", server.name));
                    return outcome;
                }
            };
            setup.warm_up(&running, warmup);
            for (i, spec) in instance.runs.iter().enumerate() {
                if stop_requested() {
                    let _ = server::stop(running);
                    outcome.aborted = Some("interrupted".to_string());
                    return outcome;
                }
                done += 1;
                let workload = spec.scenario.workload();
                let measured = setup.measure(&running, workload, duration_s);
                let mut failure = measured.as_ref().err().map(|e| format!("{e:#}"));
                if let Some(death) = server::died(&mut running) {
                    failure = Some(format!("{death}; log: {}", server::tail(&running.log, 3)));
                }
                let result = RunResult {
                    server: server.name.clone(),
                    scenario: spec.scenario,
                    variant: spec.variant.clone(),
                    round: r as u32 + 1,
                    server_args: instance.args.clone(),
                    command: workload.describe(duration_s),
                    ok: failure.is_none() && measured.is_ok(),
                    failure,
                    measured: measured.ok(),
                };
                println!("[{done}/{total}] {}", progress(&result));
                outcome.runs.push(result);
                let more = i + 1 < instance.runs.len();
                if more && server::died(&mut running).is_some() {
                    // Start it again for the remaining scenarios.
                    match setup.start(
                        server,
                        &instance.args,
                        &format!("{tag}-again{i}"),
                        cpus.clone(),
                    ) {
                        Ok(again) => running = again,
                        Err(e) => {
                            eprintln!("bench: {e:#}");
                            outcome.aborted =
                                Some(format!("{} failed to start again", server.name));
                            return outcome;
                        }
                    }
                    setup.warm_up(&running, warmup);
                } else if more {
                    thread::sleep(Duration::from_secs_f64(plan::SETTLE_S));
                }
            }
            if server::died(&mut running).is_none()
                && let Err(e) = server::stop(running)
            {
                println!("bench: FAILED to stop: {e:#}");
                outcome.problems.push(format!("{e:#}"));
            }
        }
    }
    outcome
}

/// "prefork_server c1000  41,203 req/s  p99 8.10 ms  0 errors  steal 0.4%".
fn progress(result: &RunResult) -> String {
    let mut line = format!("{} {}", result.server, result.label());
    if let Some(m) = &result.measured {
        let errors = match m.report.errors.total {
            0 => "0 errors".to_string(),
            n => format!(
                "{} errors ({})",
                report::thousands(n),
                m.report.errors.describe()
            ),
        };
        let waiting = match m.waiting {
            0 => String::new(),
            n => format!("  {} waiting", report::thousands(n)),
        };
        let (rate, p99) = (
            report::rate(m.report.requests_per_s),
            report::latency(m.report.latency_us.p99 as f64),
        );
        line += &format!(
            "  {rate} req/s  p99 {p99}  {errors}{waiting}  steal {:.1}%",
            m.steal_pct
        );
    }
    if let Some(failure) = &result.failure {
        line += &format!("  FAILED: {failure}");
    }
    line
}

/// Writes the results file and rewrites the marked sections. Only a full
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
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None if !args.load.quick && !partial => PathBuf::from("docs"),
        None => {
            if partial && !args.load.quick {
                println!(
                    "bench: a partial run (--only/--scenario) leaves docs/ alone; pass --out docs to write there"
                );
            }
            let copy = setup.work.join("docs");
            copy_markdown(Path::new("docs"), &copy)?;
            copy
        }
    };
    let results_dir = out_dir.join("results");
    fs::create_dir_all(&results_dir)
        .with_context(|| format!("cannot create {}", results_dir.display()))?;
    let file = BenchFile {
        schema: 1,
        date: machine::now(),
        machine: machine::Machine::detect(Some(&setup.wrk), setup.nginx.as_deref()),
        settings: results::Settings {
            duration_s: args.load.duration_s(),
            repeat: args.load.repeat(),
            warmup_s: args.load.warmup,
            wrk_timeout_s: wrk::TIMEOUT_S,
            pinning: args.pin,
            quick: args.load.quick,
            logging_server: args.logging_server.clone(),
            memory: results::MEMORY.to_string(),
            cpu: results::CPU.to_string(),
        },
        summaries: stats::summarize_all(&runs),
        not_applicable: plan.not_applicable.clone(),
        problems,
        runs,
    };
    let path = results_dir.join(file.file_name());
    // The tables are made from the file as written, as a later run from the file alone would.
    let file = results::write_json(&path, &file)?;
    println!("bench: wrote {}", path.display());
    // A chapter for each of our servers measured; the reference rows
    // (nginx, bare_mio) have none.
    for server in plan::SERVERS
        .iter()
        .filter(|s| file.summaries.iter().any(|m| m.server == **s))
    {
        let page = out_dir.join(format!("{server}.md"));
        report::BENCH.update("bench", &page, &report::chapter_section(&file, server))?;
    }
    report::BENCH.update(
        "bench",
        &out_dir.join("README.md"),
        &report::comparison_section(&file),
    )
}

/// Copies the Markdown files of `from` (not its subfolders) into `to`.
fn copy_markdown(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            fs::copy(&path, to.join(entry.file_name()))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}
