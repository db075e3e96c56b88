//! The 503 turn-away: what a server says to a client it has no room for.
//!
//! A server that has run out of workers, queue places, threads, processes or
//! descriptors answers `503 Service Unavailable` with `Retry-After: 1` and
//! closes, rather than leave the client waiting with no word. Every server that turns
//! clients away does it with [`turn_away`].

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use crate::http::{Body, Response, Status};

/// Answers `503 Service Unavailable` with `Retry-After: 1` and closes,
/// without reading the request and without ever blocking the caller, which is
/// usually the thread that accepts everyone else.
pub fn turn_away(mut stream: TcpStream) {
    // A fresh socket's send buffer always has room for these few bytes, so a
    // non-blocking write sends them whole; if it does not, the client is gone.
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(&overloaded_response());
    let _ = stream.shutdown(Shutdown::Write);
    // Closing a socket that still holds unread bytes makes the kernel send RST
    // instead of FIN, and an RST can destroy the 503 before the client reads it.
    // So discard what has arrived; the closing FIN follows the 503.
    let mut discard = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut discard) {}
}

/// The bytes of a complete `503 Service Unavailable` that closes the
/// connection.
pub fn overloaded_response() -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    let mut response = Response::new(
        Status::ServiceUnavailable,
        Body::Static(b"503 server is at capacity, try again\n"),
    );
    response.retry_after = Some(1);
    response.write_to(&mut out, false, false, Instant::now());
    out
}
