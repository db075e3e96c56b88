//! # `bench capacity` — how many idle connections each server can hold
//!
//! wrk measures busy connections; real servers mostly hold idle ones. For
//! each server and each step (1,000, 5,000, … connections) this mode starts
//! the server afresh with its idle and header timeouts raised out of the way,
//! samples its process tree once before any client comes (the baseline),
//! runs `connhold` to open the step's connections and hold them, samples the
//! tree again while they are held, and stops the server. A server's run
//! ends at its first failing step, and the reason is recorded: what the
//! clients saw (refused, timed out, never answered, closed) and what the
//! server logged (EMFILE, no thread or process could be started).
//!
//! One `connhold` process can hold just under its open-file limit (20,000
//! here, which cannot be raised), so a step is split over several clients
//! when it is larger than `--per-client`.
//!
//! The results go to `docs/results/connections.json`, the marked section of
//! `docs/connections.md` and one line in each chapter (`docs/<server>.md`).

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::CapacityArgs;
use crate::json::Json;
use crate::stop_requested;
use crate::{machine, plan, report, server};
use testkit::procfs;

/// The raised timeouts: idle connections must outlive the measurement.
const SERVER_ARGS: [&str; 4] = ["--idle-timeout", "3600", "--header-timeout", "3600"];
/// Fewer connections held than this give no per-connection figure: the
/// growth would be lost in the noise of the machine.
const MIN_HELD: usize = 100;
/// How many times the tree is sampled while the connections are held; the
/// largest PSS is kept.
const HELD_SAMPLES: usize = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub steps: Vec<usize>,
    pub only: Option<Vec<String>>,
    pub hold_s: u64,
    pub rate: f64,
    pub timeout_s: u64,
    pub per_client: usize,
    pub min_available_gib: f64,
    pub quick: bool,
    pub out: Option<String>,
}

/// One look at the server's tree and at the machine's sockets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub pss_kib: u64,
    pub rss_kib: u64,
    pub threads: u64,
    pub processes: u64,
    /// Memory mappings of the process with the most (see `vm.max_map_count`).
    pub max_maps: u64,
    pub sockets: procfs::TcpSockets,
    /// The machine's `Slab:` (kernel objects, sockets among them), KiB.
    pub slab_kib: u64,
    /// The machine's `KernelStack:` plus `PageTables:`, KiB: what each
    /// thread (a kernel stack) and process (page tables) costs the kernel
    /// outside the slab.
    pub tasks_kib: u64,
}

fn sample(pid: u32) -> Sample {
    let members = procfs::tree(&procfs::read_all_stats(), pid);
    let tree = procfs::sample_tree(pid, true);
    Sample {
        pss_kib: tree.memory.pss_kib,
        rss_kib: tree.memory.rss_kib,
        threads: members
            .iter()
            .filter(|s| s.state != 'Z')
            .map(|s| procfs::read_threads(s.pid))
            .sum(),
        processes: tree.processes as u64,
        max_maps: members
            .iter()
            .filter(|s| s.state != 'Z')
            .map(|s| procfs::read_map_count(s.pid))
            .max()
            .unwrap_or(0),
        sockets: procfs::read_sockstat(),
        slab_kib: procfs::read_meminfo("Slab").unwrap_or(0),
        tasks_kib: procfs::read_meminfo("KernelStack").unwrap_or(0)
            + procfs::read_meminfo("PageTables").unwrap_or(0),
    }
}

impl Sample {
    fn json(&self) -> Json {
        Json::obj()
            .field("pss_kib", self.pss_kib)
            .field("rss_kib", self.rss_kib)
            .field("threads", self.threads)
            .field("processes", self.processes)
            .field("max_maps", self.max_maps)
            .field("tcp_inuse", self.sockets.inuse)
            .field("tcp_mem_kib", self.sockets.mem_pages * procfs::page_kib())
            .field("slab_kib", self.slab_kib)
            .field("kernel_stack_and_page_tables_kib", self.tasks_kib)
    }
}

/// One step of one server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    pub target: usize,
    pub held: usize,
    pub ramp_s: f64,
    pub baseline: Sample,
    /// The tree while the connections were held (largest PSS of a few looks).
    pub loaded: Option<Sample>,
    pub probes: usize,
    pub probe_ms: Option<(f64, f64, f64)>,
    /// What went wrong, by kind, summed over the clients.
    pub failures: BTreeMap<String, u64>,
    pub probe_failures: BTreeMap<String, u64>,
    /// Why the step failed; `None` when it passed.
    pub reason: Option<String>,
    /// The last lines of the server's log, kept when the step failed.
    pub log_tail: Option<String>,
}

impl Step {
    pub fn passed(&self) -> bool {
        self.reason.is_none()
    }

    /// (PSS held − PSS before any client) / connections held; none when too
    /// few were held for the growth to stand out from the noise.
    pub fn kib_per_connection(&self) -> Option<f64> {
        let loaded = self.loaded?;
        (self.held >= MIN_HELD)
            .then(|| (loaded.pss_kib as f64 - self.baseline.pss_kib as f64) / self.held as f64)
    }

    /// The growth of the kernel's memory per connection held: TCP
    /// buffers, slab, and kernel stacks plus page tables. Both ends of a
    /// loopback connection are on this machine, so the first two cover two
    /// sockets.
    pub fn kernel_kib_per_connection(&self) -> Option<(f64, f64, f64)> {
        let loaded = self.loaded?;
        // Only a step that held all its connections: in a failed one the
        // kernel also holds the sockets that waited, unanswered, in a queue.
        if self.held < MIN_HELD || !self.passed() {
            return None;
        }
        let page = procfs::page_kib() as f64;
        let growth = |held: u64, before: u64| (held as f64 - before as f64) / self.held as f64;
        Some((
            growth(loaded.sockets.mem_pages, self.baseline.sockets.mem_pages) * page,
            growth(loaded.slab_kib, self.baseline.slab_kib),
            growth(loaded.tasks_kib, self.baseline.tasks_kib),
        ))
    }

    fn json(&self) -> Json {
        let counts = |map: &BTreeMap<String, u64>| {
            Json::Obj(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from(*v)))
                    .collect(),
            )
        };
        let kernel = self.kernel_kib_per_connection();
        Json::obj()
            .field("connections", self.target)
            .field("held", self.held)
            .field("passed", self.passed())
            .field("reason", self.reason.clone())
            .field("ramp_s", self.ramp_s)
            .field("baseline", self.baseline.json())
            .field("held_sample", self.loaded.map(|s| s.json()))
            .field("kib_per_connection", self.kib_per_connection())
            .field("kernel_tcp_mem_kib_per_connection", kernel.map(|k| k.0))
            .field("kernel_slab_kib_per_connection", kernel.map(|k| k.1))
            .field(
                "kernel_stack_and_page_tables_kib_per_connection",
                kernel.map(|k| k.2),
            )
            .field("probes", self.probes)
            .field(
                "probe_ms",
                self.probe_ms.map(|(p50, p99, max)| {
                    Json::obj()
                        .field("p50", p50)
                        .field("p99", p99)
                        .field("max", max)
                }),
            )
            .field("failures", counts(&self.failures))
            .field("probe_failures", counts(&self.probe_failures))
            .field("server_log_tail", self.log_tail.clone())
    }
}

/// Everything measured of one server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerRun {
    pub name: String,
    /// The server's own open-file soft limit, from /proc/PID/limits.
    pub open_files: Option<u64>,
    pub steps: Vec<Step>,
    /// A problem of the harness or of the server's start or stop.
    pub error: Option<String>,
}

impl ServerRun {
    /// The largest step that passed.
    pub fn best(&self) -> Option<&Step> {
        self.steps.iter().rev().find(|s| s.passed())
    }

    pub fn first_failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.passed())
    }
}

/// The `Max open files` soft limit of `/proc/PID/limits`.
pub fn parse_open_files_limit(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Splits `total` connections over as few clients as hold at most
/// `per_client` each, as evenly as possible.
pub fn split(total: usize, per_client: usize) -> Vec<usize> {
    let clients = total.div_ceil(per_client.max(1)).max(1);
    (0..clients)
        .map(|i| total / clients + usize::from(i < total % clients))
        .collect()
}

/// What one kind of failure means, in words for the table.
fn meaning(kind: &str) -> &'static str {
    match kind {
        "timeout: no answer" => "connected, but left unanswered in the accept queue",
        "timeout: connect" => "connect timed out (the accept queue is full)",
        "answered with Connection: close" => "the server closes every connection after answering",
        "closed by the server while held" => "closed while idle",
        "closed before answering" => "closed before answering",
        "local: EMFILE" => "the client ran out of file descriptors",
        "local: EADDRNOTAVAIL" => "the client ran out of source ports",
        k if k.contains("ECONNREFUSED") => "refused",
        k if k.contains("ECONNRESET") => "reset by the server",
        "status 503" => "503: turned away (no worker, queue slot, thread or process free)",
        _ => "",
    }
}

/// What the server's log says about a failure, if anything.
fn log_hints(log: &str) -> Vec<&'static str> {
    let mut hints = Vec::new();
    if log.contains("Too many open files") {
        hints.push("EMFILE in the server (its open-file limit)");
    }
    if log.contains("Resource temporarily unavailable") {
        hints.push("EAGAIN in the server (thread or process limit)");
    }
    if log.contains("stack guard page: Cannot allocate memory") {
        // Each thread maps a stack, its guard page and a signal stack with
        // its own guard: vm.max_map_count runs out before memory does.
        hints.push("ENOMEM mapping a new thread's stacks (vm.max_map_count)");
    } else if log.contains("Cannot allocate memory") {
        hints.push("ENOMEM in the server");
    }
    hints
}

/// One sentence on why a step failed: what stopped it first (the server's
/// death, the harness's own guard), then the server's log, then the two
/// commonest failures the clients saw.
pub fn why(step: &Step, log: &str, stopped: Option<&str>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(stopped) = stopped {
        parts.push(stopped.to_string());
    }
    parts.extend(log_hints(log).into_iter().map(str::to_string));
    let mut kinds: Vec<(&String, &u64)> = step.failures.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (kind, count) in kinds.into_iter().take(2) {
        let means = meaning(kind);
        parts.push(if means.is_empty() {
            format!("{} × {kind}", report::thousands(*count))
        } else {
            format!("{} × {kind}: {means}", report::thousands(*count))
        });
    }
    if step.held < step.target && step.failures.is_empty() && stopped.is_none() {
        parts.push(format!(
            "{} of {} connections lost",
            step.target - step.held,
            step.target
        ));
    }
    if let Some((kind, count)) = step.probe_failures.iter().max_by_key(|(_, c)| **c) {
        parts.push(format!(
            "{} failed probe(s): {kind}",
            report::thousands(*count)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What the server said besides its start-up line: the first lines (where a
/// panic names its cause) and the last, for the results file.
pub fn log_excerpt(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("http://") && !l.trim().is_empty())
        .collect();
    match lines.len() {
        0 => None,
        n if n <= 8 => Some(lines.join("\n")),
        n => Some(format!(
            "{}\n[... {} lines ...]\n{}",
            lines[..5].join("\n"),
            n - 8,
            lines[n - 3..].join("\n")
        )),
    }
}

/// Where things are.
struct Setup {
    bin_dir: PathBuf,
    work: PathBuf,
}

pub fn run(args: &CapacityArgs, limit: common::limits::OpenFiles) -> anyhow::Result<bool> {
    let options = Options {
        steps: args.steps().into_iter().map(|s| s as usize).collect(),
        only: (!args.only.is_empty()).then(|| args.only.clone()),
        hold_s: args.hold_s(),
        rate: args.rate,
        timeout_s: args.timeout,
        per_client: args.per_client as usize,
        min_available_gib: args.min_available_gib,
        quick: args.quick,
        out: args.out.as_ref().map(|p| p.display().to_string()),
    };
    let (soft, hard) = (limit.soft, limit.hard);
    let Some(bin_dir) = env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    else {
        anyhow::bail!("cannot find my own directory");
    };
    if !bin_dir.join("connhold").is_file() {
        anyhow::bail!(
            "{} is missing; build with `cargo build --release --workspace`",
            bin_dir.join("connhold").display()
        );
    }
    let work = env::temp_dir().join(format!("bench-capacity-{}", std::process::id()));
    if let Err(err) = fs::create_dir_all(&work) {
        anyhow::bail!("cannot create {}: {err}", work.display());
    }
    let setup = Setup { bin_dir, work };
    let servers: Vec<String> = match &options.only {
        Some(names) => names.clone(),
        None => plan::SERVERS.iter().map(|s| s.to_string()).collect(),
    };
    println!(
        "capacity: {} server(s), steps {:?}, {} connections/s, {} s holds (open-file limit {soft}, hard {hard})",
        servers.len(),
        options.steps,
        options.rate,
        options.hold_s
    );
    let mut runs = Vec::new();
    for name in &servers {
        if stop_requested() {
            break;
        }
        runs.push(run_server(name, &options, &setup));
    }
    let passed = runs
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| s.passed())
        .count();
    let failed = runs
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| !s.passed())
        .count();
    let errors: Vec<String> = runs
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.name)))
        .collect();
    // An interrupted run is incomplete: it leaves the docs as they were.
    let written = if stop_requested() {
        eprintln!("bench capacity: interrupted; nothing written");
        Ok(())
    } else {
        write_results(&options, &runs)
    };
    let code = match written {
        Ok(()) if errors.is_empty() && !stop_requested() => true,
        Ok(()) => false,
        Err(err) => {
            eprintln!("bench capacity: {err}");
            false
        }
    };
    for error in &errors {
        eprintln!("bench capacity: {error}");
    }
    let _ = fs::remove_dir_all(&setup.work);
    println!("capacity: {passed} passed, {failed} failed");
    Ok(code)
}

fn mem_available_gib() -> f64 {
    procfs::read_meminfo("MemAvailable").map_or(f64::INFINITY, |kib| kib as f64 / 1024.0 / 1024.0)
}

/// Every step of one server, until the first that fails.
fn run_server(name: &str, options: &Options, setup: &Setup) -> ServerRun {
    let mut run = ServerRun {
        name: name.to_string(),
        ..ServerRun::default()
    };
    println!("\n== {name}");
    for &target in &options.steps {
        if stop_requested() {
            run.error = Some("interrupted".to_string());
            break;
        }
        let log = setup.work.join(format!("{name}-{target}.log"));
        let args: Vec<String> = SERVER_ARGS.iter().map(|s| s.to_string()).collect();
        let mut running =
            match server::start_ours(name, &setup.bin_dir.join(name), &args, &log, None) {
                Ok(running) => running,
                Err(err) => {
                    run.error = Some(err);
                    break;
                }
            };
        run.open_files = fs::read_to_string(format!("/proc/{}/limits", running.pid))
            .ok()
            .and_then(|t| parse_open_files_limit(&t));
        let step = run_step(&mut running, target, options, setup);
        // A server that died during the step has its death in the step's
        // reason already; stopping it can only fail again.
        let died = server::died(&mut running).is_some();
        let stopped = server::stop(running);
        let failed = !step.passed();
        print_step(&step);
        run.steps.push(step);
        if let Err(err) = stopped
            && !died
        {
            run.error = Some(err);
            break;
        }
        if failed {
            break;
        }
    }
    run
}

fn print_step(step: &Step) {
    let kib = step
        .kib_per_connection()
        .map_or("-".to_string(), |k| format!("{k:.2}"));
    let loaded = step.loaded.unwrap_or_default();
    println!(
        "   step {}: held {}, PSS {} → {} KiB ({kib} KiB/connection), {} threads, {} processes{}",
        step.target,
        step.held,
        step.baseline.pss_kib,
        loaded.pss_kib,
        loaded.threads,
        loaded.processes,
        step.reason
            .as_ref()
            .map_or(String::new(), |r| format!("; FAILED: {r}"))
    );
}

/// One step: baseline, clients, samples while held, and the verdict.
fn run_step(
    running: &mut server::Running,
    target: usize,
    options: &Options,
    setup: &Setup,
) -> Step {
    let mut step = Step {
        target,
        ..Step::default()
    };
    let available = mem_available_gib();
    if available < options.min_available_gib {
        step.reason = Some(format!(
            "not started: the machine has {available:.1} GiB available, below {} GiB",
            options.min_available_gib
        ));
        return step;
    }
    // Let the server settle after its start-up request before the baseline.
    thread::sleep(Duration::from_millis(300));
    step.baseline = sample(running.pid);

    let shares = split(target, options.per_client);
    let rate = options.rate / shares.len() as f64;
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let mut clients: Vec<Child> = Vec::new();
    let mut stopped: Option<String> = None;
    for (i, &share) in shares.iter().enumerate() {
        let mut command = Command::new(setup.bin_dir.join("connhold"));
        command
            .arg("--addr")
            .arg(format!("127.0.0.1:{}", running.port))
            .args(["--connections", &share.to_string()])
            .args(["--rate", &format!("{rate}")])
            .args(["--hold", &options.hold_s.to_string()])
            .args(["--timeout", &options.timeout_s.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        // One client probes; more would only probe each other's load.
        if i > 0 {
            command.arg("--no-probe");
        }
        match command.spawn() {
            Ok(mut child) => {
                let out = child.stdout.take();
                let tx = tx.clone();
                thread::spawn(move || {
                    let Some(out) = out else { return };
                    for line in BufReader::new(out).lines().map_while(Result::ok) {
                        if tx.send((i, line)).is_err() {
                            break;
                        }
                    }
                });
                clients.push(child);
            }
            Err(err) => {
                stopped = Some(format!("cannot run connhold: {err}"));
                break;
            }
        }
    }
    drop(tx);

    // Bounded: the ramp, the per-connection timeout, the hold, and a margin.
    let deadline = Instant::now()
        + Duration::from_secs_f64(target as f64 / options.rate)
        + Duration::from_secs(options.timeout_s + options.hold_s + 30);
    let mut ramp_done = vec![false; clients.len()];
    // The last `Made N connections` of each client: how far it got, should
    // it never report a result (the server died, the step was stopped).
    let mut progress = vec![0usize; clients.len()];
    let mut results: Vec<Option<connhold::Report>> = vec![None; clients.len()];
    let mut next_sample: Option<Instant> = None;
    let mut samples = 0;
    let mut last_memory_check = Instant::now();
    while stopped.is_none() {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((i, line)) => {
                let prefix = if clients.len() > 1 {
                    format!("   [client {}] ", i + 1)
                } else {
                    "   ".to_string()
                };
                if let Some((made, over)) = connhold::parse_made(&line) {
                    progress[i] = made;
                    ramp_done[i] |= over;
                }
                if line.starts_with(connhold::RESULT_PREFIX) {
                    match connhold::Report::parse_line(&line) {
                        Ok(result) => results[i] = Some(result),
                        Err(err) => stopped = Some(format!("{err:#}")),
                    }
                } else {
                    println!("{prefix}{line}");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every client has closed its output: they are done.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if next_sample.is_none() && ramp_done.iter().all(|d| *d) && !ramp_done.is_empty() {
            next_sample = Some(now + Duration::from_secs(1));
        }
        // Sample only while every client still holds (none has reported).
        if let Some(at) = next_sample
            && now >= at
            && samples < HELD_SAMPLES
            && results.iter().all(Option::is_none)
        {
            let look = sample(running.pid);
            if step.loaded.is_none_or(|s| look.pss_kib > s.pss_kib) {
                step.loaded = Some(look);
            }
            samples += 1;
            next_sample = Some(now + Duration::from_secs(1));
        }
        if let Some(died) = server::died(running) {
            stopped = Some(died);
        } else if now > deadline {
            stopped = Some("the clients did not finish in time".to_string());
        } else if last_memory_check.elapsed() >= Duration::from_secs(1) {
            last_memory_check = now;
            let available = mem_available_gib();
            if available < options.min_available_gib {
                stopped = Some(format!(
                    "stopped: the machine's available memory fell to {available:.1} GiB"
                ));
            }
        }
        if stop_requested() {
            stopped = Some("interrupted".to_string());
        }
    }
    end_clients(&mut clients, stopped.is_some());

    for result in results.iter().flatten() {
        step.held += result.held;
        step.ramp_s = step.ramp_s.max(result.ramp_s);
        for (kind, count) in &result.failures {
            *step.failures.entry(kind.clone()).or_default() += count;
        }
        for (kind, count) in &result.probe_failures {
            *step.probe_failures.entry(kind.clone()).or_default() += count;
        }
        if result.probes > 0 {
            step.probes = result.probes;
            let p = result.probe_ms;
            step.probe_ms = p
                .p50
                .zip(p.p99)
                .zip(p.max)
                .map(|((p50, p99), max)| (p50, p99, max));
        }
    }
    for (result, made) in results.iter().zip(&progress) {
        if result.is_none() {
            step.held += made;
        }
    }
    if stopped.is_none() && results.iter().any(Option::is_none) {
        stopped = Some("a connhold process ended without its result".to_string());
    }
    let complete = step.held == target && step.probe_failures.is_empty() && stopped.is_none();
    if !complete {
        let log = fs::read_to_string(&running.log).unwrap_or_default();
        step.reason = why(&step, &log, stopped.as_deref())
            .or_else(|| Some("failed for no reason it could name".to_string()));
        step.log_tail = log_excerpt(&log);
    }
    step
}

/// Waits for the clients to exit (they abort their connections as they go),
/// killing them when they are late or the step was stopped.
fn end_clients(clients: &mut [Child], kill: bool) {
    if kill {
        for child in clients.iter_mut() {
            let _ = child.kill();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for child in clients.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// The system limits that decide how many connections a process can hold,
/// as read now: (name, value).
pub fn read_limits() -> Vec<(&'static str, String)> {
    let sysctl = |path: &str| {
        fs::read_to_string(format!("/proc/sys/{path}")).map_or_else(
            |_| "?".to_string(),
            |t| t.split_whitespace().collect::<Vec<_>>().join(" "),
        )
    };
    let rlimit = |resource| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit with a pointer to a live local.
        unsafe { libc::getrlimit(resource, &mut limit) };
        let show = |v: libc::rlim_t| {
            if v == libc::RLIM_INFINITY {
                "unlimited".to_string()
            } else {
                v.to_string()
            }
        };
        format!("{} / {}", show(limit.rlim_cur), show(limit.rlim_max))
    };
    let stack = {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) };
        if limit.rlim_cur == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            format!("{} KiB", limit.rlim_cur / 1024)
        }
    };
    vec![
        ("ulimit -n (soft / hard)", rlimit(libc::RLIMIT_NOFILE)),
        ("fs.nr_open", sysctl("fs/nr_open")),
        ("fs.file-max", sysctl("fs/file-max")),
        ("net.core.somaxconn", sysctl("net/core/somaxconn")),
        (
            "net.ipv4.ip_local_port_range",
            sysctl("net/ipv4/ip_local_port_range"),
        ),
        ("net.ipv4.tcp_mem (pages)", sysctl("net/ipv4/tcp_mem")),
        ("kernel.threads-max", sysctl("kernel/threads-max")),
        ("kernel.pid_max", sysctl("kernel/pid_max")),
        ("ulimit -u (soft / hard)", rlimit(libc::RLIMIT_NPROC)),
        ("vm.max_map_count", sysctl("vm/max_map_count")),
        ("ulimit -s", stack),
    ]
}

fn results_json(
    options: &Options,
    runs: &[ServerRun],
    machine: &machine::Machine,
    date: &str,
) -> Json {
    let steps: Vec<Json> = options.steps.iter().map(|s| Json::from(*s)).collect();
    let limits = read_limits()
        .into_iter()
        .fold(Json::obj(), |obj, (k, v)| obj.field(k, v));
    let servers: Vec<Json> = runs
        .iter()
        .map(|run| {
            Json::obj()
                .field("server", run.name.as_str())
                .field("open_files", run.open_files)
                .field("error", run.error.clone())
                .field(
                    "steps",
                    Json::Arr(run.steps.iter().map(Step::json).collect()),
                )
        })
        .collect();
    Json::obj()
        .field(
            "machine",
            Json::obj()
                .field("cpu", machine.cpu_model.as_str())
                .field("cores", machine.cores)
                .field("kernel", machine.kernel.as_str())
                .field("rustc", machine.rustc.as_str())
                .field("date", date),
        )
        .field(
            "settings",
            Json::obj()
                .field("steps", Json::Arr(steps))
                .field("rate", options.rate)
                .field("hold_s", options.hold_s)
                .field("timeout_s", options.timeout_s)
                .field("per_client", options.per_client)
                .field("server_args", SERVER_ARGS.join(" ")),
        )
        .field("limits", limits)
        .field("servers", Json::Arr(servers))
}

fn write_results(options: &Options, runs: &[ServerRun]) -> Result<(), String> {
    let machine = machine::Machine::detect(None, None);
    let date = machine::now();
    let out = match (&options.out, options.quick) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, true) => {
            env::temp_dir().join(format!("bench-capacity-quick-{}", std::process::id()))
        }
        (None, false) => PathBuf::from("docs"),
    };
    let results = out.join("results");
    fs::create_dir_all(&results)
        .map_err(|e| format!("cannot create {}: {e}", results.display()))?;
    let json_path = results.join("connections.json");
    fs::write(
        &json_path,
        results_json(options, runs, &machine, &date).pretty(),
    )
    .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    println!("\ncapacity: wrote {}", json_path.display());

    let machine_line = format!(
        "{} ({} cores), Linux {}, {}, {}",
        machine.cpu_model, machine.cores, machine.kernel, machine.rustc, date
    );
    let section = connections_section(options, runs, &machine_line, &read_limits());
    let page = out.join("connections.md");
    let text = match fs::read_to_string(&page) {
        Ok(text) => text,
        // A first run, or a quick run in a fresh folder: a bare page.
        Err(_) => format!("# Idle connections\n\n{START}\n{END}\n"),
    };
    let new = rewrite_marked(&text, &section).map_err(|e| format!("{}: {e}", page.display()))?;
    fs::write(&page, new).map_err(|e| format!("cannot write {}: {e}", page.display()))?;
    println!("capacity: wrote {}", page.display());

    for run in runs {
        let chapter = out.join(format!("{}.md", run.name));
        let Ok(text) = fs::read_to_string(&chapter) else {
            continue;
        };
        match rewrite_marked(&text, &chapter_line(run)) {
            Ok(new) => {
                fs::write(&chapter, new)
                    .map_err(|e| format!("cannot write {}: {e}", chapter.display()))?;
                println!("capacity: wrote {}", chapter.display());
            }
            Err(err) => eprintln!("capacity: {} not updated: {err}", chapter.display()),
        }
    }
    Ok(())
}

pub const START: &str = "<!-- connections:start -->";
pub const END: &str = "<!-- connections:end -->";

/// Replaces what lies between the connections markers, keeping the markers
/// and everything outside them byte for byte.
pub fn rewrite_marked(doc: &str, body: &str) -> Result<String, String> {
    report::CONNECTIONS
        .rewrite(doc, body)
        .map_err(|e| e.to_string())
}

fn kib_cell(kib: Option<f64>) -> String {
    match kib {
        Some(k) if k.is_finite() => format!("{k:.2}"),
        _ => "–".to_string(),
    }
}

fn probe_cell(step: &Step) -> String {
    match step.probe_ms {
        Some((p50, p99, max)) => format!("{p50:.2} / {p99:.2} / {max:.2} ms"),
        None => "–".to_string(),
    }
}

pub const SUMMARY_HEADER: &str = "\
| Server | Held | Server PSS (RSS) | KiB per connection | Threads | Processes | Probe p50 / p99 / max | Kernel KiB per connection | Stopped by |
|---|---:|---:|---:|---:|---:|---|---:|---|";

/// One server's line of the summary table: its largest passing step (or,
/// when none passed, how far the failing one got), and why the first
/// failing step failed.
pub fn summary_row(run: &ServerRun) -> String {
    let stopped = match (run.first_failure(), &run.error) {
        (Some(step), _) => format!(
            "{} connections: {}",
            report::thousands(step.target as u64),
            step.reason.as_deref().unwrap_or("?")
        ),
        (None, Some(err)) => err.clone(),
        (None, None) => "nothing: every step passed".to_string(),
    };
    let shown = run.best().or_else(|| run.first_failure());
    match shown.and_then(|step| Some((step, step.loaded?))) {
        Some((step, loaded)) => {
            let held = if step.passed() {
                report::thousands(step.held as u64)
            } else {
                format!(
                    "{} of {}",
                    report::thousands(step.held as u64),
                    report::thousands(step.target as u64)
                )
            };
            format!(
                "| {} | {held} | {} ({}) | {} | {} | {} | {} | {} | {} |",
                run.name,
                report::memory(loaded.pss_kib),
                report::memory(loaded.rss_kib),
                kib_cell(step.kib_per_connection()),
                loaded.threads,
                loaded.processes,
                probe_cell(step),
                kernel_cell(step),
                stopped.replace('|', "/")
            )
        }
        None => format!(
            "| {} | 0 | – | – | – | – | – | – | {} |",
            run.name,
            stopped.replace('|', "/")
        ),
    }
}

/// The kernel's side of one connection: TCP buffers + slab + kernel
/// stacks and page tables.
fn kernel_cell(step: &Step) -> String {
    step.kernel_kib_per_connection()
        .map_or("–".to_string(), |(tcp, slab, tasks)| {
            format!("{tcp:.1} + {slab:.1} + {tasks:.1}")
        })
}

/// What goes between the markers of a chapter.
pub fn chapter_line(run: &ServerRun) -> String {
    format!(
        "{SUMMARY_HEADER}\n{}\n\nThe most idle keep-alive connections this server held, and what they cost; \
         every step and the limits behind them are in [Idle connections](connections.md).",
        summary_row(run)
    )
}

/// The generated part of docs/connections.md.
pub fn connections_section(
    options: &Options,
    runs: &[ServerRun],
    machine_line: &str,
    limits: &[(&str, String)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured on {machine_line} by `scripts/connections.sh`: steps of {} connections opened at {}/s \
         from 127.0.0.2 and up, each step held {} s against a freshly started server \
         (`{}`). Memory is PSS summed over the server's process tree; KiB per connection is \
         (PSS held − PSS before any client) / connections held. Kernel KiB per connection is the growth \
         of TCP buffer memory (`mem` of `/proc/net/sockstat`) + the kernel's slab (`Slab:` of \
         `/proc/meminfo`) + kernel stacks and page tables (`KernelStack:` and `PageTables:`), per \
         connection held: the whole machine's, so both ends of every loopback connection, and \
         anything else the machine did meanwhile.\n",
        options
            .steps
            .iter()
            .map(|s| report::thousands(*s as u64))
            .collect::<Vec<_>>()
            .join(", "),
        options.rate,
        options.hold_s,
        SERVER_ARGS.join(" ")
    );
    let _ = writeln!(out, "{SUMMARY_HEADER}");
    for run in runs {
        let _ = writeln!(out, "{}", summary_row(run));
    }
    out.push('\n');
    out.push_str(&plot(runs));
    out.push('\n');
    let _ = writeln!(
        out,
        "Every step (a server stops at its first failing step):\n\n\
         | Server | Step | Held | PSS before → held | RSS held | KiB per connection | Threads | Processes | Maps | Probe p50 / p99 / max | Kernel KiB per connection | Result |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"
    );
    for run in runs {
        for step in &run.steps {
            let loaded = step.loaded;
            let kernel = kernel_cell(step);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} → {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                run.name,
                report::thousands(step.target as u64),
                report::thousands(step.held as u64),
                report::memory(step.baseline.pss_kib),
                loaded.map_or("–".to_string(), |s| report::memory(s.pss_kib)),
                loaded.map_or("–".to_string(), |s| report::memory(s.rss_kib)),
                kib_cell(step.kib_per_connection()),
                loaded.map_or("–".to_string(), |s| s.threads.to_string()),
                loaded.map_or("–".to_string(), |s| s.processes.to_string()),
                loaded.map_or("–".to_string(), |s| s.max_maps.to_string()),
                probe_cell(step),
                kernel,
                step.reason
                    .as_deref()
                    .map_or("passed".to_string(), |r| format!(
                        "**failed**: {}",
                        r.replace('|', "/")
                    ))
            );
        }
        if let Some(err) = &run.error {
            let _ = writeln!(
                out,
                "| {} | | | | | | | | | | | error: {} |",
                run.name,
                err.replace('|', "/")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nThe limits as they were during this run:\n\n| Limit | Value |\n|---|---|"
    );
    for (name, value) in limits {
        let _ = writeln!(out, "| `{name}` | {value} |");
    }
    out
}

/// One server's points in the chart: (connections held, PSS in MiB).
type Series<'a> = (char, &'a str, Vec<(f64, f64)>);

/// A text chart of server memory (PSS, MiB, on a log scale) against the
/// connections held, one letter per server. Plain text, so that it reads
/// the same in a terminal, in a diff and on GitHub.
pub fn plot(runs: &[ServerRun]) -> String {
    const WIDTH: usize = 64;
    const ROWS_PER_DECADE: usize = 4;
    let letters = "abcdefghijklmnopqrstuvwxyz";
    let mut series: Vec<Series> = Vec::new();
    for (run, letter) in runs.iter().zip(letters.chars()) {
        let points: Vec<(f64, f64)> = run
            .steps
            .iter()
            .filter_map(|s| {
                let loaded = s.loaded?;
                (s.held > 0 && loaded.pss_kib > 0)
                    .then(|| (s.held as f64, loaded.pss_kib as f64 / 1024.0))
            })
            .collect();
        series.push((letter, run.name.as_str(), points));
    }
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
    if all.is_empty() {
        return "(nothing to chart: no step held any connection)\n".to_string();
    }
    let x_max = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let low = all
        .iter()
        .map(|p| p.1.log10())
        .fold(f64::INFINITY, f64::min)
        .floor();
    let high = all
        .iter()
        .map(|p| p.1.log10())
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .max(low + 1.0);
    let rows = ((high - low) as usize) * ROWS_PER_DECADE + 1;
    let mut grid = vec![vec![' '; WIDTH + 1]; rows];
    for (letter, _, points) in &series {
        for &(x, mib) in points {
            let col = ((x / x_max) * WIDTH as f64).round() as usize;
            let row = ((high - mib.log10()) * ROWS_PER_DECADE as f64).round() as usize;
            let cell = &mut grid[row.min(rows - 1)][col.min(WIDTH)];
            *cell = if *cell == ' ' || *cell == *letter {
                *letter
            } else {
                '*'
            };
        }
    }
    let mut out =
        String::from("```text\nServer PSS (MiB, log scale) against idle connections held\n\n");
    for (i, row) in grid.iter().enumerate() {
        let label = if i % ROWS_PER_DECADE == 0 {
            let mib = 10f64.powf(high - (i / ROWS_PER_DECADE) as f64);
            if mib >= 1.0 {
                format!("{mib:.0}")
            } else {
                format!("{mib}")
            }
        } else {
            String::new()
        };
        let line: String = row.iter().collect();
        let _ = writeln!(out, "{label:>8} |{}", line.trim_end());
    }
    let _ = writeln!(out, "{:>8} +{}", "", "-".repeat(WIDTH + 1));
    let middle = report::thousands((x_max / 2.0).round() as u64);
    let end = report::thousands(x_max.round() as u64);
    let _ = writeln!(
        out,
        "{:>8}  0{}{middle}{}{end}",
        "",
        " ".repeat(WIDTH / 2 - middle.len() / 2 - 1),
        " ".repeat(
            (WIDTH - WIDTH / 2).saturating_sub(middle.len() - middle.len() / 2 + end.len() - 1)
        )
    );
    out.push('\n');
    for (letter, name, points) in &series {
        let note = if points.is_empty() {
            " (held none)"
        } else {
            ""
        };
        let _ = writeln!(out, "  {letter} = {name}{note}");
    }
    out.push_str("  * = two or more servers on one spot\n```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_split_over_clients() {
        assert_eq!(split(1000, 18_000), [1000]);
        assert_eq!(split(19_000, 18_000), [9500, 9500]);
        assert_eq!(split(36_001, 18_000), [12_001, 12_000, 12_000]);
        assert_eq!(split(0, 100), [0]);
    }

    #[test]
    fn progress_lines_and_log_excerpts() {
        let log = "x: listening on http://127.0.0.1:1 (y)\n";
        assert_eq!(log_excerpt(log), None);
        let log = format!("{log}thread panicked at a.rs:1:2:\nfailed\n");
        assert_eq!(
            log_excerpt(&log).unwrap(),
            "thread panicked at a.rs:1:2:\nfailed"
        );
        let long: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let excerpt = log_excerpt(&long).unwrap();
        assert!(excerpt.starts_with("line 1\nline 2"), "{excerpt}");
        assert!(
            excerpt.contains("[... 12 lines ...]\nline 18\nline 19\nline 20"),
            "{excerpt}"
        );
    }

    #[test]
    fn limits_file_gives_the_open_file_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max processes             96365                96365                processes\n\
                    Max open files            20000                20000                files\n";
        assert_eq!(parse_open_files_limit(text), Some(20_000));
        assert_eq!(parse_open_files_limit("Max processes 1 1\n"), None);
    }

    fn step(target: usize, held: usize, failures: &[(&str, u64)]) -> Step {
        Step {
            target,
            held,
            failures: failures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Step::default()
        }
    }

    #[test]
    fn failures_are_explained() {
        let pool = step(1000, 4, &[("timeout: no answer", 996)]);
        assert_eq!(
            why(&pool, "", None).unwrap(),
            "996 × timeout: no answer: connected, but left unanswered in the accept queue"
        );
        let emfile = step(19_000, 18_990, &[("closed before answering", 10)]);
        let log = "x: accept failed: Too many open files (os error 24) (pausing new connections)\n";
        assert!(
            why(&emfile, log, None)
                .unwrap()
                .starts_with("EMFILE in the server (its open-file limit); 10 × closed")
        );
        let died = step(5000, 0, &[]);
        assert_eq!(
            why(&died, "", Some("server exited")).unwrap(),
            "server exited"
        );
        let lost = step(10, 8, &[]);
        assert_eq!(why(&lost, "", None).unwrap(), "2 of 10 connections lost");
        assert_eq!(why(&step(10, 10, &[]), "", None), None);
    }

    #[test]
    fn memory_per_connection_is_the_growth_over_the_baseline() {
        let mut s = step(1000, 1000, &[]);
        s.baseline.pss_kib = 1000;
        assert_eq!(s.kib_per_connection(), None);
        s.loaded = Some(Sample {
            pss_kib: 3000,
            ..Sample::default()
        });
        assert_eq!(s.kib_per_connection(), Some(2.0));
        assert!(s.kernel_kib_per_connection().is_some());
        // A failed step has no kernel figure; a handful held, no figure at all.
        s.reason = Some("timeouts".to_string());
        assert_eq!(s.kernel_kib_per_connection(), None);
        assert_eq!(s.kib_per_connection(), Some(2.0));
        s.held = 2;
        assert_eq!(s.kib_per_connection(), None);
    }

    #[test]
    fn only_the_connections_section_changes() {
        let doc = format!(
            "# T\n<!-- bench:start -->\nb\n<!-- bench:end -->\n{START}\nold\n{END}\nafter\n"
        );
        let new = rewrite_marked(&doc, "new\n").unwrap();
        assert_eq!(
            new,
            format!(
                "# T\n<!-- bench:start -->\nb\n<!-- bench:end -->\n{START}\nnew\n{END}\nafter\n"
            )
        );
        assert_eq!(rewrite_marked(&new, "new").unwrap(), new);
        assert!(rewrite_marked("none", "x").is_err());
        assert!(rewrite_marked(&format!("{END}{START}"), "x").is_err());
        assert!(rewrite_marked(&format!("{START}{END}{START}{END}"), "x").is_err());
    }

    fn run(name: &str, steps: Vec<Step>) -> ServerRun {
        ServerRun {
            name: name.to_string(),
            steps,
            ..ServerRun::default()
        }
    }

    fn held(target: usize, pss_kib: u64) -> Step {
        let mut s = step(target, target, &[]);
        s.baseline.pss_kib = 1024;
        s.loaded = Some(Sample {
            pss_kib,
            rss_kib: pss_kib * 2,
            threads: 1,
            processes: 1,
            ..Sample::default()
        });
        s.probe_ms = Some((0.2, 0.4, 0.5));
        s
    }

    #[test]
    fn rows_name_the_best_step_and_what_stopped_the_next() {
        let mut failing = step(5000, 4, &[("timeout: no answer", 4996)]);
        failing.reason = Some("no free worker".to_string());
        let r = run("threadpool2_server", vec![held(1000, 3072), failing]);
        let row = summary_row(&r);
        assert!(
            row.starts_with("| threadpool2_server | 1,000 | 3.0 MiB (6.0 MiB) | 2.05 |"),
            "{row}"
        );
        assert!(
            row.ends_with("| 5,000 connections: no free worker |"),
            "{row}"
        );
        let none = run("simple_server", vec![failing_step()]);
        assert!(summary_row(&none).starts_with("| simple_server | 0 | – |"));
        let mut partial = held(200, 4096);
        partial.held = 128;
        partial.reason = Some("no free worker".to_string());
        let row = summary_row(&run("threadpool1_server", vec![partial]));
        assert!(
            row.starts_with("| threadpool1_server | 128 of 200 | 4.0 MiB"),
            "{row}"
        );
        assert!(chapter_line(&r).contains("(connections.md)"));
    }

    fn failing_step() -> Step {
        let mut s = step(1000, 0, &[("answered with Connection: close", 1000)]);
        s.reason = Some("closes".to_string());
        s
    }

    #[test]
    fn the_chart_has_a_letter_per_server_on_a_log_scale() {
        let runs = [
            run("async_server", vec![held(1000, 2048), held(19_000, 40_960)]),
            run("cgi_server", vec![held(1000, 200 * 1024)]),
            run("simple_server", vec![failing_step()]),
        ];
        let chart = plot(&runs);
        assert!(chart.starts_with("```text\n"));
        assert!(chart.contains("  a = async_server\n"));
        assert!(chart.contains("  c = simple_server (held none)\n"));
        assert!(chart.contains("    1000 |"), "{chart}");
        assert!(chart.contains("       1 |"), "{chart}");
        assert!(chart.contains("19,000"));
        assert!(chart.matches('a').count() >= 2);
        assert_eq!(
            plot(&runs[2..]),
            "(nothing to chart: no step held any connection)\n"
        );
    }
}
