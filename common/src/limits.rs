//! The system's limits that decide how many clients a server can hold.
//!
//! Every connection is a file descriptor, so a server that means to hold
//! thousands must raise its open-file limit first; the kernel also caps the
//! processes and threads a server may start, and the servers that start one
//! per connection read those caps to know where to stop.

use std::io;

/// A process's open-file limits: the soft one in force, and the hard one
/// the soft one may be raised to (only the administrator can raise that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft: u64,
    pub hard: u64,
}

/// This process's open-file limits now.
pub fn open_files() -> io::Result<OpenFiles> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a pointer to a live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OpenFiles {
        soft: limit.rlim_cur,
        hard: limit.rlim_max,
    })
}

/// Raises this process's open-file soft limit to its hard limit and returns
/// the limits in force afterwards. The default soft limit (often 1024)
/// would cap a server that holds many connections long before its CPU or
/// memory does; processes this one starts inherit the raised limit.
pub fn raise_fd_limit() -> OpenFiles {
    let Ok(now) = open_files() else {
        return OpenFiles { soft: 0, hard: 0 };
    };
    if now.soft < now.hard {
        let wanted = libc::rlimit {
            rlim_cur: now.hard,
            rlim_max: now.hard,
        };
        // SAFETY: setrlimit reads one rlimit through a pointer to a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            return OpenFiles {
                soft: now.hard,
                hard: now.hard,
            };
        }
    }
    now
}

/// How many clients a server that starts a process or a thread for each
/// connection serves at once, and which limit decided it. Past the cap it
/// answers 503 and goes on, instead of running into the limit itself: a
/// failed `fork` leaves the machine with no pid for anyone, and a thread
/// that cannot map its stack aborts the whole server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    pub connections: usize,
    pub reason: &'static str,
}

impl Cap {
    /// The cap in force: this one, or `--max-connections` when given.
    pub fn or_flag(self, flag: Option<usize>) -> Cap {
        match flag {
            Some(connections) if connections != self.connections => Cap {
                connections,
                reason: "--max-connections",
            },
            _ => self,
        }
    }
}

/// Memory mappings one thread of these servers costs (its stack, the stack's
/// guard page, and the signal stack std gives every thread, with its own
/// guard): measured, see docs/connections.md.
const MAPS_PER_THREAD: u64 = 4;

/// The cap for a server with a process per connection.
pub fn process_cap() -> Cap {
    let mut caps = task_caps();
    caps.truncate(3);
    smallest(&caps)
}

/// The cap for a server with a thread per connection: besides the limits on
/// tasks, each thread maps memory and each connection is a descriptor.
pub fn thread_cap() -> Cap {
    let mut caps = task_caps();
    if let Some(maps) = sysctl("vm/max_map_count") {
        caps.push((
            maps * 9 / 10 / MAPS_PER_THREAD,
            "vm.max_map_count, at 4 mappings per thread with 10% to spare",
        ));
    }
    caps.extend(descriptor_limit());
    smallest(&caps)
}

/// The cap for a server that holds every connection in one process, as the
/// event loops do: the open-file limit, less a few descriptors that are not
/// connections. Past it the server answers 503 while it still has a
/// descriptor to accept with; at the limit itself `accept` fails, and new
/// clients would wait unanswered in the kernel's queue.
pub fn descriptor_cap() -> Cap {
    smallest(descriptor_limit().as_slice())
}

fn descriptor_limit() -> Option<(u64, &'static str)> {
    let files = open_files().ok()?;
    // A few descriptors are not connections: the listener, epoll, the
    // signal pipe, stdio, a log file.
    let spare = (files.soft / 4).min(64);
    Some((files.soft - spare, "the open-file limit"))
}

/// Every process and thread takes a pid and a task. Half of each system-wide
/// limit is left to the rest of the machine; RLIMIT_NPROC counts this user's
/// tasks (root is exempt from it).
fn task_caps() -> Vec<(u64, &'static str)> {
    let mut caps = Vec::new();
    if let Some(pid_max) = sysctl("kernel/pid_max") {
        caps.push((pid_max / 2, "half of kernel.pid_max"));
    }
    if let Some(threads_max) = sysctl("kernel/threads-max") {
        caps.push((threads_max / 2, "half of kernel.threads-max"));
    }
    let mut nproc = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a pointer to a live
    // local; geteuid cannot fail.
    let (known, root) = unsafe {
        (
            libc::getrlimit(libc::RLIMIT_NPROC, &mut nproc) == 0,
            libc::geteuid() == 0,
        )
    };
    if known && !root && nproc.rlim_cur != libc::RLIM_INFINITY {
        caps.push((nproc.rlim_cur * 3 / 4, "three quarters of ulimit -u"));
    }
    caps
}

fn smallest(caps: &[(u64, &'static str)]) -> Cap {
    let (connections, reason) = caps
        .iter()
        .copied()
        .min_by_key(|(n, _)| *n)
        .unwrap_or((1024, "no system limit could be read"));
    Cap {
        connections: connections.max(1) as usize,
        reason,
    }
}

/// A number from `/proc/sys`, e.g. `kernel/pid_max`.
fn sysctl(path: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/sys/{path}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit() {
        let raised = raise_fd_limit();
        assert_eq!(raised.soft, raised.hard);
        assert_eq!(open_files().unwrap(), raised);
    }

    #[test]
    fn caps_stay_below_the_system_limits() {
        let pid_max = sysctl("kernel/pid_max").unwrap() as usize;
        let processes = process_cap();
        assert!(processes.connections <= pid_max / 2, "{processes:?}");
        let threads = thread_cap();
        assert!(threads.connections <= processes.connections, "{threads:?}");
        let maps = sysctl("vm/max_map_count").unwrap() as usize;
        assert!(threads.connections * 4 < maps, "{threads:?}");
    }
}
