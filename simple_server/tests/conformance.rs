//! The shared conformance kit, with the iterative expectations: every
//! response closes its connection, and a slow client makes the others wait.

use testkit::{Model, Target};

testkit::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_simple_server"),
    Model::Iterative
));
