//! Starting a server on a free port, knowing when it answers, and stopping
//! it with SIGTERM while checking that nothing of it is left behind.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use testkit::procfs;
use testkit::{eventually, send_signal};

/// How long a server may take to print its address and answer `GET /`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The project's promise: SIGTERM → exit 0 within 2 s.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A server the harness started and must stop.
pub struct Running {
    pub name: String,
    child: Child,
    pub pid: u32,
    pub port: u16,
    /// The pool's size, as the start-up line says it (`workers N`).
    pub workers: Option<u32>,
    pub log: PathBuf,
}

/// The port in a start-up line such as
/// `simple_server: listening on http://127.0.0.1:41234 (iterative, ...)`.
pub fn parse_listen_line(text: &str) -> Option<u16> {
    let after = &text[text.find("http://")? + "http://".len()..];
    let end = after.find(|c: char| c.is_whitespace() || c == '/' || c == ')');
    after[..end.unwrap_or(after.len())]
        .rsplit_once(':')?
        .1
        .parse()
        .ok()
}

/// The pool's size in a start-up line: `...; workers 128; open-file limit 20000)`.
pub fn parse_workers(text: &str) -> Option<u32> {
    let after = &text[text.find("; workers ")? + "; workers ".len()..];
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, and CPU_SET writes
    // within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        cpus.iter().for_each(|&cpu| libc::CPU_SET(cpu, &mut set));
        set
    }
}

/// Pins the calling process (the harness itself, whose children inherit it).
pub fn pin_self(cpus: &[usize]) {
    let set = cpu_set(cpus);
    // SAFETY: sched_setaffinity reads a live set of the size given.
    unsafe { libc::sched_setaffinity(0, size_of_val(&set), &set) };
}

/// A command that writes both streams into `log`, in a new process group
/// (so the harness can find every process of the server, and so a Ctrl-C in
/// the terminal reaches the harness, which then stops the server itself),
/// pinned to `cpus` if given.
fn command(program: &Path, log: &Path, cpus: Option<Vec<usize>>) -> anyhow::Result<Command> {
    let out = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    if let Some(set) = cpus.as_deref().map(cpu_set) {
        // SAFETY: between fork and exec the closure only calls
        // sched_setaffinity, which is async-signal-safe, on a set built before.
        unsafe {
            cmd.pre_exec(
                move || match libc::sched_setaffinity(0, size_of_val(&set), &set) {
                    0 => Ok(()),
                    _ => Err(io::Error::last_os_error()),
                },
            )
        };
    }
    Ok(cmd)
}

/// The last lines of a log, for an error message.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    match all.len() {
        0 => "(the log is empty)".to_string(),
        n => all[n.saturating_sub(lines)..].join("\n"),
    }
}

/// Starts one of the project's servers on a free port and waits until it
/// answers; `open_files` caps its open-file limit, soft and hard, so that it
/// cannot raise it.
pub fn start_ours(
    name: &str,
    binary: &Path,
    args: &[String],
    log: &Path,
    cpus: Option<Vec<usize>>,
    open_files: Option<u64>,
) -> anyhow::Result<Running> {
    let build = "build it with `cargo build --release --workspace`";
    ensure!(
        binary.exists(),
        "{} does not exist; {build}",
        binary.display()
    );
    let mut cmd = command(binary, log, cpus)?;
    if let Some(limit) = open_files {
        testkit::server::limit_open_files(&mut cmd, limit);
    }
    cmd.args(["--host", "127.0.0.1", "--port", "0"]).args(args);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let log = log.to_path_buf();
    answering(Running {
        name: name.to_string(),
        pid: child.id(),
        child,
        port: 0,
        workers: None,
        log,
    })
}

/// The connections each nginx worker may hold: plenty for a thousand busy
/// ones; the capacity run asks for as many as a process may open.
pub const NGINX_CONNECTIONS: u32 = 4096;

/// Writes nginx's reference config into `dir` and starts it on a free port,
/// each worker holding at most `connections`.
pub fn start_nginx(
    nginx: &Path,
    dir: &Path,
    cpus: Option<Vec<usize>>,
    connections: u32,
) -> anyhow::Result<Running> {
    fs::create_dir_all(dir.join("tmp"))?;
    // A port nobody listens on right now (another program could take it in
    // between; the start would then fail visibly).
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let conf = dir.join("nginx.conf");
    fs::write(&conf, nginx_config(dir, port, connections))?;
    let log = dir.join("nginx.log");
    let mut cmd = command(nginx, &log, cpus)?;
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.join("error.log"));
    let child = cmd.spawn().context("cannot run nginx")?;
    answering(Running {
        name: "nginx".to_string(),
        pid: child.id(),
        child,
        port,
        workers: None,
        log,
    })
}

/// The production reference: the same 14-byte hello as `GET /`, no logging.
/// `keepalive_requests`: nginx closes a connection after 1,000 requests by
/// default, where our servers keep it for as long as the client does; a
/// close in the middle of a pipelined batch would leave the rest of the
/// batch unanswered. `keepalive_timeout`: an hour, as the course's servers
/// are given for the capacity run; nginx's default is 75 s.
pub fn nginx_config(dir: &Path, port: u16, connections: u32) -> String {
    let d = dir.display();
    format!(
        "# Written by the bench harness: nginx as the production reference row.\n\
         daemon off;\nmaster_process on;\nworker_processes auto;\nworker_rlimit_nofile {connections};\n\
         pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections {connections}; }}\n\
         http {{\n    access_log off;\n    keepalive_requests 1000000;\n    keepalive_timeout 3600s;\n    client_body_temp_path {d}/tmp;\n    default_type text/plain;\n\
         \x20   server {{\n        listen 127.0.0.1:{port};\n\
         \x20       location / {{ return 200 \"Hello, world!\\n\"; }}\n    }}\n}}\n"
    )
}

/// Waits until the server has printed its address (when its port is not
/// known yet) and answers `GET /` with 200; kills it when it does not.
fn answering(mut server: Running) -> anyhow::Result<Running> {
    let answered = eventually(START_TIMEOUT, || {
        if server.port == 0 {
            let text = fs::read_to_string(&server.log).unwrap_or_default();
            server.port = parse_listen_line(&text).unwrap_or(0);
            server.workers = parse_workers(&text);
        }
        (server.port != 0 && probe(server.port)) || !matches!(server.child.try_wait(), Ok(None))
    });
    let name = server.name.clone();
    if let Ok(Some(status)) = server.child.try_wait() {
        let when = if server.port == 0 {
            "before printing its address"
        } else {
            "while starting"
        };
        bail!("{name} exited ({}) {when}", describe(status));
    }
    if !answered {
        kill_group(&mut server);
        match server.port {
            0 => bail!("{name} printed no `http://HOST:PORT` line within {START_TIMEOUT:?}"),
            _ => bail!("{name} did not answer GET / with 200 within {START_TIMEOUT:?}"),
        }
    }
    Ok(server)
}

/// One `GET /` on a fresh connection; true on a 200.
pub fn probe(port: u16) -> bool {
    let attempt = || -> io::Result<bool> {
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
    let all = procfs::read_all_stats();
    all.iter()
        .filter(|s| s.pgrp == pgrp && s.state != 'Z')
        .map(|s| s.pid)
        .collect()
}

/// SIGKILL for the root and every process left in its group, by pid.
fn kill_group(server: &mut Running) {
    for member in group_members(server.pid) {
        send_signal(member, libc::SIGKILL);
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// Sends SIGTERM and checks the promise: exit 0 within [`STOP_TIMEOUT`], and
/// no process of the server still running afterwards. Whatever is left is
/// killed, and the broken promise returned as an error.
pub fn stop(mut server: Running) -> anyhow::Result<()> {
    send_signal(server.pid, libc::SIGTERM);
    let mut status = None;
    eventually(STOP_TIMEOUT, || {
        status = server.child.try_wait().ok().flatten();
        status.is_some()
    });
    let name = server.name.clone();
    let Some(status) = status else {
        kill_group(&mut server);
        bail!("{name} did not exit within {STOP_TIMEOUT:?} of SIGTERM (killed)");
    };
    // Children may need a moment to notice their parent is gone.
    let mut left = Vec::new();
    eventually(Duration::from_millis(500), || {
        left = group_members(server.pid);
        left.is_empty()
    });
    if !left.is_empty() {
        kill_group(&mut server);
        bail!(
            "{name} left {} process(es) running after SIGTERM (pids {left:?}; killed)",
            left.len()
        );
    }
    ensure!(
        status.success(),
        "{name} ended with {} after SIGTERM",
        describe(status)
    );
    Ok(())
}

/// The server died on its own: the reason, or `None` while it runs.
pub fn died(server: &mut Running) -> Option<String> {
    let status = server.child.try_wait().ok()??;
    Some(format!(
        "{} exited during the run ({})",
        server.name,
        describe(status)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_comes_from_the_start_up_line_and_nginx_serves_the_same_hello() {
        let line =
            "simple_server: listening on http://127.0.0.1:41234 (iterative, one at a time)\n";
        assert_eq!(parse_listen_line(line), Some(41234));
        assert_eq!(
            parse_listen_line("x: listening on http://[::1]:8080/\n"),
            Some(8080)
        );
        assert_eq!(parse_listen_line("starting up\n"), None);
        assert_eq!(parse_listen_line("http://127.0.0.1:"), None);
        let conf = nginx_config(Path::new("/tmp/x"), 4321, 20_000);
        assert!(conf.contains("listen 127.0.0.1:4321;") && conf.contains("access_log off;"));
        assert!(
            conf.contains("return 200 \"Hello, world!\\n\";")
                && conf.contains("pid /tmp/x/nginx.pid;")
                && conf.contains("worker_connections 20000;")
        );
    }

    #[test]
    fn a_process_killed_by_sigterm_did_not_stop_cleanly() {
        // `sleep` dies on SIGTERM by the signal, which is not exit 0: the
        // harness must report that rather than call it a clean stop.
        let log = std::env::temp_dir().join(format!("bench-test-{}.log", std::process::id()));
        let child = command(Path::new("sleep"), &log, None)
            .unwrap()
            .arg("30")
            .spawn()
            .unwrap();
        let server = Running {
            name: "sleep".into(),
            pid: child.id(),
            child,
            port: 0,
            workers: None,
            log: log.clone(),
        };
        let err = stop(server).unwrap_err().to_string();
        assert!(err.contains("signal 15"), "{err}");
        let _ = fs::remove_file(log);
    }
}
