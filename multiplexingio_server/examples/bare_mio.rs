//! # bare_mio — the event loop with nothing else: a yardstick, not a server
//!
//! The same mio loop as `multiplexingio_server`, minus everything that makes
//! it HTTP: no parser, no timeouts, no limits, no `Date`. Each `\r\n\r\n` it
//! reads is taken as one request and answered with the same fixed bytes. The
//! benchmark runs it beside the real servers to show what the HTTP layer
//! costs: the difference between this and `multiplexingio_server` is the
//! price of `common`. Never expose it: a client can grow its buffers forever.
//!
//! `cargo run --release -p multiplexingio_server --example bare_mio -- --port 8080`

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";

/// One connection: its socket, the bytes of a request still incomplete, and
/// answers not yet sent.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    unsent: Vec<u8>,
}

fn main() -> io::Result<()> {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("bare_mio [--port N]: a fixed hello for every request, on 127.0.0.1");
        return Ok(());
    }
    let port = std::env::args()
        .skip_while(|arg| arg != "--port")
        .nth(1)
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080);
    let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!(
        "bare_mio: listening on http://{} (a fixed answer to every request)",
        listener.local_addr()?
    );
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    // SIGTERM interrupts the poll (EINTR) and ends the loop, exit status 0.
    common::signals::install();
    while !common::signals::requested() {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = conns
                        .iter()
                        .position(Option::is_none)
                        .unwrap_or(conns.len());
                    if slot == conns.len() {
                        conns.push(None);
                    }
                    poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns[slot] = Some(Conn {
                        stream,
                        pending: Vec::new(),
                        unsent: Vec::new(),
                    });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if !serve(conn, &mut buf) {
                conns[slot] = None;
            }
        }
    }
    Ok(())
}

/// Reads what there is, answers every complete request, writes what it can.
/// Returns `false` when the connection is finished.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                conn.pending.extend_from_slice(&buf[..n]);
                while let Some(end) = conn.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    conn.pending.drain(..end + 4);
                    conn.unsent.extend_from_slice(RESPONSE);
                }
                if n < buf.len() {
                    break;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    while !conn.unsent.is_empty() {
        match conn.stream.write(&conn.unsent) {
            Ok(n) => {
                conn.unsent.drain(..n);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    true
}
