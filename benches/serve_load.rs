//! `backprop serve` under load and faults, on 127.0.0.1 only, bounded in count and time (about
//! 30 s), stopping by itself. It starts the binary on a free port with its file-descriptor limit
//! at 1,024, with a fresh 784-16-16-10 model, and measures:
//!
//! 1. POST /api/predict with the page's drawing (140×140 grey levels) on one keep-alive
//!    connection: median and 99th percentile of 500 requests;
//! 2. 32 keep-alive clients posting drawings for 10 s: requests, the longest wait, how many waited
//!    over 100 ms;
//! 3. 2,000 idle connections held open while fresh clients ask for /api/model: the longest
//!    answer, failures; then the same once the 2,000 are gone (recovery);
//! 4. 300 clients each holding all but one byte of a 1 MiB body;
//!
//! and the server's largest resident memory through all of it (from /proc, every 20 ms).
//!
//! ```text
//! cargo bench --bench serve_load                         # the binary of this tree
//! cargo bench --bench serve_load -- --exe path/backprop  # another build, to compare
//! ```

use backprop::{model_io, Architecture, Init, Network};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs benches without --bench: nothing to check here.
        return;
    }
    let exe = args
        .iter()
        .position(|a| a == "--exe")
        .map(|i| args[i + 1].clone())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_backprop").to_owned());
    raise_own_fd_limit(8192);

    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.safetensors");
    let net = Network::<f32>::new(
        &Architecture::sigmoid(vec![784, 16, 16, 10]),
        Init::Normal,
        1,
    )
    .unwrap();
    model_io::save(&net, &model).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" serve --port 0 --model \"$1\"")
        .arg(&exe)
        .arg(&model)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start backprop serve");
    let mut line = String::new();
    // Kept open to the end: the server prints a second line, and a closed pipe would stop it.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let pid = child.id();
    println!("{exe}: serving on 127.0.0.1:{port}, pid {pid}, ulimit -n 1024");

    let stop = Arc::new(AtomicBool::new(false));
    let peak_kb = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak_kb) = (Arc::clone(&stop), Arc::clone(&peak_kb));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    peak_kb.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let request = post(port, &drawing());

    // 1. One keep-alive connection.
    let mut times = Vec::new();
    if let Ok(mut s) = connect(port) {
        for _ in 0..500 {
            let t = Instant::now();
            if exchange(&mut s, &request) != Some(200) {
                break;
            }
            times.push(t.elapsed());
        }
    }
    times.sort();
    match times.len() {
        500 => println!(
            "1. keep-alive POST /api/predict, 500 requests: median {:.2} ms, p99 {:.2} ms",
            ms(times[250]),
            ms(times[495])
        ),
        n => println!("1. keep-alive POST /api/predict: FAILED after {n} requests"),
    }

    // 2. 32 keep-alive clients for 10 s.
    let until = Instant::now() + Duration::from_secs(10);
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let request = request.clone();
            std::thread::spawn(move || {
                let mut waits = Vec::new();
                let mut failures = 0;
                let Ok(mut s) = connect(port) else {
                    return (waits, 1);
                };
                while Instant::now() < until {
                    let t = Instant::now();
                    match exchange(&mut s, &request) {
                        Some(200) => waits.push(t.elapsed()),
                        _ => {
                            failures += 1;
                            waits.push(t.elapsed());
                            match connect(port) {
                                Ok(fresh) => s = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (waits, failures)
            })
        })
        .collect();
    let (mut waits, mut failures) = (Vec::new(), 0);
    for c in clients {
        let (w, f) = c.join().unwrap();
        waits.extend(w);
        failures += f;
    }
    waits.sort();
    let slow = waits
        .iter()
        .filter(|w| **w > Duration::from_millis(100))
        .count();
    println!(
        "2. 32 keep-alive clients, 10 s: {} requests ({:.0}/s), failures {failures}, median {:.1} ms, p99 {:.1} ms, longest {:.1} ms, {slow} over 100 ms",
        waits.len(),
        waits.len() as f64 / 10.0,
        ms(waits.get(waits.len() / 2).copied().unwrap_or_default()),
        ms(waits.get(waits.len() * 99 / 100).copied().unwrap_or_default()),
        ms(waits.last().copied().unwrap_or_default()),
    );

    // 3. 2,000 idle connections, and others asking meanwhile.
    let idle: Vec<TcpStream> = (0..2000).filter_map(|_| connect(port).ok()).collect();
    let opened = idle.len();
    std::thread::sleep(Duration::from_millis(200));
    let held = probe(port, 20);
    drop(idle);
    std::thread::sleep(Duration::from_millis(200));
    let after = probe(port, 20);
    println!(
        "3. {opened} idle connections open: fresh GET /api/model longest {}, failed {}/20; after they closed: longest {}, failed {}/20; server {}",
        held.0.map_or("-".into(), |d| format!("{:.1} ms", ms(d))),
        held.1,
        after.0.map_or("-".into(), |d| format!("{:.1} ms", ms(d))),
        after.1,
        if alive(&mut child) { "running" } else { "EXITED" },
    );

    // 4. 300 clients each holding 1 MiB − 1 of a body.
    let body = vec![b' '; (1 << 20) - 1];
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    let t = Instant::now();
    let holding: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = connect(port).ok()?;
            s.set_write_timeout(Some(Duration::from_millis(500))).ok()?;
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
            Some(s)
        })
        .collect();
    let during = probe(port, 10);
    println!(
        "4. 300 clients holding 1 MiB - 1 of a body ({:.1} s to send): server RSS {} MB, {} threads, fresh GET longest {}, failed {}/10",
        t.elapsed().as_secs_f64(),
        rss_kb(pid).map_or(0, |kb| kb >> 10),
        status(pid, "Threads").unwrap_or(0),
        during.0.map_or("-".into(), |d| format!("{:.1} ms", ms(d))),
        during.1,
    );
    drop(holding);

    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    println!(
        "largest resident memory of the server throughout: {} MB; server {}",
        peak_kb.load(Ordering::Relaxed) >> 10,
        if alive(&mut child) {
            "running"
        } else {
            "EXITED"
        },
    );
    let _ = child.kill();
    let _ = child.wait();
    drop(stdout);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The page's drawing: 140×140 grey levels, white paper, a dark bar.
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

fn post(port: u16, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Sends `request` and reads one answer; its status, or None if the connection failed.
fn exchange(s: &mut TcpStream, request: &[u8]) -> Option<u16> {
    s.write_all(request).ok()?;
    let mut raw = Vec::with_capacity(32 << 10);
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = s.read(&mut buf).ok().filter(|&n| n > 0)?;
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())?;
        if raw.len() >= end + 4 + length {
            return head.split_whitespace().nth(1)?.parse().ok();
        }
    }
}

/// `n` fresh connections asking for /api/model one after another: the longest answer, and how
/// many got none.
fn probe(port: u16, n: usize) -> (Option<Duration>, usize) {
    let request = format!("GET /api/model HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let (mut longest, mut failed) = (None::<Duration>, 0);
    for _ in 0..n {
        let t = Instant::now();
        let ok = connect(port)
            .ok()
            .and_then(|mut s| exchange(&mut s, request.as_bytes()))
            == Some(200);
        if ok {
            longest = Some(longest.map_or(t.elapsed(), |l| l.max(t.elapsed())));
        } else {
            failed += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (longest, failed)
}

fn alive(child: &mut std::process::Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

fn status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn rss_kb(pid: u32) -> Option<u64> {
    status(pid, "VmRSS")
}

/// This process opens 2,000 connections and more at once: lift its own soft limit.
fn raise_own_fd_limit(want: libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed, which lives here.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
