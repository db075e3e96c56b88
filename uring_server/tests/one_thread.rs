//! What one thread serving every connection must still do: never block on
//! a sleep, not let idle connections delay a new one, and survive running
//! out of descriptors without spinning (submitting the accept again at once
//! would use a whole core; pausing uses almost none).

use testkit::{Model, Target};

const TARGET: Target = Target::new(env!("CARGO_BIN_EXE_uring_server"), Model::Concurrent);

testkit::one_thread_tests!(TARGET, Some(0.3));
