//! Making chosen system calls fail in a server, as the kernel does when a
//! limit is reached, to test what the server does then. A seccomp filter is
//! installed between fork and exec; lowering the limit itself would often
//! not do (RLIMIT_NPROC does not bind root, for one).

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};

/// Which calls fail.
#[derive(Clone, Copy, Debug)]
pub enum Fail {
    /// Every call of these system calls (numbers from `libc::SYS_*`).
    Calls(&'static [libc::c_long]),
    /// One system call, when its argument `arg` (0-based) is `value`.
    CallWithArg {
        call: libc::c_long,
        arg: u32,
        value: u32,
    },
}

/// Makes the calls `fail` describes return `errno` in the process that
/// `command` starts.
pub fn fail(command: &mut Command, fail: Fail, errno: i32) {
    let program = program(fail, errno);
    // SAFETY: the closure runs between fork and exec and only calls prctl,
    // with a pointer to a filter program built before the fork.
    unsafe {
        command.pre_exec(move || install(&program));
    }
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A jump over `skip` instructions when the loaded word equals `k`.
fn jump_if(k: u32, skip: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (BPF_JMP | BPF_JEQ | BPF_K) as u16,
        jt: skip,
        jf: 0,
        k,
    }
}

/// The filter: load what to compare, jump to the last instruction (fail)
/// on a match, else allow.
fn program(fail: Fail, errno: i32) -> Vec<libc::sock_filter> {
    // seccomp_data: the call's number at offset 0, its arguments as 64-bit
    // words from offset 16 (the low half first, on a little-endian machine).
    let load = |offset: u32| stmt(BPF_LD | BPF_W | BPF_ABS, offset);
    let allow = stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW);
    let deny = stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ERRNO | errno as u32);
    let mut program = vec![load(0)];
    match fail {
        Fail::Calls(calls) => {
            for (i, &call) in calls.iter().enumerate() {
                program.push(jump_if(call as u32, (calls.len() - i) as u8));
            }
        }
        Fail::CallWithArg { call, arg, value } => {
            // Not the call: skip loading and checking the argument, to allow.
            program.push(libc::sock_filter {
                jf: 2,
                ..jump_if(call as u32, 0)
            });
            program.push(load(16 + 8 * arg));
            program.push(jump_if(value, 1));
        }
    }
    program.push(allow);
    program.push(deny);
    program
}

fn install(program: &[libc::sock_filter]) -> io::Result<()> {
    let filter = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with a pointer to a live, well-formed filter program.
    let ok = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &raw const filter,
            ) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each instruction's jumps land, as indexes.
    fn targets(program: &[libc::sock_filter]) -> Vec<(usize, usize)> {
        (0..program.len())
            .map(|i| {
                let f = program[i];
                (i + 1 + usize::from(f.jt), i + 1 + usize::from(f.jf))
            })
            .collect()
    }

    #[test]
    fn jumps_land_on_allow_or_deny() {
        let p = program(
            Fail::CallWithArg {
                call: 7,
                arg: 2,
                value: 3,
            },
            libc::ENOMEM,
        );
        let (allow, deny) = (p.len() - 2, p.len() - 1);
        // Not call 7: allow. Call 7 with another argument: allow. Else deny.
        assert_eq!(targets(&p)[1], (2, allow));
        assert_eq!(targets(&p)[3], (deny, allow));
        let p = program(Fail::Calls(&[1, 2]), libc::EAGAIN);
        let deny = p.len() - 1;
        assert_eq!(targets(&p)[1].0, deny);
        assert_eq!(targets(&p)[2].0, deny);
    }
}
