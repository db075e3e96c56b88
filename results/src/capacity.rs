//! The results file of `bench capacity`, `docs/results/connections.json`:
//! for each server, every step it was measured at, the samples of its
//! process tree and of the kernel before and while the connections were
//! held, and the figures derived from them. The capacity page and each
//! chapter's line are made from this alone (by `report`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Failures by kind, as connhold counts them.
pub type Counts = BTreeMap<String, u64>;

/// Latency of the probes (a fresh `GET /` each), in ms; `None` when no
/// probe was answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeMs {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// Fewer connections held than this give no per-connection figure: the
/// growth would be lost in the noise of the machine.
const MIN_HELD: usize = 100;

/// `docs/results/connections.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsFile {
    pub machine: Host,
    pub settings: Settings,
    /// The system limits behind the figures, by name, in the order of their table.
    pub limits: serde_json::Map<String, serde_json::Value>,
    pub servers: Vec<ServerRun>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub date: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub steps: Vec<u64>,
    pub rate: f64,
    pub hold_s: u64,
    pub timeout_s: u64,
    pub per_client: u64,
    pub server_args: String,
}

/// Everything measured of one server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerRun {
    pub server: String,
    /// The server's own open-file soft limit, from /proc/PID/limits.
    pub open_files: Option<u64>,
    /// A problem of the harness or of the server's start or stop.
    pub error: Option<String>,
    pub steps: Vec<Step>,
}

impl ServerRun {
    /// The largest step that passed.
    pub fn best(&self) -> Option<&Step> {
        self.steps.iter().rev().find(|s| s.passed)
    }

    pub fn first_failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.passed)
    }
}

/// One step of one server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub connections: usize,
    pub held: usize,
    pub passed: bool,
    /// Why the step failed.
    pub reason: Option<String>,
    pub ramp_s: f64,
    pub baseline: Sample,
    /// The tree while the connections were held (the largest PSS of a few looks).
    pub held_sample: Option<Sample>,
    /// (PSS held − PSS before any client) / connections held.
    pub kib_per_connection: Option<f64>,
    /// The growth of the kernel's memory per connection held, from the
    /// machine's figures: both ends of every loopback connection.
    pub kernel_tcp_mem_kib_per_connection: Option<f64>,
    pub kernel_slab_kib_per_connection: Option<f64>,
    pub kernel_stack_and_page_tables_kib_per_connection: Option<f64>,
    pub probes: usize,
    pub probe_ms: Option<ProbeMs>,
    /// What went wrong, by kind, summed over the clients.
    pub failures: Counts,
    pub probe_failures: Counts,
    /// The server's log, kept when the step failed.
    pub server_log_tail: Option<String>,
}

impl Step {
    /// Sets the figures derived from the samples once the step is over.
    pub fn finish(&mut self) {
        self.passed = self.reason.is_none();
        let (Some(held), true) = (self.held_sample, self.held >= MIN_HELD) else {
            return;
        };
        let before = self.baseline;
        let per = |after: u64, before: u64| Some((after as f64 - before as f64) / self.held as f64);
        self.kib_per_connection = per(held.pss_kib, before.pss_kib);
        // Only a step that held all its connections: in a failed one the
        // kernel also holds the sockets that waited, unanswered, in a queue.
        if self.passed {
            self.kernel_tcp_mem_kib_per_connection = per(held.tcp_mem_kib, before.tcp_mem_kib);
            self.kernel_slab_kib_per_connection = per(held.slab_kib, before.slab_kib);
            self.kernel_stack_and_page_tables_kib_per_connection = per(
                held.kernel_stack_and_page_tables_kib,
                before.kernel_stack_and_page_tables_kib,
            );
        }
    }
}

impl Step {
    /// The kernel's memory per connection held: its slab (socket objects)
    /// and the stacks and page tables of the threads and processes, for a
    /// step that held at least [`KERNEL_MIN_HELD`]. TCP buffer memory is
    /// left out: an idle socket holds no data, and its figure is the noise
    /// of the rest of the machine around zero (the file keeps it).
    pub fn kernel_kib(&self) -> Option<f64> {
        if self.held < KERNEL_MIN_HELD {
            return None;
        }
        let slab = self.kernel_slab_kib_per_connection?;
        Some(slab + self.kernel_stack_and_page_tables_kib_per_connection?)
    }
}

/// A connection count from which the machine-wide kernel figures rise
/// above what the rest of the machine does meanwhile: below it, a KiB per
/// connection is a few MiB that the page cache or another process can hide.
pub const KERNEL_MIN_HELD: usize = 5_000;

/// One look at the server's tree and at the machine's kernel memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub pss_kib: u64,
    pub rss_kib: u64,
    pub threads: u64,
    pub processes: u64,
    /// Memory mappings of the process with the most (see `vm.max_map_count`).
    pub max_maps: u64,
    /// The machine's TCP sockets in use, and their buffers (`/proc/net/sockstat`).
    pub tcp_inuse: u64,
    pub tcp_mem_kib: u64,
    /// The machine's `Slab:` (kernel objects, sockets among them).
    pub slab_kib: u64,
    /// The machine's `KernelStack:` plus `PageTables:`: what each thread (a
    /// kernel stack) and process (page tables) costs the kernel outside the slab.
    pub kernel_stack_and_page_tables_kib: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An earlier run, kept as test data: its figures are fixed, so tests may
    /// assert them.
    pub const EARLIER: &str = include_str!("../../report/testdata/connections-2026-11-23.json");

    #[test]
    fn a_results_file_loads_and_its_figures_follow_from_the_samples() {
        let file: ConnectionsFile = serde_json::from_str(EARLIER).unwrap();
        assert_eq!(
            (file.machine.cores, file.settings.rate, file.settings.hold_s),
            (2, 2000.0, 10)
        );
        assert_eq!(file.limits["vm.max_map_count"], "65530");
        let cgi = &file.servers[1];
        assert_eq!(
            (cgi.server.as_str(), cgi.open_files, cgi.steps.len()),
            ("cgi_server", Some(20_000), 3)
        );
        assert_eq!(
            (
                cgi.steps[0].held_sample.map(|s| s.threads),
                cgi.steps[0].probe_ms.and_then(|p| p.p99)
            ),
            (Some(1001), Some(2.051))
        );
        assert_eq!(
            cgi.first_failure()
                .map(|s| s.failures["timeout: no answer"]),
            Some(2205)
        );
        // Every derived figure again from the samples: a failed step has no
        // kernel figure, and one that held fewer than 100 none at all.
        let near =
            |a: Option<f64>, b: Option<f64>| a.zip(b).map_or(a == b, |(a, b)| (a - b).abs() < 1e-3);
        for step in file.servers.iter().flat_map(|run| &run.steps) {
            let mut again = Step {
                baseline: step.baseline,
                held_sample: step.held_sample,
                ..Step::default()
            };
            (again.connections, again.held, again.reason) =
                (step.connections, step.held, step.reason.clone());
            again.finish();
            assert_eq!(again.passed, step.passed);
            assert!(
                near(again.kib_per_connection, step.kib_per_connection),
                "{step:?}"
            );
            assert!(near(
                again.kernel_slab_kib_per_connection,
                step.kernel_slab_kib_per_connection
            ));
            assert!(near(
                again.kernel_tcp_mem_kib_per_connection,
                step.kernel_tcp_mem_kib_per_connection
            ));
            let (tasks, was) = (
                again.kernel_stack_and_page_tables_kib_per_connection,
                step.kernel_stack_and_page_tables_kib_per_connection,
            );
            assert!(near(tasks, was));
        }
    }
}
