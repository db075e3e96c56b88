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
//! at once is one more process, until `fork` fails and clients get a 503.
//!
//! **The parent never starts a thread.** `fork` copies only the thread that
//! calls it; if another thread held a lock at that moment (the allocator's,
//! stdout's), the child would start with it locked and nobody to unlock it.

use std::io::{self, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use common::cli::Spec;
use common::process::{self, Children, Fork, Wait};
use common::session::log_line;
use common::{Config, blocking, http, net, shutdown};

const NAME: &str = "cgi_server";

/// The longest a zombie can wait to be reaped when its SIGCHLD was missed
/// (see [`wake_when_a_child_ends`]).
const REAP_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

fn main() {
    let config = Config::from_args(Spec::new(NAME, "a new process (fork) per connection"));
    let listener = net::listen(&config);
    shutdown::install();
    wake_when_a_child_ends(&listener);
    net::announce(&config, &listener, "a process per connection");

    let parent = process::id();
    let mut children = Children::new();
    while !shutdown::requested() {
        match net::accept(&listener) {
            // SAFETY: this process never starts a thread (see the top of the file).
            Ok((stream, peer)) => match unsafe { process::fork() } {
                Ok(Fork::Child) => {
                    // The child serves one client. The listening socket is the
                    // parent's; a child holding it would keep the port open
                    // after the parent is gone.
                    drop(listener);
                    process::run_child(parent, || {
                        blocking::serve_connection(stream, peer, &config.http, thread::sleep)
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
                Err(err) => turn_away(stream, &err),
            },
            // A child that ended (SIGCHLD) or a stop signal interrupts accept
            // with EINTR and lands here; so does the accept timeout.
            Err(err) => net::accept_failed(NAME, &err),
        }
        reap_ended(&mut children);
    }
    children.stop_all(shutdown::GRACE / 2);
}

/// Collects every child that has ended. Until its parent does this, a child
/// that exited stays a zombie, holding its pid and its process-table entry.
fn reap_ended(children: &mut Children) {
    while let Some((pid, ended)) = children.reap(Wait::No) {
        // A crash or a panic is that one child's; the parent only notes it.
        if !ended.cleanly() {
            log_line(format_args!("{NAME}: child {pid} {ended}"));
        }
    }
}

/// Answers 503 on a connection that no process can serve. The response is
/// short and the socket new, so the write fits in its empty send buffer and
/// cannot hold up the parent.
fn turn_away(stream: TcpStream, err: &io::Error) {
    log_line(format_args!("{NAME}: cannot fork: {err}; answering 503"));
    let _ = (&stream).write_all(&http::overloaded_response(1));
}

/// Makes the parent's `accept` return when a child ends, so that zombies are
/// reaped even when no client comes.
///
/// SIGCHLD interrupts `accept` (EINTR) because its handler is installed
/// without `SA_RESTART`. A child that ends after the last `waitpid` but before
/// `accept` starts would still be missed; a receive timeout on the listening
/// socket, which Linux applies to `accept`, bounds how long it stays a zombie.
fn wake_when_a_child_ends(listener: &TcpListener) {
    // The handler does nothing: interrupting `accept` is all it is for.
    extern "C" fn on_child_ended(_signal: libc::c_int) {}

    let timeout = libc::timeval {
        tv_sec: REAP_AT_LEAST_EVERY.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: a zeroed sigaction is valid and the handler is an empty extern
    // "C" function; setsockopt reads a live timeval of the size given.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        let handler: extern "C" fn(libc::c_int) = on_child_ended;
        action.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut());
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
}
