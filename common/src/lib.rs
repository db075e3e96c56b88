//! What every server in this workspace shares, so that two servers read side
//! by side differ only in their concurrency strategy.
//!
//! - [`http`]: request heads in, responses out (httparse underneath);
//! - [`app`]: the four routes every server answers;
//! - [`session`]: one connection's buffers and protocol state, with no I/O;
//! - [`blocking`]: the read–answer loop of the strategies that block;
//! - [`cli`], [`net`], [`shutdown`]: the command line, the listening socket,
//!   and SIGINT/SIGTERM;
//! - [`testkit`]: the black-box conformance suite run against every binary.
//!
//! Who accepts, who reads and writes, who waits and how many threads or
//! processes there are is *not* here: that is each server's `main.rs`.

use std::time::Duration;

pub mod app;
pub mod blocking;
pub mod cli;
pub mod http;
pub mod limits;
pub mod loadkit;
pub mod net;
pub mod process;
pub mod session;
pub mod shutdown;
pub mod testkit;
pub mod workers;

pub use cli::Config;
pub use session::{Action, Session};

/// The limits that keep one client from exhausting a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request head (request line and fields) longer than this gets 431.
    pub max_head: usize,
    /// A body longer than this gets 413, before any of it is read.
    pub max_body: usize,
    /// A request must arrive whole within this (its body: without a pause
    /// this long), or it gets 408.
    pub header_timeout: Duration,
    /// A connection with no request under way is closed after this.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            max_body: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// How every connection of a server speaks HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    pub limits: Limits,
    /// One log line per request on stderr.
    pub verbose: bool,
    /// Whether connections may stay open between requests. Only the iterative
    /// server turns this off: one kept connection would lock out everyone else.
    pub persistent: bool,
}
