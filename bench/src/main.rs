//! # bench — the harness behind `scripts/bench_all.sh`
//!
//! For each server: start it on a free port, wait until it answers, warm it
//! up, run wrk once per scenario while sampling the server's process tree in
//! /proc, stop it with SIGTERM and check that nothing of it is left. Repeats
//! are rounds (every server once, then again), so a drift in the machine's
//! speed hits every server alike. At the end the results go to a JSON file,
//! the chapters' tables and the comparison page.
//!
//! The script builds the workspace, makes sure wrk is installed and raises
//! the open-file limit, then runs this binary with its own arguments.

/// `bench capacity ...`: the idle-connections run (scripts/connections.sh).
mod capacity;
mod cli;
mod json;
mod machine;
mod plan;

mod report;
mod results;
mod server;
mod sockets;
mod stats;
mod wrk;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{self, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cli::{Options, Pinning, Stop};
use plan::{Plan, Scenario, ServerInfo};
use server::Running;
use stats::{Measured, RunResult};
use testkit::procfs;

/// Set by SIGINT/SIGTERM: the harness then stops the server it is running
/// (which lives in its own process group and did not get the signal) and exits.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn main() {
    let options = match cli::parse(env::args().skip(1)) {
        Ok(options) => options,
        Err(Stop::Help) => {
            print!("{}", cli::USAGE);
            return;
        }
        Err(Stop::Bad(message)) => {
            eprintln!("bench: {message} (see --help)");
            process::exit(2);
        }
    };
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    raise_open_file_limit();
    process::exit(run(options));
}

/// Soft limit up to the hard one: `-c1000` needs a thousand sockets in wrk
/// and as many in the server, which inherits the limit from here.
fn raise_open_file_limit() {
    let (soft, _) = raise_open_files();
    if soft < 2_100 {
        eprintln!(
            "bench: warning: the open-file limit is {soft}; c1000 needs about 1,100 in wrk and in the server"
        );
    }
}

/// Raises the soft open-file limit to the hard one (the servers started
/// from here inherit it) and returns both.
fn raise_open_files() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit with a pointer to a live local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// Where things are, found once.
struct Setup {
    bin_dir: PathBuf,
    wrk: PathBuf,
    nginx: Option<PathBuf>,
    work: PathBuf,
    lua_plain: PathBuf,
    lua_close: PathBuf,
    ticks_per_s: u64,
    cpus: usize,
}

fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn run(options: Options) -> i32 {
    let Some(wrk) = find_program("wrk", &[]) else {
        eprintln!("bench: wrk is not installed. Install it with:\n  sudo apt-get install -y wrk");
        return 1;
    };
    let bin_dir = env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let work = env::temp_dir().join(format!("bench-{}", machine::now().replace(':', "")));
    if let Err(e) = fs::create_dir_all(work.join("logs")) {
        eprintln!("bench: cannot create {}: {e}", work.display());
        return 1;
    }
    let setup = Setup {
        bin_dir,
        wrk,
        nginx: find_program("nginx", &["/usr/sbin/nginx"]),
        lua_plain: work.join("report.lua"),
        lua_close: work.join("report-close.lua"),
        work,
        ticks_per_s: procfs::ticks_per_second(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    for (path, close) in [(&setup.lua_plain, false), (&setup.lua_close, true)] {
        if let Err(e) = fs::write(path, wrk::lua_script(close)) {
            eprintln!("bench: cannot write {}: {e}", path.display());
            return 1;
        }
    }

    // The servers, and whether each has a pool to size.
    let wanted: Vec<String> = match &options.only {
        Some(names) => names.clone(),
        None => {
            let mut all: Vec<String> = plan::SERVERS.iter().map(|s| s.to_string()).collect();
            if setup.nginx.is_some() {
                all.push(plan::NGINX.to_string());
            } else {
                println!("bench: nginx is not installed; the reference row is left out");
            }
            all.push(plan::BARE_MIO.to_string());
            all
        }
    };
    let mut servers: Vec<ServerInfo> = Vec::new();
    for name in plan::SERVERS.iter().chain([&plan::NGINX, &plan::BARE_MIO]) {
        if !wanted.iter().any(|w| w == name) {
            continue;
        }
        let is_nginx = *name == plan::NGINX;
        if is_nginx && setup.nginx.is_none() {
            eprintln!(
                "bench: --only asks for nginx, which is not installed (apt-get install -y nginx-light)"
            );
            return 1;
        }
        servers.push(ServerInfo {
            name: name.to_string(),
            is_nginx,
            has_workers: !is_nginx
                && *name != plan::BARE_MIO
                && has_workers_option(&binary(&setup.bin_dir, name)),
        });
    }

    if options.measure_pinning {
        return measure_pinning(&setup, &options, &servers);
    }

    let plan = plan::build(
        &servers,
        &options.scenarios,
        options.repeat,
        &options.logging_server,
    );
    let estimate = plan::estimate_s(&plan, options.duration_s, options.warmup_s);
    println!(
        "bench: {} runs of {} s ({} round(s)), {} server starts, about {} min {} s; logs in {}",
        plan.runs(),
        options.duration_s,
        plan.rounds.len(),
        plan.starts(),
        estimate as u64 / 60,
        estimate as u64 % 60,
        setup.work.display()
    );
    if options.dry_run {
        print_plan(&plan, &servers, options.duration_s);
        return 0;
    }
    let server_cpus = apply_pinning(options.pin, setup.cpus);

    let started = Instant::now();
    let outcome = execute(&setup, &options, &plan, &servers, server_cpus);
    let passed = outcome.runs.iter().filter(|r| r.ok).count();
    let failed = outcome.runs.len() - passed + outcome.problems.len();
    println!(
        "bench: finished in {} min {} s",
        started.elapsed().as_secs() / 60,
        started.elapsed().as_secs() % 60
    );

    let code = if let Some(reason) = &outcome.aborted {
        eprintln!("bench: stopped early: {reason}; no docs were written");
        if interrupted() { 130 } else { 1 }
    } else {
        match write_outputs(&setup, &options, &plan, &outcome) {
            Ok(()) => i32::from(failed > 0),
            Err(e) => {
                eprintln!("bench: {e}");
                1
            }
        }
    };
    println!("bench: {passed} passed, {failed} failed");
    code
}

/// Where a server's binary is: bare_mio is an example of multiplexingio_server.
fn binary(bin_dir: &Path, name: &str) -> PathBuf {
    if name == plan::BARE_MIO {
        bin_dir.join("examples").join(name)
    } else {
        bin_dir.join(name)
    }
}

/// Whether a server's `--help` lists `--workers`. A binary that ignores
/// `--help` (and starts serving instead) gets 3 s and then a SIGKILL.
fn has_workers_option(binary: &Path) -> bool {
    let Ok(mut child) = Command::new(binary)
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
    child
        .wait_with_output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--workers"))
        .unwrap_or(false)
}

/// Pins the harness (and so wrk) and returns the server's CPUs.
fn apply_pinning(pin: Pinning, cpus: usize) -> Option<Vec<usize>> {
    let all: Vec<usize> = (0..cpus).collect();
    match pin {
        Pinning::Split if cpus >= 2 => {
            server::pin_self(&[0]);
            Some((1..cpus).collect())
        }
        _ => {
            server::pin_self(&all);
            Some(all)
        }
    }
}

fn print_plan(plan: &Plan, servers: &[ServerInfo], duration_s: u64) {
    if let Some(round) = plan.rounds.first() {
        println!("one round:");
        for instance in round {
            let labels: Vec<String> = instance.runs.iter().map(|r| r.label()).collect();
            println!(
                "  {} {}: {}",
                servers[instance.server].name,
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

fn start(
    setup: &Setup,
    server: &ServerInfo,
    args: &[String],
    tag: &str,
    cpus: Option<Vec<usize>>,
) -> Result<Running, String> {
    let result = if server.is_nginx {
        let nginx = setup.nginx.as_deref().unwrap_or(Path::new("nginx"));
        server::start_nginx(nginx, &setup.work.join(format!("nginx-{tag}")), cpus)
    } else {
        let log = setup
            .work
            .join("logs")
            .join(format!("{}-{tag}.log", server.name));
        server::start_ours(
            &server.name,
            &binary(&setup.bin_dir, &server.name),
            args,
            &log,
            cpus,
        )
    };
    result.map_err(|e| {
        let log = if server.is_nginx {
            setup.work.join(format!("nginx-{tag}")).join("error.log")
        } else {
            setup
                .work
                .join("logs")
                .join(format!("{}-{tag}.log", server.name))
        };
        format!(
            "{} failed to start: {e}\n--- {} ---\n{}\n---",
            server.name,
            log.display(),
            server::tail(&log, 40)
        )
    })
}

fn execute(
    setup: &Setup,
    options: &Options,
    plan: &Plan,
    servers: &[ServerInfo],
    cpus: Option<Vec<usize>>,
) -> Outcome {
    let mut outcome = Outcome {
        runs: Vec::new(),
        problems: Vec::new(),
        aborted: None,
    };
    let total = plan.runs();
    let mut done = 0;
    let mut starts = 0;
    for (r, round) in plan.rounds.iter().enumerate() {
        for instance in round {
            let server = &servers[instance.server];
            starts += 1;
            let tag = format!("r{}-{starts}", r + 1);
            let mut running = match start(setup, server, &instance.args, &tag, cpus.clone()) {
                Ok(running) => running,
                Err(e) => {
                    eprintln!("bench: {e}");
                    outcome
                        .problems
                        .push(format!("{} failed to start", server.name));
                    outcome.aborted = Some(format!("{} failed to start", server.name));
                    return outcome;
                }
            };
            warm_up(setup, &running, options.warmup_s);
            for (i, spec) in instance.runs.iter().enumerate() {
                if interrupted() {
                    let _ = server::stop(running);
                    outcome.aborted = Some("interrupted".to_string());
                    return outcome;
                }
                done += 1;
                let workload = spec.scenario.workload();
                let mut result = RunResult {
                    server: server.name.clone(),
                    scenario: spec.scenario,
                    variant: spec.variant.clone(),
                    round: r as u32 + 1,
                    server_args: instance.args.clone(),
                    command: workload.describe(options.duration_s),
                    ..RunResult::default()
                };
                match measure(setup, &running, workload, options.duration_s) {
                    Ok(m) => result.measured = Some(m),
                    Err(e) => result.failure = Some(e),
                }
                if let Some(death) = server::died(&mut running) {
                    result.failure =
                        Some(format!("{death}; log: {}", server::tail(&running.log, 3)));
                }
                result.ok = result.failure.is_none() && result.measured.is_some();
                println!("[{done}/{total}] {}", progress(&result));
                let dead = server::died(&mut running).is_some();
                outcome.runs.push(result);
                let more = i + 1 < instance.runs.len();
                if dead && more {
                    // Start it again for the remaining scenarios.
                    match start(
                        setup,
                        server,
                        &instance.args,
                        &format!("{tag}-again{i}"),
                        cpus.clone(),
                    ) {
                        Ok(again) => {
                            running = again;
                            warm_up(setup, &running, options.warmup_s);
                        }
                        Err(e) => {
                            eprintln!("bench: {e}");
                            outcome.aborted =
                                Some(format!("{} failed to start again", server.name));
                            return outcome;
                        }
                    }
                } else if more {
                    thread::sleep(Duration::from_secs_f64(plan::SETTLE_S));
                }
            }
            let dead = server::died(&mut running).is_some();
            if !dead {
                if let Err(e) = server::stop(running) {
                    println!("bench: FAILED to stop: {e}");
                    outcome.problems.push(e);
                }
            }
        }
    }
    outcome
}

/// "prefork_server c1000  41,203 req/s  p99 8.1 ms  0 errors".
fn progress(result: &RunResult) -> String {
    let label = if result.variant.is_empty() {
        result.scenario.name().to_string()
    } else {
        format!("{} {}", result.scenario.name(), result.variant)
    };
    let mut line = format!("{} {label}", result.server);
    if let Some(m) = &result.measured {
        let errors = m.report.errors;
        let errors = if errors.total == 0 {
            "0 errors".to_string()
        } else {
            format!(
                "{} errors ({})",
                report::thousands(errors.total),
                errors.describe()
            )
        };
        let waiting = if m.waiting > 0 {
            format!("  {} waiting", report::thousands(m.waiting))
        } else {
            String::new()
        };
        line += &format!(
            "  {} req/s  p99 {}  {errors}{waiting}  steal {:.1}%",
            report::rate(m.report.requests_per_s),
            report::latency(m.report.latency_us.p99 as f64),
            m.steal_pct
        );
    }
    if let Some(failure) = &result.failure {
        line += &format!("  FAILED: {failure}");
    }
    line
}

fn wrk_command(
    setup: &Setup,
    threads: u32,
    connections: u32,
    duration_s: u64,
    script: &Path,
    url: &str,
) -> Command {
    let mut cmd = Command::new(&setup.wrk);
    cmd.args(wrk::args(
        threads,
        connections,
        duration_s,
        &script.to_string_lossy(),
        url,
    ))
    .stdin(Stdio::null());
    cmd
}

/// Load before measuring: connections, threads and caches get going.
fn warm_up(setup: &Setup, running: &Running, seconds: u64) {
    if seconds == 0 {
        return;
    }
    let url = format!("http://127.0.0.1:{}/", running.port);
    let _ = wrk_command(setup, 2, 10, seconds, &setup.lua_plain, &url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// How often the tree's memory is sampled: ten times a run, 4 Hz at most.
fn sample_interval(duration_s: u64) -> Duration {
    Duration::from_millis((duration_s * 100).clamp(250, 1000))
}

/// One wrk run with the server's tree sampled around and during it.
fn measure(
    setup: &Setup,
    running: &Running,
    workload: plan::Workload,
    duration_s: u64,
) -> Result<Measured, String> {
    let url = format!("http://127.0.0.1:{}{}", running.port, workload.path);
    let script = if workload.close {
        &setup.lua_close
    } else {
        &setup.lua_plain
    };
    let mut cmd = wrk_command(
        setup,
        workload.threads,
        workload.connections,
        duration_s,
        script,
        &url,
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());

    let ticks_before = procfs::sample_tree(running.pid, false).ticks;
    let cpu_before = procfs::read_cpu_times();
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot run wrk: {e}"))?;
    let limit = Duration::from_secs(duration_s + 20);
    let interval = sample_interval(duration_s);
    let mut next_sample = started;
    let mut measured = Measured::default();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for wrk: {e}")),
        }
        if interrupted() || started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if interrupted() {
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
    let ticks_after = procfs::sample_tree(running.pid, false).ticks;
    let cpu_after = procfs::read_cpu_times();
    let output = child
        .wait_with_output()
        .map_err(|e| format!("reading wrk's output: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = wrk::parse_report(&stdout).map_err(|e| {
        let e = format!("{e:#}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr
            .lines()
            .chain(stdout.lines())
            .find(|l| !l.trim().is_empty());
        format!("{e}; wrk said: {}", said.unwrap_or("nothing"))
    })?;
    measured.report = report;
    measured.cpu_ms_per_1k = procfs::cpu_ms_per_1k(
        ticks_after.saturating_sub(ticks_before),
        setup.ticks_per_s,
        report.requests,
    );
    measured.steal_pct = procfs::steal_percent(cpu_before, cpu_after);
    Ok(measured)
}

/// Writes the results file and rewrites the marked sections.
fn write_outputs(
    setup: &Setup,
    options: &Options,
    plan: &Plan,
    outcome: &Outcome,
) -> Result<(), String> {
    let partial = options.only.is_some() || options.scenarios.len() < Scenario::ALL.len();
    let out_dir = match (&options.out, options.quick || partial) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, false) => PathBuf::from("docs"),
        (None, true) => {
            // A copy of the docs, so that rewriting them is exercised too.
            let copy = setup.work.join("docs");
            copy_markdown(Path::new("docs"), &copy)?;
            if partial && !options.quick {
                println!(
                    "bench: a partial run (--only/--scenario) leaves docs/ alone; pass --out docs to write there"
                );
            }
            copy
        }
    };
    fs::create_dir_all(out_dir.join("results"))
        .map_err(|e| format!("cannot create {}/results: {e}", out_dir.display()))?;

    let file = results::BenchFile {
        schema: 1,
        date: machine::now(),
        machine: machine::Machine::detect(Some(&setup.wrk), setup.nginx.as_deref()),
        settings: results::Settings {
            duration_s: options.duration_s,
            repeat: options.repeat,
            warmup_s: options.warmup_s,
            wrk_timeout_s: wrk::TIMEOUT_S,
            pinning: options.pin,
            quick: options.quick,
            logging_server: options.logging_server.clone(),
            memory: results::MEMORY.to_string(),
            cpu: results::CPU.to_string(),
        },
        summaries: stats::summarize_all(&outcome.runs),
        not_applicable: plan.not_applicable.clone(),
        problems: outcome.problems.clone(),
        runs: outcome.runs.clone(),
    };
    let results_path = out_dir.join("results").join(file.file_name());
    results::write_json(&results_path, &file).map_err(|e| format!("{e:#}"))?;
    println!("bench: wrote {}", results_path.display());

    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    let mut measured: Vec<&str> = Vec::new();
    for s in &file.summaries {
        // The reference rows (nginx, bare_mio) have no chapter of their own.
        if plan::SERVERS.contains(&s.server.as_str()) && !measured.contains(&s.server.as_str()) {
            measured.push(&s.server);
        }
    }
    for server in measured {
        pages.push((
            out_dir.join(format!("{server}.md")),
            report::chapter_section(&file, server),
        ));
    }
    pages.push((out_dir.join("README.md"), report::comparison_section(&file)));
    for (path, body) in pages {
        report::BENCH
            .update("bench", &path, &body)
            .map_err(|e| format!("{e:#}"))?;
    }
    Ok(())
}
/// Copies the Markdown files of `from` (not its subfolders) into `to`.
fn copy_markdown(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            let target = to.join(entry.file_name());
            fs::copy(&path, &target).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Same `seed` load, wrk pinned against not pinned, alternating, to decide
/// the default by measurement. Prints a table for docs/README.md.
fn measure_pinning(setup: &Setup, options: &Options, servers: &[ServerInfo]) -> i32 {
    let chosen: Vec<&ServerInfo> = if options.only.is_some() {
        servers.iter().collect()
    } else {
        servers
            .iter()
            .filter(|s| s.is_nginx || s.name == "simple_server")
            .collect()
    };
    let duration = options.duration_s.max(2);
    let modes = [Pinning::None, Pinning::Split];
    let mut results: Vec<(String, Pinning, Measured)> = Vec::new();
    println!(
        "bench: pinning check: seed on {} server(s), {} rounds of {} s per mode",
        chosen.len(),
        options.repeat,
        duration
    );
    for round in 1..=options.repeat {
        for server in &chosen {
            for mode in modes {
                let cpus = apply_pinning(mode, setup.cpus);
                let tag = format!("pin{round}-{}", mode.name());
                let mut running = match start(setup, server, &[], &tag, cpus) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("bench: {e}");
                        return 1;
                    }
                };
                warm_up(setup, &running, options.warmup_s);
                let m = measure(setup, &running, Scenario::Seed.workload(), duration);
                if server::died(&mut running).is_none() {
                    let _ = server::stop(running);
                }
                match m {
                    Ok(m) => {
                        println!(
                            "  round {round} {} pin={}: {} req/s, CPU {} per 1k, steal {:.1}%",
                            server.name,
                            mode.name(),
                            report::rate(m.report.requests_per_s),
                            report::cpu(m.cpu_ms_per_1k.unwrap_or(0.0)),
                            m.steal_pct
                        );
                        results.push((server.name.clone(), mode, m));
                    }
                    Err(e) => println!(
                        "  round {round} {} pin={}: FAILED: {e}",
                        server.name,
                        mode.name()
                    ),
                }
                if interrupted() {
                    return 130;
                }
            }
        }
    }
    apply_pinning(Pinning::None, setup.cpus);
    println!(
        "\n| server | wrk pinning | req/s (median ± spread) | CPU per 1k req | steal |\n|---|---|--:|--:|--:|"
    );
    for server in &chosen {
        for mode in modes {
            let of: Vec<&Measured> = results
                .iter()
                .filter(|(s, m, _)| *s == server.name && *m == mode)
                .map(|(_, _, m)| m)
                .collect();
            let rps: Vec<f64> = of.iter().map(|m| m.report.requests_per_s).collect();
            let cpu: Vec<f64> = of.iter().filter_map(|m| m.cpu_ms_per_1k).collect();
            let steal: Vec<f64> = of.iter().map(|m| m.steal_pct).collect();
            let mode_text = match mode {
                Pinning::None => "none (scheduler's choice)",
                Pinning::Split => "wrk -t2 on CPU 0, server on CPU 1",
            };
            println!(
                "| {} | {mode_text} | {} ±{:.0}% | {} | {:.1}% |",
                server.name,
                stats::median(&rps).map_or("–".to_string(), report::rate),
                stats::spread_pct(&rps).unwrap_or(0.0),
                stats::median(&cpu).map_or("–".to_string(), report::cpu),
                stats::median(&steal).unwrap_or(0.0)
            );
        }
    }
    0
}
