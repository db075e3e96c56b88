//! Black-box checks for servers that serve many connections from one thread
//! (the event-loop strategies), on top of the conformance kit: nothing may
//! block the loop, a crowd of idle connections must not delay a new client,
//! and running out of descriptors must neither stop the server nor spin it.
//!
//! ```ignore
//! #[test]
//! fn hundred_sleeps_overlap() {
//!     testkit::load::sleeps_overlap(&TARGET, 100, Duration::from_millis(200), Duration::from_secs(2));
//! }
//! ```

use std::fs;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::limits::raise_fd_limit;

use crate::client::{Client, get};
use crate::eventually;
use crate::procfs;
use crate::seccomp::{self, Fail};
use crate::server::{Server, Target};

/// A hundred connections each ask for `/sleep?ms=200` at once; all answers
/// must arrive within 2 s. Served one after another they would take 20 s,
/// so a loop that blocks on a sleep fails at once.
pub fn hundred_sleeps_overlap(t: &Target) {
    let (clients, sleep, limit) = (100, Duration::from_millis(200), Duration::from_secs(2));
    raise_fd_limit();
    let server = t.start(&[]);
    let request = get(&format!("/sleep?ms={}", sleep.as_millis()));
    let start = Instant::now();
    let mut sleepers: Vec<Client> = (0..clients).map(|_| server.client()).collect();
    for client in &mut sleepers {
        client.send(&request);
    }
    for client in &mut sleepers {
        assert_eq!(client.response().status, 200);
    }
    let took = start.elapsed();
    assert!(
        took >= sleep && took < limit,
        "{clients} parallel sleeps of {sleep:?} took {took:?}"
    );
}

/// Opens a thousand keep-alive connections (each has had one answer and then
/// stays quiet), then expects a new client's `GET /` within half a second,
/// and the idle connections still to work.
pub fn thousand_idle_connections_do_not_delay_a_new_one(t: &Target) {
    const IDLE: usize = 1000;
    let (idle, limit) = (IDLE, Duration::from_millis(500));
    raise_fd_limit();
    let server = t.start(&[]);
    let mut crowd: [Client; IDLE] = server.kept_clients();
    let start = Instant::now();
    assert_eq!(server.get("/").status, 200);
    let took = start.elapsed();
    assert!(
        took < limit,
        "a new GET / took {took:?} beside {idle} idle connections"
    );
    for i in [0, idle / 2, idle - 1] {
        crowd[i].send(&get("/"));
        assert_eq!(crowd[i].response().status, 200, "idle connection {i}");
    }
}

/// Lowers the running server's open-file limit to a few more descriptors
/// than it holds, connects more clients than that, and checks that the
/// server logs the failed accept, keeps running, uses at most `max_cpu` of a
/// core meanwhile (if given: a loop that retries at once would use all of
/// it), and serves again once the clients leave.
pub fn survives_running_out_of_descriptors(t: &Target, max_cpu: Option<f64>) {
    const SPARE: u64 = 10;
    raise_fd_limit();
    let server = t.start(&[]);
    let pid = server.pid();
    let held = fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count()) as u64;
    set_fd_limit(pid, held + SPARE);
    out_of_descriptors_it_pauses_then_serves(&server, 2 * SPARE as usize, max_cpu);
}

/// The second half of [`survives_running_out_of_descriptors`], for a server
/// whose open-file limit is already low: `clients` connect, more than it has
/// descriptors for; it must log the failed accept, use at most `max_cpu` of a
/// core meanwhile (if given), and serve again once they leave.
pub fn out_of_descriptors_it_pauses_then_serves(
    server: &Server,
    clients: usize,
    max_cpu: Option<f64>,
) {
    let pid = server.pid();
    let crowd: Vec<Client> = (0..clients).map(|_| server.client()).collect();
    thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(pid);
    let start = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let used = (cpu_ticks(pid) - before) as f64
        / procfs::ticks_per_second() as f64
        / start.elapsed().as_secs_f64();
    assert!(
        server.stderr().contains("accept failed"),
        "the server never ran out of descriptors; stderr: {}",
        server.stderr()
    );
    if let Some(max_cpu) = max_cpu {
        assert!(
            used <= max_cpu,
            "used {:.0}% of a CPU while out of descriptors",
            used * 100.0
        );
    }
    drop(crowd);
    assert_eq!(server.get("/").status, 200);
}

/// A server whose start is made to fail (`fail` returns `errno`, through a
/// seccomp filter) before it serves: status 1, no start-up line, and one log
/// line that contains `says`.
pub fn refused_start_exits_with_one_line(bin: &str, fail: Fail, errno: i32, says: &str) {
    let mut command = Command::new(bin);
    command
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    seccomp::fail(&mut command, fail, errno);
    let output = command.output().expect("run");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    assert!(log.lines().count() == 1 && log.contains(says), "{log:?}");
}

fn set_fd_limit(pid: u32, limit: u64) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit(2) reads and writes the two live rlimit values given.
    let ok = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            std::ptr::null(),
            &mut old,
        ) == 0
            && libc::prlimit(
                pid as libc::pid_t,
                libc::RLIMIT_NOFILE,
                &libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: old.rlim_max,
                },
                std::ptr::null_mut(),
            ) == 0
    };
    assert!(ok, "prlimit: {}", std::io::Error::last_os_error());
}

/// An event loop that cannot register its listening socket (here
/// `epoll_ctl` on descriptor 3, the first the server opens, fails with
/// ENOMEM) says so in one line and exits with status 1, not 0.
pub fn event_loop_failure_exits_non_zero(t: &Target) {
    let mut server = t.start_with(&[], |command| {
        let fail = Fail::CallWithArg {
            call: libc::SYS_epoll_ctl,
            arg: 2,
            value: 3,
        };
        seccomp::fail(command, fail, libc::ENOMEM);
    });
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{status:?}");
    // The kit reads stderr on a thread of its own: give it a moment.
    let said = eventually(Duration::from_secs(2), || {
        server.stderr().contains("Cannot allocate memory")
    });
    let log = server.stderr();
    assert!(said && log.lines().count() == 1, "{log:?}");
}

/// User plus system CPU time of a process so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    procfs::read_stat(pid).map_or(0, |s| s.utime + s.stime)
}
