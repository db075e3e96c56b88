//! # `bench syscalls` — system calls per request, counted (scripts/syscalls.sh)
//!
//! For each server and each of two loads: start its release build, attach
//! `strace -f -c` to every process of its tree (with `-f` strace takes every
//! thread of each, and follows the children forked later), drive the load
//! with wrk, detach, and stop the server. strace's table gives each system
//! call's count, wrk the requests answered: `report` turns the two into
//! calls per request. Attaching after the start leaves the start-up calls
//! out; only the load is counted. The loads are the benchmark's `c100`
//! (keep-alive: what serving a request costs), `close` (a new connection
//! for every request: what a connection costs, a fork or a thread included)
//! and `pipelined` (16 requests per write: whether the answers to one read
//! leave in one write). nginx, when installed, is counted beside them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use std::{env, process, thread};

use crate::pages_dir;
use anyhow::{Context, bail};
use clap::Args;
use clap::builder::PossibleValuesParser;
use results::json::create_dir;
use results::scenario::{NGINX, SERVERS, Scenario};
use results::syscalls::{ServerCount, Settings, SyscallsFile, parse_strace_summary};
use testkit::{eventually, procfs, send_signal};

use crate::benchmark::find_program;
use crate::server::{self, Running};
use crate::{machine, stop_requested, wrk};

/// The servers of a `--quick` run: two, short, for CI.
const QUICK: [&str; 2] = ["threadpool1_server", "multiplexingio_server"];

#[derive(Clone, Debug, Default, Args)]
pub struct SyscallsArgs {
    /// Servers to count, comma-separated (default: all, and nginx if installed)
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(SERVERS.iter().chain(&[NGINX])))]
    pub only: Vec<String>,
    /// Seconds of load per server [default: 4; 1 with --quick]
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=60))]
    pub duration: Option<u64>,
    /// Two servers, 1 s each; results in a temporary folder, docs untouched
    #[arg(long)]
    pub quick: bool,
    /// Where results and docs go (default: docs, or a temporary folder with --quick or --only)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl SyscallsArgs {
    fn duration_s(&self) -> u64 {
        self.duration.unwrap_or(if self.quick { 1 } else { 4 })
    }

    fn servers(&self) -> Vec<String> {
        match (self.only.is_empty(), self.quick) {
            (false, _) => self.only.clone(),
            (true, true) => QUICK.map(String::from).to_vec(),
            (true, false) => SERVERS.map(String::from).to_vec(),
        }
    }
}

/// Everything one count needs: the programs, the load, a folder for files.
struct Setup {
    strace: PathBuf,
    wrk: PathBuf,
    work: PathBuf,
    duration_s: u64,
}

/// The loads, as in the benchmark: keep-alive `GET /`, and a new
/// connection for each request.
const LOADS: [Scenario; 3] = [Scenario::C100, Scenario::Close, Scenario::Pipelined];

impl Setup {
    fn script(&self, load: Scenario) -> PathBuf {
        self.work.join(wrk::lua_name(load.workload()))
    }

    /// The load as a person would type it, for the results file.
    fn command(&self, load: Scenario) -> String {
        let args = wrk::args(
            load.workload(),
            self.duration_s,
            "",
            "http://127.0.0.1:PORT/",
        );
        let args: Vec<&str> = (args.iter().map(String::as_str))
            .filter(|a| !a.is_empty() && *a != "-s")
            .collect();
        format!("wrk {}", args.join(" "))
    }
}

/// Counts every server chosen; `Ok(false)` when one could not be counted.
pub fn run(args: &SyscallsArgs) -> anyhow::Result<bool> {
    let strace = find_program("strace", &[])
        .context("strace is not installed. Install it with:\n  sudo apt-get install -y strace")?;
    let wrk = find_program("wrk", &[])
        .context("wrk is not installed. Install it with:\n  sudo apt-get install -y wrk")?;
    let work = create_dir(env::temp_dir().join(format!("bench-syscalls-{}", process::id())))?;
    let setup = Setup {
        strace,
        wrk,
        work,
        duration_s: args.duration_s(),
    };
    for load in LOADS {
        fs::write(setup.script(load), wrk::lua_script(load.workload()))?;
    }
    let bin_dir = env::current_exe()
        .context("cannot find my own binary")?
        .parent()
        .context("cannot find my own directory")?
        .to_path_buf();
    let nginx = find_program("nginx", &["/usr/sbin/nginx"]);
    let mut servers = args.servers();
    if nginx.is_some() && args.only.is_empty() && !args.quick {
        servers.push(NGINX.to_string());
    }
    let mut counted: [Vec<ServerCount>; 3] = Default::default();
    for name in servers {
        for (load, counts) in LOADS.into_iter().zip(counted.iter_mut()) {
            if stop_requested() {
                break;
            }
            let program = match (name.as_str(), &nginx) {
                (NGINX, Some(nginx)) => nginx.clone(),
                _ => bin_dir.join(&name),
            };
            let count = count_one(&setup, &name, &program, load);
            match (&count.error, count.per_request(count.total())) {
                (Some(e), _) => println!("{name:24} {:>9} error: {e}", load.name()),
                (None, per) => println!(
                    "{name:24} {:>9} {:>9} requests, {:.2} system calls per request",
                    load.name(),
                    count.requests,
                    per.unwrap_or(0.0)
                ),
            }
            counts.push(count);
        }
    }
    if stop_requested() {
        eprintln!("bench syscalls: interrupted; nothing written");
        return Ok(false);
    }
    let failed = counted
        .iter()
        .flatten()
        .filter(|c| c.error.is_some())
        .count();
    let [keep_alive, close, pipelined] = counted;
    let file = SyscallsFile {
        machine: machine::host(),
        settings: Settings {
            quick: args.quick,
            load: setup.command(LOADS[0]),
            close_load: setup.command(LOADS[1]),
            pipelined_load: setup.command(LOADS[2]),
            strace: version(&setup.strace),
        },
        servers: keep_alive,
        close,
        pipelined,
    };
    let partial = args.quick || !args.only.is_empty();
    let out = pages_dir(args.out.as_deref(), partial, "bench-syscalls")?;
    report::site::publish(&out, "syscalls.json", &file, partial)?;
    let _ = fs::remove_dir_all(&setup.work);
    Ok(failed == 0)
}

fn version(strace: &Path) -> String {
    let out = Command::new(strace).arg("-V").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    text.unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// One server: started, counted, stopped. A failure is recorded in the
/// count, not returned, so that the others are still counted.
fn count_one(setup: &Setup, name: &str, binary: &Path, load: Scenario) -> ServerCount {
    let mut count = ServerCount {
        server: name.to_string(),
        ..Default::default()
    };
    let log = setup.work.join(format!("{name}-{}.log", load.name()));
    let started = match name {
        NGINX => server::start_nginx(
            binary,
            &setup.work.join(format!("nginx-{}", load.name())),
            None,
            server::NGINX_CONNECTIONS,
        ),
        _ => server::start_ours(name, binary, &[], &log, None, None),
    };
    let running = match started {
        Ok(running) => running,
        Err(e) => {
            count.error = Some(format!("{e:#}"));
            return count;
        }
    };
    let counted = traced_load(setup, &running, load, &mut count);
    let stopped = server::stop(running);
    if let Err(e) = counted.and(stopped) {
        count.error = Some(format!("{e:#}"));
    }
    count
}

/// Attaches strace to the tree, runs wrk, detaches, and reads both.
fn traced_load(
    setup: &Setup,
    running: &Running,
    load: Scenario,
    count: &mut ServerCount,
) -> anyhow::Result<()> {
    let summary = setup.work.join(format!("{}.strace", running.name));
    let errors = setup.work.join(format!("{}.strace-log", running.name));
    let mut pids = vec![running.pid];
    pids.extend(procfs::descendants(running.pid));
    let mut cmd = Command::new(&setup.strace);
    cmd.args(["-f", "-c", "-o"]).arg(&summary);
    for pid in &pids {
        cmd.arg("-p").arg(pid.to_string());
    }
    let mut strace = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errors)?)
        .spawn()
        .context("cannot run strace")?;
    // strace says "Process N attached" for every thread it took; wait for
    // the processes' lines before the load starts. A child that exited
    // between the listing and the attach (cgi_server's per-connection
    // processes come and go) is not an error: strace names it and goes on
    // with the rest. The server's own process must be taken.
    let attached = eventually(Duration::from_secs(5), || {
        let said = fs::read_to_string(&errors).unwrap_or_default();
        pids.iter().all(|&pid| {
            said.contains(&format!("Process {pid} attached"))
                || (pid != running.pid && said.contains(&format!("PTRACE_SEIZE, {pid})")))
        })
    });
    if !attached || !matches!(strace.try_wait(), Ok(None)) {
        let _ = strace.kill();
        let _ = strace.wait();
        let said = fs::read_to_string(&errors).unwrap_or_default();
        bail!("strace did not attach: {}", said.trim());
    }
    let url = format!("http://127.0.0.1:{}/", running.port);
    let output = Command::new(&setup.wrk)
        .args(wrk::args(
            load.workload(),
            setup.duration_s,
            &setup.script(load).to_string_lossy(),
            &url,
        ))
        .stdin(Stdio::null())
        .output()
        .context("cannot run wrk")?;
    // SIGINT makes strace detach and write its table.
    send_signal(strace.id(), libc::SIGINT);
    let detached = eventually(Duration::from_secs(10), || {
        matches!(strace.try_wait(), Ok(Some(_)))
    });
    if !detached {
        let _ = strace.kill();
        let _ = strace.wait();
        bail!("strace did not detach within 10 s of SIGINT");
    }
    // The server settles before it is stopped.
    thread::sleep(Duration::from_millis(100));
    let report = wrk::parse_report(&String::from_utf8_lossy(&output.stdout))?;
    count.requests = report.requests;
    let text = fs::read_to_string(&summary).context("strace wrote no summary")?;
    (count.calls, count.errors) = parse_strace_summary(&text)?;
    Ok(())
}
