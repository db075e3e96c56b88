//! What is particular to a process per connection: children are reaped, a
//! child that dies harms nobody else, a failed fork is answered with 503, and
//! no process outlives the server.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use testkit::procfs::{descendants, zombies_of};
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
/// the kernel does at the process limit. (Lowering RLIMIT_NPROC would not do:
/// it does not bind root.)
#[cfg(target_arch = "x86_64")]
#[test]
fn failed_fork_is_answered_503_and_serving_goes_on() {
    use std::os::unix::process::CommandExt;

    let mut child = Command::new(BIN);
    child
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs between fork and exec and only calls prctl.
    unsafe {
        child.pre_exec(forbid_fork);
    }
    let mut child = child.spawn().expect("start cgi_server");
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = String::new();
    BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("start-up line");
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    for _ in 0..3 {
        let mut client = Client::connect(addr);
        client.send(&get("/"));
        let response = client.response();
        assert_eq!(
            (response.status, response.header("retry-after")),
            (503, Some("1"))
        );
        client.expect_closed();
    }
    let pid = child.id();
    let _ = child.kill();
    let _ = child.wait();
    assert!(descendants(pid).is_empty());
}

#[cfg(target_arch = "x86_64")]
fn forbid_fork() -> std::io::Result<()> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};

    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let is = |nr: libc::c_long, skip_if_so: u8| libc::sock_filter {
        code: (BPF_JMP | BPF_JEQ | BPF_K) as u16,
        jt: skip_if_so,
        jf: 0,
        k: nr as u32,
    };
    // seccomp_data starts with the system call number.
    let mut program = [
        stmt(BPF_LD | BPF_W | BPF_ABS, 0),
        // A jump skips that many instructions, to the last one.
        is(libc::SYS_clone, 4),
        is(libc::SYS_clone3, 3),
        is(libc::SYS_fork, 2),
        is(libc::SYS_vfork, 1),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(
            BPF_RET | BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EAGAIN as u32,
        ),
    ];
    let filter = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: prctl with a pointer to a live, well-formed filter program.
    let ok = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &raw const filter,
            ) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
