//! Which Linux this is, for the servers that need a feature a kernel only
//! has from some release on (uring_server), so that an older one is refused
//! at start with one line instead of failing on every connection later.

use std::ffi::CStr;

/// The release uring_server needs (multishot receive came with 6.0): the
/// server checks it at start, and the test kit before running its tests.
pub const URING_SERVER_NEEDS: (u32, u32) = (6, 0);

/// The running kernel's release as `(major, minor)` and as the kernel spells
/// it (`"6.18.3-arch1"`), from `uname`.
fn release() -> Option<((u32, u32), String)> {
    // SAFETY: utsname is plain bytes; uname fills it, and each field it
    // returns is NUL-terminated within its array.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return None;
    }
    // SAFETY: see above: `release` is NUL-terminated.
    let text = unsafe { CStr::from_ptr(names.release.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Some((parse(&text)?, text))
}

/// `"6.18.3-arch1"` → `(6, 18)`.
fn parse(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `Ok` if the kernel is `major.minor` or later, or if its release cannot be
/// read (then the feature itself will say); otherwise why not, in words:
/// "`what` needs Linux 6.0 or later; this is 5.15.0-91-generic".
pub fn require(major: u32, minor: u32, what: &str) -> Result<(), String> {
    match release() {
        Some((found, text)) if found < (major, minor) => Err(format!(
            "{what} needs Linux {major}.{minor} or later; this is {text}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_and_minor_from_the_release() {
        assert_eq!(parse("6.18.3-arch1-1"), Some((6, 18)));
        assert_eq!(parse("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(parse("6.0"), Some((6, 0)));
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn this_kernel_meets_a_requirement_it_must_meet() {
        assert!(require(2, 6, "anything").is_ok());
        let refused = require(999, 0, "a server from the future");
        assert!(
            refused.is_err_and(|why| why.starts_with("a server from the future needs Linux 999.0"))
        );
    }
}
