//! Starting a server on a free port, knowing when it answers, and stopping
//! it with SIGTERM while checking that nothing of it is left behind.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testkit::procfs;

/// How long a server may take to print its address and answer `GET /`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The project's promise: SIGTERM → exit 0 within 2 s.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A server the harness started and must stop.
pub struct Running {
    pub name: String,
    pub child: Child,
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
}

/// The port in a start-up line such as
/// `simple_server: listening on http://127.0.0.1:41234 (iterative, ...)`.
pub fn parse_listen_line(text: &str) -> Option<u16> {
    let after = &text[text.find("http://")? + "http://".len()..];
    let addr: String = after
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/' && *c != ')')
        .collect();
    addr.rsplit_once(':')?.1.parse().ok()
}

/// Sets the CPUs a child may run on, between fork and exec.
fn pin(command: &mut Command, cpus: Option<Vec<usize>>) {
    let Some(cpus) = cpus else { return };
    // SAFETY: the closure only calls async-signal-safe functions
    // (sched_setaffinity) on a set built before the fork.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        command.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Pins the calling process (the harness itself, whose children inherit it).
pub fn pin_self(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A command that writes both streams into `log`, in a new process group
/// (so the harness can find every process of the server, and so a Ctrl-C in
/// the terminal reaches the harness, which then stops the server itself).
fn command(program: &Path, log: &Path, cpus: Option<Vec<usize>>) -> Result<Command, String> {
    let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    pin(&mut cmd, cpus);
    Ok(cmd)
}

/// The last lines of a log, for an error message.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    if all.is_empty() {
        "(the log is empty)".to_string()
    } else {
        all[from..].join("\n")
    }
}

/// Starts one of the project's servers on a free port and waits until it answers.
pub fn start_ours(
    name: &str,
    binary: &Path,
    args: &[String],
    log: &Path,
    cpus: Option<Vec<usize>>,
) -> Result<Running, String> {
    if !binary.exists() {
        return Err(format!(
            "{} does not exist; build it with `cargo build --release --workspace`",
            binary.display()
        ));
    }
    let mut cmd = command(binary, log, cpus)?;
    cmd.args(["--host", "127.0.0.1", "--port", "0"]).args(args);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let pid = child.id();
    let deadline = Instant::now() + START_TIMEOUT;
    let port = loop {
        if let Some(port) = fs::read_to_string(log)
            .ok()
            .and_then(|t| parse_listen_line(&t))
        {
            break port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{name} exited ({}) before printing its address",
                describe(status)
            ));
        }
        if Instant::now() > deadline {
            kill_group(&mut child, pid);
            return Err(format!(
                "{name} printed no `http://HOST:PORT` line within {START_TIMEOUT:?}"
            ));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let running = Running {
        name: name.to_string(),
        child,
        pid,
        port,
        log: log.to_path_buf(),
    };
    wait_until_it_answers(running, deadline)
}

/// Writes nginx's reference config into `dir` and starts it on a free port.
pub fn start_nginx(nginx: &Path, dir: &Path, cpus: Option<Vec<usize>>) -> Result<Running, String> {
    fs::create_dir_all(dir.join("tmp")).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let conf = nginx_config(dir, port);
    let conf_path = dir.join("nginx.conf");
    fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let log = dir.join("nginx.log");
    let mut cmd = command(nginx, &log, cpus)?;
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.join("error.log"));
    let child = cmd.spawn().map_err(|e| format!("cannot run nginx: {e}"))?;
    let running = Running {
        name: "nginx".to_string(),
        pid: child.id(),
        child,
        port,
        log,
    };
    wait_until_it_answers(running, Instant::now() + START_TIMEOUT)
}

/// The production reference: the same 14-byte hello as `GET /`, no logging.
pub fn nginx_config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "# Written by the bench harness: nginx as the production reference row.\n\
         daemon off;\n\
         master_process on;\n\
         worker_processes auto;\n\
         worker_rlimit_nofile 8192;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {d}/tmp;\n\
         \x20   default_type text/plain;\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{port};\n\
         \x20       location / {{ return 200 \"Hello, world!\\n\"; }}\n\
         \x20   }}\n\
         }}\n"
    )
}

/// A port nobody listens on right now (there is a small window in which
/// another program could take it; the start would then fail visibly).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn wait_until_it_answers(mut running: Running, deadline: Instant) -> Result<Running, String> {
    loop {
        if probe(running.port) {
            return Ok(running);
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(format!(
                "{} exited ({}) while starting",
                running.name,
                describe(status)
            ));
        }
        if Instant::now() > deadline {
            kill_group(&mut running.child, running.pid);
            return Err(format!(
                "{} did not answer GET / with 200 within {START_TIMEOUT:?}",
                running.name
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// One `GET /` on a fresh connection; true on a 200.
pub fn probe(port: u16) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    attempt().unwrap_or(false)
}

pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "unknown status".to_string(),
    }
}

/// The pids still in the server's process group, zombies excepted.
fn group_members(pgrp: u32) -> Vec<u32> {
    procfs::read_all_stats()
        .iter()
        .filter(|s| s.pgrp == pgrp && s.state != 'Z')
        .map(|s| s.pid)
        .collect()
}

/// SIGKILL for the root and every process left in its group, by pid.
fn kill_group(child: &mut Child, pid: u32) {
    for member in group_members(pid) {
        // SAFETY: kill(2) on a pid of a process this harness started.
        unsafe { libc::kill(member as libc::pid_t, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGTERM and checks the promise: exit 0 within [`STOP_TIMEOUT`], and
/// no process of the server still running afterwards. Whatever is left is
/// killed, and the broken promise returned as an error.
pub fn stop(mut running: Running) -> Result<Duration, String> {
    let started = Instant::now();
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(running.pid as libc::pid_t, libc::SIGTERM) };
    let status = loop {
        match running.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < STOP_TIMEOUT => {
                thread::sleep(Duration::from_millis(10))
            }
            _ => break None,
        }
    };
    let took = started.elapsed();
    let Some(status) = status else {
        kill_group(&mut running.child, running.pid);
        return Err(format!(
            "{} did not exit within {STOP_TIMEOUT:?} of SIGTERM (killed)",
            running.name
        ));
    };
    // Children may need a moment to notice their parent is gone.
    let mut left = group_members(running.pid);
    let grace = Instant::now();
    while !left.is_empty() && grace.elapsed() < Duration::from_millis(500) {
        thread::sleep(Duration::from_millis(20));
        left = group_members(running.pid);
    }
    if !left.is_empty() {
        kill_group(&mut running.child, running.pid);
        return Err(format!(
            "{} left {} process(es) running after SIGTERM (pids {:?}; killed)",
            running.name,
            left.len(),
            left
        ));
    }
    if !status.success() {
        return Err(format!(
            "{} ended with {} after SIGTERM",
            running.name,
            describe(status)
        ));
    }
    Ok(took)
}

/// The server died on its own: the reason, or `None` while it runs.
pub fn died(running: &mut Running) -> Option<String> {
    match running.child.try_wait() {
        Ok(Some(status)) => Some(format!(
            "{} exited during the run ({})",
            running.name,
            describe(status)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_comes_from_the_start_up_line() {
        let line = "simple_server: listening on http://127.0.0.1:41234 (iterative, one connection at a time)\n";
        assert_eq!(parse_listen_line(line), Some(41234));
        assert_eq!(
            parse_listen_line("x: listening on http://[::1]:8080/\n"),
            Some(8080)
        );
        assert_eq!(parse_listen_line("starting up\n"), None);
        assert_eq!(parse_listen_line("http://127.0.0.1:"), None);
    }

    #[test]
    fn nginx_config_serves_the_same_hello() {
        let conf = nginx_config(Path::new("/tmp/x"), 4321);
        assert!(conf.contains("listen 127.0.0.1:4321;"));
        assert!(conf.contains("return 200 \"Hello, world!\\n\";"));
        assert!(conf.contains("access_log off;"));
        assert!(conf.contains("pid /tmp/x/nginx.pid;"));
    }

    #[test]
    fn a_process_that_ignores_nothing_stops_cleanly() {
        // `sleep` dies on SIGTERM by the signal, which is not exit 0: the
        // harness must report that rather than call it a clean stop.
        let log = std::env::temp_dir().join(format!("bench-test-{}.log", std::process::id()));
        let mut cmd = command(Path::new("sleep"), &log, None).unwrap();
        let child = cmd.arg("30").spawn().unwrap();
        let running = Running {
            name: "sleep".to_string(),
            pid: child.id(),
            child,
            port: 0,
            log: log.clone(),
        };
        let err = stop(running).unwrap_err();
        assert!(err.contains("signal 15"), "{err}");
        let _ = fs::remove_file(log);
    }
}
