//! Running the capacity measurement: each server started afresh for each
//! step, `connhold` clients opening and holding the step's connections, and
//! the server's tree sampled before and while they are held.
//!
//! One `connhold` process can hold just under its open-file limit (20,000
//! here, which cannot be raised), so a step is split over several clients
//! when it is larger than `--per-client`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{self, Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use anyhow::{Context, anyhow, ensure};
use common::limits::OpenFiles;
use results::capacity::{Sample, ServerRun, Step};
use results::json::create_dir;
use results::scenario::{HYPER, HYPER_BINARY, NGINX, SERVERS};
use testkit::eventually;
use testkit::procfs;

use super::{SERVER_ARGS, diagnose};
use crate::benchmark::find_program;
use crate::cli::CapacityArgs;
use crate::server::{self, Running};
use crate::stop_requested;

/// Connections per nginx worker: as many as one process may open here, so
/// that what stops nginx is a limit of the system, not of its config.
const NGINX_MANY: u32 = 20_000;

/// How many times the tree is sampled while the connections are held; the
/// largest PSS is kept.
const HELD_SAMPLES: usize = 3;

/// Every server, step by step; `Ok(false)` when a server could not be
/// started or stopped as promised.
pub fn run(args: &CapacityArgs, limit: OpenFiles) -> anyhow::Result<bool> {
    let exe = env::current_exe().context("cannot find my own binary")?;
    let bin_dir = exe
        .parent()
        .context("cannot find my own directory")?
        .to_path_buf();
    let connhold = bin_dir.join("connhold");
    ensure!(
        connhold.is_file(),
        "{} is missing; build with `cargo build --release --workspace`",
        connhold.display()
    );
    // The servers' logs, kept until the run ends.
    let logs = create_dir(env::temp_dir().join(format!("bench-capacity-{}", process::id())))?;
    // The two production servers beside the course's: nginx if installed.
    let nginx = find_program("nginx", &["/usr/sbin/nginx"]);
    let references = [NGINX, HYPER]
        .into_iter()
        .filter(|r| *r != NGINX || nginx.is_some());
    let servers = match args.only.is_empty() {
        true => SERVERS
            .into_iter()
            .chain(references)
            .map(String::from)
            .collect(),
        false => args.only.clone(),
    };
    println!(
        "capacity: {} server(s), steps {:?}, {} connections/s, {} s holds (open-file limit {}, hard {})",
        servers.len(),
        args.steps(),
        args.rate,
        args.hold_s(),
        limit.soft,
        limit.hard
    );
    let mut runs = Vec::new();
    for name in &servers {
        if stop_requested() {
            break;
        }
        runs.push(run_server(name, args, &bin_dir, nginx.as_deref(), &logs));
    }
    let steps = runs.iter().flat_map(|r| &r.steps);
    let (passed, failed) = (
        steps.clone().filter(|s| s.passed).count(),
        steps.filter(|s| !s.passed).count(),
    );
    let errors: Vec<String> = runs
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.server)))
        .collect();
    // An interrupted run is incomplete: it leaves the docs as they were.
    let written = if stop_requested() {
        eprintln!("bench capacity: interrupted; nothing written");
        Ok(())
    } else {
        super::write(args, runs)
    };
    if let Err(e) = &written {
        eprintln!("bench capacity: {e:#}");
    }
    for error in &errors {
        eprintln!("bench capacity: {error}");
    }
    let _ = fs::remove_dir_all(&logs);
    println!("capacity: {passed} passed, {failed} failed");
    Ok(written.is_ok() && errors.is_empty())
}

/// Every step of one server, until the first that fails.
fn run_server(
    name: &str,
    args: &CapacityArgs,
    bin_dir: &Path,
    nginx: Option<&Path>,
    logs: &Path,
) -> ServerRun {
    let mut run = ServerRun {
        server: name.to_string(),
        ..ServerRun::default()
    };
    println!("\n== {name}");
    for target in args.steps() {
        if stop_requested() {
            run.error = Some("interrupted".to_string());
            break;
        }
        let log = logs.join(format!("{name}-{target}.log"));
        let server_args = SERVER_ARGS.map(String::from);
        let started = match (name, nginx) {
            (NGINX, Some(nginx)) => {
                let dir = logs.join(format!("nginx-{target}"));
                server::start_nginx(nginx, &dir, None, NGINX_MANY)
            }
            (NGINX, None) => Err(anyhow!(
                "nginx is not installed (apt-get install -y nginx-light)"
            )),
            (HYPER, _) => server::start_ours(
                name,
                &bin_dir.join(HYPER_BINARY),
                &server_args,
                &log,
                None,
                None,
            ),
            _ => server::start_ours(name, &bin_dir.join(name), &server_args, &log, None, None),
        };
        let mut running = match started {
            Ok(running) => running,
            Err(e) => {
                run.error = Some(format!("{e:#}"));
                break;
            }
        };
        let limits =
            fs::read_to_string(format!("/proc/{}/limits", running.pid)).unwrap_or_default();
        run.open_files = open_files_limit(&limits);
        let mut step = run_step(
            &mut running,
            target as usize,
            args,
            &bin_dir.join("connhold"),
        );
        step.finish();
        // A server that died during the step has its death in the step's
        // reason already; stopping it can only fail again.
        let died = server::died(&mut running).is_some();
        let stopped = server::stop(running);
        let held = step.held_sample.unwrap_or_default();
        println!(
            "   step {target}: held {}, PSS {} → {} KiB ({} KiB/connection), {} threads, {} processes{}",
            step.held,
            step.baseline.pss_kib,
            held.pss_kib,
            step.kib_per_connection
                .map_or("-".to_string(), |k| format!("{k:.2}")),
            held.threads,
            held.processes,
            step.reason
                .as_ref()
                .map_or(String::new(), |r| format!("; FAILED: {r}"))
        );
        let passed = step.passed;
        run.steps.push(step);
        if let Err(e) = stopped
            && !died
        {
            run.error = Some(format!("{e:#}"));
            break;
        }
        if !passed {
            break;
        }
    }
    run
}

/// The `Max open files` soft limit of `/proc/PID/limits`.
fn open_files_limit(limits: &str) -> Option<u64> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Splits `total` connections over as few clients as hold at most
/// `per_client` each, as evenly as possible.
fn split(total: usize, per_client: usize) -> Vec<usize> {
    let clients = total.div_ceil(per_client.max(1)).max(1);
    (0..clients)
        .map(|i| total / clients + usize::from(i < total % clients))
        .collect()
}

fn mem_available_gib() -> f64 {
    procfs::read_meminfo("MemAvailable").map_or(f64::INFINITY, |kib| kib as f64 / 1024.0 / 1024.0)
}

/// One step: baseline, clients, samples while held, and the verdict.
fn run_step(running: &mut Running, target: usize, args: &CapacityArgs, connhold: &Path) -> Step {
    let mut step = Step {
        connections: target,
        ..Step::default()
    };
    let available = mem_available_gib();
    if available < args.min_available_gib {
        let floor = args.min_available_gib;
        step.reason = Some(format!(
            "not started: the machine has {available:.1} GiB available, below {floor} GiB"
        ));
        return step;
    }
    // Let the server settle after its start-up request before the baseline.
    thread::sleep(Duration::from_millis(300));
    step.baseline = sample(running.pid);
    let (mut clients, lines, mut stopped) = start_clients(connhold, running.port, target, args);

    // Bounded: the ramp, the per-connection timeout, the hold, and a margin.
    let deadline = Instant::now()
        + Duration::from_secs_f64(target as f64 / args.rate)
        + Duration::from_secs(args.timeout + args.hold_s() + 30);
    let mut ramp_done = vec![false; clients.len()];
    // The last `Made N connections` of each client: how far it got, should
    // it never report a result (the server died, the step was stopped).
    let mut made = vec![0usize; clients.len()];
    let mut results: Vec<Option<connhold::Report>> = vec![None; clients.len()];
    let (mut next_sample, mut samples, mut memory_checked) = (None, 0, Instant::now());
    while stopped.is_none() {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok((i, line)) if line.starts_with(connhold::RESULT_PREFIX) => {
                match connhold::Report::parse_line(&line) {
                    Ok(result) => results[i] = Some(result),
                    Err(e) => stopped = Some(format!("{e:#}")),
                }
            }
            Ok((i, line)) => {
                if let Some((n, over)) = connhold::parse_made(&line) {
                    (made[i], ramp_done[i]) = (n, ramp_done[i] || over);
                }
                let who = if clients.len() > 1 {
                    format!("[client {}] ", i + 1)
                } else {
                    String::new()
                };
                println!("   {who}{line}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every client has closed its output: they are done.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if next_sample.is_none() && !ramp_done.is_empty() && ramp_done.iter().all(|d| *d) {
            next_sample = Some(now + Duration::from_secs(1));
        }
        // Sample only while every client still holds (none has reported).
        if next_sample.is_some_and(|at| now >= at)
            && samples < HELD_SAMPLES
            && results.iter().all(Option::is_none)
        {
            let look = sample(running.pid);
            if step.held_sample.is_none_or(|s| look.pss_kib > s.pss_kib) {
                step.held_sample = Some(look);
            }
            (samples, next_sample) = (samples + 1, Some(now + Duration::from_secs(1)));
        }
        if let Some(died) = server::died(running) {
            stopped = Some(died);
        } else if now > deadline {
            stopped = Some("the clients did not finish in time".to_string());
        } else if memory_checked.elapsed() >= Duration::from_secs(1) {
            memory_checked = now;
            let available = mem_available_gib();
            if available < args.min_available_gib {
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

    for (result, made) in results.iter().zip(made) {
        let Some(result) = result else {
            step.held += made;
            continue;
        };
        step.held += result.held;
        step.ramp_s = step.ramp_s.max(result.ramp_s);
        let sums = [
            (&mut step.failures, &result.failures),
            (&mut step.probe_failures, &result.probe_failures),
        ];
        for (sum, counts) in sums {
            counts
                .iter()
                .for_each(|(kind, n)| *sum.entry(kind.clone()).or_default() += n);
        }
        if result.probes > 0 {
            (step.probes, step.probe_ms) = (result.probes, Some(result.probe_ms));
        }
    }
    if stopped.is_none() && results.iter().any(Option::is_none) {
        stopped = Some("a connhold process ended without its result".to_string());
    }
    if step.held != target || !step.probe_failures.is_empty() || stopped.is_some() {
        let log = fs::read_to_string(&running.log).unwrap_or_default();
        let reason = diagnose::why(&step, &log, stopped.as_deref());
        step.reason =
            Some(reason.unwrap_or_else(|| "failed for no reason it could name".to_string()));
        step.server_log_tail = diagnose::log_excerpt(&log);
    }
    step
}

/// The connhold clients of a step, and their output lines through one
/// channel, tagged with the client's number; a reason when one could not be
/// started.
fn start_clients(
    connhold: &Path,
    port: u16,
    target: usize,
    args: &CapacityArgs,
) -> (Vec<Child>, mpsc::Receiver<(usize, String)>, Option<String>) {
    let shares = split(target, args.per_client as usize);
    let rate = (args.rate / shares.len() as f64).to_string();
    let (tx, rx) = mpsc::channel();
    let mut clients = Vec::new();
    for (i, share) in shares.into_iter().enumerate() {
        let mut command = Command::new(connhold);
        let (addr, hold) = (format!("127.0.0.1:{port}"), args.hold_s().to_string());
        command.args([
            "--addr",
            &addr,
            "--connections",
            &share.to_string(),
            "--rate",
            &rate,
        ]);
        command.args(["--hold", &hold, "--timeout", &args.timeout.to_string()]);
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        // One client probes; more would only probe each other's load.
        if i > 0 {
            command.arg("--no-probe");
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return (clients, rx, Some(format!("cannot run connhold: {e}"))),
        };
        let (out, tx) = (child.stdout.take(), tx.clone());
        thread::spawn(move || {
            for line in out
                .map(|o| BufReader::new(o).lines())
                .into_iter()
                .flatten()
                .map_while(Result::ok)
            {
                if tx.send((i, line)).is_err() {
                    break;
                }
            }
        });
        clients.push(child);
    }
    (clients, rx, None)
}

/// Waits for the clients to exit (they abort their connections as they go),
/// killing them when they are late or the step was stopped.
fn end_clients(clients: &mut [Child], kill: bool) {
    for child in clients.iter_mut().filter(|_| kill) {
        let _ = child.kill();
    }
    eventually(Duration::from_secs(10), || {
        clients
            .iter_mut()
            .all(|c| !matches!(c.try_wait(), Ok(None)))
    });
    for child in clients {
        // A child that has exited was reaped above, and kill leaves it alone.
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// One look at the server's tree (live processes only) and the machine.
fn sample(pid: u32) -> Sample {
    let tree = procfs::tree(&procfs::read_all_stats(), pid);
    let members: Vec<u32> = tree
        .iter()
        .filter(|s| s.state != 'Z')
        .map(|s| s.pid)
        .collect();
    let tree = procfs::sample_tree(pid, true);
    let sockets = procfs::read_sockstat();
    let meminfo = |key| procfs::read_meminfo(key).unwrap_or(0);
    Sample {
        pss_kib: tree.memory.pss_kib,
        rss_kib: tree.memory.rss_kib,
        threads: members.iter().map(|&pid| procfs::read_threads(pid)).sum(),
        processes: tree.processes as u64,
        max_maps: members
            .iter()
            .map(|&pid| procfs::read_map_count(pid))
            .max()
            .unwrap_or(0),
        tcp_inuse: sockets.inuse,
        tcp_mem_kib: sockets.mem_pages * procfs::page_kib(),
        slab_kib: meminfo("Slab"),
        kernel_stack_and_page_tables_kib: meminfo("KernelStack") + meminfo("PageTables"),
    }
}

/// The system limits that decide how many connections a process can hold,
/// as read now, in the order of their table.
pub fn read_limits() -> serde_json::Map<String, serde_json::Value> {
    let sysctl = |path: &str| {
        let text = fs::read_to_string(format!("/proc/sys/{path}")).unwrap_or("?".into());
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let rlimit = |resource| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit through a pointer to a live local.
        unsafe { libc::getrlimit(resource, &mut limit) };
        [limit.rlim_cur, limit.rlim_max].map(|v| (v != libc::RLIM_INFINITY).then_some(v))
    };
    let show = |v: Option<u64>| v.map_or("unlimited".to_string(), |v| v.to_string());
    let pair = |resource| rlimit(resource).map(show).join(" / ");
    let stack = rlimit(libc::RLIMIT_STACK)[0]
        .map_or("unlimited".to_string(), |b| format!("{} KiB", b / 1024));
    [
        ("ulimit -n (soft / hard)", pair(libc::RLIMIT_NOFILE)),
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
        ("ulimit -u (soft / hard)", pair(libc::RLIMIT_NPROC)),
        ("vm.max_map_count", sysctl("vm/max_map_count")),
        ("ulimit -s", stack),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.into()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_split_over_clients_and_limits_read() {
        assert_eq!(split(1000, 18_000), [1000]);
        assert_eq!(split(19_000, 18_000), [9500, 9500]);
        assert_eq!(split(36_001, 18_000), [12_001, 12_000, 12_000]);
        assert_eq!(split(0, 100), [0]);
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max processes             96365                96365                processes\n\
                    Max open files            20000                20000                files\n";
        assert_eq!(open_files_limit(text), Some(20_000));
        assert_eq!(open_files_limit("Max processes 1 1\n"), None);
        assert_eq!(read_limits().len(), 11);
    }
}
