//! # bench — the measuring tools behind the scripts
//!
//! `bench wrk` (scripts/bench_all.sh, [`benchmark`]), `bench capacity`
//! (scripts/connections.sh, [`capacity`]), `bench pinning` ([`pinning`]),
//! and `bench pages`, which measures nothing and rewrites the docs' generated
//! sections from the committed results ([`report::site`]).
//! bench measures and builds the values of the results files; the `report`
//! crate owns those files, writes them and makes the docs' sections from
//! them. This file only dispatches: it parses the command line, raises the
//! open-file limit, installs the stop-signal handler, runs the subcommand and
//! turns its outcome into the exit status.

mod benchmark;
mod capacity;
mod cli;
mod hostile;
mod latency;
mod machine;
mod pinning;
mod plan;
mod server;
mod sockets;
mod syscalls;
mod wrk;

use std::path::{Path, PathBuf};
use std::process;
use std::sync::atomic::{AtomicBool, Ordering};

use cli::{Cli, Command};

/// Set by SIGINT/SIGTERM: the harness then stops the server it is running
/// (which lives in its own process group and did not get the signal) and
/// ends without writing docs.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether SIGINT or SIGTERM has asked the harness to stop.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// `bench pages`: the docs' generated sections, rewritten from what is committed.
fn pages(out: Option<&Path>, only: &[std::path::PathBuf]) -> anyhow::Result<bool> {
    let root = Path::new(".");
    anyhow::ensure!(
        root.join("docs/results").is_dir(),
        "no docs/results here: run `bench pages` from the repository's root"
    );
    let site = report::site::Site::new(root, &[root.join("docs").join("results")])?;
    let left = report::site::rewrite(&site, out.unwrap_or(Path::new("docs")), only)?;
    for page in &left.unmade {
        eprintln!("bench pages: a page could not be made, and was left as it was: {page}");
    }
    for claim in &left.false_claims {
        eprintln!("bench pages: a claim of the prose does not hold: {claim}");
    }
    Ok(left.unmade.is_empty() && left.false_claims.is_empty())
}

/// Where a harness writes its results and pages: `out` if given; docs/ for
/// a full run; otherwise a copy of docs/'s pages in a temporary folder named
/// after `harness`, so that a partial run never replaces the full tables.
pub fn pages_dir(out: Option<&Path>, partial: bool, harness: &str) -> anyhow::Result<PathBuf> {
    match out {
        Some(dir) => Ok(dir.to_path_buf()),
        None if !partial => Ok(PathBuf::from("docs")),
        None => {
            let copy = std::env::temp_dir().join(format!("{harness}-{}-docs", std::process::id()));
            report::site::copy_pages(Path::new("docs"), copy)
        }
    }
}

fn main() {
    let cli: Cli = connhold::parse_args("bench");
    // The servers started from here inherit the raised limit: c1000 needs a
    // thousand sockets in wrk and as many in the server, a capacity step
    // thousands more.
    let limit = common::limits::raise_fd_limit();
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let outcome = match cli.command {
        Command::Wrk(args) if args.measure_pinning => pinning::run(&args.load),
        Command::Wrk(args) => {
            if limit.soft < 2_100 {
                eprintln!(
                    "bench: warning: the open-file limit is {}; c1000 needs about 1,100 in wrk and in the server",
                    limit.soft
                );
            }
            benchmark::run(&args)
        }
        Command::Pinning(load) => pinning::run(&load),
        Command::Capacity(args) => capacity::run(&args, limit),
        Command::Hostile(args) => hostile::run(&args),
        Command::Syscalls(args) => syscalls::run(&args),
        Command::Latency(args) => latency::run(&args),
        Command::Pages(args) => pages(args.out.as_deref(), &args.pages),
    };
    if let Err(e) = &outcome {
        eprintln!("bench: {e:#}");
    }
    process::exit(match outcome {
        _ if stop_requested() => 130,
        Ok(true) => 0,
        _ => 1,
    });
}
