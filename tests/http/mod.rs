//! Raw HTTP/1.1 over `std::net::TcpStream`, and `backprop serve` started on a free port: enough
//! to test the server and to talk WebDriver without an HTTP client crate.
#![allow(dead_code)]

use assert_cmd::cargo::CommandCargoExt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One exchange: `request` is sent as it is and one answer read, by its Content-Length or its
/// chunks (servers may keep the connection open). Returns the status and the (de-chunked) body.
pub fn exchange(port: u16, request: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // The server may answer (413) and close before all of a large body is written.
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let mut buf = [0u8; 1 << 16];
    let header_end = |raw: &[u8]| raw.windows(4).position(|w| w == b"\r\n\r\n");
    loop {
        if let Some(split) = header_end(&raw) {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let body = &raw[split + 4..];
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let done = match length {
                Some(n) => body.len() >= n,
                None if head.contains("transfer-encoding: chunked") => body.ends_with(b"0\r\n\r\n"),
                None => false,
            };
            if done {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let split = header_end(&raw)
        .unwrap_or_else(|| panic!("no HTTP header in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size_text = String::from_utf8_lossy(&b[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        b = &b[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// `METHOD path` with an optional body, `Connection: close`.
pub fn request(port: u16, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let mut r =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(b) = body {
        r += &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    r += "\r\n";
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    exchange(port, &bytes)
}

/// JSON in, JSON out; panics on a status of 400 or more, showing the body.
pub fn json(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> serde_json::Value {
    let text = body.map(|b| b.to_string());
    let (status, answer) = request(port, method, path, text.as_deref().map(str::as_bytes));
    let answer = String::from_utf8_lossy(&answer);
    assert!(status < 400, "{method} {path}: {status} {answer}");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
}

/// `backprop serve` running on a free port; killed when dropped.
pub struct Served {
    child: Child,
    /// Kept open: the server writes to it, and a closed pipe would make that fail.
    _stdout: BufReader<std::process::ChildStdout>,
    /// The port it listens on, read from the URL it prints.
    pub port: u16,
    /// The URL it printed.
    pub url: String,
}

impl Served {
    pub fn start(model: &Path) -> Served {
        Served::start_with(model, &[], None, Stdio::inherit())
    }

    /// `backprop serve` with more arguments, its file-descriptor limit set to `nofile` (through
    /// the shell's `ulimit -n`), and its stderr sent to `stderr`.
    pub fn start_with(model: &Path, args: &[&str], nofile: Option<u32>, stderr: Stdio) -> Served {
        let mut all = vec!["--model", model.to_str().expect("a UTF-8 path")];
        all.extend_from_slice(args);
        Served::spawn(&all, nofile, stderr)
    }

    /// `backprop serve --port 0` with `args` only (`--train ...`, say).
    pub fn start_args(args: &[&str]) -> Served {
        Served::spawn(args, None, Stdio::inherit())
    }

    fn spawn(args: &[&str], nofile: Option<u32>, stderr: Stdio) -> Served {
        // BACKPROP_SERVE_EXE runs the tests against another build (an older one, say).
        let exe = match std::env::var_os("BACKPROP_SERVE_EXE") {
            Some(path) => Command::new(path),
            None => Command::cargo_bin("backprop").unwrap(),
        };
        let mut command = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(exe.get_program());
                c
            }
            None => Command::new(exe.get_program()),
        };
        let mut child = command
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("serve printed no URL: {line:?}")
            })
            .to_owned();
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Served {
            child,
            _stdout: stdout,
            port,
            url,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of `/proc/PID/status` (`VmRSS`, `Threads`, …) as a number (kB for sizes).
    pub fn status(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
