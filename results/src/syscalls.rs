//! The results file of `bench syscalls`, `docs/results/syscalls.json`: for
//! each server, the system calls strace counted while wrk drove a fixed
//! keep-alive load, and the requests wrk saw answered, so that each call
//! can be read per request. The "System calls" section of each chapter is
//! made from this alone (by `report`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capacity::Host;

/// `docs/results/syscalls.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyscallsFile {
    pub machine: Host,
    pub settings: Settings,
    /// Under the keep-alive load.
    pub servers: Vec<ServerCount>,
    /// Under the same load with `Connection: close` on every request, where
    /// a new connection (and a fork or a thread) costs its calls each time;
    /// older files do not have it.
    #[serde(default)]
    pub close: Vec<ServerCount>,
    /// Under the benchmark's pipelined load (16 requests per write), where a
    /// server that answers a batch with one write makes a sixteenth of the
    /// calls; older files do not have it.
    #[serde(default)]
    pub pipelined: Vec<ServerCount>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub quick: bool,
    /// The load, as wrk was run (without its reporting script).
    pub load: String,
    /// The load of `close`, likewise.
    #[serde(default)]
    pub close_load: String,
    /// The load of `pipelined`, likewise.
    #[serde(default)]
    pub pipelined_load: String,
    /// `strace -V`'s first line.
    pub strace: String,
}

/// What strace counted in one server's tree while the load ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCount {
    pub server: String,
    /// Requests wrk saw answered while strace was attached.
    pub requests: u64,
    /// Calls of each system call, by name.
    pub calls: BTreeMap<String, u64>,
    /// Of those, the calls that returned an error (EAGAIN, mostly).
    pub errors: BTreeMap<String, u64>,
    /// A problem of the harness or of the server's start or stop.
    pub error: Option<String>,
}

impl ServerCount {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Calls of `name` per request answered; `None` without requests.
    pub fn per_request(&self, calls: u64) -> Option<f64> {
        (self.requests > 0).then(|| calls as f64 / self.requests as f64)
    }

    /// The calls, most frequent first (ties by name).
    pub fn by_count(&self) -> Vec<(&str, u64)> {
        let mut calls: Vec<(&str, u64)> = (self.calls.iter())
            .map(|(name, n)| (name.as_str(), *n))
            .collect();
        calls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        calls
    }
}

/// Reads the table `strace -c` prints (its `-o` file): the calls and errors
/// of each system call, without the total line.
///
/// ```text
/// % time     seconds  usecs/call     calls    errors syscall
/// ------ ----------- ----------- --------- --------- ----------------
///  75.34    0.477232          26     17933           sendto
///  21.24    0.134570           7     17944         8 recvfrom
/// ------ ----------- ----------- --------- --------- ----------------
/// 100.00    0.633420          16     38019        15 total
/// ```
pub fn parse_strace_summary(
    text: &str,
) -> anyhow::Result<(BTreeMap<String, u64>, BTreeMap<String, u64>)> {
    let mut calls = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let mut header = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"%") {
            header = true;
            continue;
        }
        // The four numbers (time share, seconds, µs per call, calls), an
        // error count when there were errors, and the name.
        let (5 | 6, true, Some(name)) = (words.len(), header, words.last()) else {
            continue;
        };
        if *name == "total" || words[0].starts_with('-') {
            continue;
        }
        let number = |w: &str| w.parse::<u64>();
        let n = number(words[3])
            .map_err(|_| anyhow::anyhow!("strace summary: no call count in {line:?}"))?;
        calls.insert(name.to_string(), n);
        if words.len() == 6 {
            let e = number(words[4])
                .map_err(|_| anyhow::anyhow!("strace summary: no error count in {line:?}"))?;
            errors.insert(name.to_string(), e);
        }
    }
    anyhow::ensure!(header, "strace printed no summary table");
    Ok((calls, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_of_strace_c_is_read_call_by_call() {
        let text = "\
strace: Process 1234 attached
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 75.34    0.477232          26     17933           sendto
 21.24    0.134570           7     17944         8 recvfrom
  0.02    0.000147           8        18         7 accept4
------ ----------- ----------- --------- --------- ----------------
100.00    0.633420          16     35895        15 total
";
        let (calls, errors) = parse_strace_summary(text).unwrap();
        assert_eq!(
            calls.into_iter().collect::<Vec<_>>(),
            [
                ("accept4".into(), 18),
                ("recvfrom".into(), 17944),
                ("sendto".into(), 17933)
            ]
        );
        assert_eq!(errors.len(), 2);
        assert_eq!(errors["recvfrom"], 8);
        assert!(
            parse_strace_summary(
                "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted"
            )
            .is_err()
        );
        // An empty table: the server made no call while attached.
        assert!(
            parse_strace_summary(&text.lines().take(3).collect::<Vec<_>>().join("\n"))
                .unwrap()
                .0
                .is_empty()
        );
        let count = ServerCount {
            requests: 10,
            calls: [("a".into(), 5), ("b".into(), 20), ("c".into(), 5)].into(),
            ..Default::default()
        };
        assert_eq!(count.by_count(), [("b", 20), ("a", 5), ("c", 5)]);
        assert_eq!((count.total(), count.per_request(20)), (30, Some(2.0)));
    }
}
