//! The sockets of `backprop serve`: one thread accepts, one thread per connection reads its
//! requests ([`super::http`] parses them), checks them ([`Guard`]) and asks the app for the answer,
//! at most [`Limits::workers`] at a time.
//!
//! ```text
//! connections   ≤ max_connections; past it the longest-idle one is closed (else a request
//!               arriving for over 1 s, else the newcomer gets 503)
//! accept fails  (EMFILE: out of file descriptors) reported once; the longest-idle connection
//!               is closed, or the loop backs off 1 → 100 ms; it never stops serving
//! each request  must arrive whole within `timeout` of connecting or of the previous answer:
//!               an idle connection is closed then, a half-sent request gets 408
//! bodies        ≤ MAX_BODY each, ≤ body_budget across all connections (else 503)
//! answers       one write, TCP_NODELAY (no 40 ms wait for a delayed ACK), keep-alive
//! ```

use super::capacity::{Held, Leave, Registry, Semaphore, State};
use super::guard::Guard;
use super::http::{self, Chunked, Framing, Head, Refusal, Request};
use super::{Response, MAX_BODY};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much the server takes on at once.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections (and their threads) open at once.
    pub max_connections: usize,
    /// Requests the app works on at once; the others wait their turn.
    pub workers: usize,
    /// How long a client has to send each whole request, from connecting or from its previous
    /// answer; how long an answer may take to be taken.
    pub timeout: Duration,
    /// Bytes of request bodies held at once, over all connections.
    pub body_budget: usize,
}

impl Default for Limits {
    /// 256 connections, two workers per core, 10 s, 16 MiB of bodies.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            max_connections: 256,
            workers: 2 * cores,
            timeout: Duration::from_secs(10),
            body_budget: 16 << 20,
        }
    }
}

/// What the server reports while it keeps serving (the library never prints).
#[derive(Debug)]
pub enum Event<'a> {
    /// `accept` failed (the first time only): the server closes idle connections and backs off.
    AcceptFailing(&'a io::Error),
}

/// Serves `listener` forever: every request that passes `guard` goes to `app`, from the
/// connection threads, at most `limits.workers` at once. An `app` that panics answers 500.
pub fn serve<A, R>(listener: TcpListener, guard: Guard, limits: Limits, app: A, report: R) -> !
where
    A: Fn(&Request) -> Response + Send + Sync + 'static,
    R: Fn(Event),
{
    let shared = Arc::new(Shared {
        guard,
        workers: Semaphore::new(limits.workers.max(1)),
        budget: AtomicUsize::new(0),
        registry: Registry::default(),
        limits,
        app,
    });
    let mut warned = false;
    let mut backoff = Duration::from_millis(1);
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(1);
                admit(&shared, stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                if !warned {
                    report(Event::AcceptFailing(&e));
                    warned = true;
                }
                // Out of file descriptors: closing an idle connection frees one.
                if shared.registry.evict_idle() {
                    std::thread::sleep(Duration::from_millis(1));
                } else {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
            }
        }
    }
}

struct Shared<A> {
    guard: Guard,
    limits: Limits,
    workers: Semaphore,
    /// Bytes of bodies held now.
    budget: AtomicUsize,
    registry: Registry,
    app: A,
}

fn admit<A>(shared: &Arc<Shared<A>>, stream: TcpStream)
where
    A: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let Some(id) = shared
        .registry
        .enter(&stream, shared.limits.max_connections)
    else {
        let message = format!(
            "the server is busy: {} connections are sending requests",
            shared.limits.max_connections
        );
        return turn_away(&stream, &message);
    };
    let worker = Arc::clone(shared);
    let conn = Arc::clone(&stream);
    let spawned = std::thread::Builder::new()
        .name("serve-connection".into())
        .spawn(move || {
            let _leave = Leave(&worker.registry, id);
            connection(&worker, id, &conn);
        });
    if spawned.is_err() {
        shared.registry.leave(id);
        turn_away(&stream, "the server cannot start another thread");
    }
}

/// A 503 on a connection that gets no thread, without waiting for the client.
fn turn_away(stream: &TcpStream, message: &str) {
    let bytes = http::encode(&http::error(503, message), false, true);
    let _ = stream.set_write_timeout(Some(Duration::from_millis(50)));
    let _ = (&*stream).write_all(&bytes);
}

/// Reads one byte chunk or more into `buf`. `Ok(false)` at the end of the stream.
fn read_more(stream: &TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<bool> {
    const STEP: usize = 16 * 1024;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left))?;
    let len = buf.len();
    buf.resize(len + STEP, 0);
    let n = loop {
        match (&*stream).read(&mut buf[len..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    buf.truncate(len + *n.as_ref().unwrap_or(&0));
    match n {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::ErrorKind::TimedOut.into()),
        Err(e) => Err(e),
    }
}

/// How a connection ends.
enum End {
    /// The client closed it, went idle past the timeout, or the socket failed: nothing to say.
    Quiet,
    /// An error answer, then close.
    Refuse(Refusal),
}

fn connection<A>(shared: &Shared<A>, id: u64, stream: &TcpStream)
where
    A: Fn(&Request) -> Response,
{
    let timeout = shared.limits.timeout;
    let _ = stream.set_write_timeout(Some(timeout));
    let registry = &shared.registry;
    // Refuses (or ends quietly) and closes; lingering counts as idle, first to make room.
    let close = |end: End, head_only: bool| {
        registry.set(id, State::Idle(Instant::now()));
        finish(stream, end, head_only);
    };
    let mut buf = Vec::new();
    loop {
        let now = Instant::now();
        let deadline = now + timeout;
        registry.set(
            id,
            if buf.is_empty() {
                State::Idle(now)
            } else {
                State::Reading(now)
            },
        );
        let started = || registry.set(id, State::Reading(Instant::now()));
        let head = match read_head(stream, &mut buf, timeout, started) {
            Ok(head) => head,
            Err(end) => return close(end, false),
        };
        let head_only = head.method == "HEAD";
        if let Err(r) = shared.guard.check(&head) {
            return close(End::Refuse(r), head_only);
        }
        let reserve = match head.framing {
            Framing::Length(n) => n,
            Framing::Chunked => 0,
        };
        let Some(mut held) = Held::take(&shared.budget, shared.limits.body_budget, reserve) else {
            return close(End::Refuse(busy_reading()), head_only);
        };
        if head.expect_continue
            && head.framing != Framing::Length(0)
            && (&*stream)
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            return;
        }
        let body = match read_body(stream, &mut buf, &head, (deadline, timeout), &mut held) {
            Ok(body) => body,
            Err(end) => return close(end, head_only),
        };
        registry.set(id, State::Busy);
        let keep_alive = head.keep_alive;
        let request = Request {
            method: head.method,
            target: head.target,
            headers: head.headers,
            body,
        };
        let response = {
            let _turn = shared.workers.acquire();
            catch_unwind(AssertUnwindSafe(|| (shared.app)(&request)))
                .unwrap_or_else(|_| http::error(500, "the server failed on this request"))
        };
        drop(request);
        drop(held);
        if (&*stream)
            .write_all(&http::encode(&response, head_only, !keep_alive))
            .is_err()
        {
            return;
        }
        if !keep_alive {
            registry.set(id, State::Idle(Instant::now()));
            return linger(stream);
        }
        if buf.capacity() > 64 * 1024 {
            buf.shrink_to(buf.len().max(4096));
        }
    }
}

fn busy_reading() -> Refusal {
    Refusal {
        status: 503,
        message: "the server is reading too many request bodies at once; try again".into(),
    }
}

fn timed_out(timeout: Duration) -> End {
    End::Refuse(Refusal {
        status: 408,
        message: format!(
            "the request did not arrive whole within {} s",
            timeout.as_secs_f64()
        ),
    })
}

/// Reads until a whole head is in `buf`, and takes it out. `started` is called when the first
/// byte of the request arrives.
fn read_head(
    stream: &TcpStream,
    buf: &mut Vec<u8>,
    timeout: Duration,
    started: impl FnOnce(),
) -> Result<Head, End> {
    let deadline = Instant::now() + timeout;
    let mut started = Some(started);
    loop {
        match http::parse_head(buf) {
            Ok(Some((head, used))) => {
                buf.drain(..used);
                return Ok(head);
            }
            Ok(None) => {}
            Err(r) => return Err(End::Refuse(r)),
        }
        let was_empty = buf.is_empty();
        match read_more(stream, buf, deadline) {
            Ok(true) => {
                if was_empty {
                    if let Some(f) = started.take() {
                        f();
                    }
                }
            }
            Ok(false) => return Err(End::Quiet),
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !was_empty => {
                return Err(timed_out(timeout))
            }
            Err(_) => return Err(End::Quiet),
        }
    }
}

fn read_body(
    stream: &TcpStream,
    buf: &mut Vec<u8>,
    head: &Head,
    (deadline, timeout): (Instant, Duration),
    held: &mut Held,
) -> Result<Vec<u8>, End> {
    let more = |buf: &mut Vec<u8>| match read_more(stream, buf, deadline) {
        Ok(true) => Ok(()),
        Ok(false) => Err(End::Quiet),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timed_out(timeout)),
        Err(_) => Err(End::Quiet),
    };
    match head.framing {
        Framing::Length(n) => {
            // Room for the body and one read past it, so that the buffer does not double.
            buf.reserve_exact((n + 16 * 1024).saturating_sub(buf.len()));
            while buf.len() < n {
                more(buf)?;
            }
            let rest = buf.split_off(n);
            Ok(std::mem::replace(buf, rest))
        }
        Framing::Chunked => {
            let mut decoder = Chunked::new(MAX_BODY);
            let mut body = Vec::new();
            loop {
                let used = decoder.decode(buf, &mut body).map_err(End::Refuse)?;
                buf.drain(..used);
                if decoder.done() {
                    return Ok(body);
                }
                if !held.grow(body.len() + buf.len() + 16 * 1024) {
                    return Err(End::Refuse(busy_reading()));
                }
                more(buf)?;
            }
        }
    }
}

/// Sends a refusal, if any, then closes.
fn finish(stream: &TcpStream, end: End, head_only: bool) {
    if let End::Refuse(r) = end {
        if (&*stream)
            .write_all(&http::encode(&r.response(), head_only, true))
            .is_ok()
        {
            linger(stream);
        }
    }
}

/// Closes after an answer without losing it: closing with unread input makes the kernel send a
/// reset, which can destroy the answer before the client reads it. So: stop sending, then read
/// and drop what the client still sends, for up to a second.
fn linger(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + Duration::from_secs(1);
    let mut sink = [0u8; 8192];
    let mut dropped = 0usize;
    while dropped < 4 * MAX_BODY {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match (&*stream).read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}
