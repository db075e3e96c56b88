//! # prefork_server — N processes forked at start, each calling accept
//!
//! The parent binds and listens, then forks `--workers` copies of itself
//! (default: one per CPU) and from then on only supervises: when a worker
//! dies, it starts another in its place. Each worker runs simple_server's
//! loop on the shared listening socket: accept a connection, serve it to the
//! end, accept the next; but where simple_server closes after one answer,
//! a worker keeps the connection for as long as the client does. The kernel gives each new connection to one of the
//! workers waiting in `accept`. This is Apache's prefork MPM and gunicorn's
//! sync workers.
//!
//! **Good at:** the fork is paid once, at start, not per connection. Workers
//! share nothing and take no locks; a worker that crashes loses only its own
//! connection and is replaced. With one worker per CPU, CPU-bound requests
//! use every core.
//!
//! **Broken by:** anything that holds a worker. N workers serve N connections
//! at once, no more: a client waiting on `/sleep`, a slow client, or only an
//! idle kept-alive connection occupies a whole process, and client N+1 waits
//! in the accept queue. More workers cost a process each in memory.
//!
//! **The parent never starts a thread**, because it forks (replacements too),
//! and `fork` copies only the thread that calls it.

use std::io;
use std::net::TcpListener;
use std::process::exit;
use std::thread;
use std::time::Duration;

use common::cli::{self, Spec};
use common::process::{self, Children, Fork, Pid};
use common::{HttpConfig, blocking, listen, log, signals};

const NAME: &str = "prefork_server";

/// How long the parent waits before replacing a dead worker: without it, a
/// worker that dies as soon as it starts would turn the parent into a fork
/// loop.
const RESTART_PAUSE: Duration = Duration::from_millis(100);

fn main() {
    let (config, listener) = common::start(
        Spec::new(NAME, "N processes forked at start, each calling accept").workers(cli::cpus()),
    );
    let workers = config.workers.expect("the spec declares --workers");
    let mut pool = Pool::new(workers);
    for id in 0..workers {
        if let Err(err) = pool.start(id, &listener, &config.http) {
            log::line(format_args!("{NAME}: cannot start worker {id}: {err}"));
            pool.children.stop_all(signals::GRACE / 2);
            exit(1);
        }
    }
    listen::announce(
        &config,
        &listener,
        "prefork: worker processes forked at start",
    );

    // The parent's whole job from here on: sleep until a worker dies, and
    // put another in its place.
    while !signals::requested() {
        // `None`: a signal interrupted the wait; the loop condition decides.
        let Some((pid, ended)) = pool.children.wait_for_one() else {
            continue;
        };
        if let Some(id) = pool.place_of(pid) {
            log::line(format_args!(
                "{NAME}: worker {id} (pid {pid}) {ended}; starting another"
            ));
            pool.replace(id, &listener, &config.http);
        }
    }
    pool.children.stop_all(signals::GRACE / 2);
}

/// The worker processes, by place: worker `id` is process `pids[id]`.
struct Pool {
    pids: Vec<Pid>,
    children: Children,
}

impl Pool {
    fn new(workers: usize) -> Self {
        Pool {
            pids: vec![0; workers],
            children: Children::new(),
        }
    }

    /// Forks worker `id`. The child runs [`worker`] and never returns here.
    fn start(&mut self, id: usize, listener: &TcpListener, http: &HttpConfig) -> io::Result<()> {
        let parent = process::id();
        // SAFETY: this process never starts a thread (see the top of the file).
        match unsafe { process::fork() }? {
            Fork::Child => process::run_child(parent, || worker(id, listener, http)),
            Fork::Parent(pid) => {
                self.pids[id] = pid;
                self.children.started(pid);
                Ok(())
            }
        }
    }

    /// Starts a new worker `id`, trying again for as long as fork fails
    /// (out of memory or processes) and the server is not stopping.
    fn replace(&mut self, id: usize, listener: &TcpListener, http: &HttpConfig) {
        while !signals::requested() {
            thread::sleep(RESTART_PAUSE);
            match self.start(id, listener, http) {
                Ok(()) => return,
                Err(err) => log::line(format_args!("{NAME}: cannot start worker {id}: {err}")),
            }
        }
    }

    fn place_of(&self, pid: Pid) -> Option<usize> {
        self.pids.iter().position(|&p| p == pid)
    }
}

/// One worker: simple_server's loop, run by N processes on one socket, but
/// with keep-alive on: a worker belongs to its connection until the client
/// closes it or leaves it idle. Blocking `accept` on a shared socket wakes
/// one waiting worker per connection, not all of them.
fn worker(id: usize, listener: &TcpListener, http: &HttpConfig) {
    let mut served: u64 = 0;
    while !signals::requested() {
        match listen::accept(listener) {
            Ok((stream, peer)) => {
                served += 1;
                // This process belongs to this one connection until it closes,
                // a delayed response included.
                blocking::serve_connection(stream, peer, http);
            }
            // EINTR lands here too; the loop condition then sees the signal.
            Err(err) => listen::accept_failed(NAME, &err),
        }
    }
    // How evenly the kernel spread the connections, for the chapter and the
    // benchmark's log.
    log::line(format_args!(
        "{NAME}: worker {id} (pid {}) served {served} connections",
        process::id()
    ));
}
