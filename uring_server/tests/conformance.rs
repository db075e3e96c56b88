//! The shared conformance kit, with the concurrent expectations.

use testkit::{Model, Target};

testkit::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_uring_server"),
    Model::Concurrent
));
