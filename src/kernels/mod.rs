//! The fast kernels, and the one door they are chosen through.
//!
//! A [`Kernels`] value names a set of kernels: [`Kernels::Portable`] (plain Rust, every target),
//! [`Kernels::Avx2`] (x86-64 with AVX2 and FMA), [`Kernels::Avx512`] (x86-64 with AVX-512). It
//! is chosen once per process — the best the CPU has, or what the environment variable
//! `BACKPROP_KERNELS` (`auto`, `portable`, `avx2`, `avx512`) says — and handed to every kernel
//! that runs; nothing else asks the CPU what it has. [`Kernels::install`] runs a closure with
//! another set on the calling thread, which is how the tests run every set on one machine.
//!
//! Every set computes the same numbers, bit for bit: each sum is taken in one order fixed by the
//! sizes of the product (never by the width of a register, the number of threads or the size of
//! a cache), with the same fused multiply-adds, and the elementwise passes are the same Rust code
//! compiled for each set (Rust never fuses a·b + c by itself). So the same seed gives the same
//! model whichever set runs.
//!
//! The files: `dense.rs` (the three products of a dense layer and the elementwise passes, with
//! the choice of kernel for each size), `portable.rs` (every product in plain Rust, the
//! reference for the others), `avx2.rs` and `avx512.rs` (the same products with intrinsics),
//! `sparse.rs` (the first layer's products over the non-zero inputs, with `avx2_sparse.rs` and
//! `avx512_sparse.rs`), `team.rs` (the threads that share out large products).

use crate::{Error, Real, Result};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx2_sparse;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod avx512_sparse;
mod dense;
mod portable;
pub(crate) mod sparse;
mod team;

pub use dense::GEMM_THRESHOLD;
pub(crate) use dense::{
    add_scaled_at_b, axpy, matmul_a_b, matmul_a_bt, matmul_a_bt_plus_bias, matmul_at_b, scale_bytes,
};

/// A set of kernels: which code computes the products, the sparse first layer, the elementwise
/// passes and Adam's update. All sets give the same bits; they differ in speed and in the CPUs
/// that can run them. The lowercase name is the value of `BACKPROP_KERNELS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// Plain Rust that the compiler vectorises: runs on every target (ARM included).
    Portable,
    /// x86-64 intrinsics for AVX2 and FMA (Intel since 2013, AMD since 2015).
    Avx2,
    /// x86-64 intrinsics for AVX-512 (F, BW, DQ, VL).
    Avx512,
}

/// The environment variable that chooses the kernels.
pub const KERNELS_VARIABLE: &str = "BACKPROP_KERNELS";

thread_local! {
    /// The set [`Kernels::install`] put on this thread, if any.
    static INSTALLED: Cell<Option<Kernels>> = const { Cell::new(None) };
}

impl Kernels {
    /// Every set, slowest first.
    pub const ALL: [Kernels; 3] = [Kernels::Portable, Kernels::Avx2, Kernels::Avx512];

    /// The name used in `BACKPROP_KERNELS` and in `backprop bench --json`.
    pub fn name(self) -> &'static str {
        match self {
            Kernels::Portable => "portable",
            Kernels::Avx2 => "avx2",
            Kernels::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the set (asked once per process).
    pub fn is_supported(self) -> bool {
        static SUPPORTED: OnceLock<[bool; 3]> = OnceLock::new();
        let supported = SUPPORTED.get_or_init(|| Kernels::ALL.map(detect));
        supported[self as usize]
    }

    /// The sets this CPU can run, slowest first.
    pub fn supported() -> Vec<Kernels> {
        Kernels::ALL
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// The fastest set this CPU can run: what `auto` means.
    pub fn best() -> Kernels {
        *Kernels::supported()
            .last()
            .expect("portable runs everywhere")
    }

    /// The set named `name` (`auto` for [`Kernels::best`]), or a one-line error if there is no
    /// such set or this CPU cannot run it.
    pub fn from_name(name: &str) -> Result<Kernels> {
        let error = |reason: String| Error::Kernels {
            value: name.to_string(),
            reason,
        };
        if name == "auto" {
            return Ok(Kernels::best());
        }
        let Some(kernels) = Kernels::ALL.into_iter().find(|k| k.name() == name) else {
            return Err(error(
                "no such kernel set; expected auto, portable, avx2 or avx512".into(),
            ));
        };
        if !kernels.is_supported() {
            let has: Vec<&str> = Kernels::supported().iter().map(|k| k.name()).collect();
            return Err(error(format!(
                "this CPU cannot run it (it can run {})",
                has.join(", ")
            )));
        }
        Ok(kernels)
    }

    /// The process's set: `BACKPROP_KERNELS` if it is set (read once), else [`Kernels::best`];
    /// an error if the variable names no set this CPU can run. Training calls this before any
    /// work, and so does the command-line tool.
    pub fn from_env() -> Result<Kernels> {
        static CHOSEN: OnceLock<std::result::Result<Kernels, (String, String)>> = OnceLock::new();
        let chosen = CHOSEN.get_or_init(|| match std::env::var(KERNELS_VARIABLE) {
            Err(_) => Ok(Kernels::best()),
            Ok(name) => Kernels::from_name(name.trim()).map_err(|e| match e {
                Error::Kernels { value, reason } => (value, reason),
                other => (name, other.to_string()),
            }),
        });
        chosen
            .clone()
            .map_err(|(value, reason)| Error::Kernels { value, reason })
    }

    /// The set the kernels called from this thread use: the one [`Kernels::install`]ed here,
    /// else the process's ([`Kernels::from_env`]; where that is an error, which training and
    /// the command-line tool report before they start, [`Kernels::best`]).
    pub fn current() -> Kernels {
        INSTALLED
            .get()
            .unwrap_or_else(|| Kernels::from_env().unwrap_or_else(|_| Kernels::best()))
    }

    /// Runs `f` with this set as [`Kernels::current`] on the calling thread (whatever the
    /// environment says), then puts back the previous one; an error if the CPU cannot run it.
    ///
    /// Large products are shared out among threads, but which kernels compute them is decided
    /// on the calling thread, so the whole computation runs with this set.
    ///
    /// ```
    /// use backprop::Kernels;
    /// let two = Kernels::Portable.install(|| 1 + 1)?;
    /// assert_eq!(two, 2);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn install<R>(self, f: impl FnOnce() -> R) -> Result<R> {
        Kernels::from_name(self.name())?;
        struct Restore(Option<Kernels>);
        impl Drop for Restore {
            fn drop(&mut self) {
                INSTALLED.set(self.0);
            }
        }
        let _restore = Restore(INSTALLED.replace(Some(self)));
        Ok(f())
    }

    /// `self`, after checking that the CPU runs it: every kernel entry point calls this before
    /// it runs intrinsics, so no value of this public enum can reach code the CPU lacks.
    #[inline(always)]
    pub(crate) fn checked(self) -> Kernels {
        assert!(
            self.is_supported(),
            "{} kernels on a CPU without them",
            self.name()
        );
        self
    }
}

impl std::fmt::Display for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the CPU has what `kernels` need.
fn detect(kernels: Kernels) -> bool {
    match kernels {
        Kernels::Portable => true,
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx2 => {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx512 => {
            detect(Kernels::Avx2)
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => false,
    }
}

/// Whether an x86-64 CPU has FMA, for the portable kernels (see `portable.rs`).
#[cfg(target_arch = "x86_64")]
fn x86_has_fma() -> bool {
    static FMA: OnceLock<bool> = OnceLock::new();
    *FMA.get_or_init(|| std::arch::is_x86_feature_detected!("fma"))
}

/// Runs `$body` (an expression over the named arguments) compiled for the instruction set of
/// `$kernels`: the same Rust code, vectorised 4, 8 or 16 lanes at a time. No fused multiply-add
/// is ever formed from a·b + c (Rust does not contract), so every set computes identical
/// results.
macro_rules! with_kernels {
    ($kernels:expr, fn $name:ident<T>($($arg:ident: $ty:ty),*) $body:block) => {{
        #[inline(always)]
        fn body<T: Real>($($arg: $ty),*) $body
        match $kernels.checked() {
            #[cfg(target_arch = "x86_64")]
            $crate::kernels::Kernels::Avx512 => {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2")]
                unsafe fn avx512<T: Real>($($arg: $ty),*) {
                    body($($arg),*)
                }
                // SAFETY: `checked` says the CPU has AVX-512.
                unsafe { avx512($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            $crate::kernels::Kernels::Avx2 => {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<T: Real>($($arg: $ty),*) {
                    body($($arg),*)
                }
                // SAFETY: `checked` says the CPU has AVX2.
                unsafe { avx2($($arg),*) }
            }
            _ => body($($arg),*),
        }
    }};
}
pub(crate) use with_kernels;

/// Threads the large products may use.
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Lets the large products (above [`GEMM_THRESHOLD`] multiply-adds) use up to `n` threads,
/// process-wide. Small products always run on the calling thread: at a mini-batch of 10,
/// handing work to another thread costs more than it saves.
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The number of threads the large products may use (1 by default).
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Runs `job(part)` for every part in `0..parts`, each once, on up to [`threads()`] threads at
/// once (see `team.rs`), and returns when all are done.
pub(crate) fn for_each_part(parts: usize, job: &(dyn Fn(usize) + Sync)) {
    team::run(threads(), parts, job);
}

/// Where part `p` of `parts` of `0..len` starts: equal parts, each boundary a multiple of
/// `align` (the last part takes what is left).
fn part_start(len: usize, parts: usize, align: usize, p: usize) -> usize {
    if p >= parts {
        len
    } else {
        (len * p / parts / align * align).min(len)
    }
}

/// A mutable slice whose disjoint ranges the parts of a job may write at once.
pub(crate) struct Parts<'a, T> {
    ptr: *mut T,
    len: usize,
    _slice: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: it hands out only what `range`'s callers promise are disjoint ranges.
unsafe impl<T: Send> Sync for Parts<'_, T> {}

impl<'a, T> Parts<'a, T> {
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        Parts {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: std::marker::PhantomData,
        }
    }

    /// The elements `range` of the slice.
    ///
    /// # Safety
    /// No two ranges asked for while both are in use may overlap.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, range: std::ops::Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: in bounds by the assert, and not aliased by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }

    /// The start of the slice, for parts that write elements which are not one range (a block
    /// of columns); the same promise as for [`range`](Self::range) is then the caller's to keep.
    fn as_mut_ptr(&self) -> *mut T {
        self.ptr
    }
}

/// `s` as f32 if T is f32.
pub(crate) fn as_f32<T: Real>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32, so the cast is the identity.
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) })
}

/// `s` as mutable f32 if T is f32.
pub(crate) fn as_f32_mut<T: Real>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: T is f32, so the cast is the identity.
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_choices() {
        for k in Kernels::ALL {
            assert_eq!(
                Kernels::from_name(k.name()).ok(),
                k.is_supported().then_some(k)
            );
        }
        assert!(Kernels::Portable.is_supported());
        assert_eq!(Kernels::from_name("auto").unwrap(), Kernels::best());
        let err = Kernels::from_name("sse9").unwrap_err().to_string();
        assert_eq!(
            err,
            "BACKPROP_KERNELS=\"sse9\": no such kernel set; expected auto, portable, avx2 or avx512"
        );
    }

    #[test]
    fn install_sets_the_threads_kernels_and_puts_them_back() {
        let before = Kernels::current();
        let inside = Kernels::Portable
            .install(|| {
                let nested = Kernels::best().install(Kernels::current).unwrap();
                (Kernels::current(), nested)
            })
            .unwrap();
        assert_eq!(inside, (Kernels::Portable, Kernels::best()));
        assert_eq!(Kernels::current(), before);
        for k in Kernels::ALL.into_iter().filter(|k| !k.is_supported()) {
            assert!(k.install(|| ()).is_err());
        }
    }
}
