//! The shared conformance kit, with the concurrent expectations: every
//! connection has a process of its own, so connections are kept and a slow
//! client makes nobody wait.

use testkit::{Model, Target};

testkit::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_cgi_server"),
    Model::Concurrent
));
