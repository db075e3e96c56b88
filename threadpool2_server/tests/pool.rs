//! What is particular to a pool whose threads accept for themselves: a fixed
//! number of threads, the keep-alive trap, and no queue of our own: waiting
//! clients wait in the kernel.

testkit::pool_tests!(env!("CARGO_BIN_EXE_threadpool2_server"));
