//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, survive running out of
//! descriptors without spinning (retrying accept at once would use a whole
//! core; pausing uses almost none), and say so when the loop cannot start.

use testkit::{Model, Target};

const TARGET: Target = Target::new(
    env!("CARGO_BIN_EXE_multiplexingio_server"),
    Model::Concurrent,
);

testkit::one_thread_tests!(TARGET, Some(0.3));

#[test]
fn a_listener_that_cannot_be_registered_ends_it_with_status_1() {
    testkit::load::event_loop_failure_exits_non_zero(&TARGET);
}
