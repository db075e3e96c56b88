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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit() {
        let raised = raise_fd_limit();
        assert_eq!(raised.soft, raised.hard);
        assert_eq!(open_files().unwrap(), raised);
    }
}
