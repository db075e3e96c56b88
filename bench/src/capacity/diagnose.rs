//! Why a capacity step failed, in one sentence: what stopped it (the
//! server's death, the harness's own guard), what the server's log says,
//! and the commonest failures the clients saw, each with its meaning.

use connhold::kind;
use results::capacity::Step;
use results::thousands;

/// What one kind of failure means, in words for the table.
fn meaning(kind: &str) -> &'static str {
    match kind {
        kind::NO_ANSWER => "connected, but left unanswered in the accept queue",
        kind::CONNECT_TIMEOUT => "connect timed out (the accept queue is full)",
        kind::CLOSES => "the server closes every connection after answering",
        kind::CLOSED_WHILE_HELD => "closed while idle",
        kind::CLOSED_BEFORE_ANSWER => "closed before answering",
        "local: EMFILE" => "the client ran out of file descriptors",
        "local: EADDRNOTAVAIL" => "the client ran out of source ports",
        k if k.contains("ECONNREFUSED") => "refused",
        k if k.contains("ECONNRESET") => "reset by the server",
        "status 503" => "503: turned away (no worker, queue slot, thread or process free)",
        _ => "",
    }
}

/// What the server's log says about a failure, if anything.
fn log_hints(log: &str) -> Vec<&'static str> {
    let mut hints = Vec::new();
    if log.contains("Too many open files") {
        hints.push("EMFILE in the server (its open-file limit)");
    }
    if log.contains("Resource temporarily unavailable") {
        hints.push("EAGAIN in the server (thread or process limit)");
    }
    if log.contains("stack guard page: Cannot allocate memory") {
        // Each thread maps a stack, its guard page and a signal stack with
        // its own guard: vm.max_map_count runs out before memory does.
        hints.push("ENOMEM mapping a new thread's stacks (vm.max_map_count)");
    } else if log.contains("Cannot allocate memory") {
        hints.push("ENOMEM in the server");
    }
    hints
}

/// Why a step failed: what stopped it first, then the server's log, then
/// the two commonest failures the clients saw and the probes' failure.
pub fn why(step: &Step, log: &str, stopped: Option<&str>) -> Option<String> {
    let mut parts: Vec<String> = stopped.into_iter().map(str::to_string).collect();
    parts.extend(log_hints(log).into_iter().map(str::to_string));
    let mut kinds: Vec<(&String, &u64)> = step.failures.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (kind, count) in kinds.into_iter().take(2) {
        let means = match meaning(kind) {
            "" => String::new(),
            means => format!(": {means}"),
        };
        parts.push(format!("{} × {kind}{means}", thousands(*count)));
    }
    if step.held < step.connections && step.failures.is_empty() && stopped.is_none() {
        parts.push(format!(
            "{} of {} connections lost",
            step.connections - step.held,
            step.connections
        ));
    }
    if let Some((kind, count)) = step.probe_failures.iter().max_by_key(|(_, c)| **c) {
        parts.push(format!("{} failed probe(s): {kind}", thousands(*count)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What the server said besides its start-up line: the first lines (where a
/// panic names its cause) and the last, for the results file.
pub fn log_excerpt(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("http://") && !l.trim().is_empty())
        .collect();
    match lines.len() {
        0 => None,
        n if n <= 8 => Some(lines.join("\n")),
        n => Some(format!(
            "{}\n[... {} lines ...]\n{}",
            lines[..5].join("\n"),
            n - 8,
            lines[n - 3..].join("\n")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(connections: usize, held: usize, failures: &[(&str, u64)]) -> Step {
        let failures = failures.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Step {
            connections,
            held,
            failures,
            ..Step::default()
        }
    }

    #[test]
    fn failures_are_explained() {
        let pool = why(&step(1000, 4, &[(kind::NO_ANSWER, 996)]), "", None).unwrap();
        assert_eq!(
            pool,
            "996 × timeout: no answer: connected, but left unanswered in the accept queue"
        );
        let emfile = step(19_000, 18_990, &[(kind::CLOSED_BEFORE_ANSWER, 10)]);
        let log = "x: accept failed: Too many open files (os error 24) (pausing new connections)\n";
        assert!(
            why(&emfile, log, None)
                .unwrap()
                .starts_with("EMFILE in the server (its open-file limit); 10 × closed")
        );
        let died = why(&step(5000, 0, &[]), "", Some("server exited"));
        assert_eq!(
            (died.as_deref(), why(&step(10, 8, &[]), "", None).as_deref()),
            (Some("server exited"), Some("2 of 10 connections lost"))
        );
        assert_eq!(why(&step(10, 10, &[]), "", None), None);
    }

    #[test]
    fn log_excerpts_keep_the_start_and_the_end() {
        let log = "x: listening on http://127.0.0.1:1 (y)\n";
        let panicked = log_excerpt(&format!("{log}thread panicked at a.rs:1:2:\nfailed\n"));
        assert_eq!(
            (log_excerpt(log), panicked.as_deref()),
            (None, Some("thread panicked at a.rs:1:2:\nfailed"))
        );
        let long: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let excerpt = log_excerpt(&long).unwrap();
        assert!(excerpt.starts_with("line 1\nline 2"), "{excerpt}");
        assert!(
            excerpt.contains("[... 12 lines ...]\nline 18\nline 19\nline 20"),
            "{excerpt}"
        );
    }
}
