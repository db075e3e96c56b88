//! The shared conformance kit, with the concurrent expectations.

use common::testkit::{Model, Target};

common::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_multiplexingio_server"),
    Model::Concurrent
));
