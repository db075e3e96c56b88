//! The exercises of docs/cgi_server.md. Each test fails until its exercise
//! is done; run one with `cargo test -p cgi_server -- --ignored exercise_NAME`.

use std::time::Duration;

use testkit::procfs::zombies_of;
use testkit::{Client, Server, eventually, get};

const BIN: &str = env!("CARGO_BIN_EXE_cgi_server");

/// The parent's last line says how many children it started.
fn children_started(mut server: Server) -> String {
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(2)).is_some());
    let log = server.stderr();
    let line = log.lines().find(|line| line.contains("children started"));
    line.unwrap_or_else(|| panic!("no summary line in {log:?}"))
        .to_string()
}

/// Exercise 1: a child that answers one request and exits makes every
/// request pay for a fork, as the Python original's processes did.
#[test]
#[ignore = "exercise 1 of docs/cgi_server.md: passes once each child serves one request"]
fn exercise_a_child_per_request() {
    let server = Server::start(BIN, &[]);
    let mut kept: Option<Client> = None;
    for _ in 0..5 {
        let mut client = kept.take().unwrap_or_else(|| server.client());
        client.send(&get("/"));
        let answer = client.response();
        assert_eq!(answer.status, 200);
        // A child that closes the connection leaves the next request a new
        // connection, and a new child.
        if answer.keeps_alive() {
            kept = Some(client);
        }
    }
    let line = children_started(server);
    assert!(
        line.contains(": 5 children started"),
        "five requests on one client's connection should start five children, one a request; \
         the server says: {line}"
    );
}

/// Exercise 2: a parent that does not reap keeps every child that has
/// ended as a zombie, and counts it against its cap.
#[test]
#[ignore = "exercise 2 of docs/cgi_server.md: passes once the parent no longer reaps"]
fn exercise_zombies_fill_the_cap() {
    let server = Server::start(BIN, &["--max-connections", "3"]);
    for _ in 0..3 {
        let mut client = server.client();
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!(client.response().status, 200);
        client.expect_closed();
    }
    // Each child exits once it has answered and closed.
    let pid = server.pid();
    assert!(
        eventually(Duration::from_secs(2), || zombies_of(pid).len() == 3),
        "zombies after three clients came and went: {:?}; the parent still reaps",
        zombies_of(pid)
    );
    // Nobody is being served, and yet:
    let answer = server.get("/");
    assert_eq!(
        answer.status, 503,
        "three zombies, and a fourth client was served"
    );
}
