//! The three matrix products of a dense layer, on row-major slices, and the elementwise passes.
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
//! f32 products, of every size, go to the kernels of the chosen [`Kernels`] (`portable.rs`,
//! `avx2.rs`, `avx512.rs`), which work straight on the row-major data (no packing) and all sum
//! in the same order:
//!
//! - `matmul_a_bt` computes each result as a dot product of two contiguous rows with 8 partial
//!   sums, partial sum l taking the terms p ≡ l (mod 8) in order by fused multiply-adds, added
//!   pairwise at the end ((0+4, 1+5, 2+6, 3+7), then (0+2, 1+3), then 0+1), then the terms
//!   after the last multiple of 8 one by one, then the start value (0, c or the bias).
//! - `matmul_at_b` and `matmul_a_b` compute each result as one chain of fused multiply-adds
//!   over p = 0, 1, …, k − 1 in order (the columns of a row side by side in a register).
//!
//! Above [`GEMM_THRESHOLD`] multiply-adds the rows of the result are shared out among up to
//! [`threads()`](super::threads) threads (the spinning team of `team.rs`); each result is still
//! one part's, summed in the same order, so neither the kernel set nor the number of threads
//! changes a bit. No order depends on the width of a register or the size of a cache.
//!
//! f64 products (the gradient checks) go to the `gemm` crate, cut the same way among threads,
//! and `gemm` is never asked for a sum longer than `K_BLOCK` terms (which it would cut by the
//! shape of the block), so those too are the same for any number of threads on one machine.

use super::portable;
use super::{as_f32, as_f32_mut, for_each_part, part_start, threads, with_kernels, Kernels, Parts};
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use crate::Real;

/// Above this many multiply-adds a product is shared out among threads; at or below it, it
/// runs on the calling thread (at a mini-batch of 10, handing work to another thread costs more
/// than it saves). The name is from the days when the large f32 products went to `gemm`; f64
/// products still do, of every size.
pub const GEMM_THRESHOLD: usize = 1 << 19;

/// `c = a · bᵀ` (or `c += a · bᵀ` when `accumulate`), with `a` m×k, `b` n×k, `c` m×n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_a_bt<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) {
    let start = if accumulate { Start::C } else { Start::Zero };
    a_bt(kernels, m, n, k, a, b, c, start);
}

/// `c = bias + a · bᵀ` (`bias[j]` added to every row), with `a` m×k, `b` n×k, `c` m×n: a dense
/// layer's z = W·a + b for a batch. Bit for bit the rows of `c` set to `bias` followed by
/// [`matmul_a_bt`] accumulating, without the copies where the kernels of a [`Kernels`] run.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_a_bt_plus_bias<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    bias: &[T],
    c: &mut [T],
) {
    assert_eq!(bias.len(), n, "one bias per column");
    a_bt(kernels, m, n, k, a, b, c, Start::Bias(bias));
}

/// What each result of an a · bᵀ product starts from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start<'a, T> {
    /// c = a · bᵀ.
    Zero,
    /// c += a · bᵀ.
    C,
    /// c = bias + a · bᵀ, bias[j] on every row: a layer's weighted inputs z = W·a + b.
    Bias(&'a [T]),
}

impl<'a, T: Real> Start<'a, T> {
    /// The same start for f32, if T is f32.
    fn as_f32(self) -> Option<Start<'a, f32>> {
        Some(match self {
            Start::Zero => Start::Zero,
            Start::C => Start::C,
            Start::Bias(bias) => Start::Bias(as_f32(bias)?),
        })
    }
}

/// c = start + a · bᵀ by the kernels of the set `kernels` (f32) or `gemm` (f64).
#[allow(clippy::too_many_arguments)]
fn a_bt<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    start: Start<T>,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    if let (Some(a), Some(b), Some(start)) = (as_f32(a), as_f32(b), start.as_f32()) {
        let kernels = kernels.checked();
        let c = Parts::new(&mut as_f32_mut(c).expect("c has the type of a")[..m * n]);
        return by_rows(m, m * n * k, 2, &|rows| {
            // SAFETY: every part writes its own rows of c.
            let c = unsafe { c.range(rows.start * n..rows.end * n) };
            let a = &a[rows.start * k..rows.end * k];
            a_bt_f32(kernels, rows.len(), n, k, a, b, c, start);
        });
    }
    if let Start::Bias(bias) = start {
        for row in c[..m * n].chunks_exact_mut(n) {
            row.copy_from_slice(bias);
        }
    }
    gemm_a_bt(m, n, k, a, b, c, !matches!(start, Start::Zero));
}

/// The f32 `a_bt` kernel of the set `kernels` (checked), on this thread.
#[allow(clippy::too_many_arguments)]
fn a_bt_f32(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    start: Start<'_, f32>,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    if let Start::Bias(bias) = start {
        assert!(bias.len() >= n);
    }
    match kernels {
        Kernels::Portable => portable::a_bt(m, n, k, a, b, c, start),
        // SAFETY: the CPU has AVX2 and FMA (the caller checked `kernels`); the asserts bound
        // the slices.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx2 => unsafe { avx2::a_bt(m, n, k, a, b, c, start) },
        // SAFETY: as above, with AVX-512.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx512 => unsafe { avx512::a_bt(m, n, k, a, b, c, start) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("checked"),
    }
}

/// Runs `kernel(rows)` for parts of the rows `0..m` of a product of `work` multiply-adds: all
/// of them at once on this thread up to [`GEMM_THRESHOLD`], above it one part of rows (a
/// multiple of `align`) per thread. Each result is computed by one part, in the same order
/// whatever the parts, so the number of threads changes no bit.
fn by_rows(m: usize, work: usize, align: usize, kernel: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
    let parts = if work > GEMM_THRESHOLD {
        parts_for(m, align)
    } else {
        1
    };
    if parts == 1 {
        return kernel(0..m);
    }
    for_each_part(parts, &|p| {
        kernel(part_start(m, parts, align, p)..part_start(m, parts, align, p + 1))
    });
}

/// `c = aᵀ · b`, with `a` k×m, `b` k×n, `c` m×n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_at_b<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
) {
    assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n);
    products(kernels, m, n, k, a, (1, m), b, c, None);
}

/// `c += alpha · (aᵀ · b)`, with `a` k×m, `b` k×n, `c` m×n. Plain gradient descent uses it to
/// step a layer's weights by −η·∂C/∂w = −η·Δᵀ·A without writing the gradient out.
///
/// For small f32 products, each of the k terms is summed straight into c, in order:
/// c_ij ← fma(alpha·a_pi, b_pj, c_ij) for p = 0, 1, … (for a layer: one step per sample,
/// w ← w + (−η·δ)·aᵀ, the textbook's sum over the mini-batch taken into w), so nothing but c
/// is read or written. Elsewhere (f64, or above [`GEMM_THRESHOLD`]) it is [`matmul_at_b`] into
/// `scratch` followed by [`axpy`]. The two round differently, by an ulp or so per step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_scaled_at_b<T: Real>(
    kernels: Kernels,
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
    products(kernels, m, n, k, a, (1, m), b, c, Some((alpha, scratch)));
}

/// `c = a · b`, with `a` m×k, `b` k×n, `c` m×n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_a_b<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    products(kernels, m, n, k, a, (k, 1), b, c, None);
}

/// The f32 `rows` kernel of the set `kernels` (checked), on this thread: c = A · b, or
/// c += alpha · (A · b), as `portable::rows` says.
#[allow(clippy::too_many_arguments)]
fn rows_f32(
    kernels: Kernels,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    c: &mut [f32],
    alpha: Option<f32>,
) {
    assert!(m == 0 || k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(b.len() >= k * n && c.len() >= m * n);
    let strides = (a_rs, a_cs);
    match kernels {
        Kernels::Portable => portable::rows(m, n, k, a, strides, b, c, alpha),
        // SAFETY: the CPU has AVX2 and FMA (the caller checked `kernels`); the asserts bound
        // every element the strides reach.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx2 => unsafe { avx2::rows(m, n, k, a, strides, b, c, alpha) },
        // SAFETY: as above, with AVX-512.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx512 => unsafe { avx512::rows(m, n, k, a, strides, b, c, alpha) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("checked"),
    }
}

/// c = A · b, where A(i, p) = a[i·a_rs + p·a_cs], by the kernels of the set `kernels` (f32) or
/// `gemm` (f64); with `add_scaled` = (alpha, scratch), c += alpha · (A · b) instead (see
/// [`add_scaled_at_b`] for how each rounds it).
#[allow(clippy::too_many_arguments)]
fn products<T: Real>(
    kernels: Kernels,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    strides: (usize, usize),
    b: &[T],
    c: &mut [T],
    add_scaled: Option<(T, &mut [T])>,
) {
    if let (Some(a), Some(b)) = (as_f32(a), as_f32(b)) {
        let kernels = kernels.checked();
        let c = as_f32_mut(c).expect("c has the type of a");
        let (a, strides, alpha) = match add_scaled {
            None => (a, strides, None),
            Some((alpha, scratch)) => {
                let alpha = as_f32(std::slice::from_ref(&alpha)).expect("alpha is a T")[0];
                let scratch = as_f32_mut(scratch).expect("scratch has the type of a");
                if scratch.len() < m * k {
                    (a, strides, Some(alpha))
                } else {
                    // alpha · A once, m × k, rather than once for every block of columns of c:
                    // the same products.
                    let (a_rs, a_cs) = strides;
                    for (i, row) in scratch[..m * k].chunks_exact_mut(k).enumerate() {
                        for (p, v) in row.iter_mut().enumerate() {
                            *v = alpha * a[i * a_rs + p * a_cs];
                        }
                    }
                    (&scratch[..], (k, 1), Some(1.0))
                }
            }
        };
        let c = Parts::new(&mut c[..m * n]);
        return by_rows(m, m * n * k, 6, &|rows| {
            // SAFETY: every part writes its own rows of c.
            let c = unsafe { c.range(rows.start * n..rows.end * n) };
            let a = &a[(rows.start * strides.0).min(a.len())..];
            rows_f32(kernels, (rows.len(), n, k), a, strides, b, c, alpha);
        });
    }
    match add_scaled {
        None => gemm_general(m, n, k, a, strides, b, c),
        Some((alpha, scratch)) => {
            gemm_general(m, n, k, a, strides, b, scratch);
            axpy(kernels, alpha, &scratch[..m * n], &mut c[..m * n]);
        }
    }
}

/// `y += alpha · x`, element by element.
pub(crate) fn axpy<T: Real>(kernels: Kernels, alpha: T, x: &[T], y: &mut [T]) {
    with_kernels!(
        kernels,
        fn axpy<T>(alpha: T, x: &[T], y: &mut [T]) {
            for (y, &x) in y.iter_mut().zip(x) {
                *y += alpha * x;
            }
        }
    )
}

/// `dst[i] = src[i] · scale`: bytes to numbers (pixels to inputs).
pub(crate) fn scale_bytes<T: Real>(kernels: Kernels, src: &[u8], scale: T, dst: &mut [T]) {
    with_kernels!(
        kernels,
        fn scale_bytes<T>(src: &[u8], scale: T, dst: &mut [T]) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = T::from_u8(s) * scale;
            }
        }
    )
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
fn gemm_a_bt<T: Real>(
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
    fn f32_kernels_match_the_textbook_sums_and_each_other_bit_for_bit() {
        let mut outputs = Vec::new();
        for ks in Kernels::supported() {
            outputs.push(f32_products(ks));
        }
        for (ks, out) in Kernels::supported().iter().zip(&outputs) {
            assert!(*out == outputs[0], "{ks} differs from portable");
        }
    }

    /// Every f32 product of the test above, checked against the textbook sums, as bits.
    fn f32_products(ks: Kernels) -> Vec<u32> {
        let mut bits = Vec::new();
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
            matmul_a_bt(ks, m, n, k, &a, &bt, &mut c, false);
            check(
                &c,
                reference(m, n, k, |i, p| g(&a, i * k + p), |p, j| g(&bt, j * k + p)),
            );
            bits.extend(c.iter().map(|v| v.to_bits()));
            let mut c2 = vec![1.0f32; m * n];
            matmul_a_bt(ks, m, n, k, &a, &bt, &mut c2, true);
            for (x, y) in c2.iter().zip(&c) {
                assert_eq!(*x, 1.0 + *y);
            }
            let bias = f(&mut rng, n);
            let mut c3 = vec![f32::NAN; m * n];
            matmul_a_bt_plus_bias(ks, m, n, k, &a, &bt, &bias, &mut c3);
            for (i, row) in c3.chunks_exact(n).enumerate() {
                for (j, x) in row.iter().enumerate() {
                    assert_eq!(*x, bias[j] + c[i * n + j], "{m}×{n}×{k}");
                }
            }
            let mut c = vec![f32::NAN; m * n];
            matmul_at_b(ks, m, n, k, &at, &b, &mut c);
            check(
                &c,
                reference(m, n, k, |i, p| g(&at, p * m + i), |p, j| g(&b, p * n + j)),
            );
            bits.extend(c.iter().map(|v| v.to_bits()));
            // c += alpha · aᵀb, with a scratch buffer large enough for alpha · A and without.
            let small = m * n * k <= GEMM_THRESHOLD;
            for scratch_len in if small { [0, m * k] } else { [m * n; 2] } {
                let mut c = vec![0.5f32; m * n];
                let mut scratch = vec![0.0f32; scratch_len];
                add_scaled_at_b(ks, -0.7, m, n, k, &at, &b, &mut c, &mut scratch);
                bits.extend(c.iter().map(|v| v.to_bits()));
            }
            let mut c = vec![f32::NAN; m * n];
            matmul_a_b(ks, m, n, k, &a, &b, &mut c);
            check(
                &c,
                reference(m, n, k, |i, p| g(&a, i * k + p), |p, j| g(&b, p * n + j)),
            );
            bits.extend(c.iter().map(|v| v.to_bits()));
        }
        bits
    }

    #[test]
    fn products_match_the_textbook_sums() {
        let ks = Kernels::current();
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
            matmul_a_bt(ks, m, n, k, &a, &bt, &mut c, false);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_at_b(ks, m, n, k, &at, &b, &mut c);
            close(
                &c,
                &reference(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_a_b(ks, m, n, k, &a, &b, &mut c);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| b[p * n + j]),
            );

            let mut c = vec![1.0; m * n];
            matmul_a_bt(ks, m, n, k, &a, &bt, &mut c, true);
            let expected: Vec<f64> = reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p])
                .into_iter()
                .map(|v| v + 1.0)
                .collect();
            close(&c, &expected);
        }
    }
}
