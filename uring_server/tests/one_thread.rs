//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, survive running out
//! of descriptors without spinning (submitting the accept again at once
//! would use a whole core; pausing uses almost none), and say so when the
//! ring cannot be made.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testkit::seccomp::{self, Fail};
use testkit::server::limit_open_files;
use testkit::{Client, Model, Target, procfs};

const BIN: &str = env!("CARGO_BIN_EXE_uring_server");
const TARGET: Target = Target::new(BIN, Model::Concurrent);

// The kit's `one_thread_tests!`, but for its out-of-descriptors check: see
// `out_of_descriptors_neither_stops_nor_spins` below.
testkit::each_test!(load, &TARGET;
    hundred_sleeps_overlap,
    thousand_idle_connections_do_not_delay_a_new_one,
);

testkit::each_test!(robustness, &TARGET;
    near_the_open_file_limit_clients_get_503,
);

#[test]
fn past_max_connections_clients_get_503() {
    testkit::robustness::past_max_connections_clients_get_503(TARGET.bin);
}

/// The kit's check lowers the open-file limit of the running server with
/// prlimit. A multishot accept does not see that: the kernel reads the limit
/// once, when the accept is submitted, and this one was submitted at start.
/// So here the limit is low from the start, and `--max-connections` is
/// above it, so that the server runs into the limit itself instead of
/// answering 503 first. Out of descriptors it must log, pause and not spin,
/// and serve again once clients leave.
#[test]
fn out_of_descriptors_neither_stops_nor_spins() {
    let server = TARGET.start_with(&["--max-connections", "1000"], |command| {
        limit_open_files(command, 32)
    });
    let pid = server.pid();
    let crowd: Vec<Client> = (0..40).map(|_| server.client()).collect();
    thread::sleep(Duration::from_millis(300));
    let ticks = || procfs::read_stat(pid).map_or(0, |s| s.utime + s.stime);
    let before = ticks();
    let start = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let used = (ticks() - before) as f64
        / procfs::ticks_per_second() as f64
        / start.elapsed().as_secs_f64();
    assert!(
        server.stderr().contains("accept failed"),
        "the server never ran out of descriptors; stderr: {}",
        server.stderr()
    );
    assert!(
        used <= 0.3,
        "used {:.0}% of a CPU while out of descriptors",
        used * 100.0
    );
    drop(crowd);
    assert_eq!(server.get("/").status, 200);
}

/// A kernel without io_uring (before 5.1, or a sandbox whose seccomp filter
/// refuses it, as Docker's default profile does) is a failure to start: the
/// ring is made before the start-up line, so status 1, one line, and no
/// start-up line.
#[test]
fn a_kernel_that_refuses_io_uring_stops_the_start_with_status_1() {
    let mut command = Command::new(BIN);
    command
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let fail = Fail::Calls(&[libc::SYS_io_uring_setup]);
    seccomp::fail(&mut command, fail, libc::ENOSYS);
    let output = command.output().expect("run");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    assert!(
        log.lines().count() == 1 && log.contains("Function not implemented"),
        "{log:?}"
    );
}
