//! What is particular to a thread per connection: the threads come and go with
//! the connections, and nobody waits for a free thread.

use std::thread;
use std::time::{Duration, Instant};

use testkit::client::slowest_of_parallel;
use testkit::procfs::read_threads;
use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_cgi_threading_server");

#[test]
fn three_sleepers_are_all_served_at_once() {
    // `--workers` does not exist here: there is no pool to size.
    let server = Server::start(BIN, &[]);
    let slowest = slowest_of_parallel(server.addr, 3, "/sleep?ms=300");
    assert!(
        slowest >= Duration::from_millis(300) && slowest < Duration::from_millis(550),
        "the last of three concurrent 300 ms sleeps took {slowest:?}"
    );
}

#[test]
fn each_connection_has_a_thread_of_its_own_until_it_closes() {
    let server = Server::start(BIN, &[]);
    assert_eq!(read_threads(server.pid()), 1, "only the acceptor at first");
    let mut clients: Vec<Client> = (0..10).map(|_| server.client()).collect();
    for client in &mut clients {
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(client.response().status, 200);
    }
    // Ten kept-alive connections, each a thread blocked in read.
    assert_eq!(read_threads(server.pid()), 11);
    drop(clients);
    let start = Instant::now();
    while read_threads(server.pid()) > 1 && start.elapsed() < Duration::from_secs(3) {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        read_threads(server.pid()),
        1,
        "threads left after their clients closed"
    );
}

#[test]
fn past_the_cap_clients_get_503() {
    testkit::robustness::past_max_connections_clients_get_503(BIN);
}
