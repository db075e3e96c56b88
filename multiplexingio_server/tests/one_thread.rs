//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, and survive running
//! out of descriptors without spinning.

use std::time::Duration;

use common::loadkit;
use common::testkit::{Model, Target};

const TARGET: Target = Target::new(
    env!("CARGO_BIN_EXE_multiplexingio_server"),
    Model::Concurrent,
);

#[test]
fn hundred_sleeps_overlap() {
    loadkit::sleeps_overlap(
        &TARGET,
        100,
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
}

#[test]
fn thousand_idle_connections_do_not_delay_a_new_one() {
    loadkit::idle_crowd_does_not_delay(&TARGET, 1000, Duration::from_millis(500));
}

#[test]
fn out_of_descriptors_neither_stops_nor_spins() {
    // Retrying accept at once would use a whole core; pausing uses almost none.
    loadkit::survives_running_out_of_descriptors(&TARGET, Some(0.3));
}
