//! What is particular to a process per connection: children are reaped, a
//! child that dies harms nobody else, a failed fork is answered with 503, and
//! no process outlives the server.

use std::thread;
use std::time::Duration;

use testkit::procfs::zombies_of;
use testkit::seccomp::{self, Fail};
use testkit::{Client, Server, eventually, get, send_signal};

const BIN: &str = env!("CARGO_BIN_EXE_cgi_server");

#[test]
fn no_zombies_after_500_connections() {
    let server = Server::start(BIN, &[]);
    let addr = server.addr;
    // Four clients at a time, 125 connections each, one request per connection.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..125 {
                    let mut client = Client::connect(addr);
                    client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                    assert_eq!(client.response().status, 200);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
    // Each child exits once its client has closed; the parent must collect
    // every one of them, with no new connection to wake it up.
    let pid = server.pid();
    assert!(
        eventually(Duration::from_secs(3), || zombies_of(pid).is_empty()
            && server.descendants().is_empty()),
        "zombies: {:?}, live children: {:?}",
        zombies_of(pid),
        server.descendants()
    );
    assert_eq!(server.get("/").status, 200);
}

/// Waits until the server has exactly `n` live children.
fn wait_for_children(server: &Server, n: usize) {
    assert!(
        eventually(Duration::from_secs(2), || server.descendants().len() == n),
        "children: {:?}",
        server.descendants()
    );
}

#[test]
fn past_the_cap_clients_get_503() {
    testkit::robustness::past_max_connections_clients_get_503(BIN);
}

/// Each `waitpid` walks the parent's list of children, so the parent calls
/// it only when SIGCHLD says a child has ended: holding idle children costs
/// none, however many new clients come.
#[test]
fn holding_children_costs_no_waitpid() {
    let mut server = Server::start(BIN, &[]);
    let held: [_; 40] = server.kept_clients();
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(2)).is_some());
    let log = server.stderr();
    let line = log
        .lines()
        .find(|line| line.contains("children started"))
        .unwrap_or_else(|| panic!("no summary line in {log:?}"));
    assert!(
        line.contains("40 children started, reaped with 0 calls to waitpid"),
        "{line}"
    );
    drop(held);
}

#[test]
fn a_killed_child_harms_nobody_else() {
    let server = Server::start(BIN, &[]);
    let mut victim = server.client();
    victim.send(&get("/sleep?ms=2000"));
    wait_for_children(&server, 1);
    let doomed = server.descendants()[0];
    let mut other = server.client();
    other.send(&get("/sleep?ms=800"));
    wait_for_children(&server, 2);

    // SAFETY: kill(2) on a process the server forked for this test.
    unsafe {
        libc::kill(doomed as libc::pid_t, libc::SIGKILL);
    }
    victim.expect_closed();
    assert_eq!(other.response().text(), "slept 800 ms\n");
    assert_eq!(server.get("/").status, 200);
    assert!(
        eventually(Duration::from_secs(2), || server
            .stderr()
            .contains(&format!("child {doomed} was killed by signal 9"))),
        "stderr: {}",
        server.stderr()
    );
}

#[test]
fn ctrl_c_to_the_whole_family_stops_it() {
    // A terminal's Ctrl-C reaches the parent and every child at once.
    let mut server = Server::start(BIN, &[]);
    let mut busy = server.client();
    busy.send(&get("/sleep?ms=5000"));
    let mut idle = server.client();
    idle.send(&get("/"));
    assert_eq!(idle.response().status, 200);
    wait_for_children(&server, 2);
    let family = server.descendants();
    for &pid in family.iter().chain([server.pid()].iter()) {
        send_signal(pid, libc::SIGINT);
    }
    server.expect_clean_exit(&family);
}

/// The server under a seccomp filter that fails every fork with EAGAIN, as
/// the kernel does at the process limit.
#[test]
fn failed_fork_is_answered_503_and_serving_goes_on() {
    let server = Server::start_with(BIN, &[], |command| {
        let forks = &[
            libc::SYS_clone,
            libc::SYS_clone3,
            libc::SYS_fork,
            libc::SYS_vfork,
        ];
        seccomp::fail(command, Fail::Calls(forks), libc::EAGAIN);
    });
    for _ in 0..3 {
        let mut client = server.client();
        // A request the server never reads: closing on it would reset the
        // connection and could destroy the 503, unless the server drains it.
        let mut request =
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
        request.resize(request.len() + 1000, b'b');
        client.send(&request);
        let response = client.response();
        assert_eq!(
            (response.status, response.header("retry-after")),
            (503, Some("1"))
        );
    }
    assert!(server.descendants().is_empty());
}
