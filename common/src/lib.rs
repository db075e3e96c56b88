//! What every server in this workspace runs, so that two servers read side
//! by side differ only in their concurrency strategy. One module per job:
//!
//! - [`config`]: a server's settings ([`Config`], [`HttpConfig`], [`Limits`]);
//! - [`cli`]: the command line every server shares, into a [`Config`];
//! - [`http`]: request heads in, responses out (httparse underneath);
//! - [`date`]: the `Date` header, formatted once a second;
//! - [`app`]: the four routes every server answers;
//! - [`session`]: one connection's buffers and protocol state, with no I/O;
//! - [`blocking`]: the read–answer loop of the strategies that block;
//! - [`listen`]: the listening socket: bind, announce, accept, stop accepting;
//! - [`slots`]: a single-threaded loop's connections by number, and their timers;
//! - [`turn_away`]: the 503 for a client there is no room for;
//! - [`limits`]: the system's limits on descriptors, processes and threads;
//! - [`kernel`]: which Linux this is, for features that need a recent one;
//! - [`log`]: log lines that can never take a server down;
//! - [`process`]: forking, reaping and stopping child processes;
//! - [`signals`]: SIGINT and SIGTERM, and waiting for them;
//! - [`io`]: the named checks on I/O errors (`would_block`, `interrupted`).
//!
//! Who accepts, who reads and writes, who waits and how many threads or
//! processes there are is *not* here: that is each server's `main.rs`.

pub mod app;
pub mod blocking;
pub mod cli;
pub mod config;
pub mod date;
pub mod http;
pub mod io;
pub mod kernel;
pub mod limits;
pub mod listen;
pub mod log;
pub mod process;
pub mod session;
pub mod signals;
pub mod slots;
pub mod turn_away;

pub use config::{Config, HttpConfig, Limits};
pub use session::{Action, Session};

use std::net::TcpListener;

/// The start every server makes, none of it a strategy: read the command
/// line (or exit 2 with one line), bind the listening socket (or exit 1 with
/// one line), and install the SIGINT/SIGTERM handlers. The server announces
/// itself with [`listen::announce`] once it is ready to serve.
pub fn start(spec: cli::Spec) -> (Config, TcpListener) {
    let config = Config::from_args(spec);
    let listener = listen::listen(&config);
    signals::install();
    (config, listener)
}
