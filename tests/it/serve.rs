//! `backprop serve` through a real socket: the binary on a free port, raw HTTP from
//! `std::net::TcpStream`. The routes themselves are tested without sockets in `serve_api.rs`.

use crate::http;

use assert_cmd::Command;
use backprop::{model_io, Architecture, Init, Network};
use http::{exchange, request, Served};
use serde_json::{json, Value};
use std::path::PathBuf;

fn model(dir: &tempfile::TempDir, sizes: Vec<usize>) -> PathBuf {
    let net = Network::<f32>::new(&Architecture::sigmoid(sizes), Init::Normal, 5).unwrap();
    let path = dir.path().join("model.safetensors");
    model_io::save(&net, &path).unwrap();
    path
}

#[test]
fn serves_the_page_and_survives_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let path = model(&dir, vec![784, 16, 16, 10]);
    let mut server = Served::start(&path);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.port;

    let (status, page) = request(port, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<canvas id=\"pad\""));

    // A drawing: a dark bar on white paper.
    let (w, h) = (20usize, 20usize);
    let pixels: Vec<f64> = (0..w * h)
        .map(|i| {
            if (8..11).contains(&(i % w)) && (3..17).contains(&(i / w)) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    let answer = http::json(
        port,
        "POST",
        "/api/predict",
        Some(&json!({"width": w, "height": h, "pixels": pixels})),
    );
    assert_eq!(answer["ink"], true);
    assert_eq!(answer["layers"].as_array().unwrap().len(), 3);

    // A body that claims to be larger than the limit is refused before it is read.
    let mut big = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        10 << 20
    )
    .into_bytes();
    big.extend_from_slice(b"{\"width\": 1");
    let (status, body) = exchange(port, &big);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));

    // A chunked body (no Content-Length) is cut off at the limit too.
    let mut chunked = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; 1 << 16];
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, _) = exchange(port, &chunked);
    assert_eq!(status, 413);

    let (status, body) = request(port, "POST", "/api/predict", Some(b"{\"width\": "));
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("not a drawing"));
    let (status, _) = request(port, "GET", "/favicon.ico", None);
    assert_eq!(status, 404);
    // Not HTTP at all.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port))
        .and_then(|mut s| std::io::Write::write_all(&mut s, b"\x00\x01garbage\r\n\r\n"));

    // Clients that stall halfway through their bodies hold up nobody else.
    let stalled: Vec<_> = (0..4)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            std::io::Write::write_all(
                &mut s,
                format!("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"width\"").as_bytes(),
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));

    // Still up, still answering.
    let model = http::json(port, "GET", "/api/model", None);
    assert_eq!(model["sizes"], json!([784, 16, 16, 10]));
    assert!(server.alive());
    drop(stalled);
}

#[test]
fn serve_refuses_models_that_do_not_take_28x28_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = model(&dir, vec![4, 3, 2]);
    Command::cargo_bin("backprop")
        .unwrap()
        .args(["serve", "--port", "0", "--model"])
        .arg(&path)
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains("takes 4 inputs"))
        .stderr(predicates::str::starts_with("error: "));
    Command::cargo_bin("backprop")
        .unwrap()
        .args(["serve", "--port", "0", "--model"])
        .arg(dir.path().join("missing.safetensors"))
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains("missing.safetensors"));
}
