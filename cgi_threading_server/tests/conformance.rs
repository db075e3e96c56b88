//! The shared conformance kit, with the concurrent expectations: connections
//! are kept open between requests, and a slow client does not hold up others.

use testkit::{Model, Target};

testkit::conformance_tests!(Target::new(
    env!("CARGO_BIN_EXE_cgi_threading_server"),
    Model::Concurrent
));
