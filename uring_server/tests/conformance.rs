//! The shared conformance kit, with the concurrent expectations. Where the
//! kernel refuses io_uring, each test passes without running and the run
//! says so once (`testkit::kernel::io_uring_allowed`).

use testkit::{Model, Target};

testkit::conformance_tests!(
    Target::new(env!("CARGO_BIN_EXE_uring_server"), Model::Concurrent),
    if testkit::kernel::io_uring_allowed()
);
