//! The command line, the same for every server.
//!
//! ```text
//! NAME [--host ADDR] [--port N] [--workers N] [--queue N] [--max-connections N]
//!      [--header-timeout SECS] [--idle-timeout SECS] [--verbose] [--help]
//! ```
//!
//! `--workers`, `--queue` and `--max-connections` exist only where the
//! strategy has them. Bad
//! arguments print one line naming the problem and exit with status 2.

use std::io::Write as _;
use std::process;
use std::time::Duration;

use crate::{Config, HttpConfig, Limits, log};

/// What a server accepts on its command line.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The binary's name, used in messages.
    pub name: &'static str,
    /// One line: the strategy.
    pub about: &'static str,
    /// `Some(default)` if the server has a `--workers` option.
    pub workers: Option<usize>,
    /// `Some(default)` if the server has a `--queue` option.
    pub queue: Option<usize>,
    /// `Some(default)` if the server has a `--max-connections` option.
    pub max_connections: Option<usize>,
}

impl Spec {
    /// A server with neither workers nor a queue.
    pub const fn new(name: &'static str, about: &'static str) -> Self {
        Spec {
            name,
            about,
            workers: None,
            queue: None,
            max_connections: None,
        }
    }

    pub const fn workers(mut self, default: usize) -> Self {
        self.workers = Some(default);
        self
    }

    pub const fn queue(mut self, default: usize) -> Self {
        self.queue = Some(default);
        self
    }

    pub const fn max_connections(mut self, default: usize) -> Self {
        self.max_connections = Some(default);
        self
    }
}

impl Config {
    /// Parses `std::env::args()`; prints help and exits 0 on `--help`, prints
    /// the problem and exits 2 on a bad argument.
    pub fn from_args(spec: Spec) -> Config {
        match Config::parse(spec, std::env::args().skip(1)) {
            Ok(config) => config,
            Err(Exit::Help) => {
                // `print!` would panic if stdout were closed; nobody would read it anyway.
                let _ = std::io::stdout().write_all(usage(&spec).as_bytes());
                process::exit(0);
            }
            Err(Exit::Bad(message)) => {
                log::line(format_args!("{}: {message} (see --help)", spec.name));
                process::exit(2);
            }
        }
    }

    /// Parses arguments without touching the process, for tests.
    pub fn parse(spec: Spec, args: impl IntoIterator<Item = String>) -> Result<Config, Exit> {
        let mut config = Config {
            name: spec.name,
            host: "127.0.0.1".to_string(),
            port: 8080,
            workers: spec.workers,
            queue: spec.queue,
            max_connections: spec.max_connections,
            http: HttpConfig::default(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            // Both `--port 80` and `--port=80`.
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_string(), Some(value.to_string()))
                }
                _ => (arg, None),
            };
            let mut value = |what: &str| -> Result<String, Exit> {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| Exit::Bad(format!("{flag} needs {what}")))
            };
            match flag.as_str() {
                "-h" | "--help" => return Err(Exit::Help),
                "-v" | "--verbose" => config.http.verbose = true,
                "--host" => config.host = value("an address")?,
                "--port" => config.port = number(&flag, &value("a port")?, 0, 65535)? as u16,
                "--workers" if spec.workers.is_some() => {
                    config.workers = Some(number(&flag, &value("a count")?, 1, 10_000)? as usize);
                }
                "--queue" if spec.queue.is_some() => {
                    config.queue = Some(number(&flag, &value("a count")?, 1, 1_000_000)? as usize);
                }
                "--max-connections" if spec.max_connections.is_some() => {
                    config.max_connections =
                        Some(number(&flag, &value("a count")?, 1, 1_000_000)? as usize);
                }
                "--header-timeout" => {
                    config.http.limits.header_timeout = seconds(&flag, &value("seconds")?)?;
                }
                "--idle-timeout" => {
                    config.http.limits.idle_timeout = seconds(&flag, &value("seconds")?)?;
                }
                _ => return Err(Exit::Bad(format!("unknown argument {flag:?}"))),
            }
        }
        Ok(config)
    }
}

/// Why parsing stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Help,
    Bad(String),
}

fn number(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, Exit> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Exit::Bad(format!(
                "{flag} needs a whole number from {min} to {max}, not {text:?}"
            ))
        })
}

fn seconds(flag: &str, text: &str) -> Result<Duration, Exit> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Exit::Bad(format!(
                "{flag} needs seconds between 0 and 86400, not {text:?}"
            ))
        })
}

fn usage(spec: &Spec) -> String {
    let defaults = Limits::default();
    let mut text = format!(
        "{name} — {about}\n\nUsage: {name} [options]\n\nOptions:\n\
         \x20 --host ADDR             address to listen on (default 127.0.0.1)\n\
         \x20 --port N                port to listen on; 0 picks a free one (default 8080)\n",
        name = spec.name,
        about = spec.about
    );
    if let Some(workers) = spec.workers {
        text += &format!("  --workers N             worker count (default {workers})\n");
    }
    if let Some(queue) = spec.queue {
        text += &format!(
            "  --queue N               connections waiting for a worker before 503 (default {queue})\n"
        );
    }
    if let Some(max) = spec.max_connections {
        text += &format!(
            "  --max-connections N     clients served at once before 503 (default {max}, from the system's limits)\n"
        );
    }
    text += &format!(
        "  --header-timeout SECS   a request head must be whole this long after its first byte, or 408 (default {})\n\
         \x20 --idle-timeout SECS     close a connection idle this long (default {})\n\
         \x20 --verbose               one log line per request on stderr (costs throughput)\n\
         \x20 --help                  this text\n",
        defaults.header_timeout.as_secs(),
        defaults.idle_timeout.as_secs()
    );
    text
}

/// The number of CPUs this process may run on, the usual worker default.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: Spec, args: &[&str]) -> Result<Config, Exit> {
        Config::parse(spec, args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let spec = Spec::new("t", "test").workers(4);
        let config = parse(spec, &[]).unwrap();
        assert_eq!(
            (
                config.host.as_str(),
                config.port,
                config.workers,
                config.queue
            ),
            ("127.0.0.1", 8080, Some(4), None)
        );
        let config = parse(
            spec,
            &[
                "--port=0",
                "--workers",
                "8",
                "--verbose",
                "--idle-timeout",
                "0.5",
            ],
        )
        .unwrap();
        assert_eq!(
            (config.port, config.workers, config.http.verbose),
            (0, Some(8), true)
        );
        assert_eq!(config.http.limits.idle_timeout, Duration::from_millis(500));
    }

    #[test]
    fn bad_arguments_are_named() {
        let spec = Spec::new("t", "test");
        for args in [
            &["--port", "70000"][..],
            &["--port"],
            &["--workers", "2"],
            &["--bogus"],
            &["--idle-timeout", "-1"],
        ] {
            assert!(matches!(parse(spec, args), Err(Exit::Bad(_))), "{args:?}");
        }
        assert_eq!(parse(spec, &["--help"]).err(), Some(Exit::Help));
    }
}
