//! The conformance checks about HTTP itself, each a function of the target:
//! framing, keep-alive, pipelining, the statuses, timeouts, stopping. The macro
//! [`conformance_tests!`](crate::conformance_tests) makes one `#[test]` of each.

use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, get};
use crate::server::{Server, Target};

/// Sends raw bytes on a new connection and expects `status` and a close.
fn refused_with(server: &Server, request: &[u8], status: u16) {
    let mut client = server.client();
    client.send(request);
    let response = client.response();
    assert_eq!(
        response.status,
        status,
        "for {:?}: {}",
        String::from_utf8_lossy(&request[..request.len().min(80)]),
        response.text()
    );
    assert_eq!(response.header("connection"), Some("close"));
    client.expect_closed();
    // ...and the server is still there for everyone else.
    assert_eq!(server.get("/").status, 200);
}

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
    let response = server.get("/");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"Hello, world!\n");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("content-length"), Some("14"));
    let date = response.header("date").expect("a Date field");
    assert!(date.len() == 29 && date.ends_with(" GMT"), "Date: {date}");
    let expected = if t.concurrent() {
        "keep-alive"
    } else {
        "close"
    };
    assert_eq!(response.header("connection"), Some(expected));
}

pub fn head_has_length_but_no_body(t: &Target) {
    let server = t.start(&[]);
    let mut client = server.client();
    client.send(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
    let response = client.head_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("14"));
    if t.concurrent() {
        // Any body bytes would be read as the start of this response.
        client.send(&get("/"));
        assert_eq!(client.response().body, b"Hello, world!\n");
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
            let response = client.response();
            assert_eq!((response.status, response.keeps_alive()), (200, true));
        }
    } else {
        client.send(&get("/"));
        assert_eq!(client.response().header("connection"), Some("close"));
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
    assert_eq!(client.response().text(), "slept 50 ms\n");
    if t.concurrent() {
        assert_eq!(client.response().text(), "Hello, world!\n");
        assert_eq!(client.response().status, 404);
        assert_eq!(client.response().text(), "last");
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
    let response = client.response();
    assert_eq!((response.status, response.text().as_str()), (200, "abc"));
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
    let response = client.response();
    assert_eq!(response.status, 200);
    assert!(response.body == body, "echoed body differs");
}

pub fn expect_100_continue(t: &Target) {
    let server = t.start(&[]);
    let mut client = server.client();
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    assert_eq!(client.response().status, 100);
    client.send(b"hello");
    assert_eq!(client.response().text(), "hello");
}

pub fn unknown_path_404_wrong_method_405(t: &Target) {
    let server = t.start(&[]);
    assert_eq!(server.get("/nope").status, 404);
    let allow = |request: &[u8]| {
        let mut client = server.client();
        client.send(request);
        let response = client.response();
        assert_eq!(response.status, 405);
        response.header("allow").map(str::to_string)
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
    let response = server.get("/cpu?n=100");
    assert_eq!(response.status, 200);
    let text = response.text();
    assert!(
        text.len() == 17 && u64::from_str_radix(text.trim_end(), 16).is_ok(),
        "{text:?}"
    );
    assert_eq!(server.get("/cpu?n=100").text(), text, "deterministic");
}

pub fn sleep_waits_that_long(t: &Target) {
    let server = t.start(&[]);
    let start = Instant::now();
    let response = server.get("/sleep?ms=300");
    let took = start.elapsed();
    assert_eq!(response.text(), "slept 300 ms\n");
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
    let response = client.response();
    assert_eq!(response.status, 408);
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
        assert_eq!(client.response().status, 200);
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
    let response = client.response();
    assert_eq!(
        (response.status, response.header("connection")),
        (200, Some("close"))
    );
    client.expect_closed();

    let mut client = server.client();
    client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let response = client.response();
    if t.concurrent() {
        assert!(response.keeps_alive());
        client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(client.response().status, 200);
    } else {
        assert_eq!(response.header("connection"), Some("close"));
    }
}

pub fn connection_close_is_honoured(t: &Target) {
    let server = t.start(&[]);
    let mut client = server.client();
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(client.response().header("connection"), Some("close"));
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
                client.response().status
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
            1 => client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"),
            // A whole request whose answer finds the socket gone.
            _ => client.send(&get("/sleep?ms=20")),
        }
        if i % 2 == 0 {
            client.reset_on_close();
        }
    }
    let response = server.get("/");
    assert_eq!(response.status, 200);
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
    assert_eq!(sleeper.response().status, 200);
}

fn stops_cleanly(t: &Target, signal: i32) {
    let mut server = t.start(&[]);
    // Something under way when the signal comes: an idle connection and a slow request.
    let mut idle = server.client();
    if t.concurrent() {
        idle.send(&get("/"));
        assert_eq!(idle.response().status, 200);
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
