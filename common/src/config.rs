//! A server's settings: where it listens, how many workers it runs (where it
//! has any), and how every connection speaks HTTP. [`crate::cli`] fills them
//! in from the command line.

use std::time::Duration;

/// The limits that keep one client from exhausting a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request head (request line and fields) longer than this gets 431.
    pub max_head: usize,
    /// A body longer than this gets 413, before any of it is read.
    pub max_body: usize,
    /// A request must arrive whole within this, from its first byte, or it
    /// gets 408; a body gets more time as it arrives (see `min_body_rate`).
    pub header_timeout: Duration,
    /// Bytes per second a body must average: every byte that arrives extends
    /// the request's deadline by `1 / min_body_rate` s. A client that
    /// trickles a byte now and then runs out of time after `header_timeout`;
    /// an honest slow upload keeps earning more.
    pub min_body_rate: u64,
    /// A connection with no request under way is closed after this; so is
    /// one whose client has not read a byte of its answers for this long.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            max_body: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            min_body_rate: 16 * 1024,
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

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            limits: Limits::default(),
            verbose: false,
            persistent: true,
        }
    }
}

/// A server's settings, from its command line.
#[derive(Clone, Debug)]
pub struct Config {
    /// The binary's name, for messages.
    pub name: &'static str,
    pub host: String,
    pub port: u16,
    /// `--workers`: `Some` exactly when the strategy has a pool to size.
    pub workers: Option<usize>,
    /// `--queue`: `Some` exactly when the strategy queues connections for
    /// its workers (threadpool1_server).
    pub queue: Option<usize>,
    /// `--max-connections`: `Some` exactly when the strategy starts a process
    /// or a thread per connection and must stop somewhere.
    pub max_connections: Option<usize>,
    pub http: HttpConfig,
}
