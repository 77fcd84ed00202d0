//! The three matrix products of a dense layer, on row-major slices.
//!
//! A mini-batch of activations is a `batch × n` row-major matrix (one sample per row); a
//! layer's weights are `n_out × n_in` (row j holds w_j·). With those layouts:
//!
//! ```text
//! forward          Z      = A_prev · Wᵀ        (batch × n_out)   matmul_a_bt
//! weight gradient  ∂C/∂W  = Δᵀ · A_prev        (n_out × n_in)    matmul_at_b
//! input gradient   ∂C/∂A  = Δ · W              (batch × n_in)    matmul_a_b
//! ```
//!
//! At the sizes of small networks and mini-batches (the notes' layer 1 is a 10×784 by 784×16
//! product) a general-purpose GEMM spends more time packing and dispatching than multiplying.
//! So for f32 on x86-64 CPUs with AVX2 and FMA, small products go to the kernels in `avx2.rs`,
//! which work straight on the row-major data with a tile of results held in registers:
//!
//! - `matmul_a_bt` computes each result as a dot product of two contiguous rows, a 2×4 tile of
//!   them at a time, each with 8 partial sums (one register) added pairwise at the end.
//! - `matmul_at_b` and `matmul_a_b` compute each result row as a sum of scaled rows of B, 16
//!   columns and 6 rows at a time (the last columns 8 at a time, then the rest under a mask).
//!
//! Everything else — f64 (gradient checks), other CPUs (`gemm` has NEON kernels, for example),
//! and products above [`GEMM_THRESHOLD`] multiply-adds — goes to the `gemm` crate, its result
//! cut into one block of rows or columns per thread, on up to [`threads()`] threads (one unless
//! [`set_threads`] says otherwise; the threads are the spinning team of `team.rs`). Either way
//! every sum is taken in an order fixed by the matrix sizes, whatever the number of threads
//! (they share out blocks of the result, never the terms of one sum, and `gemm` is never asked
//! for a sum longer than `K_BLOCK` terms, which it would cut by the shape of the block), so
//! results are reproducible bit for bit on a given machine.

use crate::Real;
use std::sync::atomic::{AtomicUsize, Ordering};

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

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod sparse;
mod team;

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

/// Whether the f32 AVX2 kernels can run here.
pub(crate) fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Above this many multiply-adds per product, `gemm`'s packing and cache blocking win. Measured
/// with `backprop bench` (AVX2 machine of the README): the kernels here take W1 (10×784 by
/// 784×16, 125k) from 0.117 to 0.089 s/epoch and W2 (235k) from 0.29 to 0.15, while `gemm` is
/// faster from a batch of 100 through 784×16 (1.25M) upwards.
pub const GEMM_THRESHOLD: usize = 1 << 19;

/// `c = a · bᵀ` (or `c += a · bᵀ` when `accumulate`), with `a` m×k, `b` n×k, `c` m×n.
pub fn matmul_a_bt<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) {
    let start = if accumulate { Start::C } else { Start::Zero };
    a_bt(m, n, k, a, b, c, start);
}

/// `c = bias + a · bᵀ` (`bias[j]` added to every row), with `a` m×k, `b` n×k, `c` m×n: a dense
/// layer's z = W·a + b for a batch. Bit for bit the rows of `c` set to `bias` followed by
/// [`matmul_a_bt`] accumulating, without the copies where the AVX2 kernel runs.
pub fn matmul_a_bt_plus_bias<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    bias: &[T],
    c: &mut [T],
) {
    assert_eq!(bias.len(), n, "one bias per column");
    a_bt(m, n, k, a, b, c, Start::Bias(bias));
}

/// What each result of an a · bᵀ product starts from.
#[derive(Clone, Copy)]
enum Start<'a, T> {
    /// c = a · bᵀ.
    Zero,
    /// c += a · bᵀ.
    C,
    /// c = bias + a · bᵀ.
    Bias(&'a [T]),
}

/// c = start + a · bᵀ by the fastest kernel for the size and CPU.
fn a_bt<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T], start: Start<T>) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    #[cfg(target_arch = "x86_64")]
    if let (Some(a), Some(b), true) = (
        as_f32(a),
        as_f32(b),
        m * n * k <= GEMM_THRESHOLD && avx2_fma(),
    ) {
        let c = as_f32_mut(c).expect("c has the type of a");
        let start = match start {
            Start::Zero => avx2::Start::Zero,
            Start::C => avx2::Start::C,
            Start::Bias(bias) => avx2::Start::Bias(as_f32(bias).expect("bias has the type of a")),
        };
        // SAFETY: the CPU has AVX2 and FMA; the assert above bounds the slices.
        return unsafe { avx2::a_bt(m, n, k, a, b, c, start) };
    }
    if let Start::Bias(bias) = start {
        for row in c[..m * n].chunks_exact_mut(n) {
            row.copy_from_slice(bias);
        }
    }
    gemm_a_bt(m, n, k, a, b, c, !matches!(start, Start::Zero));
}

/// `c = aᵀ · b`, with `a` k×m, `b` k×n, `c` m×n.
pub fn matmul_at_b<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n);
    products(m, n, k, a, (1, m), b, c, None);
}

/// `c += alpha · (aᵀ · b)`, with `a` k×m, `b` k×n, `c` m×n. Plain gradient descent uses it to
/// step a layer's weights by −η·∂C/∂w = −η·Δᵀ·A without writing the gradient out.
///
/// For small f32 products on CPUs with AVX2 and FMA, each of the k terms is summed straight
/// into c, in order: c_ij ← fma(alpha·a_pi, b_pj, c_ij) for p = 0, 1, … (for a layer: one step
/// per sample, w ← w + (−η·δ)·aᵀ, the textbook's sum over the mini-batch taken into w), so
/// nothing but c is read or written. Elsewhere (f64, or above [`GEMM_THRESHOLD`]) it is
/// [`matmul_at_b`] into `scratch` followed by [`axpy`]. The two round differently, by an ulp or
/// so per step.
#[allow(clippy::too_many_arguments)]
pub fn add_scaled_at_b<T: Real>(
    alpha: T,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    scratch: &mut [T],
) {
    assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n);
    products(m, n, k, a, (1, m), b, c, Some((alpha, scratch)));
}

/// `c = a · b`, with `a` m×k, `b` k×n, `c` m×n.
pub fn matmul_a_b<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    products(m, n, k, a, (k, 1), b, c, None);
}

/// c = A · b, where A(i, p) = a[i·a_rs + p·a_cs], by the fastest kernel for the size and CPU;
/// with `add_scaled` = (alpha, scratch), c += alpha · (A · b) instead (see [`add_scaled_at_b`]
/// for how each kernel rounds it).
#[allow(clippy::too_many_arguments)]
fn products<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    strides: (usize, usize),
    b: &[T],
    c: &mut [T],
    add_scaled: Option<(T, &mut [T])>,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(a), Some(b), true) = (
        as_f32(a),
        as_f32(b),
        m * n * k <= GEMM_THRESHOLD && avx2_fma(),
    ) {
        let c = as_f32_mut(c).expect("c has the type of a");
        let Some((alpha, scratch)) = add_scaled else {
            // SAFETY: the CPU has AVX2 and FMA; the callers' asserts bound the slices.
            return unsafe { avx2::rows(m, n, k, a, strides, b, c, None) };
        };
        let alpha = as_f32(std::slice::from_ref(&alpha)).expect("alpha has the type of a")[0];
        let scratch = as_f32_mut(scratch).expect("scratch has the type of a");
        if scratch.len() < m * k {
            // SAFETY: as above.
            return unsafe { avx2::rows(m, n, k, a, strides, b, c, Some(alpha)) };
        }
        // alpha · A once, m × k, rather than once for every 16 columns of c: the same products.
        let (a_rs, a_cs) = strides;
        for (i, row) in scratch[..m * k].chunks_exact_mut(k).enumerate() {
            for (p, v) in row.iter_mut().enumerate() {
                *v = alpha * a[i * a_rs + p * a_cs];
            }
        }
        // SAFETY: as above; the scaled A is m × k, row-major.
        return unsafe { avx2::rows(m, n, k, scratch, (k, 1), b, c, Some(1.0)) };
    }
    match add_scaled {
        None => gemm_general(m, n, k, a, strides, b, c),
        Some((alpha, scratch)) => {
            gemm_general(m, n, k, a, strides, b, scratch);
            axpy(alpha, &scratch[..m * n], &mut c[..m * n]);
        }
    }
}

/// Runs `$body` (an expression over the named arguments) compiled for AVX2, where the CPU has
/// it, or for the baseline CPU. No FMA is enabled: Rust never fuses a·b + c by itself, so both
/// versions compute identical results; the AVX2 one only does it 8 lanes at a time.
macro_rules! with_avx2 {
    (fn $name:ident<T>($($arg:ident: $ty:ty),*) $body:block) => {
        #[inline(always)]
        fn body<T: Real>($($arg: $ty),*) $body
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[target_feature(enable = "avx2")]
            unsafe fn avx2<T: Real>($($arg: $ty),*) {
                body($($arg),*)
            }
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2($($arg),*) };
        }
        body($($arg),*)
    };
}
pub(crate) use with_avx2;

/// `y += alpha · x`, element by element.
pub fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    with_avx2!(
        fn axpy<T>(alpha: T, x: &[T], y: &mut [T]) {
            for (y, &x) in y.iter_mut().zip(x) {
                *y += alpha * x;
            }
        }
    );
}

/// `dst[i] = src[i] · scale`: bytes to numbers (pixels to inputs).
pub fn scale_bytes<T: Real>(src: &[u8], scale: T, dst: &mut [T]) {
    with_avx2!(
        fn scale_bytes<T>(src: &[u8], scale: T, dst: &mut [T]) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = T::from_u8(s) * scale;
            }
        }
    );
}

/// The longest sum `gemm` is asked for in one call: longer ones are cut into equal blocks of at
/// most this many terms, each block a call that adds to the result of the one before.
///
/// Inside one call `gemm` may itself cut the sum into blocks, and how depends on the shape of
/// the result (below 65×65 it uses blocks of 512, above it equal blocks of at least 512). With
/// every call's sum at most 512 terms long, no call cuts it further, so every element of the
/// result is the same chain of multiply-adds whatever the shape of the part of the result a
/// call computes: cutting a product into parts for threads cannot change a bit.
const K_BLOCK: usize = 512;

/// dst (+)= L · R on this thread, with L(i, p) = l[i·l_rs + p·l_cs], R(p, j) = r[p·r_rs + j·r_cs]
/// and dst(i, j) = dst[i·dst_rs + j]: `m`×`n` results, sums of `k` terms cut by [`K_BLOCK`].
///
/// # Safety
/// Every element those formulas reach must be in bounds, and nobody else may use dst's.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_on_this_thread<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    (l, l_rs, l_cs): (*const T, usize, usize),
    (r, r_rs, r_cs): (*const T, usize, usize),
) {
    let blocks = k.div_ceil(K_BLOCK).max(1);
    for block in 0..blocks {
        let terms = part_start(k, blocks, 1, block)..part_start(k, blocks, 1, block + 1);
        // SAFETY: within the caller's bounds.
        unsafe {
            gemm::gemm(
                m,
                n,
                terms.len(),
                dst,
                1,
                dst_rs as isize,
                accumulate || block > 0,
                l.add(terms.start * l_cs),
                l_cs as isize,
                l_rs as isize,
                r.add(terms.start * r_rs),
                r_cs as isize,
                r_rs as isize,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

/// How many parts of at least `align` rows (or columns) `len` of them are cut into: one per
/// thread, for products large enough to share.
fn parts_for(len: usize, align: usize) -> usize {
    threads().min(len / align).max(1)
}

/// `matmul_a_bt` by the `gemm` crate, the rows of `c` shared out among [`threads()`] threads.
pub fn gemm_a_bt<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    // gemm's micro-kernel computes 16 rows at a time for f32 (8 for f64).
    let parts = parts_for(m, 16);
    let c = Parts::new(&mut c[..m * n]);
    let part = |p: usize| {
        let rows = part_start(m, parts, 16, p)..part_start(m, parts, 16, p + 1);
        // SAFETY: the assert bounds every index: a[i*k + p], b[j*k + p], c[i*n + j]; each part
        // writes its own rows of c.
        unsafe {
            gemm_on_this_thread(
                (rows.len(), n, k),
                c.as_mut_ptr().add(rows.start * n),
                n,
                accumulate,
                (a.as_ptr().add(rows.start * k), k, 1),
                (b.as_ptr(), 1, k),
            );
        }
    };
    for_each_part(parts, &part);
}

/// c = A · b by the `gemm` crate, where A(i, p) = a[i·a_rs + p·a_cs] and b is k×n, the columns
/// of `c` shared out among [`threads()`] threads.
fn gemm_general<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    (a_rs, a_cs): (usize, usize),
    b: &[T],
    c: &mut [T],
) {
    assert!(m == 0 || k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(b.len() >= k * n && c.len() >= m * n);
    let parts = parts_for(n, 16);
    let c = Parts::new(&mut c[..m * n]);
    let part = |p: usize| {
        let columns = part_start(n, parts, 16, p)..part_start(n, parts, 16, p + 1);
        // SAFETY: the asserts bound every index: a[i*a_rs + p*a_cs], b[p*n + j], c[i*n + j];
        // each part writes its own columns of c.
        unsafe {
            gemm_on_this_thread(
                (m, columns.len(), k),
                c.as_mut_ptr().add(columns.start),
                n,
                false,
                (a.as_ptr(), a_rs, a_cs),
                (b.as_ptr().add(columns.start), n, 1),
            );
        }
    };
    for_each_part(parts, &part);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The products written as the textbook sums, the oracle for the gemm calls.
    fn reference(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f64,
        b: impl Fn(usize, usize) -> f64,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            }
        }
        c
    }

    fn close(x: &[f64], y: &[f64]) {
        assert_eq!(x.len(), y.len());
        for (a, b) in x.iter().zip(y) {
            assert!((a - b).abs() <= 1e-12 + 1e-12 * b.abs(), "{a} vs {b}");
        }
    }

    #[test]
    fn f32_kernels_match_the_textbook_sums() {
        // Sizes that exercise every tile remainder (rows of 1–6, 16-column chunks plus a tail,
        // dot products of 8-lane chunks plus a tail) and both sides of GEMM_THRESHOLD.
        let mut rng = crate::Rng::new(12);
        for &(m, n, k) in &[
            (1, 1, 1),
            (10, 16, 784),
            (10, 30, 784),
            (7, 19, 13),
            (3, 33, 17),
            (5, 10, 16),
            (200, 100, 40),
        ] {
            let f = |rng: &mut crate::Rng, len: usize| -> Vec<f32> {
                (0..len).map(|_| rng.normal() as f32).collect()
            };
            let (a, bt, b, at) = (
                f(&mut rng, m * k),
                f(&mut rng, n * k),
                f(&mut rng, k * n),
                f(&mut rng, k * m),
            );
            // f32 sums of k products of N(0,1) numbers: error a few ulps of sqrt(k).
            let check = |c: &[f32], expected: Vec<f64>| {
                for (x, y) in c.iter().zip(&expected) {
                    assert!(
                        (*x as f64 - y).abs() <= 1e-5 * (k as f64).sqrt(),
                        "{x} vs {y} for {m}×{n}×{k}"
                    );
                }
            };
            let g = |v: &[f32], i: usize| v[i] as f64;
            let mut c = vec![f32::NAN; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c, false);
            check(
                &c,
                reference(m, n, k, |i, p| g(&a, i * k + p), |p, j| g(&bt, j * k + p)),
            );
            let mut c2 = vec![1.0f32; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c2, true);
            for (x, y) in c2.iter().zip(&c) {
                assert_eq!(*x, 1.0 + *y);
            }
            let bias = f(&mut rng, n);
            let mut c3 = vec![f32::NAN; m * n];
            matmul_a_bt_plus_bias(m, n, k, &a, &bt, &bias, &mut c3);
            for (i, row) in c3.chunks_exact(n).enumerate() {
                for (j, x) in row.iter().enumerate() {
                    assert_eq!(*x, bias[j] + c[i * n + j], "{m}×{n}×{k}");
                }
            }
            let mut c = vec![f32::NAN; m * n];
            matmul_at_b(m, n, k, &at, &b, &mut c);
            check(
                &c,
                reference(m, n, k, |i, p| g(&at, p * m + i), |p, j| g(&b, p * n + j)),
            );
            let mut c = vec![f32::NAN; m * n];
            matmul_a_b(m, n, k, &a, &b, &mut c);
            check(
                &c,
                reference(m, n, k, |i, p| g(&a, i * k + p), |p, j| g(&b, p * n + j)),
            );
        }
    }

    #[test]
    fn products_match_the_textbook_sums() {
        let mut rng = crate::Rng::new(11);
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (10, 16, 784),
            (17, 9, 33),
            (5, 40, 3),
            (128, 256, 784),
        ] {
            let a: Vec<f64> = (0..m * k).map(|_| rng.normal()).collect();
            let bt: Vec<f64> = (0..n * k).map(|_| rng.normal()).collect(); // n×k
            let b: Vec<f64> = (0..k * n).map(|_| rng.normal()).collect(); // k×n
            let at: Vec<f64> = (0..k * m).map(|_| rng.normal()).collect(); // k×m

            let mut c = vec![f64::NAN; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c, false);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_at_b(m, n, k, &at, &b, &mut c);
            close(
                &c,
                &reference(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_a_b(m, n, k, &a, &b, &mut c);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| b[p * n + j]),
            );

            let mut c = vec![1.0; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c, true);
            let expected: Vec<f64> = reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p])
                .into_iter()
                .map(|v| v + 1.0)
                .collect();
            close(&c, &expected);
        }
    }
}
