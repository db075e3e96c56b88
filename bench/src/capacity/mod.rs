//! # `bench capacity` — how many idle connections each server can hold
//!
//! wrk measures busy connections; real servers mostly hold idle ones. For
//! each server and each step (1,000, 5,000, … connections) this mode starts
//! the server afresh with its idle and header timeouts raised out of the way,
//! samples its process tree once before any client comes (the baseline),
//! runs `connhold` to open the step's connections and hold them, samples the
//! tree again while they are held, and stops the server. A server's run ends
//! at its first failing step, with the reason: what the clients saw
//! (refused, timed out, never answered, closed) and what the server logged
//! (EMFILE, no thread or process could be started).
//!
//! [`run`] does the measuring and [`diagnose`] explains a failed step;
//! [`write`] builds `docs/results/connections.json` from the runs, which
//! `report` writes and makes the marked section of `docs/connections.md`
//! and one line in each chapter from.

mod diagnose;
mod run;

pub use run::run;

use crate::pages_dir;
use results::capacity::{ConnectionsFile, ServerRun, Settings};

use crate::cli::CapacityArgs;
use crate::machine;

/// The raised timeouts: idle connections must outlive the measurement.
const SERVER_ARGS: [&str; 4] = ["--idle-timeout", "3600", "--header-timeout", "3600"];

/// Builds the results file and has `report` write it and the pages: in
/// docs/, or a temporary folder with `--quick`.
pub fn write(args: &CapacityArgs, servers: Vec<ServerRun>) -> anyhow::Result<()> {
    let file = ConnectionsFile {
        machine: machine::host(),
        settings: Settings {
            steps: args.steps(),
            rate: args.rate,
            hold_s: args.hold_s(),
            timeout_s: args.timeout,
            per_client: args.per_client,
            server_args: SERVER_ARGS.join(" "),
        },
        limits: run::read_limits(),
        servers,
    };
    // Only a full run of every server writes into docs/, unless --out says
    // otherwise: a partial one would replace the whole table with its rows.
    let partial = args.quick || !args.only.is_empty() || !args.steps.is_empty();
    let out = pages_dir(args.out.as_deref(), partial, "bench-capacity")?;
    report::site::publish(&out, "connections.json", &file, partial)
}
