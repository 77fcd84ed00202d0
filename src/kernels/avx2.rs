//! The dense f32 kernels (see `dense.rs`) written with AVX2 and FMA intrinsics, so the tile of
//! partial sums provably lives in registers (plain Rust leaves LLVM free to spill it to the
//! stack, which it does). Every result is the one `portable.rs` computes, bit for bit: the same
//! partial sums, added in the same order, by the same fused multiply-adds.
//!
//! Every function here is `unsafe` for one reason besides its bounds: it must only run on a CPU
//! with AVX2 and FMA. The private helpers are `#[inline(always)]` into the public entry points,
//! which are compiled for those features and called only after [`super::Kernels::checked`].

use super::dense::Start;
use std::arch::x86_64::*;

/// Sums the 8 lanes of `v` pairwise in a fixed order: (0+4, 1+5, 2+6, 3+7), then (0+2, 1+3), then 0+1.
///
/// # Safety
/// The CPU must have AVX2 (as for every helper here).
#[inline(always)]
unsafe fn reduce(v: __m256) -> f32 {
    let s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
    _mm_cvtss_f32(s1)
}

/// [`reduce`] for 8 vectors at once, lane by lane: lane j of the result is `reduce` of the
/// vector made of lane j of `p[0]` … `p[7]`, the same additions in the same order.
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
pub(super) unsafe fn reduce_lanes(p: [__m256; 8]) -> __m256 {
    let s4: [__m256; 4] = std::array::from_fn(|l| _mm256_add_ps(p[l], p[l + 4]));
    let s2 = [_mm256_add_ps(s4[0], s4[2]), _mm256_add_ps(s4[1], s4[3])];
    _mm256_add_ps(s2[0], s2[1])
}

/// [`reduce`] of each of the 8 vectors `a[0..4]`, `b[0..4]` at once, with the same additions:
/// lane j of the result is `reduce(a[j])`, lane 4 + j is `reduce(b[j])`. (Eight horizontal sums
/// one by one take three times the instructions.)
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
unsafe fn reduce_2x4(a: [__m256; 4], b: [__m256; 4]) -> __m256 {
    // Lanes l and l + 4 of each vector: (a_j, 0+4 … 3+7 | b_j, 0+4 … 3+7).
    let s4: [__m256; 4] = std::array::from_fn(|j| {
        let lo = _mm256_permute2f128_ps::<0x20>(a[j], b[j]);
        let hi = _mm256_permute2f128_ps::<0x31>(a[j], b[j]);
        _mm256_add_ps(lo, hi)
    });
    // Then 0+2 and 1+3: (a_0: 2 sums, a_1: 2 | b_0: 2, b_1: 2), and the same for columns 2, 3.
    let s2: [__m256; 2] = std::array::from_fn(|h| {
        let (x, y) = (s4[2 * h], s4[2 * h + 1]);
        _mm256_add_ps(
            _mm256_shuffle_ps::<0b01_00_01_00>(x, y),
            _mm256_shuffle_ps::<0b11_10_11_10>(x, y),
        )
    });
    // Then 0+1: (a_0, a_1, a_2, a_3 | b_0, b_1, b_2, b_3).
    _mm256_add_ps(
        _mm256_shuffle_ps::<0b10_00_10_00>(s2[0], s2[1]),
        _mm256_shuffle_ps::<0b11_01_11_01>(s2[0], s2[1]),
    )
}

/// A MR×NR tile of c = a·bᵀ (a m×k, b n×k, both row-major), rows i0.., columns j0...
///
/// # Safety
/// The CPU must have AVX2 and FMA; rows i0..i0 + MR of a and j0..j0 + NR of b must be in the
/// slices (k values each), and the tile in c (row stride n).
#[inline(always)]
unsafe fn dot_tile<const MR: usize, const NR: usize>(
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    n: usize,
    (i0, j0): (usize, usize),
    start: Start<'_, f32>,
) {
    let ap: [*const f32; MR] = std::array::from_fn(|i| a.as_ptr().add((i0 + i) * k));
    let bp: [*const f32; NR] = std::array::from_fn(|j| b.as_ptr().add((j0 + j) * k));
    let mut acc = [[_mm256_setzero_ps(); NR]; MR];
    let chunks = k / 8;
    for ch in 0..chunks {
        let p = ch * 8;
        let bv: [__m256; NR] = std::array::from_fn(|j| _mm256_loadu_ps(bp[j].add(p)));
        for i in 0..MR {
            let av = _mm256_loadu_ps(ap[i].add(p));
            for j in 0..NR {
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
    }
    if MR == 2 && NR == 4 && chunks * 8 == k {
        let row = |i: usize| std::array::from_fn(|j| acc[i][j]);
        let sums = reduce_2x4(row(0), row(1));
        let (lo, hi) = (
            _mm256_castps256_ps128(sums),
            _mm256_extractf128_ps::<1>(sums),
        );
        let c = c.as_mut_ptr();
        let cp = |i: usize| c.add((i0 + i) * n + j0);
        for (i, s) in [lo, hi].into_iter().enumerate() {
            let s = match start {
                Start::Zero => s,
                Start::C => _mm_add_ps(_mm_loadu_ps(cp(i)), s),
                Start::Bias(bias) => _mm_add_ps(_mm_loadu_ps(bias.as_ptr().add(j0)), s),
            };
            _mm_storeu_ps(cp(i), s);
        }
        return;
    }
    for i in 0..MR {
        for j in 0..NR {
            let mut s = reduce(acc[i][j]);
            for p in chunks * 8..k {
                s = (*ap[i].add(p)).mul_add(*bp[j].add(p), s);
            }
            let d = &mut c[(i0 + i) * n + j0 + j];
            *d = match start {
                Start::Zero => s,
                Start::C => *d + s,
                Start::Bias(bias) => bias[j0 + j] + s,
            };
        }
    }
}

/// c = a · bᵀ (or c += a · bᵀ, or c = bias + a · bᵀ), a m×k, b n×k, c m×n.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and the slices must hold m×k, n×k and m×n elements.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn a_bt(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    start: Start<'_, f32>,
) {
    macro_rules! tile {
        ($mr:literal, $nr:literal, $i:expr, $j:expr) => {
            dot_tile::<$mr, $nr>(k, a, b, c, n, ($i, $j), start)
        };
    }
    // Rows of b (the weights) outer: a tile of 4 of them stays in L1 while every pair of rows
    // of a (the samples) passes by.
    let mut j = 0;
    while j < n {
        let nr = (n - j).min(4);
        let mut i = 0;
        while i < m {
            let mr = (m - i).min(2);
            match (mr, nr) {
                (2, 4) => tile!(2, 4, i, j),
                (2, 3) => tile!(2, 3, i, j),
                (2, 2) => tile!(2, 2, i, j),
                (2, 1) => tile!(2, 1, i, j),
                (1, 4) => tile!(1, 4, i, j),
                (1, 3) => tile!(1, 3, i, j),
                (1, 2) => tile!(1, 2, i, j),
                _ => tile!(1, 1, i, j),
            }
            i += mr;
        }
        j += nr;
    }
}

/// The columns a tile of [`rows`] covers: `NC` registers of 8 from `j`, of which the last holds
/// only the lanes `mask` sets where the tile is `MASKED` (at the right edge of c; elsewhere the
/// plain loads and stores are used, which are faster).
#[derive(Clone, Copy)]
struct Columns {
    j: usize,
    mask: __m256i,
}

impl Columns {
    /// Register h's 8 values from `p` on (the masked lanes read as 0, and nothing outside the
    /// mask is touched).
    ///
    /// # Safety
    /// The CPU must have AVX2; the 8·NC values from `p` (those the mask keeps, if MASKED)
    /// must be readable.
    #[inline(always)]
    unsafe fn load<const NC: usize, const MASKED: bool>(&self, p: *const f32, h: usize) -> __m256 {
        if MASKED && h + 1 == NC {
            _mm256_maskload_ps(p.add(8 * h), self.mask)
        } else {
            _mm256_loadu_ps(p.add(8 * h))
        }
    }

    /// Stores register h's lanes from `p` on, the masked ones only.
    ///
    /// # Safety
    /// As [`Columns::load`], for writing.
    #[inline(always)]
    unsafe fn store<const NC: usize, const MASKED: bool>(&self, p: *mut f32, h: usize, v: __m256) {
        if MASKED && h + 1 == NC {
            _mm256_maskstore_ps(p.add(8 * h), self.mask, v)
        } else {
            _mm256_storeu_ps(p.add(8 * h), v)
        }
    }
}

/// MR rows of c = A · b, the columns of `cols`, where A(i, p) = a[i·a_rs + p·a_cs] and b is
/// k×n: NC registers per row, summing over p in order. With `alpha`, c += alpha · (A · b)
/// instead, summed into c term by term: c_ij ← fma(alpha · A(i, p), b_pj, c_ij) for p in order
/// (with alpha = 1 the product alpha · A(i, p), which would be exact, is left out).
///
/// # Safety
/// The CPU must have AVX2 and FMA; A's rows i0..i0 + MR (k values each, by the strides), b's
/// columns `cols` of its k rows, and c's rows i0..i0 + MR at `cols` must be in the slices.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_tile<const MR: usize, const NC: usize, const MASKED: bool>(
    n: usize,
    k: usize,
    a: &[f32],
    strides: (usize, usize),
    b: &[f32],
    c: &mut [f32],
    i0: usize,
    cols: Columns,
    alpha: Option<f32>,
) {
    let cp = c.as_mut_ptr();
    let c_at = |r: usize| cp.add((i0 + r) * n + cols.j);
    let mut acc = [[_mm256_setzero_ps(); NC]; MR];
    if alpha.is_some() {
        for (r, acc) in acc.iter_mut().enumerate() {
            *acc = std::array::from_fn(|h| cols.load::<NC, MASKED>(c_at(r), h));
        }
    }
    match alpha {
        Some(alpha) if alpha != 1.0 => {
            let scale = |s| _mm256_mul_ps(_mm256_set1_ps(alpha), s);
            sum_terms::<MR, NC, MASKED>(n, k, a, strides, b, (i0, cols), &mut acc, scale);
        }
        _ => sum_terms::<MR, NC, MASKED>(n, k, a, strides, b, (i0, cols), &mut acc, |s| s),
    }
    for (r, acc) in acc.iter().enumerate() {
        for (h, &v) in acc.iter().enumerate() {
            cols.store::<NC, MASKED>(c_at(r), h, v);
        }
    }
}

/// acc[r] ← fma(scale(A(i0 + r, p)), b_p (the columns of `cols`), acc[r]) for p = 0 … k − 1,
/// in order.
///
/// # Safety
/// As [`rows_tile`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn sum_terms<const MR: usize, const NC: usize, const MASKED: bool>(
    n: usize,
    k: usize,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (i0, cols): (usize, Columns),
    acc: &mut [[__m256; NC]; MR],
    scale: impl Fn(__m256) -> __m256,
) {
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    for p in 0..k {
        let bv: [__m256; NC] =
            std::array::from_fn(|h| cols.load::<NC, MASKED>(bp.add(p * n + cols.j), h));
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = scale(_mm256_broadcast_ss(&*ap.add((i0 + r) * a_rs + p * a_cs)));
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(s, bv, *acc);
            }
        }
    }
}

/// c = A · b (or c += alpha · (A · b), summed into c term by term as [`rows_tile`] says), where
/// A(i, p) = a[i·a_rs + p·a_cs], b k×n, c m×n.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and the slices must hold every element those indices reach.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn rows(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    strides: (usize, usize),
    b: &[f32],
    c: &mut [f32],
    alpha: Option<f32>,
) {
    // Column blocks outer: the k×16 block of b stays in L1 while every tile of rows uses it.
    // Blocks of 16 columns, then one of 8 if that many are left, then one of the rest, masked.
    macro_rules! block {
        ($nc:literal, $masked:literal, $cols:expr) => {{
            let mut i = 0;
            while i < m {
                let mr = (m - i).min(6);
                let (a, b, c, cols) = (a, b, &mut *c, $cols);
                match mr {
                    6 => rows_tile::<6, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                    5 => rows_tile::<5, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                    4 => rows_tile::<4, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                    3 => rows_tile::<3, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                    2 => rows_tile::<2, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                    _ => rows_tile::<1, $nc, $masked>(n, k, a, strides, b, c, i, cols, alpha),
                }
                i += mr;
            }
        }};
    }
    let all = _mm256_set1_epi32(-1);
    let mut j = 0;
    while j + 16 <= n {
        block!(2, false, Columns { j, mask: all });
        j += 16;
    }
    if j + 8 <= n {
        block!(1, false, Columns { j, mask: all });
        j += 8;
    }
    if j < n {
        let left = (n - j) as i32;
        let mask = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(left),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        block!(1, true, Columns { j, mask });
    }
}
