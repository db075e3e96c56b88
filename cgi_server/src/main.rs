//! # cgi_server — a new process for every connection
//!
//! The parent only accepts. For each connection it forks; the child, a copy
//! of the parent, serves that one connection with the shared blocking loop
//! and exits. This is how inetd started a server per connection and how CGI
//! ran a program per request.
//!
//! **Good at:** isolation. Every connection has a process of its own, so a
//! crash, a panic or a leak ends with that connection, and a slow client
//! holds up nobody but itself.
//!
//! **Broken by:** connection churn. Each new connection costs a `fork`
//! (copying the parent's page tables and descriptors), an `exit` and a
//! `waitpid`: far more than answering a small request. And each client served
//! at once is one more process, up to a cap derived from the system's limits
//! (`--max-connections`), past which clients get a 503.
//!
//! The parent reaps its children only when SIGCHLD says one has ended: each
//! `waitpid` makes the kernel walk the parent's list of children, and doing
//! that after every accept cost more than the accept itself once thousands
//! of clients were held.
//!
//! **The parent never starts a thread.** `fork` copies only the thread that
//! calls it; if another thread held a lock at that moment (the allocator's,
//! stdout's), the child would start with it locked and nobody to unlock it.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use common::cli::Spec;
use common::process::{self, Children, Fork};
use common::turn_away::turn_away;
use common::{blocking, limits, listen, log, signals};

const NAME: &str = "cgi_server";

/// The longest a zombie can wait to be reaped when its SIGCHLD came just
/// before `accept` started (see `process::wake_when_a_child_ends`).
const REAP_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

fn main() {
    let cap = limits::process_cap();
    let (config, listener) = common::start(
        Spec::new(NAME, "a new process (fork) per connection").max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    process::wake_when_a_child_ends(&listener, REAP_AT_LEAST_EVERY);
    let model = format!(
        "a process per connection, at most {} at once: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &listener, &model);

    let parent = process::id();
    let mut children = Children::new();
    while !signals::requested() {
        match listen::accept(&listener) {
            // Every child is a process and a pid: stop before the machine
            // runs out of them, rather than fail every fork on it.
            Ok((stream, _)) if children.count() >= cap.connections => turn_away(stream),
            // SAFETY: this process never starts a thread (see the top of the file).
            Ok((stream, peer)) => match unsafe { process::fork() } {
                Ok(Fork::Child) => {
                    // The child serves one client. The listening socket is the
                    // parent's; a child holding it would keep the port open
                    // after the parent is gone.
                    drop(listener);
                    process::run_child(parent, || {
                        blocking::serve_connection(stream, peer, &config.http)
                    });
                }
                Ok(Fork::Parent(pid)) => {
                    children.started(pid);
                    // The child has its own copy of the socket. A connection
                    // ends only when every copy is closed, so the parent
                    // closes its copy now.
                    drop(stream);
                }
                // Out of processes or memory (EAGAIN, ENOMEM): nobody can
                // serve this client, so say so, and go on serving the others.
                Err(err) => cannot_fork(stream, &err),
            },
            // A child that ended (SIGCHLD) or a stop signal interrupts accept
            // with EINTR and lands here; so does the accept timeout.
            Err(err) => listen::accept_failed(NAME, &err),
        }
        if process::a_child_ended() {
            reap_ended(&mut children);
        }
    }
    // What reaping cost: each `waitpid` walks the list of children.
    let (started, waits) = children.history();
    log::line(format_args!(
        "{NAME}: {started} children started, reaped with {waits} calls to waitpid"
    ));
    children.stop_all(signals::GRACE / 2);
}

/// Collects every child that has ended. Until its parent does this, a child
/// that exited stays a zombie, holding its pid and its process-table entry.
fn reap_ended(children: &mut Children) {
    while let Some((pid, ended)) = children.reap_ended() {
        // A crash or a panic is that one child's; the parent only notes it.
        if !ended.cleanly() {
            log::line(format_args!("{NAME}: child {pid} {ended}"));
        }
    }
}

fn cannot_fork(stream: TcpStream, err: &io::Error) {
    log::line(format_args!("{NAME}: cannot fork: {err}; answering 503"));
    turn_away(stream);
}
