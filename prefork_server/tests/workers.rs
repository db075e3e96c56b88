//! What is particular to prefork: a fixed number of workers, a dead worker is
//! replaced, each worker reports what it served, and no process outlives the
//! server.

use std::thread;
use std::time::Duration;

use testkit::{Client, Server, eventually, get, send_signal};

const BIN: &str = env!("CARGO_BIN_EXE_prefork_server");

#[test]
fn starts_exactly_the_workers_asked_for() {
    let server = Server::start(BIN, &["--workers", "3"]);
    assert!(server.banner.contains("; workers 3;"), "{}", server.banner);
    assert_eq!(server.descendants().len(), 3);
}

#[test]
fn a_killed_worker_is_replaced() {
    let server = Server::start(BIN, &["--workers", "2"]);
    let before = server.descendants();
    assert_eq!(before.len(), 2);
    send_signal(before[0], libc::SIGKILL);
    assert!(
        eventually(Duration::from_secs(3), || {
            let now = server.descendants();
            now.len() == 2 && !now.contains(&before[0])
        }),
        "workers now: {:?}",
        server.descendants()
    );
    assert!(
        server.stderr().contains(&format!(
            "(pid {}) was killed by signal 9; starting another",
            before[0]
        )),
        "stderr: {}",
        server.stderr()
    );
    // Both places serve: two clients held open at once are both answered.
    let mut first = server.client();
    first.send(&get("/"));
    assert_eq!(first.response().status, 200);
    let mut second = server.client();
    second.send(&get("/"));
    assert_eq!(second.response().status, 200);
}

#[test]
fn n_workers_serve_n_clients_at_once() {
    let server = Server::start(BIN, &["--workers", "2"]);
    let held: [_; 2] = server.kept_clients();
    // Both workers are held by kept-alive connections: a third client is
    // accepted by the kernel but waits for a worker.
    let mut third = server.client();
    third.send(&get("/"));
    thread::sleep(Duration::from_millis(300));
    third.stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    assert!(
        std::io::Read::read(&mut third.stream, &mut byte).is_err(),
        "a third client was served while two workers were held"
    );
    third.stream.set_nonblocking(false).expect("blocking");
    drop(held);
    assert_eq!(third.response().status, 200);
}

#[test]
fn each_worker_reports_its_connections_at_exit() {
    let mut server = Server::start(BIN, &["--workers", "2"]);
    for _ in 0..40 {
        let mut client = Client::connect(server.addr);
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!(client.response().status, 200);
    }
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(2));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
    thread::sleep(Duration::from_millis(100));
    let log = server.stderr();
    let counts: Vec<u64> = log
        .lines()
        .filter(|line| line.contains(") served "))
        .filter_map(|line| {
            line.split(" served ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(counts.len(), 2, "{log}");
    assert_eq!(counts.iter().sum::<u64>(), 40, "{log}");
}

#[test]
fn ctrl_c_to_the_whole_family_stops_it() {
    // A terminal's Ctrl-C reaches the parent and every worker at once.
    let mut server = Server::start(BIN, &["--workers", "3"]);
    let mut busy = server.client();
    busy.send(&get("/sleep?ms=5000"));
    let mut idle = server.client();
    idle.send(&get("/"));
    assert_eq!(idle.response().status, 200);
    thread::sleep(Duration::from_millis(100));
    let family = server.descendants();
    assert_eq!(family.len(), 3);
    for &pid in family.iter().chain([server.pid()].iter()) {
        send_signal(pid, libc::SIGINT);
    }
    server.expect_clean_exit(&family);
}
