//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, survive running out
//! of descriptors without spinning (submitting the accept again at once
//! would use a whole core; pausing uses almost none), and say so when the
//! ring cannot be made.

use std::process::{Command, Stdio};

use testkit::seccomp::{self, Fail};
use testkit::{Model, Target};

const BIN: &str = env!("CARGO_BIN_EXE_uring_server");
const TARGET: Target = Target::new(BIN, Model::Concurrent);

testkit::one_thread_tests!(TARGET, Some(0.3));

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
