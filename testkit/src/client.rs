//! The kit's HTTP client: one raw TCP connection, requests written as bytes,
//! responses parsed with httparse, so a test sees exactly what a client sees.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// How long a client waits for any single answer before the check fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A response as the kit sees it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn keeps_alive(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive"))
    }
}

/// One raw TCP connection to a server, with whatever it read ahead.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)
            .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"));
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set timeout");
        stream
            .set_write_timeout(Some(PATIENCE))
            .expect("set timeout");
        stream.set_nodelay(true).expect("set nodelay");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|err| panic!("cannot send: {err}"));
    }

    /// Reads one response to a request that was not HEAD.
    pub fn response(&mut self) -> Response {
        self.read_response(false)
    }

    /// Reads one response to a HEAD request (a head, never a body).
    pub fn head_response(&mut self) -> Response {
        self.read_response(true)
    }

    fn read_response(&mut self, head_only: bool) -> Response {
        loop {
            if let Some(reply) = self.parse_buffered(head_only) {
                return reply;
            }
            self.fill("a response");
        }
    }

    fn parse_buffered(&mut self, head_only: bool) -> Option<Response> {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        let head_len = match response.parse(&self.buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return None,
            Err(err) => panic!(
                "unparsable response ({err}): {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        };
        let status = response.code.expect("status code");
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let no_body = head_only || status < 200;
        let length = if no_body {
            0
        } else {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse::<usize>().expect("numeric Content-Length"))
                .unwrap_or_else(|| panic!("response without Content-Length: {headers:?}"))
        };
        if self.buf.len() < head_len + length {
            return None;
        }
        let body = self.buf[head_len..head_len + length].to_vec();
        self.buf.drain(..head_len + length);
        Some(Response {
            status,
            headers,
            body,
        })
    }

    /// One read, retried when a signal interrupts it: on Linux a read with
    /// a receive timeout can return EINTR even where no handler runs.
    fn read_some(&mut self, chunk: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(chunk) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn fill(&mut self, what: &str) {
        let mut chunk = [0u8; 64 * 1024];
        match self.read_some(&mut chunk) {
            Ok(0) => panic!(
                "connection closed while waiting for {what}; had {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(err) => panic!("waited {PATIENCE:?} for {what} in vain: {err}"),
        }
    }

    /// Asserts that the server closes the connection without sending more.
    pub fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 1024];
        match self.read_some(&mut chunk) {
            Ok(0) => {}
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(n) => panic!(
                "expected close, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(err) => panic!("connection still open after {PATIENCE:?}: {err}"),
        }
    }

    /// Makes the next close send RST instead of FIN (SO_LINGER with 0 s).
    pub fn reset_on_close(&self) {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt with a pointer to a live linger of the right size.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

/// `GET path` request bytes.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// `clients` clients send `GET path` (with `Connection: close`) at the same
/// moment; returns how long the slowest took to get its 200.
pub fn slowest_of_parallel(addr: SocketAddr, clients: usize, path: &str) -> Duration {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                client.send(request.as_bytes());
                assert_eq!(client.response().status, 200);
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("client thread"))
        .max()
        .unwrap_or_default()
}
