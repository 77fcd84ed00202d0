//! The threads that share out the parts of a large product (or any other job cut in parts).
//!
//! A training step at a mini-batch of 128 runs several such jobs (the byte conversion, two
//! products per large layer, Adam's update), each up to a few hundred microseconds long, with a
//! little work on one thread in between. Putting threads to sleep between them and waking them
//! through the kernel (rayon's way, which `gemm` used) took about a sixth of the samples of a
//! two-thread W3 run in `perf` (sched_yield, futex), so the helpers here do not sleep between
//! jobs: they spin, watching for the next one, for [`SPIN_CHECKS`], then give their core to any
//! other thread that wants it (`yield_now`) between checks for up to [`IDLE`] in all, and only
//! then park until a job wakes them. There are never more helpers than the machine has cores
//! besides the caller's: more threads than cores would spin against each other.
//!
//! The caller always works on its own job too, claiming parts one at a time like the helpers.
//! A helper the operating system has descheduled simply claims nothing, so a busy machine costs
//! at most what one thread would. Which thread computes a part never changes what it computes:
//! how a job is cut into parts is the caller's choice, fixed before anyone starts.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;

/// Checks for a new job before a helper parks.
const SPIN_CHECKS: u32 = 1 << 12;

/// How long a helper waits for a job before it parks.
const IDLE: std::time::Duration = std::time::Duration::from_millis(8);

/// The job being shared out, and who is working on what.
struct Shared {
    /// Job number, first and one past the last unclaimed part (see [`Claim`]): one word, so a
    /// part is claimed for exactly one job by one compare-and-swap.
    claim: AtomicU64,
    /// How many helpers may work on the current job: those numbered below it.
    active: AtomicUsize,
    /// Parts finished (or panicked) of the current job.
    done: AtomicUsize,
    /// Whether a helper's part panicked.
    panicked: AtomicBool,
    /// The current job, valid while any of its parts is unfinished.
    job: UnsafeCell<Option<*const (dyn Fn(usize) + Sync)>>,
}

// SAFETY: `job` is written only by the caller holding `Team::caller`, while no part of any job is
// claimed and unfinished; helpers read it only after claiming a part of the current job.
unsafe impl Sync for Shared {}

struct Helper {
    /// 0 for the first helper started, 1 for the next, …
    number: usize,
    thread: Thread,
    parked: AtomicBool,
}

struct Team {
    shared: &'static Shared,
    /// The helpers started so far (they are never stopped).
    helpers: Mutex<Vec<&'static Helper>>,
    /// Held by the one caller whose job is shared out; other callers run theirs alone.
    caller: Mutex<()>,
}

static TEAM: Team = Team {
    shared: &SHARED,
    helpers: Mutex::new(Vec::new()),
    caller: Mutex::new(()),
};

static SHARED: Shared = Shared {
    claim: AtomicU64::new(0),
    active: AtomicUsize::new(0),
    done: AtomicUsize::new(0),
    panicked: AtomicBool::new(false),
    job: UnsafeCell::new(None),
};

/// The claim word: the job's number and its unclaimed parts `front..back`.
///
/// The caller claims parts from the front and the helpers from the back, so with two threads
/// each part of a job cut in two always goes to the same thread, step after step, and so does
/// the data it works on: it stays in that core's cache.
#[derive(Clone, Copy)]
struct Claim {
    number: u64,
    front: usize,
    back: usize,
}

/// Bits of the claim word for each end of the unclaimed parts.
const END_BITS: u32 = 20;
/// Jobs may have fewer parts than this.
const MAX_PARTS: usize = 1 << END_BITS;

impl Claim {
    fn pack(self) -> u64 {
        (self.number << (2 * END_BITS)) | ((self.front as u64) << END_BITS) | self.back as u64
    }

    fn unpack(word: u64) -> Claim {
        let mask = (MAX_PARTS - 1) as u64;
        Claim {
            number: word >> (2 * END_BITS),
            front: ((word >> END_BITS) & mask) as usize,
            back: (word & mask) as usize,
        }
    }
}

/// Claims a part of job `number` if one is left: the first for the caller, the last for a
/// helper.
fn claim(shared: &Shared, number: u64, caller: bool) -> Option<usize> {
    let mut word = shared.claim.load(Ordering::Acquire);
    loop {
        let mut c = Claim::unpack(word);
        if c.number != number || c.front >= c.back {
            return None;
        }
        let part = if caller {
            c.front += 1;
            c.front - 1
        } else {
            c.back -= 1;
            c.back
        };
        match shared.claim.compare_exchange_weak(
            word,
            c.pack(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return Some(part),
            Err(now) => word = now,
        }
    }
}

/// A helper: wait for a job, work on its parts, repeat.
fn serve(shared: &'static Shared, me: &'static Helper) -> ! {
    let mut seen = 0u64;
    loop {
        let mut spins = 0u32;
        let mut idle_since = std::time::Instant::now();
        let number = loop {
            let number = Claim::unpack(shared.claim.load(Ordering::Acquire)).number;
            if number != seen {
                break number;
            }
            spins += 1;
            if spins < SPIN_CHECKS {
                std::hint::spin_loop();
            } else if idle_since.elapsed() < IDLE {
                std::thread::yield_now();
            } else {
                me.parked.store(true, Ordering::SeqCst);
                if Claim::unpack(shared.claim.load(Ordering::SeqCst)).number == seen {
                    std::thread::park();
                }
                me.parked.store(false, Ordering::SeqCst);
                spins = 0;
                idle_since = std::time::Instant::now();
            }
        };
        seen = number;
        // `active` was written before this job's number was published.
        if me.number >= shared.active.load(Ordering::Acquire) {
            continue;
        }
        while let Some(part) = claim(shared, number, false) {
            // SAFETY: the claimed part is unfinished, so the caller is still waiting and the job
            // it posted is alive.
            let job = unsafe { (*shared.job.get()).expect("a posted job") };
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*job)(part) }));
            if ran.is_err() {
                shared.panicked.store(true, Ordering::Relaxed);
            }
            shared.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// The cores this process may run on.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Starts helpers until there are `n`.
fn hire(team: &Team, n: usize) -> MutexGuard<'_, Vec<&'static Helper>> {
    let mut helpers = team.helpers.lock().unwrap_or_else(|e| e.into_inner());
    while helpers.len() < n {
        let number = helpers.len();
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = team.shared;
        let spawned = std::thread::Builder::new()
            .name("backprop-helper".into())
            .spawn(move || {
                let me: &'static Helper = Box::leak(Box::new(Helper {
                    number,
                    thread: std::thread::current(),
                    parked: AtomicBool::new(false),
                }));
                if tx.send(me).is_ok() {
                    serve(shared, me);
                }
            });
        // Without another thread the caller does all the parts itself.
        match spawned.ok().and_then(|_| rx.recv().ok()) {
            Some(helper) => helpers.push(helper),
            None => break,
        }
    }
    helpers
}

/// Runs `job(part)` for every part in `0..parts`, each exactly once, on this thread and up to
/// `threads − 1` helpers at once, and returns when all are done. If another thread's job is
/// being shared out at the moment, this one runs on the calling thread alone.
pub fn run(threads: usize, parts: usize, job: &(dyn Fn(usize) + Sync)) {
    let guard = match (threads > 1 && parts > 1 && parts < MAX_PARTS)
        .then(|| TEAM.caller.try_lock().ok())
        .flatten()
    {
        Some(guard) => guard,
        None => return (0..parts).for_each(job),
    };
    let threads = threads.min(cores());
    if threads < 2 {
        return (0..parts).for_each(job);
    }
    let helpers = hire(&TEAM, threads - 1);
    let shared = TEAM.shared;
    // SAFETY: holding `caller`, with the previous job finished: no helper reads `job` now. The
    // lifetime is erased, but this function does not return before every part is finished.
    unsafe {
        *shared.job.get() = Some(std::mem::transmute::<
            *const (dyn Fn(usize) + Sync + '_),
            *const (dyn Fn(usize) + Sync + 'static),
        >(job));
    }
    shared
        .active
        .store(helpers.len().min(threads - 1), Ordering::Release);
    shared.done.store(0, Ordering::Relaxed);
    shared.panicked.store(false, Ordering::Relaxed);
    // Job numbers wrap around; a helper only asks whether the number changed.
    let number = (Claim::unpack(shared.claim.load(Ordering::Relaxed)).number + 1) & 0xff_ffff;
    let posted = Claim {
        number,
        front: 0,
        back: parts,
    };
    shared.claim.store(posted.pack(), Ordering::SeqCst);
    for helper in helpers.iter().take(threads - 1) {
        if helper.parked.load(Ordering::SeqCst) {
            helper.thread.unpark();
        }
    }
    drop(helpers);
    // Helpers may be reading this frame's borrows: finish the job before a panic unwinds.
    let mut mine = Ok(());
    let mut finished = 0;
    while let Some(part) = claim(shared, number, true) {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(part)));
        if mine.is_ok() {
            mine = ran;
        }
        finished += 1;
    }
    // The last parts may be on a helper the operating system has just descheduled: after a
    // short spin, let whoever needs this core have it.
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) + finished < parts {
        spins += 1;
        if spins < SPIN_CHECKS {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    // SAFETY: every part is finished: nobody uses the job any more.
    unsafe { *shared.job.get() = None };
    let helper_panicked = shared.panicked.load(Ordering::Relaxed);
    drop(guard);
    if let Err(panic) = mine {
        std::panic::resume_unwind(panic);
    }
    assert!(!helper_panicked, "a part of a shared job panicked");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_part_runs_exactly_once() {
        for threads in 1..=4 {
            for parts in [0, 1, 2, 3, 7, 64] {
                for _ in 0..200 {
                    let counts: Vec<AtomicU32> = (0..parts).map(|_| AtomicU32::new(0)).collect();
                    run(threads, parts, &|p| {
                        counts[p].fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
                }
            }
        }
    }

    #[test]
    fn callers_on_several_threads_all_get_their_parts_done() {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                s.spawn(move || {
                    for round in 0..300u64 {
                        let sums: Vec<AtomicU64> = (0..5).map(|_| AtomicU64::new(0)).collect();
                        run(2, 5, &|p| {
                            sums[p].fetch_add(t * round + p as u64, Ordering::Relaxed);
                        });
                        for (p, sum) in sums.iter().enumerate() {
                            assert_eq!(sum.load(Ordering::Relaxed), t * round + p as u64);
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_after_the_others_finish() {
        let finished = AtomicU32::new(0);
        let result = std::panic::catch_unwind(|| {
            run(2, 8, &|p| {
                if p == 3 {
                    panic!("part 3");
                }
                finished.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert!(result.is_err());
        assert_eq!(finished.load(Ordering::Relaxed), 7);
        // The team still works.
        let count = AtomicU32::new(0);
        run(2, 4, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 4);
    }
}
