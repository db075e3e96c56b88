//! What the one-thread event loop promises beyond the conformance kit:
//! waiting never blocks the loop, and idle connections cost next to nothing.

use std::thread;
use std::time::{Duration, Instant};

use common::testkit::{Client, Server, get};

const BIN: &str = env!("CARGO_BIN_EXE_async_server");

#[test]
fn start_line_reports_the_open_file_limit() {
    let server = Server::start(BIN, &[]);
    assert!(
        server.banner.contains("open-file limit raised to"),
        "{}",
        server.banner
    );
}

#[test]
fn a_hundred_parallel_sleeps_finish_together() {
    let server = Server::start(BIN, &[]);
    let addr = server.addr;
    let start = Instant::now();
    let clients: Vec<_> = (0..100)
        .map(|_| {
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                client.send(&get("/sleep?ms=200"));
                client.reply().text()
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().expect("client thread"), "slept 200 ms\n");
    }
    let took = start.elapsed();
    // One after another they would take 20 s; waiting in timers, about 0.2 s.
    assert!(
        took < Duration::from_secs(2),
        "100 sleeps of 200 ms took {took:?}"
    );
}

#[test]
fn a_thousand_idle_connections_and_a_prompt_answer() {
    const IDLE: usize = 1000;
    // Each client socket is a descriptor of this test process too.
    let limit = common::net::raise_fd_limit();
    assert!(
        limit as usize > IDLE + 100,
        "open-file limit {limit} too low"
    );
    let server = Server::start(BIN, &[]);
    let mut idle: Vec<Client> = (0..IDLE)
        .map(|_| {
            let mut client = server.client();
            client.send(&get("/"));
            assert_eq!(client.reply().status, 200);
            client
        })
        .collect();
    // All of them now sit open, kept alive, waiting for a next request.
    let start = Instant::now();
    let reply = server.get("/");
    let took = start.elapsed();
    assert_eq!(reply.status, 200);
    assert!(took < Duration::from_millis(500), "GET / took {took:?}");
    // And the idle ones were kept, not dropped.
    for client in [0, IDLE / 2, IDLE - 1] {
        idle[client].send(&get("/"));
        assert_eq!(idle[client].reply().status, 200);
    }
}
