//! The small checks on I/O errors that every loop makes, named so that each
//! error branch says what it is about.

use std::io;

/// `true` when a non-blocking call found nothing to do yet.
pub fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// `true` when a signal interrupted a system call (`EINTR`).
pub fn interrupted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted
}

/// `true` for the error a blocking read or write returns when its socket
/// timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO`) ran out.
pub fn timed_out(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
