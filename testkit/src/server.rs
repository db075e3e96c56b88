//! Starting a server binary for a test, and stopping it.
//!
//! [`Target::start`] runs the binary on port 0, reads the `http://HOST:PORT`
//! from its start-up line and returns a [`Server`], which kills the server
//! and everything it forked when dropped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, Response, get};
use crate::{eventually, procfs};

/// What the kit may expect of a server's concurrency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// One connection at a time; every response closes its connection.
    Iterative,
    /// Many connections at once, kept open between requests.
    Concurrent,
}

/// A server binary under test, with the arguments every check passes to it.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub bin: &'static str,
    pub model: Model,
    pub args: &'static [&'static str],
}

impl Target {
    pub const fn new(bin: &'static str, model: Model) -> Self {
        Target {
            bin,
            model,
            args: &[],
        }
    }

    /// Extra arguments for every start, e.g. `&["--workers", "4"]`.
    pub const fn args(mut self, args: &'static [&'static str]) -> Self {
        self.args = args;
        self
    }

    /// Starts the server with the target's arguments plus `extra`.
    pub fn start(&self, extra: &[&str]) -> Server {
        self.start_with(extra, |_| {})
    }

    /// Like [`Target::start`], with `adjust` applied to the command first.
    pub fn start_with(&self, extra: &[&str], adjust: impl FnOnce(&mut Command)) -> Server {
        let mut args: Vec<&str> = self.args.to_vec();
        args.extend_from_slice(extra);
        Server::start_with(self.bin, &args, adjust)
    }

    /// Whether the kit may expect kept connections and no waiting.
    pub fn concurrent(&self) -> bool {
        self.model == Model::Concurrent
    }
}

/// A running server process, killed (with everything it forked) when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The start-up line, as printed.
    pub banner: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts `bin --port 0 ARGS…` and waits for its start-up line.
    pub fn start(bin: &str, args: &[&str]) -> Server {
        Server::start_with(bin, args, |_| {})
    }

    /// Like [`Server::start`], with `adjust` applied to the command first:
    /// to send stderr elsewhere, or to limit the process before it runs
    /// (`pre_exec`). Whatever stderr it sets is not captured.
    pub fn start_with(bin: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Server {
        let mut command = Command::new(bin);
        command
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        adjust(&mut command);
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {bin}: {err}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    if let Ok(mut all) = sink.lock() {
                        all.extend_from_slice(&chunk[..n]);
                    }
                }
            });
        }
        let (lines_tx, lines_rx) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = lines_tx.send(line);
                }
            });
        }
        let banner = match lines_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err =
                    String::from_utf8_lossy(&stderr.lock().map(|e| e.clone()).unwrap_or_default())
                        .into_owned();
                panic!("{bin} printed no start-up line within 10 s; stderr: {err}");
            }
        };
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no http://HOST:PORT in start-up line {banner:?}"));
        Server {
            child,
            addr,
            banner,
            stderr,
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn running(&mut self) -> bool {
        self.exited.is_none() && self.wait_exit(Duration::ZERO).is_none()
    }

    /// A new connection to the server.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// `N` connections kept open, each having had one `GET /` answered:
    /// the clients that hold a worker, a thread, a process or a slot.
    pub fn kept_clients<const N: usize>(&self) -> [Client; N] {
        std::array::from_fn(|_| {
            let mut client = self.client();
            client.send(&get("/"));
            let response = client.response();
            assert!(
                response.status == 200 && response.keeps_alive(),
                "{response:?}"
            );
            client
        })
    }

    /// `GET path` on a fresh connection.
    pub fn get(&self, path: &str) -> Response {
        let mut client = self.client();
        client.send(&get(path));
        client.response()
    }

    /// What the server has written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().map(|e| e.clone()).unwrap_or_default())
            .into_owned()
    }

    /// Sends a signal (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        send_signal(self.pid(), signal);
    }

    /// Asserts that the server exits with status 0 within 2 s, and that
    /// every process of `family` (taken from [`Server::descendants`] before
    /// the signal) is gone within 2 s too.
    pub fn expect_clean_exit(&mut self, family: &[u32]) {
        let start = Instant::now();
        let status = self
            .wait_exit(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("still running 2 s after the stop signal"));
        assert_eq!(status.code(), Some(0), "exit status: {status:?}");
        let gone = eventually(
            Duration::from_secs(2).saturating_sub(start.elapsed()),
            || !family.iter().any(|&pid| procfs::alive(pid)),
        );
        let left: Vec<_> = family.iter().filter(|&&pid| procfs::alive(pid)).collect();
        assert!(gone, "processes left behind: {left:?}");
    }

    /// Waits up to `limit` for the server to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every live process descended from the server (its workers, children).
    pub fn descendants(&self) -> Vec<u32> {
        procfs::descendants(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The pid is the server's only until it is reaped; after that it
        // may be anybody's, and nothing may be looked up or killed by it.
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            for pid in self.descendants() {
                send_signal(pid, libc::SIGKILL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `kill(2)`: sends `signal` to process `pid`.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; at worst the pid is gone.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Sets a process's open-file limit (soft and hard) between fork and exec,
/// so that it cannot raise it: for a test that runs a server out of
/// descriptors.
pub fn limit_open_files(command: &mut Command, limit: u64) {
    set_limit(command, libc::RLIMIT_NOFILE, limit);
}

/// Forbids core dumps to the process `command` starts: for a test whose
/// server is meant to abort, so that the abort leaves no core file behind.
pub fn without_core_dumps(command: &mut Command) {
    set_limit(command, libc::RLIMIT_CORE, 0);
}

/// Sets one of a process's limits, soft and hard, between fork and exec.
fn set_limit(command: &mut Command, resource: libc::__rlimit_resource_t, value: u64) {
    use std::os::unix::process::CommandExt;
    let rlimit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: the closure runs between fork and exec and only calls
    // setrlimit, which is async-signal-safe, on a value built before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(resource, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
