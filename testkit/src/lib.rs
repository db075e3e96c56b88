//! The test kit: what the servers' tests and the measuring tools share.
//!
//! - [`procfs`]: everything read from `/proc` (process trees, threads,
//!   memory, CPU time, sockets, limits).

pub mod procfs;
