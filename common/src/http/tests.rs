//! Unit tests of [`super`].

use super::*;

fn status_of(raw: &[u8]) -> Result<Head<'_>, Option<Status>> {
    match parse_head(raw, &Limits::default()) {
        Parsed::Complete(head) => Ok(head),
        Parsed::Partial => Err(None),
        Parsed::Invalid(rejected) => Err(Some(rejected.status)),
    }
}

#[test]
fn parses_a_simple_get() {
    let head = status_of(b"GET /sleep?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(head.method, Method::Get);
    assert_eq!(head.path, "/sleep");
    assert_eq!(head.query, "ms=5");
    assert!(head.keep_alive);
    assert_eq!(head.content_length, 0);
    assert_eq!(head.len, 37);
}

#[test]
fn absolute_form_targets_are_accepted() {
    let head = status_of(b"GET http://example.com/echo HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(head.path, "/echo");
}

#[test]
fn connection_rules_follow_the_version() {
    assert!(!status_of(b"GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
    assert!(
        status_of(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .keep_alive
    );
    assert!(
        !status_of(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n")
            .unwrap()
            .keep_alive
    );
}

#[test]
fn framing_errors_are_refused() {
    let cases: [(&[u8], Status); 8] = [
        (b"GET / HTTP/1.1\r\n\r\n", Status::BadRequest),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            Status::BadRequest,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            Status::BadRequest,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
            Status::BadRequest,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            Status::BadRequest,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            Status::NotImplemented,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n",
            Status::ContentTooLarge,
        ),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", Status::VersionNotSupported),
    ];
    for (raw, status) in cases {
        assert_eq!(
            status_of(raw).err(),
            Some(Some(status)),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn expect_continue_is_ignored_for_http10() {
    let raw = b"POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert!(!status_of(raw).unwrap().expect_continue);
    let raw =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert!(status_of(raw).unwrap().expect_continue);
}

#[test]
fn equal_lengths_are_one_length() {
    let head = status_of(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n",
    )
    .unwrap();
    assert_eq!(head.content_length, 3);
}

#[test]
fn an_oversized_head_is_431_even_before_it_ends() {
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    raw.resize(9000, b'a');
    assert_eq!(
        status_of(&raw).err(),
        Some(Some(Status::HeaderFieldsTooLarge))
    );
}

#[test]
fn head_end_is_found_with_crlf_and_bare_lf() {
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nrest", 0), Some(16));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
    assert_eq!(find_head_end(b"\n", 0), None);
}

#[test]
fn responses_carry_length_and_connection() {
    let mut out = Vec::new();
    Response::new(Status::Ok, Body::Static(b"hi\n")).write_to(
        &mut out,
        true,
        false,
        Instant::now(),
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "));
    assert!(text.contains("\r\nContent-Length: 3\r\n"));
    assert!(text.ends_with("Connection: keep-alive\r\n\r\nhi\n"));
}

#[test]
fn every_refusal_reason_fits_its_body() {
    let reasons = [
        "request head larger than the limit",
        "too many header fields",
        "only HTTP/1.0 and HTTP/1.1 are spoken here",
        "Transfer-Encoding is not supported; send Content-Length",
        "both Content-Length and Transfer-Encoding",
        "conflicting Content-Length values",
        "only Expect: 100-continue is understood",
    ];
    for reason in reasons {
        let body = Response::rejected(reject(Status::HeaderFieldsTooLarge, reason)).body;
        assert!(body.as_bytes().ends_with(format!("{reason}\n").as_bytes()));
    }
}
