//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, and survive running
//! out of descriptors without spinning (retrying accept at once would use a
//! whole core; pausing uses almost none).

use testkit::{Model, Target};

testkit::one_thread_tests!(
    Target::new(
        env!("CARGO_BIN_EXE_multiplexingio_server"),
        Model::Concurrent
    ),
    Some(0.3)
);
