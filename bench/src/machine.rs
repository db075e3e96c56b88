//! The machine and the moment a benchmark ran on, for the record.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub wrk: String,
    pub nginx: Option<String>,
    /// UTC, ISO 8601, e.g. "2026-05-02T14:03:59Z".
    pub date: String,
}

impl Machine {
    /// One line for the docs.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} cores), Linux {}, {}, {}",
            self.cpu_model, self.cores, self.kernel, self.rustc, self.wrk
        )
    }
}

/// The first `model name` of /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_string(), |(_, v)| v.trim().to_string())
}

fn first_line_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    // `wrk -v` and `nginx -v` write to different streams and exit non-zero.
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let text = String::from_utf8_lossy(&text);
    text.lines().next().map(|l| l.trim().to_string())
}

pub fn detect(wrk: &str, nginx: Option<&str>) -> Machine {
    Machine {
        cpu_model: cpu_model(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default()),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string()),
        rustc: first_line_of("rustc", &["--version"])
            .unwrap_or_else(|| "rustc unknown".to_string()),
        wrk: first_line_of(wrk, &["-v"]).map_or_else(
            || "wrk unknown".to_string(),
            |l| crate::wrk::version_line(&l),
        ),
        nginx: nginx.and_then(|n| first_line_of(n, &["-v"])),
        date: utc_timestamp(SystemTime::now()),
    }
}

/// "YYYY-MM-DDTHH:MM:SSZ" for a moment after 1970.
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_date(secs / 86_400);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The Gregorian date `days` days after 1970-01-01. Counts in 400-year eras
/// (146,097 days each) whose years start on 1 March, so the leap day is the
/// last day of a year and needs no special case.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let at = |s| utc_timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_735_689_600), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn cpu_model_from_cpuinfo() {
        let text =
            "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t: x\n";
        assert_eq!(cpu_model(text), "AMD EPYC");
        assert_eq!(cpu_model(""), "unknown CPU");
    }
}
