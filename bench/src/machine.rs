//! The machine and the moment a measurement ran on, read for the record
//! (the record's type is `results::bench::Machine`).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use results::bench::Machine;

/// Reads the machine; `wrk` and `nginx` are asked for their versions.
pub fn detect(wrk: Option<&Path>, nginx: Option<&Path>) -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Machine {
        cpu_model: cpu_model(&cpuinfo),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: Some(kernel.trim())
            .filter(|k| !k.is_empty())
            .unwrap_or("unknown")
            .to_string(),
        rustc: first_line_of(Path::new("rustc"), "--version").unwrap_or("rustc unknown".into()),
        wrk: wrk
            .and_then(|w| first_line_of(w, "-v"))
            .map_or("wrk unknown".into(), |l| crate::wrk::version_line(&l)),
        nginx: nginx.and_then(|n| first_line_of(n, "-v")),
    }
}

/// The machine as the capacity, hostile and syscalls files record it, now.
pub fn host() -> results::capacity::Host {
    let machine = detect(None, None);
    results::capacity::Host {
        cpu: machine.cpu_model,
        cores: machine.cores,
        kernel: machine.kernel,
        rustc: machine.rustc,
        date: now(),
    }
}

/// Now, as UTC in RFC 3339 to the second: "2026-11-23T18:01:23Z".
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The first `model name` of /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_string(), |(_, v)| v.trim().to_string())
}

fn first_line_of(program: &Path, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    // `wrk -v` and `nginx -v` write to different streams and exit non-zero.
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let text = String::from_utf8_lossy(&text);
    text.lines().next().map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_the_machine() {
        assert_eq!(
            cpu_model("vendor_id\t: AMD\nmodel name\t: AMD EPYC\n"),
            "AMD EPYC"
        );
        assert_eq!(
            (cpu_model(""), now().len(), &now()[10..11]),
            ("unknown CPU".into(), 20, "T")
        );
    }
}
