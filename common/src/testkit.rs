//! The conformance kit: one black-box suite that every server binary passes.
//!
//! Each check starts the binary on port 0, reads the `http://HOST:PORT` from
//! its start-up line, and talks to it over raw TCP, so it tests exactly what a
//! client sees. A server crate runs the whole kit with one macro call in its
//! `tests/`:
//!
//! ```ignore
//! use common::testkit::{Model, Target};
//! common::conformance_tests!(Target::new(env!("CARGO_BIN_EXE_prefork_server"), Model::Concurrent));
//! ```
//!
//! The one difference the kit allows between servers is the [`Model`]: an
//! iterative server closes every connection after one response and makes a
//! second client wait; a concurrent one keeps connections and does not.
//! The helpers ([`Server`], [`Client`]) are public so that a crate can add
//! tests for what is specific to its strategy.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a client waits for any single answer before the check fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

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
        let mut args: Vec<&str> = self.args.to_vec();
        args.extend_from_slice(extra);
        Server::start(self.bin, &args)
    }

    fn concurrent(&self) -> bool {
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
        let mut child = Command::new(bin)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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

    /// A new connection to the server.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// `GET path` on a fresh connection.
    pub fn get(&self, path: &str) -> Reply {
        let mut client = self.client();
        client.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        client.reply()
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
        let gone = within(
            Duration::from_secs(2).saturating_sub(start.elapsed()),
            || !family.iter().any(|&pid| alive(pid)),
        );
        let left: Vec<_> = family.iter().filter(|&&pid| alive(pid)).collect();
        assert!(gone, "processes left behind: {left:?}");
    }

    /// Waits up to `limit` for the server to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Every live process descended from the server (its workers, children).
    pub fn descendants(&self) -> Vec<u32> {
        descendants_of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for pid in self.descendants() {
            // SAFETY: kill(2); at worst the pid is gone already.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        if self.exited.is_none() {
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

/// Live (not zombie) processes whose parent chain leads to `root`.
pub fn descendants_of(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((state, ppid)) = process_state(pid) {
                if state != 'Z' {
                    parents.push((pid, ppid));
                }
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The state letter and parent pid of a process, from `/proc/PID/stat`.
pub fn process_state(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything; the
    // fields after the last ')' are "state ppid ...".
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// `true` if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    process_state(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Polls `done` every 20 ms for up to `limit`; whether it became true.
pub fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// The number of threads of process `pid`, from `/proc/PID/status`.
pub fn threads_of(pid: u32) -> usize {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no thread count for {pid}"))
}

/// `clients` clients send `GET path` (with `Connection: close`) at the same
/// moment; returns how long the slowest took to get its 200.
pub fn slowest_of_parallel(server: &Server, clients: usize, path: &str) -> Duration {
    let addr = server.addr;
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                client.send(request.as_bytes());
                assert_eq!(client.reply().status, 200);
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("client thread"))
        .max()
        .unwrap_or_default()
}

/// A response as the kit sees it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn keeps_alive(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive"))
    }
}

/// One raw TCP connection to a server, with whatever it read ahead.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)
            .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"));
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set timeout");
        stream
            .set_write_timeout(Some(PATIENCE))
            .expect("set timeout");
        stream.set_nodelay(true).expect("set nodelay");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|err| panic!("cannot send: {err}"));
    }

    /// Reads one response to a request that was not HEAD.
    pub fn reply(&mut self) -> Reply {
        self.read_reply(false)
    }

    /// Reads one response to a HEAD request (a head, never a body).
    pub fn head_reply(&mut self) -> Reply {
        self.read_reply(true)
    }

    fn read_reply(&mut self, head_only: bool) -> Reply {
        loop {
            if let Some(reply) = self.parse_buffered(head_only) {
                return reply;
            }
            self.fill("a response");
        }
    }

    fn parse_buffered(&mut self, head_only: bool) -> Option<Reply> {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        let head_len = match response.parse(&self.buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return None,
            Err(err) => panic!(
                "unparsable response ({err}): {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        };
        let status = response.code.expect("status code");
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let no_body = head_only || status < 200;
        let length = if no_body {
            0
        } else {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse::<usize>().expect("numeric Content-Length"))
                .unwrap_or_else(|| panic!("response without Content-Length: {headers:?}"))
        };
        if self.buf.len() < head_len + length {
            return None;
        }
        let body = self.buf[head_len..head_len + length].to_vec();
        self.buf.drain(..head_len + length);
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    fn fill(&mut self, what: &str) {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!(
                "connection closed while waiting for {what}; had {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(err) => panic!("no {what} within {PATIENCE:?}: {err}"),
        }
    }

    /// Asserts that the server closes the connection without sending more.
    pub fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(n) => panic!(
                "expected close, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(err) => panic!("connection still open after {PATIENCE:?}: {err}"),
        }
    }

    /// Makes the next close send RST instead of FIN (SO_LINGER with 0 s).
    pub fn reset_on_close(&self) {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt with a pointer to a live linger of the right size.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

/// `GET path` request bytes.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// Sends raw bytes on a new connection and expects `status` and a close.
fn refused_with(server: &Server, request: &[u8], status: u16) {
    let mut client = server.client();
    client.send(request);
    let reply = client.reply();
    assert_eq!(
        reply.status,
        status,
        "for {:?}: {}",
        String::from_utf8_lossy(&request[..request.len().min(80)]),
        reply.text()
    );
    assert_eq!(reply.header("connection"), Some("close"));
    client.expect_closed();
    // ...and the server is still there for everyone else.
    assert_eq!(server.get("/").status, 200);
}

/// Checks for the servers with a fixed pool of `--workers` threads.
pub mod pool {
    use super::*;

    /// Two workers, three simultaneous 300 ms sleeps: the third waits for a
    /// worker to finish one sleep, then sleeps itself (about 600 ms).
    pub fn third_sleeper_waits_for_a_worker(bin: &str) {
        let server = Server::start(bin, &["--workers", "2"]);
        let slowest = slowest_of_parallel(&server, 3, "/sleep?ms=300");
        assert!(
            slowest >= Duration::from_millis(590) && slowest < Duration::from_secs(3),
            "the last of three 300 ms sleeps on two workers took {slowest:?}"
        );
    }

    /// `--workers 3` is three threads besides the main one, before and after
    /// serving: the pool neither grows nor shrinks.
    pub fn thread_count_stays_fixed(bin: &str) {
        let server = Server::start(bin, &["--workers", "3"]);
        assert_eq!(
            threads_of(server.pid()),
            4,
            "the main thread and three workers"
        );
        for _ in 0..10 {
            assert_eq!(server.get("/").status, 200);
        }
        assert_eq!(threads_of(server.pid()), 4);
    }
}

/// Every check, as a function of the target. The macro
/// [`conformance_tests!`](crate::conformance_tests) makes one `#[test]` of each.
pub mod checks {
    use super::*;

    pub fn start_line_names_the_address(t: &Target) {
        let server = t.start(&[]);
        assert!(
            server.banner.contains(&format!("http://{}", server.addr)),
            "{}",
            server.banner
        );
    }

    pub fn help_and_bad_arguments(t: &Target) {
        let help = Command::new(t.bin)
            .arg("--help")
            .output()
            .expect("run --help");
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).contains("--port"));
        let bad = Command::new(t.bin)
            .args(["--port", "nope"])
            .output()
            .expect("run");
        assert_eq!(bad.status.code(), Some(2));
        let message = String::from_utf8_lossy(&bad.stderr);
        assert!(
            message.contains("--port") && message.lines().count() == 1,
            "{message}"
        );
    }

    pub fn hello(t: &Target) {
        let server = t.start(&[]);
        let reply = server.get("/");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"Hello, world!\n");
        assert_eq!(reply.header("content-type"), Some("text/plain"));
        assert_eq!(reply.header("content-length"), Some("14"));
        let date = reply.header("date").expect("a Date field");
        assert!(date.len() == 29 && date.ends_with(" GMT"), "Date: {date}");
        let expected = if t.concurrent() {
            "keep-alive"
        } else {
            "close"
        };
        assert_eq!(reply.header("connection"), Some(expected));
    }

    pub fn head_has_length_but_no_body(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        client.send(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
        let reply = client.head_reply();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-length"), Some("14"));
        if t.concurrent() {
            // Any body bytes would be read as the start of this reply.
            client.send(&get("/"));
            assert_eq!(client.reply().body, b"Hello, world!\n");
        } else {
            client.expect_closed();
        }
    }

    pub fn keep_alive_serves_many_requests(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        if t.concurrent() {
            for _ in 0..5 {
                client.send(&get("/"));
                let reply = client.reply();
                assert_eq!((reply.status, reply.keeps_alive()), (200, true));
            }
        } else {
            client.send(&get("/"));
            assert_eq!(client.reply().header("connection"), Some("close"));
            client.expect_closed();
        }
    }

    pub fn pipelined_requests_are_answered_in_order(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        let mut burst = get("/sleep?ms=50");
        burst.extend(get("/"));
        burst.extend(get("/nope"));
        burst.extend(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nlast");
        client.send(&burst);
        assert_eq!(client.reply().text(), "slept 50 ms\n");
        if t.concurrent() {
            assert_eq!(client.reply().text(), "Hello, world!\n");
            assert_eq!(client.reply().status, 404);
            assert_eq!(client.reply().text(), "last");
        } else {
            client.expect_closed();
        }
    }

    pub fn byte_at_a_time(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        for byte in b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc" {
            client.send(&[*byte]);
            thread::sleep(Duration::from_millis(1));
        }
        let reply = client.reply();
        assert_eq!((reply.status, reply.text().as_str()), (200, "abc"));
    }

    pub fn echo_100_kb(t: &Target) {
        let server = t.start(&[]);
        let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut client = server.client();
        client.send(
            format!(
                "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        client.send(&body);
        let reply = client.reply();
        assert_eq!(reply.status, 200);
        assert!(reply.body == body, "echoed body differs");
    }

    pub fn expect_100_continue(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(client.reply().status, 100);
        client.send(b"hello");
        assert_eq!(client.reply().text(), "hello");
    }

    pub fn unknown_path_404_wrong_method_405(t: &Target) {
        let server = t.start(&[]);
        assert_eq!(server.get("/nope").status, 404);
        let allow = |request: &[u8]| {
            let mut client = server.client();
            client.send(request);
            let reply = client.reply();
            assert_eq!(reply.status, 405);
            reply.header("allow").map(str::to_string)
        };
        assert_eq!(
            allow(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").as_deref(),
            Some("GET, HEAD")
        );
        assert_eq!(
            allow(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n").as_deref(),
            Some("POST")
        );
    }

    pub fn bad_query_is_400(t: &Target) {
        let server = t.start(&[]);
        for path in ["/sleep", "/sleep?ms=soon", "/sleep?ms=10001", "/cpu?n=-3"] {
            assert_eq!(server.get(path).status, 400, "{path}");
        }
    }

    pub fn cpu_answers_a_checksum(t: &Target) {
        let server = t.start(&[]);
        let reply = server.get("/cpu?n=100");
        assert_eq!(reply.status, 200);
        let text = reply.text();
        assert!(
            text.len() == 17 && u64::from_str_radix(text.trim_end(), 16).is_ok(),
            "{text:?}"
        );
        assert_eq!(server.get("/cpu?n=100").text(), text, "deterministic");
    }

    pub fn sleep_waits_that_long(t: &Target) {
        let server = t.start(&[]);
        let start = Instant::now();
        let reply = server.get("/sleep?ms=300");
        let took = start.elapsed();
        assert_eq!(reply.text(), "slept 300 ms\n");
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    pub fn malformed_request_is_400(t: &Target) {
        let server = t.start(&[]);
        refused_with(&server, b"GARBAGE\r\n\r\n", 400);
        refused_with(&server, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400);
    }

    pub fn missing_host_is_400(t: &Target) {
        refused_with(&t.start(&[]), b"GET / HTTP/1.1\r\n\r\n", 400);
    }

    pub fn conflicting_content_length_is_400(t: &Target) {
        refused_with(
            &t.start(&[]),
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400,
        );
    }

    pub fn content_length_with_transfer_encoding_is_400(t: &Target) {
        refused_with(
            &t.start(&[]),
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            400,
        );
    }

    pub fn transfer_encoding_is_501(t: &Target) {
        refused_with(
            &t.start(&[]),
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            501,
        );
    }

    pub fn oversized_head_is_431(t: &Target) {
        let mut request = b"GET / HTTP/1.1\r\nHost: t\r\nX-Filler: ".to_vec();
        request.resize(10 * 1024, b'a');
        request.extend_from_slice(b"\r\n\r\n");
        refused_with(&t.start(&[]), &request, 431);
    }

    pub fn oversized_body_is_413_before_it_is_sent(t: &Target) {
        // Only the head is sent: the answer must not wait for the body.
        refused_with(
            &t.start(&[]),
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n",
            413,
        );
    }

    pub fn slow_request_gets_408(t: &Target) {
        let server = t.start(&["--header-timeout", "0.5"]);
        let mut client = server.client();
        let start = Instant::now();
        client.send(b"GET / HTTP/1.1\r\nHo");
        let reply = client.reply();
        assert_eq!(reply.status, 408);
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "{:?}",
            start.elapsed()
        );
        client.expect_closed();
        assert_eq!(server.get("/").status, 200);
    }

    pub fn idle_connection_is_closed(t: &Target) {
        let server = t.start(&["--idle-timeout", "0.5"]);
        let mut client = server.client();
        if t.concurrent() {
            client.send(&get("/"));
            assert_eq!(client.reply().status, 200);
        }
        let start = Instant::now();
        client.expect_closed();
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
    }

    pub fn http10_closes_unless_asked_to_keep_alive(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        client.send(b"GET / HTTP/1.0\r\n\r\n");
        let reply = client.reply();
        assert_eq!(
            (reply.status, reply.header("connection")),
            (200, Some("close"))
        );
        client.expect_closed();

        let mut client = server.client();
        client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let reply = client.reply();
        if t.concurrent() {
            assert!(reply.keeps_alive());
            client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            assert_eq!(client.reply().status, 200);
        } else {
            assert_eq!(reply.header("connection"), Some("close"));
        }
    }

    pub fn connection_close_is_honoured(t: &Target) {
        let server = t.start(&[]);
        let mut client = server.client();
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!(client.reply().header("connection"), Some("close"));
        client.expect_closed();
    }

    pub fn fifty_parallel_clients(t: &Target) {
        let server = t.start(&[]);
        let addr = server.addr;
        let handles: Vec<_> = (0..50)
            .map(|_| {
                thread::spawn(move || {
                    let mut client = Client::connect(addr);
                    client.send(&get("/"));
                    client.reply().status
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().expect("client thread"), 200);
        }
    }

    pub fn vanishing_clients_cost_nothing(t: &Target) {
        let server = t.start(&[]);
        for i in 0..30 {
            let mut client = server.client();
            match i % 3 {
                0 => client.send(b"GET / HTTP/1.1\r\nHo"),
                1 => {
                    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
                }
                // A whole request whose answer finds the socket gone.
                _ => client.send(&get("/sleep?ms=20")),
            }
            if i % 2 == 0 {
                client.reset_on_close();
            }
        }
        let reply = server.get("/");
        assert_eq!(reply.status, 200);
    }

    pub fn a_slow_request_does_not_block_others_unless_iterative(t: &Target) {
        let server = t.start(&[]);
        let mut sleeper = server.client();
        sleeper.send(&get("/sleep?ms=600"));
        thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        assert_eq!(server.get("/").status, 200);
        let took = start.elapsed();
        if t.concurrent() {
            assert!(
                took < Duration::from_millis(300),
                "GET / took {took:?} behind a sleeping client"
            );
        } else {
            assert!(
                took >= Duration::from_millis(350),
                "an iterative server answered in {took:?} while busy"
            );
        }
        assert_eq!(sleeper.reply().status, 200);
    }

    fn stops_cleanly(t: &Target, signal: i32) {
        let mut server = t.start(&[]);
        // Something under way when the signal comes: an idle connection and a slow request.
        let mut idle = server.client();
        if t.concurrent() {
            idle.send(&get("/"));
            assert_eq!(idle.reply().status, 200);
        }
        let mut busy = server.client();
        busy.send(&get("/sleep?ms=5000"));
        thread::sleep(Duration::from_millis(100));
        let family = server.descendants();
        server.signal(signal);
        server.expect_clean_exit(&family);
        // And the port is closed.
        assert!(
            TcpStream::connect(server.addr).is_err(),
            "still accepting after exit"
        );
    }

    pub fn sigterm_stops_it_cleanly(t: &Target) {
        stops_cleanly(t, libc::SIGTERM);
    }

    pub fn sigint_stops_it_cleanly(t: &Target) {
        stops_cleanly(t, libc::SIGINT);
    }
}

/// Expands to one `#[test]` per conformance check, run against `$target`
/// (an expression of type [`Target`]).
#[macro_export]
macro_rules! conformance_tests {
    ($target:expr) => {
        $crate::conformance_tests!(@each $target;
            start_line_names_the_address,
            help_and_bad_arguments,
            hello,
            head_has_length_but_no_body,
            keep_alive_serves_many_requests,
            pipelined_requests_are_answered_in_order,
            byte_at_a_time,
            echo_100_kb,
            expect_100_continue,
            unknown_path_404_wrong_method_405,
            bad_query_is_400,
            cpu_answers_a_checksum,
            sleep_waits_that_long,
            malformed_request_is_400,
            missing_host_is_400,
            conflicting_content_length_is_400,
            content_length_with_transfer_encoding_is_400,
            transfer_encoding_is_501,
            oversized_head_is_431,
            oversized_body_is_413_before_it_is_sent,
            slow_request_gets_408,
            idle_connection_is_closed,
            http10_closes_unless_asked_to_keep_alive,
            connection_close_is_honoured,
            fifty_parallel_clients,
            vanishing_clients_cost_nothing,
            a_slow_request_does_not_block_others_unless_iterative,
            sigterm_stops_it_cleanly,
            sigint_stops_it_cleanly,
        );
    };
    (@each $target:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testkit::checks::$check(&$target);
            }
        )*
    };
}
