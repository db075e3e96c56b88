//! Running out of file descriptors (EMFILE) must neither stop the server nor
//! make it spin: it pauses accepting with a timer and carries on.
//!
//! The server is started with a hard limit of 32 descriptors, so that a few
//! dozen connections exhaust it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use common::testkit::{Client, get};

const FD_LIMIT: libc::rlim_t = 32;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("comm")
        .1
        .split_whitespace()
        .collect();
    // After the command name: state is field 0, utime 11, stime 12.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn running_out_of_descriptors_pauses_accept_without_spinning() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_async_server"));
    command
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: FD_LIMIT,
                rlim_max: FD_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = Killed(command.spawn().expect("start async_server"));
    let pid = server.0.id();
    let mut banner = String::new();
    let stdout = server.0.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("start-up line");
    assert!(
        banner.contains(&format!("raised to {FD_LIMIT}")),
        "{banner}"
    );
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("address in the start-up line");

    // More connections than the server has descriptors for: the kernel
    // completes them all (they wait in the accept queue), the server cannot.
    let clients: Vec<Client> = (0..2 * FD_LIMIT).map(|_| Client::connect(addr)).collect();
    thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(pid);
    thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(pid) - before;
    // A loop retrying accept at once would use the whole second (100 ticks).
    assert!(
        used < 30,
        "{used} ticks of CPU in 1 s while out of descriptors"
    );
    assert!(
        server.0.try_wait().expect("wait").is_none(),
        "server exited"
    );

    // The clients leave; their descriptors come back; service resumes.
    drop(clients);
    let mut client = Client::connect(addr);
    client.send(&get("/"));
    assert_eq!(client.reply().status, 200);
}
