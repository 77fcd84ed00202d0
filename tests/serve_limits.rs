//! `backprop serve` under faults and hostile clients, through real sockets on 127.0.0.1: file
//! descriptors running out, endless headers, idle and slow clients, many keep-alive clients at
//! once, broken bodies, foreign pages. Each test is bounded: every socket has a read timeout,
//! and counts are fixed.

mod http;

use backprop::{model_io, Architecture, Init, Network};
use http::{exchange, Served};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn model(dir: &tempfile::TempDir) -> PathBuf {
    let arch = Architecture::sigmoid(vec![784, 16, 16, 10]);
    let net = Network::<f32>::new(&arch, Init::Normal, 5).unwrap();
    let path = dir.path().join("model.safetensors");
    model_io::save(&net, &path).unwrap();
    path
}

/// What the page sends: 140×140 grey levels, white paper with a dark bar.
fn drawing() -> Vec<u8> {
    let side = 140;
    let pixels: Vec<f64> = (0..side * side)
        .map(|i| {
            let (x, y) = (i % side, i / side);
            if (60..75).contains(&x) && (20..120).contains(&y) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    json!({"width": side, "height": side, "pixels": pixels})
        .to_string()
        .into_bytes()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn post(port: u16, path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Reads one answer from a keep-alive connection: (status, head in lower case, body).
fn answer(s: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            other => panic!(
                "connection ended ({other:?}) before an answer: {:?}",
                String::from_utf8_lossy(&raw)
            ),
        }
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; length];
    s.read_exact(&mut body).unwrap();
    (status, head, body)
}

/// Whether the server closes `s` (rather than leaving it open) within its read timeout.
fn closed(s: &mut TcpStream) -> bool {
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                )
            }
        }
    }
}

fn error_of(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(body)));
    v["error"].as_str().expect("an error message").to_owned()
}

#[test]
fn running_out_of_file_descriptors_is_survived_and_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let stderr = std::fs::File::create(&log).unwrap();
    let mut server = Served::start_with(&model(&dir), &[], Some(64), Stdio::from(stderr));
    let port = server.port;
    // Three times the descriptors the server has, idle.
    let idle: Vec<TcpStream> = (0..200).map(|_| connect(port)).collect();
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.alive(), "the server exited when accept failed");
    // Someone else still gets an answer.
    for _ in 0..3 {
        let (status, _) = http::request(port, "GET", "/api/model", None);
        assert_eq!(status, 200);
    }
    drop(idle);
    // And once they are gone, everything is back to normal.
    let mut s = connect(port);
    for _ in 0..3 {
        s.write_all(&post(port, "/api/predict", &drawing()))
            .unwrap();
        assert_eq!(answer(&mut s).0, 200);
    }
    assert!(server.alive());
    drop(server);
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        said.matches("cannot accept connections").count(),
        1,
        "said once: {said:?}"
    );
    assert!(said.contains("still serving"), "{said:?}");
}

#[test]
fn endless_request_lines_and_headers_get_431_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start(&model(&dir));
    let port = server.port;
    let cases = [
        format!("GET /{} HTTP/1.1\r\n", "a".repeat(200_000)),
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Long: {}",
            "a".repeat(200_000)
        ),
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{}\r\n",
            "A: b\r\n".repeat(2_000)
        ),
    ];
    for case in cases {
        let mut s = connect(port);
        let _ = s.write_all(case.as_bytes());
        let (status, head, body) = answer(&mut s);
        assert_eq!(status, 431, "{head}");
        let message = error_of(&body);
        assert!(
            message.contains("exceed") || message.contains("more than"),
            "{message}"
        );
        assert!(head.contains("connection: close"), "{head}");
        assert!(closed(&mut s));
    }
    // The server's memory did not follow the client's bytes.
    assert!(server.status("VmRSS") < 64 << 10);
    assert!(server.alive());
}

#[test]
fn idle_and_slow_clients_are_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start_with(&model(&dir), &["--timeout", "1"], None, Stdio::inherit());
    let port = server.port;
    let start = Instant::now();
    // A client that connects and says nothing is closed without a word.
    let mut silent = connect(port);
    // One that sends half a head gets 408.
    let mut half = connect(port);
    half.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    // One that sends its body a byte at a time, slower than the timeout allows, gets 408.
    let mut slow = connect(port);
    slow.write_all(
        format!(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let dripping = std::thread::spawn(move || {
        for _ in 0..40 {
            if slow.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        slow
    });
    // A keep-alive client that goes quiet after its answer is closed too.
    let mut kept = connect(port);
    kept.write_all(format!("GET /api/model HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(answer(&mut kept).0, 200);

    assert!(closed(&mut silent), "an idle connection stays open");
    let (status, _, body) = answer(&mut half);
    assert_eq!(status, 408);
    assert!(error_of(&body).contains("within 1 s"));
    let mut slow = dripping.join().unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(answer(&mut slow).0, 408);
    assert!(
        closed(&mut kept),
        "an idle keep-alive connection stays open"
    );
    // All of it well before the 10 s read timeouts of this test.
    assert!(start.elapsed() < Duration::from_secs(8));
}

#[test]
fn many_clients_holding_large_bodies_are_bounded_in_threads_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start(&model(&dir));
    let port = server.port;
    // 300 clients each send all but the last byte of a 1 MiB body, then wait.
    let body = vec![b' '; (1 << 20) - 1];
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    let held: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = connect(port);
            s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
            s
        })
        .collect();
    let rss_kb = server.status("VmRSS");
    assert!(rss_kb < 64 << 10, "RSS {rss_kb} kB");
    // 256 connections at most, plus the main thread. The threads of connections just closed to
    // make room end a moment after their places are given to newcomers, so the count may pass
    // the bound briefly (by 19 in one CI run): it must come back to it within a second.
    let settled = Instant::now() + Duration::from_secs(1);
    let mut threads = server.status("Threads");
    while threads > 256 + 16 && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(20));
        threads = server.status("Threads");
    }
    assert!(threads <= 256 + 16, "{threads} threads");
    // Meanwhile others are answered.
    let (status, _) = http::request(port, "GET", "/api/model", None);
    assert_eq!(status, 200);
    drop(held);
    assert!(server.alive());
}

#[test]
fn keep_alive_answers_are_not_held_back_by_nagle() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&model(&dir));
    let mut s = connect(server.port);
    let request = post(server.port, "/api/predict", &drawing());
    // Not a speed measurement: Nagle's algorithm against delayed ACKs holds each keep-alive
    // answer of more than a segment's worth by about 40 ms, a protocol stall 10 times this bound.
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        s.write_all(&request).unwrap();
        let (status, _, body) = answer(&mut s);
        times.push(t.elapsed());
        assert_eq!(status, 200);
        assert!(body.len() > 1024);
    }
    times.sort();
    assert!(
        times[10] < Duration::from_millis(30),
        "median {:?}",
        times[10]
    );
}

/// `clients` keep-alive clients posting drawings for `time`: the longest any request waited.
fn keep_alive_clients(port: u16, clients: usize, time: Duration) -> Duration {
    let request = post(port, "/api/predict", &drawing());
    let until = Instant::now() + time;
    let clients: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            std::thread::spawn(move || {
                let mut s = connect(port);
                let mut worst = Duration::ZERO;
                while Instant::now() < until {
                    let t = Instant::now();
                    s.write_all(&request).unwrap();
                    assert_eq!(answer(&mut s).0, 200);
                    worst = worst.max(t.elapsed());
                }
                worst
            })
        })
        .collect();
    clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .max()
        .unwrap()
}

#[test]
fn thirty_two_keep_alive_clients_all_get_answers_without_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&model(&dir));
    // A first wave, then a pause: tiny_http's pool lost connections to threads that were
    // ending after 5 s idle, and left them unanswered until other connections closed.
    keep_alive_clients(server.port, 8, Duration::from_millis(500));
    std::thread::sleep(Duration::from_millis(4900));
    let worst = keep_alive_clients(server.port, 32, Duration::from_secs(3));
    // The stall this catches lasted 8 to 10 s.
    assert!(worst < Duration::from_secs(3), "a request waited {worst:?}");
}

#[test]
fn broken_chunks_and_bad_lengths_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&model(&dir));
    let port = server.port;
    let head = |framing: &str| {
        format!("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n")
    };
    let cases = [
        (
            head("Transfer-Encoding: chunked") + "zz\r\n{}\r\n0\r\n\r\n",
            400,
            "chunk size",
        ),
        (
            head("Transfer-Encoding: chunked") + "2\r\n{}XX0\r\n\r\n",
            400,
            "CRLF",
        ),
        (head("Content-Length: -5") + "{}", 400, "Content-Length"),
        (head("Content-Length: +2") + "{}", 400, "Content-Length"),
        (
            head("Content-Length: 99999999999999999999999") + "{}",
            413,
            "at most",
        ),
        (
            head("Content-Length: 2\r\nContent-Length: 3") + "{}",
            400,
            "two different",
        ),
    ];
    for (request, status, says) in cases {
        let (got, body) = exchange(port, request.as_bytes());
        assert_eq!(got, status, "{request}");
        let message = error_of(&body);
        assert!(message.contains(says), "{request}: {message}");
    }
}

#[test]
fn path_parameters_are_plain_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&model(&dir));
    let port = server.port;
    assert_eq!(http::request(port, "GET", "/api/weights/1/15", None).0, 200);
    for path in [
        "/api/weights/+1/+0",
        "/api/weights/01/015",
        "/api/weights/1/0x1",
    ] {
        let (status, body) = http::request(port, "GET", path, None);
        assert_eq!(status, 404, "{path}");
        assert!(error_of(&body).contains("no such page"), "{path}");
    }
}

#[test]
fn foreign_hosts_origins_and_non_json_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&model(&dir));
    let port = server.port;
    let body = drawing();
    let send = |headers: &str| {
        let mut r = format!(
            "POST /api/predict HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(&body);
        exchange(port, &r)
    };
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let json = "Content-Type: application/json\r\n";
    let own = format!("Origin: http://127.0.0.1:{port}\r\n");
    assert_eq!(send(&format!("{host}{json}{own}")).0, 200);
    assert_eq!(send(&format!("Host: localhost:{port}\r\n{json}")).0, 200);
    let refused = [
        (
            format!("Host: rebind.example:{port}\r\n{json}"),
            403,
            "not this server",
        ),
        (
            format!("Host: 127.0.0.1:1\r\n{json}"),
            403,
            "not this server",
        ),
        (
            format!("{host}{json}Origin: http://evil.example\r\n"),
            403,
            "evil.example",
        ),
        (format!("{host}{json}Origin: null\r\n"), 403, "null"),
        (
            format!("{host}Content-Type: text/plain\r\n"),
            415,
            "application/json",
        ),
        (
            format!("{host}Content-Type: application/x-www-form-urlencoded\r\n"),
            415,
            "application/json",
        ),
        (host.clone(), 415, "application/json"),
    ];
    for (headers, status, says) in refused {
        let (got, answer) = send(&headers);
        assert_eq!(got, status, "{headers}");
        assert!(
            error_of(&answer).contains(says),
            "{headers}: {}",
            error_of(&answer)
        );
    }
    // A GET from a foreign page reads nothing either.
    let (status, _) = exchange(
        port,
        format!("GET /api/model HTTP/1.1\r\n{host}Origin: http://evil.example\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 403);
}
