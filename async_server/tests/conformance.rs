//! The shared conformance kit, with the concurrent expectations: connections
//! are kept alive, and a slow request does not hold up the others.

use testkit::{Model, Target};

testkit::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_async_server"),
    Model::Concurrent
));
