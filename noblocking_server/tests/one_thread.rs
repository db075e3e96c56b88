//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, and survive running
//! out of descriptors. (It spins the CPU while doing so: that is the model.)

use testkit::{Model, Target};

testkit::one_thread_tests!(
    Target::new(env!("CARGO_BIN_EXE_noblocking_server"), Model::Concurrent),
    None
);
