//! Whether the kernel allows what a server needs beyond sockets, so that the
//! tests of a server it refuses can say so and stand aside instead of
//! failing on every check.

use std::io::{self, Write};
use std::sync::OnceLock;

use common::kernel;

/// The environment variable that turns a refusal into a failure: set where
/// io_uring is known to work (`.ci/run` sets it), so that a test run there
/// can never pass by skipping.
pub const REQUIRE_IO_URING: &str = "REQUIRE_IO_URING";

/// Whether uring_server can run here: a kernel at least as recent as the
/// server asks for (it refuses to start on an older one), and one that lets
/// this process make an io_uring instance. A sandbox may refuse that (EPERM:
/// Docker's default seccomp profile does, and so does the sysctl
/// `kernel.io_uring_disabled`).
///
/// When it may not, this says so once on the terminal (not through the test
/// harness, which would hide it) and returns `false`; the tests that need
/// io_uring then pass without running. With [`REQUIRE_IO_URING`] set, it
/// panics instead.
pub fn io_uring_allowed() -> bool {
    static ALLOWED: OnceLock<Result<(), String>> = OnceLock::new();
    match ALLOWED.get_or_init(probe_io_uring) {
        Ok(()) => true,
        Err(err) if std::env::var_os(REQUIRE_IO_URING).is_some() => {
            panic!("uring_server cannot run here ({err}), and {REQUIRE_IO_URING} is set")
        }
        Err(err) => {
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                // Written to the descriptor, not with eprintln!, which the
                // test harness captures and shows only for a failing test.
                let _ = writeln!(
                    io::stderr(),
                    "SKIPPED: uring_server cannot run here ({err}); \
                     its tests pass without running"
                );
            });
            false
        }
    }
}

/// Checks the kernel's release as uring_server does, then makes a one-entry
/// ring and closes it.
fn probe_io_uring() -> Result<(), String> {
    let (major, minor) = kernel::URING_SERVER_NEEDS;
    kernel::require(major, minor, "uring_server")?;
    // struct io_uring_params is 120 bytes; zeroed, it asks for nothing special.
    let mut params = [0u64; 15];
    // SAFETY: io_uring_setup writes at most sizeof(struct io_uring_params)
    // bytes into `params`, which is that large and lives across the call.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(format!("io_uring_setup: {}", io::Error::last_os_error()));
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}
