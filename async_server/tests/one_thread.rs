//! What one thread serving every connection must still do: never block on a
//! sleep, not let idle connections delay a new one, and survive running out
//! of descriptors without spinning. The checks are shared with the other
//! event-loop servers (`testkit::load`).

use testkit::{Model, Server, Target};

const TARGET: Target = Target::new(env!("CARGO_BIN_EXE_async_server"), Model::Concurrent);

#[test]
fn start_line_reports_the_open_file_limit() {
    let server = Server::start(TARGET.bin, &[]);
    assert!(
        server.banner.contains("; open-file limit "),
        "{}",
        server.banner
    );
}

testkit::one_thread_tests!(TARGET, Some(0.3));

#[test]
fn a_listener_that_cannot_be_registered_ends_it_with_status_1() {
    testkit::load::event_loop_failure_exits_non_zero(&TARGET);
}
