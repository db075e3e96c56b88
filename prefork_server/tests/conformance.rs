//! The shared conformance kit, with the concurrent expectations. Four
//! workers: the kit holds up to three connections open at once, and a
//! kept-alive connection occupies a whole worker.

use testkit::{Model, Target};

testkit::conformance_tests!(
    Target::new(env!("CARGO_BIN_EXE_prefork_server"), Model::Concurrent).args(&["--workers", "4"])
);
