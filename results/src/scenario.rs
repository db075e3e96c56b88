//! What gets measured, as the results files and the pages name it: the
//! servers, the scenarios and the wrk workload of each, the pool sizes of
//! the sweep, and the label of a run. How the runs are ordered (the plan)
//! is bench's.

use serde::{Deserialize, Serialize};

use Scenario::*;

/// One workload, exposing one weakness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// `wrk -t2 -c10 GET /`, the Python original's command; old results call it `seed`.
    #[default]
    #[serde(alias = "seed")]
    C10,
    C100,
    C1000,
    /// 16 requests per write on every connection: the HTTP layer's own cost.
    Pipelined,
    Close,
    Slow,
    Cpu,
    Workers,
    /// The sweep on fast requests (`GET /`): does a bigger pool slow them?
    #[serde(rename = "workers-fast")]
    WorkersFast,
    Logging,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        C10,
        C100,
        C1000,
        Pipelined,
        Close,
        Slow,
        Cpu,
        Workers,
        WorkersFast,
        Logging,
    ];

    pub fn name(self) -> &'static str {
        self.about().0
    }

    /// What wrk does in this scenario. `workers` is `slow`, `workers-fast`
    /// is `c100` and `logging` is `c10`, on differently started servers.
    pub fn workload(self) -> Workload {
        self.about().1
    }

    /// The two pool-size sweeps: run at each of [`WORKER_COUNTS`], not once.
    pub fn is_sweep(self) -> bool {
        matches!(self, Workers | WorkersFast)
    }

    /// One line for the plan: what the scenario exposes.
    pub fn exposes(self) -> &'static str {
        self.about().2
    }

    fn about(self) -> (&'static str, Workload, &'static str) {
        let get = |connections, path| Workload {
            connections,
            path,
            close: false,
            pipeline: 1,
        };
        let (root, slow) = ("/", "/sleep?ms=10");
        match self {
            C10 => (
                "c10",
                get(10, root),
                "the Python original's exact command, for comparison",
            ),
            C100 => ("c100", get(100, root), "many concurrent keep-alive clients"),
            C1000 => (
                "c1000",
                get(1000, root),
                "more clients than threads or processes; system limits",
            ),
            Pipelined => {
                let pipelined = Workload {
                    pipeline: PIPELINE_DEPTH,
                    ..get(256, root)
                };
                (
                    "pipelined",
                    pipelined,
                    "16 requests per write: what parsing and answering cost per request",
                )
            }
            Close => {
                let close = Workload {
                    close: true,
                    ..get(10, root)
                };
                (
                    "close",
                    close,
                    "a new connection per request: the cost of accept/fork/spawn",
                )
            }
            Slow => (
                "slow",
                get(100, slow),
                "waiting on I/O (10 ms) while others wait",
            ),
            Cpu => (
                "cpu",
                get(10, "/cpu?n=200"),
                "CPU-bound work: one core or two",
            ),
            Workers => (
                "workers",
                get(100, slow),
                "pool size against a slow workload",
            ),
            WorkersFast => (
                "workers-fast",
                get(100, root),
                "pool size against fast requests",
            ),
            Logging => (
                "logging",
                get(10, root),
                "one log line per request (--verbose)",
            ),
        }
    }
}

/// wrk's settings for one run, beyond its two threads (the Python
/// original's `-t2`, and as many as this machine has cores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub connections: u32,
    pub path: &'static str,
    /// Send `Connection: close` with every request.
    pub close: bool,
    /// Requests wrk writes at once on a connection before it reads their
    /// answers; 1 is no pipelining.
    pub pipeline: u32,
}

/// How deep the `pipelined` scenario pipelines: 16, as TechEmpower's
/// plaintext test does (wrk's own example, scripts/pipeline.lua in its
/// repository, sends 3). At 16 the reads and writes are shared by sixteen
/// requests, so what is left per request is mostly the HTTP work.
pub const PIPELINE_DEPTH: u32 = 16;

impl Workload {
    /// As a person would type it, for the docs and the results file.
    pub fn describe(&self, duration_s: u64) -> String {
        let close = if self.close {
            " -H 'Connection: close'"
        } else {
            ""
        };
        let pipeline = match self.pipeline {
            0 | 1 => String::new(),
            n => format!(", {n} pipelined per write"),
        };
        format!(
            "wrk -t2 -c{} -d{duration_s}s{close} GET {}{pipeline}",
            self.connections, self.path
        )
    }
}

/// The pool sizes of the `workers` sweep (the Python original swept 1, 4, 10, 50).
pub const WORKER_COUNTS: [u32; 4] = [1, 4, 16, 64];

/// The servers in the order of the docs.
pub const SERVERS: [&str; 11] = [
    "simple_server",
    "cgi_server",
    "cgi_threading_server",
    "prefork_server",
    "threadpool1_server",
    "threadpool2_server",
    "noblocking_server",
    "multiplexingio_server",
    "async_server",
    "percore_server",
    "uring_server",
];

/// The production reference row.
pub const NGINX: &str = "nginx";
/// The third reference, for Rust: hyper on tokio's multi-threaded runtime,
/// running the course's application (`references/hyper_reference`).
pub const HYPER: &str = "hyper";
/// The binary of [`HYPER`].
pub const HYPER_BINARY: &str = "hyper_reference";

/// The second reference: multiplexingio_server's event loop with no HTTP at
/// all (`multiplexingio_server/examples/bare_mio.rs`), a fixed answer to
/// every request. The gap between the two is what the shared HTTP code costs.
pub const BARE_MIO: &str = "bare_mio";

/// A run's name in tables and progress lines: "c1000", "workers w=16",
/// "logging verbose". The variant is "" for plain scenarios.
pub fn label(scenario: Scenario, variant: &str) -> String {
    match variant {
        "" => scenario.name().to_string(),
        _ => format!("{} {variant}", scenario.name()),
    }
}

/// A scenario that does not apply to a server, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub server: String,
    pub scenario: Scenario,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_the_same_everywhere() {
        for s in Scenario::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert_eq!(serde_json::from_str::<Scenario>("\"seed\"").unwrap(), C10);
        assert_eq!(
            Close.workload().describe(10),
            "wrk -t2 -c10 -d10s -H 'Connection: close' GET /"
        );
        assert_eq!(
            Pipelined.workload().describe(5),
            "wrk -t2 -c256 -d5s GET /, 16 pipelined per write"
        );
    }
}
