//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, survive running out
//! of descriptors without spinning (submitting the accept again at once
//! would use a whole core; pausing uses almost none), and say so when the
//! ring cannot be made.

use testkit::seccomp::Fail;
use testkit::server::limit_open_files;
use testkit::{Model, Target};

const BIN: &str = env!("CARGO_BIN_EXE_uring_server");
const TARGET: Target = Target::new(BIN, Model::Concurrent);

// The kit's `one_thread_tests!`, but for its out-of-descriptors check: see
// `out_of_descriptors_neither_stops_nor_spins` below.
testkit::each_test!(load, &TARGET, if testkit::kernel::io_uring_allowed();
    hundred_sleeps_overlap,
    thousand_idle_connections_do_not_delay_a_new_one,
);

testkit::each_test!(robustness, &TARGET, if testkit::kernel::io_uring_allowed();
    near_the_open_file_limit_clients_get_503,
);

#[test]
fn past_max_connections_clients_get_503() {
    if !testkit::kernel::io_uring_allowed() {
        return;
    }
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
    if !testkit::kernel::io_uring_allowed() {
        return;
    }
    let server = TARGET.start_with(&["--max-connections", "1000"], |command| {
        limit_open_files(command, 32)
    });
    testkit::load::out_of_descriptors_it_pauses_then_serves(&server, 40, Some(0.3));
}

/// A kernel without io_uring (before 5.1, or a sandbox whose seccomp filter
/// refuses it, as Docker's default profile does) is a failure to start: the
/// ring is made before the start-up line, so status 1, one line, and no
/// start-up line.
#[test]
fn a_kernel_that_refuses_io_uring_stops_the_start_with_status_1() {
    testkit::load::refused_start_exits_with_one_line(
        BIN,
        Fail::Calls(&[libc::SYS_io_uring_setup]),
        libc::ENOSYS,
        "Function not implemented",
    );
}
