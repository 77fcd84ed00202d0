//! What `backprop serve` takes on at once, and who gives way: the open connections and what
//! each is doing (the longest-idle one is closed to make room), the app's turns (first come,
//! first served), and the bytes of request bodies held over all connections.

use std::collections::{HashMap, VecDeque};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Bytes of the body budget held by one request, given back when dropped.
pub(super) struct Held<'a> {
    budget: &'a AtomicUsize,
    cap: usize,
    bytes: usize,
}

impl<'a> Held<'a> {
    pub(super) fn take(budget: &'a AtomicUsize, cap: usize, bytes: usize) -> Option<Held<'a>> {
        let mut held = Held {
            budget,
            cap,
            bytes: 0,
        };
        held.grow(bytes).then_some(held)
    }

    /// Holds `total` bytes in all, if the budget has them.
    pub(super) fn grow(&mut self, total: usize) -> bool {
        let extra = total.saturating_sub(self.bytes);
        let ok = self
            .budget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + extra <= self.cap).then_some(used + extra)
            })
            .is_ok();
        if ok {
            self.bytes += extra;
        }
        ok
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A counting semaphore that lets waiters in in the order they came: at most `n` holders at
/// once, and no request overtaken indefinitely by later ones.
pub(super) struct Semaphore {
    queue: Mutex<Queue>,
}

struct Queue {
    free: usize,
    waiting: VecDeque<Arc<Waiter>>,
}

struct Waiter {
    thread: Thread,
    granted: AtomicBool,
}

impl Semaphore {
    pub(super) fn new(n: usize) -> Self {
        Semaphore {
            queue: Mutex::new(Queue {
                free: n,
                waiting: VecDeque::new(),
            }),
        }
    }

    pub(super) fn acquire(&self) -> Turn<'_> {
        let waiter = {
            let mut q = lock(&self.queue);
            if q.free > 0 && q.waiting.is_empty() {
                q.free -= 1;
                return Turn(self);
            }
            let w = Arc::new(Waiter {
                thread: std::thread::current(),
                granted: AtomicBool::new(false),
            });
            q.waiting.push_back(Arc::clone(&w));
            w
        };
        while !waiter.granted.load(Ordering::Acquire) {
            std::thread::park();
        }
        Turn(self)
    }
}

/// A place among the semaphore's holders; handed to the next waiter when dropped.
pub(super) struct Turn<'a>(&'a Semaphore);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut q = lock(&self.0.queue);
        match q.waiting.pop_front() {
            Some(next) => {
                next.granted.store(true, Ordering::Release);
                next.thread.unpark();
            }
            None => q.free += 1,
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock; a poisoned one is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request that has been arriving for longer than this may lose its place to a new
/// connection when all places are taken (on loopback a whole 1 MiB body takes milliseconds).
pub(super) const SLOW: Duration = Duration::from_secs(1);

/// The open connections, and what each is doing.
#[derive(Default)]
pub(super) struct Registry {
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    next: u64,
    open: HashMap<u64, Slot>,
}

struct Slot {
    stream: Arc<TcpStream>,
    state: State,
}

/// What a connection is doing, for choosing which one to close when all places are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Waiting for a request (or closing after its answer) since then: first to go.
    Idle(Instant),
    /// Receiving a request since then: goes once it has taken longer than [`SLOW`].
    Reading(Instant),
    /// With the app, or writing the answer: never closed from outside.
    Busy,
}

impl Registry {
    /// Registers a new connection (idle), making room if `max` are open; `None` if none of
    /// them can go.
    pub(super) fn enter(&self, stream: &Arc<TcpStream>, max: usize) -> Option<u64> {
        let mut slots = lock(&self.slots);
        if slots.open.len() >= max && !evict(&mut slots) {
            return None;
        }
        slots.next += 1;
        let id = slots.next;
        slots.open.insert(
            id,
            Slot {
                stream: Arc::clone(stream),
                state: State::Idle(Instant::now()),
            },
        );
        Some(id)
    }

    pub(super) fn set(&self, id: u64, state: State) {
        if let Some(slot) = lock(&self.slots).open.get_mut(&id) {
            slot.state = state;
        }
    }

    pub(super) fn leave(&self, id: u64) {
        lock(&self.slots).open.remove(&id);
    }

    /// Closes the connection that has waited longest for a request, else the slowest request
    /// over [`SLOW`]; false if there is none.
    pub(super) fn evict_idle(&self) -> bool {
        evict(&mut lock(&self.slots))
    }
}

fn evict(slots: &mut Slots) -> bool {
    let now = Instant::now();
    let oldest = slots
        .open
        .iter()
        .filter_map(|(&id, s)| match s.state {
            State::Idle(t) => Some((0, t, id)),
            State::Reading(t) if now.duration_since(t) > SLOW => Some((1, t, id)),
            _ => None,
        })
        .min();
    let Some((_, _, id)) = oldest else {
        return false;
    };
    if let Some(slot) = slots.open.remove(&id) {
        // Its thread's read returns at once and the thread ends, closing the socket.
        let _ = slot.stream.shutdown(Shutdown::Both);
    }
    true
}

/// Takes a connection out of the registry when its thread ends, however it ends.
pub(super) struct Leave<'a>(pub(super) &'a Registry, pub(super) u64);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_body_budget_is_shared_and_given_back() {
        let budget = AtomicUsize::new(0);
        let a = Held::take(&budget, 100, 60).unwrap();
        assert!(Held::take(&budget, 100, 50).is_none());
        let mut b = Held::take(&budget, 100, 40).unwrap();
        assert!(!b.grow(41));
        drop(a);
        assert!(b.grow(100));
        drop(b);
        assert_eq!(budget.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn turns_are_given_in_the_order_they_were_asked_for() {
        let sem = Arc::new(Semaphore::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = sem.acquire();
        let mut threads = Vec::new();
        for i in 0..4 {
            let (sem2, order) = (Arc::clone(&sem), Arc::clone(&order));
            threads.push(std::thread::spawn(move || {
                let _turn = sem2.acquire();
                lock(&order).push(i);
            }));
            // The next one asks only once this one waits.
            while lock(&sem.queue).waiting.len() < i + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock(&order), [0, 1, 2, 3]);
        assert_eq!(lock(&sem.queue).free, 1);
    }

    #[test]
    fn the_longest_idle_connection_gives_way_then_a_slow_one_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let streams: Vec<Arc<TcpStream>> = (0..3)
            .map(|_| Arc::new(TcpStream::connect(addr).unwrap()))
            .collect();
        let r = Registry::default();
        let a = r.enter(&streams[0], 2).unwrap();
        let b = r.enter(&streams[1], 2).unwrap();
        r.set(a, State::Busy);
        // Full: b, the idle one, is closed for c.
        let c = r.enter(&streams[2], 2).unwrap();
        assert!(!lock(&r.slots).open.contains_key(&b));
        r.set(c, State::Reading(Instant::now()));
        assert_eq!(
            r.enter(&streams[1], 2),
            None,
            "busy and a fresh request stay"
        );
        let long_ago = Instant::now().checked_sub(2 * SLOW).unwrap();
        r.set(c, State::Reading(long_ago));
        assert!(
            r.enter(&streams[1], 2).is_some(),
            "a slow request gives way"
        );
        assert!(lock(&r.slots).open.contains_key(&a));
    }
}
