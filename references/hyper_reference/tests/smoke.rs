//! The reference answers the course's application as the course's servers
//! do, and stops cleanly; it is not held to the conformance kit (its HTTP is
//! hyper's own).

use std::time::{Duration, Instant};

use testkit::Server;

const BIN: &str = env!("CARGO_BIN_EXE_hyper_reference");

#[test]
fn it_runs_the_courses_application_and_stops_cleanly() {
    let mut server = Server::start(BIN, &["--workers", "2"]);
    assert!(server.banner.contains("; workers 2;"), "{}", server.banner);
    let hello = server.get("/");
    assert_eq!(
        (hello.status, hello.text()),
        (200, "Hello, world!\n".to_string())
    );
    let started = Instant::now();
    assert_eq!(server.get("/sleep?ms=50").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(server.get("/cpu?n=1000").status, 200);
    assert_eq!(server.get("/nope").status, 404);
    // Kept alive: several requests on one connection.
    let mut client = server.client();
    for _ in 0..3 {
        client.send(&testkit::get("/"));
        assert_eq!(client.response().status, 200);
    }
    server.signal(libc::SIGTERM);
    server.expect_clean_exit(&[]);
}
