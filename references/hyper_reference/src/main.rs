//! # hyper_reference — hyper on tokio: the usual choice in Rust, measured beside the course
//!
//! Not a lesson. nginx answers "how does this compare with what I would use?"
//! for C; this answers it for Rust: hyper's HTTP/1.1 server on tokio's
//! multi-threaded, work-stealing runtime, one task per connection, running
//! the course's application (`common::app`) so that every route answers as
//! the course's servers do. `/sleep` is a tokio timer; `/cpu` computes on the
//! worker thread that polls the task, as the course's event loops do.
//!
//! It is measured by the benchmark, the capacity run and the latency curves
//! as the row `hyper`. Its HTTP is hyper's, not `common`'s: its limits,
//! timeouts and errors are hyper's defaults, so it is not held to the
//! course's conformance kit.
//!
//! `cargo run --release -p hyper_reference -- --port 8080 [--workers N]`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use common::app::{self, Reply};
use common::cli::{self, Spec};
use common::http::{Head, Method};
use common::{listen, log};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::signal::unix::{SignalKind, signal};

const NAME: &str = "hyper_reference";
/// How long requests in flight may finish after a stop signal.
const GRACE: Duration = Duration::from_secs(1);

fn main() {
    let config = common::Config::from_args(
        Spec::new(
            NAME,
            "hyper on tokio's multi-threaded runtime (a reference)",
        )
        .workers(cli::cpus()),
    );
    let listener = listen::listen(&config);
    let workers = config.workers.unwrap_or_else(cli::cpus);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            log::line(format_args!("{NAME}: cannot start tokio: {err}"));
            std::process::exit(1);
        }
    };
    listen::announce(&config, &listener, "hyper on tokio, a task per connection");
    let max_body = config.http.limits.max_body;
    runtime.block_on(serve(listener, max_body));
    // A task still computing a /cpu is not waited for longer than this.
    runtime.shutdown_timeout(GRACE);
}

/// Accepts until SIGINT or SIGTERM, a task per connection.
async fn serve(listener: std::net::TcpListener, max_body: usize) {
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
    {
        Ok(listener) => listener,
        Err(err) => {
            log::line(format_args!("{NAME}: cannot use the listener: {err}"));
            std::process::exit(1);
        }
    };
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::line(format_args!("{NAME}: cannot install the signal handlers"));
        std::process::exit(1);
    };
    loop {
        let (stream, peer) = tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: wait a moment rather than spin.
                Err(err) => {
                    log::line(format_args!("{NAME}: accept failed: {err}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, peer, max_body));
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            // A client that resets or times out ends its own task only.
            let _ = connection.await;
        });
    }
}

/// One request, answered by the course's application.
async fn answer(
    request: Request<Incoming>,
    _peer: SocketAddr,
    max_body: usize,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = match *request.method() {
        hyper::Method::GET => Method::Get,
        hyper::Method::HEAD => Method::Head,
        hyper::Method::POST => Method::Post,
        _ => Method::Other,
    };
    let method_name = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let body = match method {
        // Only /echo reads a body; a body over the limit is answered 413.
        Method::Post => match Limited::new(request.into_body(), max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, Bytes::new())),
        },
        _ => Bytes::new(),
    };
    let head = Head {
        method,
        method_name: &method_name,
        path: &path,
        query: &query,
        minor_version: 1,
        keep_alive: true,
        content_length: body.len(),
        expect_continue: false,
        len: 0,
    };
    let (delay, response) = match app::handle(&head, &body) {
        Reply::Now(response) => (None, to_hyper(&response)),
        Reply::After(delay, response) => (Some(delay), to_hyper(&response)),
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    Ok(response)
}

fn to_hyper(response: &common::http::Response<'_>) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(response.status.code()).unwrap_or(StatusCode::OK);
    let mut out = plain(status, Bytes::copy_from_slice(response.body.as_bytes()));
    if let Some(allow) = response.allow {
        out.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    }
    if let Some(seconds) = response.retry_after {
        out.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    out
}

fn plain(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(body));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    out
}
