//! The conformance checks about hostile or broken clients, and about a
//! server's own failures: what no client may do to a server (hold it with a
//! trickle, freeze it with a pipelined burst, make it stop by breaking its
//! log), and how a server says it cannot start. The macro
//! [`conformance_tests!`](crate::conformance_tests) runs them with the
//! others, against every server.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpListener};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, get};
use crate::server::{Server, Target, limit_open_files};
use crate::{eventually, procfs};

/// A client that sends its request and then shuts down its sending side
/// (FIN) gets its answer, and the connection is closed at once, not after
/// the idle timeout.
pub fn half_close_closes_promptly(t: &Target) {
    let server = t.start(&["--idle-timeout", "5"]);
    let mut client = server.client();
    client.send(&get("/"));
    client.stream.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(client.response().status, 200);
    let start = Instant::now();
    client.expect_closed();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "closed {:?} after the answer",
        start.elapsed()
    );
}

/// A body trickled a byte at a time never earns enough time: the request
/// gets 408 (or a close) soon after the header timeout. An honest upload at
/// twice the minimum rate (16 KiB/s) is answered, though it takes longer
/// than the header timeout.
pub fn trickled_body_gets_408_but_a_slow_upload_succeeds(t: &Target) {
    let server = t.start(&["--header-timeout", "0.5"]);
    let mut client = server.client();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    let mut trickle = client.stream.try_clone().expect("clone");
    let trickler = thread::spawn(move || {
        for _ in 0..30 {
            thread::sleep(Duration::from_millis(100));
            if trickle.write_all(b"x").is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let response = client.response();
    assert_eq!(response.status, 408, "{}", response.text());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let _ = trickler.join();

    let body = vec![b'u'; 32 * 1024];
    let mut client = server.client();
    client.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    for chunk in body.chunks(4 * 1024) {
        // 4 KiB every 125 ms: 32 KiB/s, one second in all.
        thread::sleep(Duration::from_millis(125));
        client.send(chunk);
    }
    let response = client.response();
    assert_eq!((response.status, response.body.len()), (200, body.len()));
}

/// A server that cannot listen (the port is taken) says why in one line on
/// stderr and exits with a non-zero status, at once.
pub fn start_up_failure_exits_non_zero_with_one_line(t: &Target) {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    let mut child = Command::new(t.bin)
        .args(t.args)
        .args(["--port", &port])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let exited = eventually(Duration::from_secs(5), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("wait");
    assert!(exited, "still running with its port taken");
    assert!(!output.status.success(), "{:?}", output.status);
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.lines().count() == 1 && message.contains(&port),
        "{message:?}"
    );
}

/// How many `/cpu` requests [`wait_behind_a_pipelined_burst`] pipelines.
pub const BURST: usize = 20;

/// One client pipelines [`BURST`] `/cpu` requests in one write, and a fresh
/// client asks for `GET /` meanwhile: how long the fresh client waited, and
/// how long the whole burst took.
pub fn wait_behind_a_pipelined_burst(server: &Server) -> (Duration, Duration) {
    // About 25 ms each in a debug build, 5 ms in a release build.
    let request = get("/cpu?n=5000");
    let mut burster = server.client();
    let start = Instant::now();
    burster.send(&request.repeat(BURST));
    thread::sleep(Duration::from_millis(20));
    let asked = Instant::now();
    assert_eq!(server.get("/").status, 200);
    let waited = asked.elapsed();
    for _ in 0..BURST {
        assert_eq!(burster.response().status, 200);
    }
    (waited, start.elapsed())
}

/// One client pipelines a burst of `/cpu` requests in one write; a second
/// client's `GET /` meanwhile waits about one request's work, not the whole
/// burst's (a server that serves everyone from one thread must take turns).
pub fn a_pipelined_burst_delays_others_by_about_one_request(t: &Target) {
    if !t.concurrent() {
        return;
    }
    let (waited, burst) = wait_behind_a_pipelined_burst(&t.start(&[]));
    assert!(
        waited < burst / 4,
        "GET / waited {waited:?} behind a burst that took {burst:?}"
    );
}

/// Logging must never take a server down. With stderr on `/dev/full` (every
/// write fails) and `--verbose`, requests and refusals are logged; with the
/// open-file limit so low that the crowd does not fit, clients are turned
/// away or queue while accepting fails (EMFILE, which is logged too). Afterwards the server answers again and has lost no
/// thread.
pub fn a_failed_log_write_does_not_stop_the_server(t: &Target) {
    let mut server = t.start_with(&["--verbose"], |command| {
        command.stderr(File::create("/dev/full").expect("/dev/full"));
        limit_open_files(command, 48);
    });
    let threads = procfs::read_threads(server.pid());
    assert_eq!(server.get("/").status, 200);
    assert_eq!(server.get("/nope").status, 404);
    let crowd: Vec<Client> = (0..64)
        .map(|_| {
            let mut client = server.client();
            client.send(&get("/"));
            client
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    drop(crowd);
    assert!(server.running(), "the server exited");
    assert!(
        eventually(Duration::from_secs(5), || server.get("/").status == 200),
        "no answer after the crowd left"
    );
    assert!(
        eventually(Duration::from_secs(5), || procfs::read_threads(
            server.pid()
        ) == threads),
        "{} threads before, {} after",
        threads,
        procfs::read_threads(server.pid())
    );
}

/// A client that pipelines requests for large answers and reads them only
/// later fills the server's send buffer: the server must wait for room (not
/// spin, not drop anything) and finish every answer once the client reads.
pub fn a_slow_reader_gets_all_its_answers(t: &Target) {
    // An iterative server answers one request per connection.
    let requests = if t.concurrent() { 4 } else { 1 };
    let server = t.start(&[]);
    let body = vec![b'r'; 256 * 1024];
    let mut client = server.client();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut writer = client.stream.try_clone().expect("clone");
    let sender = thread::spawn(move || {
        for _ in 0..requests {
            writer.write_all(head.as_bytes()).expect("send");
            writer.write_all(&body).expect("send");
        }
    });
    // Nothing is read for a while: the answers pile up in the server.
    thread::sleep(Duration::from_millis(500));
    for _ in 0..requests {
        let response = client.response();
        assert_eq!((response.status, response.body.len()), (200, 256 * 1024));
    }
    sender.join().expect("sender");
}

/// A client that sends requests and never reads an answer must be held
/// back by TCP, not fed by the server's memory: once its answers fill the
/// sockets, the server stops taking its bytes, they fill the sockets too,
/// and the client's writes block. A loop that kept receiving regardless
/// (easy with io_uring's multishot receive) would let it send on for ever.
pub fn a_client_that_never_reads_is_held_back(t: &Target) {
    // An iterative server answers one request and then closes.
    if !t.concurrent() {
        return;
    }
    let server = t.start(&[]);
    let before = procfs::sample_tree(server.pid(), true).memory.rss_kib;
    let client = server.client();
    // Loopback's socket buffers grow to a few MiB each: four of them, and
    // the answers to what the server took, stay far below this.
    let sent = sent_until_held_back(&client, 128 << 20, Duration::from_secs(20));
    let sent = sent.unwrap_or_else(|sent| {
        panic!("the client sent {sent} bytes without ever reading and was never held back")
    });
    let grown = procfs::sample_tree(server.pid(), true)
        .memory
        .rss_kib
        .saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "held back after {sent} bytes, but the server grew by {grown} KiB"
    );
}

/// How many bytes of `GET /` a client that never reads writes before its
/// writes block: `Ok` when they did, `Err` with the count when it reached
/// `limit` bytes or `within` went by first.
pub fn sent_until_held_back(
    client: &Client,
    limit: usize,
    within: Duration,
) -> Result<usize, usize> {
    let mut stream = &client.stream;
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("write timeout");
    let requests = get("/").repeat(2048);
    let (mut sent, give_up) = (0, Instant::now() + within);
    while sent < limit && Instant::now() < give_up {
        match stream.write(&requests) {
            Ok(n) => sent += n,
            // A blocked write that times out: WouldBlock on Linux.
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(sent);
            }
            Err(err) => panic!("after {sent} bytes: {err}"),
        }
    }
    Err(sent)
}

/// With `--verbose`, a request target with control characters in it (C1
/// controls, which httparse lets through as UTF-8) reaches the log escaped,
/// never raw: `\xc2\x9b` is a terminal's "control sequence introducer".
pub fn the_log_escapes_control_characters(t: &Target) {
    let server = t.start(&["--verbose"]);
    let mut client = server.client();
    client.send(b"GET /\xc2\x9b2J HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().status, 404);
    assert!(
        eventually(Duration::from_secs(2), || server
            .stderr()
            .contains("/\\xc2\\x9b2J")),
        "{:?}",
        server.stderr()
    );
    assert!(!server.stderr().contains('\u{9b}'), "{:?}", server.stderr());
}

/// For the event loops, which hold every connection in one process: started
/// with an open-file limit of 64, a server keeps answering every new client,
/// 200 while it has room and 503 once its connections near the limit
/// (`limits::descriptor_cap`: 64 less 16), instead of accepting until
/// `accept` fails and leaving the next clients unanswered in the kernel's
/// queue.
pub fn near_the_open_file_limit_clients_get_503(t: &Target) {
    let server = t.start_with(&[], |command| limit_open_files(command, 64));
    let mut held = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let mut client = server.client();
        client.send(&get("/"));
        statuses.push(client.response().status);
        held.push(client);
    }
    let served = statuses.iter().take_while(|&&s| s == 200).count();
    assert_eq!(served, 48, "{statuses:?}");
    assert!(statuses[served..].iter().all(|&s| s == 503), "{statuses:?}");
    held.truncate(10);
    assert!(
        eventually(Duration::from_secs(3), || server.get("/").status == 200),
        "not served again after connections closed"
    );
}

/// For the servers that start a process or a thread per connection: with
/// `--max-connections 2`, two kept connections are served and a third
/// client gets 503 with `Retry-After` at once; when one leaves, the next
/// client is served again.
pub fn past_max_connections_clients_get_503(bin: &str) {
    let server = Server::start(bin, &["--max-connections", "2"]);
    let [first, _second] = server.kept_clients();
    let mut turned_away = server.client();
    turned_away.send(&get("/"));
    let response = turned_away.response();
    assert_eq!(
        (response.status, response.header("retry-after")),
        (503, Some("1"))
    );
    turned_away.expect_closed();
    drop(first);
    assert!(
        eventually(Duration::from_secs(3), || server.get("/").status == 200),
        "not served again after a connection closed"
    );
}
