//! The dense f32 kernels (see `dense.rs`) with AVX-512: 16 columns a register, 32 registers,
//! masks for the last columns. Every result is the one `portable.rs` computes, bit for bit.
//!
//! `rows` puts 16 columns of c side by side in a register, so its order (one chain of fused
//! multiply-adds per result, over p in order) does not depend on the register's width. `a_bt`
//! keeps the 8 partial sums of the canonical dot product by putting two of them in one
//! register: lanes 0–7 for one result, 8–15 for another, each lane the same chain as the
//! portable kernel's partial sum, then the same pairwise additions.
//!
//! Every function here is `unsafe` for one reason besides its bounds: it must only run on a CPU
//! with AVX-512 F, BW, DQ and VL (and AVX2, FMA). The private helpers are `#[inline(always)]`
//! into the entry points, which are compiled for those features and called only after
//! [`super::Kernels::checked`].

use super::dense::Start;
use std::arch::x86_64::*;

/// The columns a tile of [`rows`] covers: `NC` registers of 16 from `j`, of which the last
/// holds only the lanes `mask` sets (all of them but at the right edge of c).
#[derive(Clone, Copy)]
struct Columns {
    j: usize,
    mask: __mmask16,
}

impl Columns {
    /// Register h's 16 values from `p` on (masked lanes read as 0 and are not touched).
    ///
    /// # Safety
    /// The CPU must have AVX-512F; the values the mask keeps must be readable.
    #[inline(always)]
    unsafe fn load<const NC: usize>(&self, p: *const f32, h: usize) -> __m512 {
        if h + 1 == NC {
            _mm512_maskz_loadu_ps(self.mask, p.add(16 * h))
        } else {
            _mm512_loadu_ps(p.add(16 * h))
        }
    }

    /// Stores register h's lanes from `p` on, the masked ones only.
    ///
    /// # Safety
    /// As [`Columns::load`], for writing.
    #[inline(always)]
    unsafe fn store<const NC: usize>(&self, p: *mut f32, h: usize, v: __m512) {
        if h + 1 == NC {
            _mm512_mask_storeu_ps(p.add(16 * h), self.mask, v)
        } else {
            _mm512_storeu_ps(p.add(16 * h), v)
        }
    }
}

/// MR rows of c = A · b (or c += alpha · (A · b), term by term), the columns of `cols`: what
/// `avx2::rows_tile` does, 16 lanes a register.
///
/// # Safety
/// The CPU must have AVX-512F; A's rows i0..i0 + MR (k values each, by the strides), b's
/// columns `cols` of its k rows, and c's rows i0..i0 + MR at `cols` must be in the slices.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_tile<const MR: usize, const NC: usize>(
    n: usize,
    k: usize,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    c: &mut [f32],
    i0: usize,
    cols: Columns,
    alpha: Option<f32>,
) {
    let cp = c.as_mut_ptr();
    let c_at = |r: usize| cp.add((i0 + r) * n + cols.j);
    let mut acc = [[_mm512_setzero_ps(); NC]; MR];
    if alpha.is_some() {
        for (r, acc) in acc.iter_mut().enumerate() {
            *acc = std::array::from_fn(|h| cols.load::<NC>(c_at(r), h));
        }
    }
    let scale = alpha.filter(|&alpha| alpha != 1.0);
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    macro_rules! terms {
        ($scale:expr) => {
            for p in 0..k {
                let bv: [__m512; NC] =
                    std::array::from_fn(|h| cols.load::<NC>(bp.add(p * n + cols.j), h));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let s = $scale(_mm512_set1_ps(*ap.add((i0 + r) * a_rs + p * a_cs)));
                    for (acc, &bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_fmadd_ps(s, bv, *acc);
                    }
                }
            }
        };
    }
    match scale {
        Some(alpha) => terms!(|s| _mm512_mul_ps(_mm512_set1_ps(alpha), s)),
        None => terms!(|s| s),
    }
    for (r, acc) in acc.iter().enumerate() {
        for (h, &v) in acc.iter().enumerate() {
            cols.store::<NC>(c_at(r), h, v);
        }
    }
}

/// c = A · b (or c += alpha · (A · b), summed into c term by term), where
/// A(i, p) = a[i·a_rs + p·a_cs], b k×n, c m×n: `portable::rows`, bit for bit.
///
/// # Safety
/// The CPU must have AVX-512 (F, BW, DQ, VL), and the slices must hold every element those
/// indices reach.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
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
    // Column blocks outer (the k×32 block of b stays in L1 while every tile of rows uses it):
    // blocks of 32 columns, then one of up to 16 under a mask.
    macro_rules! block {
        ($nc:literal, $cols:expr) => {{
            let mut i = 0;
            while i < m {
                let mr = (m - i).min(8);
                let (a, b, c, cols) = (a, b, &mut *c, $cols);
                match mr {
                    8 => rows_tile::<8, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    7 => rows_tile::<7, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    6 => rows_tile::<6, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    5 => rows_tile::<5, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    4 => rows_tile::<4, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    3 => rows_tile::<3, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    2 => rows_tile::<2, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                    _ => rows_tile::<1, $nc>(n, k, a, strides, b, c, i, cols, alpha),
                }
                i += mr;
            }
        }};
    }
    let mut j = 0;
    while j + 32 <= n {
        block!(2, Columns { j, mask: !0 });
        j += 32;
    }
    if j < n {
        let left = n - j;
        let mask = if left >= 16 { !0 } else { (1u16 << left) - 1 };
        block!(1, Columns { j, mask });
        j += left.min(16);
    }
    if j < n {
        let mask = (1u16 << (n - j)) - 1;
        block!(1, Columns { j, mask });
    }
}

/// c = start + a · bᵀ (a m×k, b n×k, c m×n): `portable::a_bt`, bit for bit. Each pair of
/// rows of a shares registers: lanes 0–7 hold row i's 8 partial sums, lanes 8–15 row i + 1's,
/// against a broadcast 8-value chunk of a row of b.
///
/// # Safety
/// The CPU must have AVX-512 (F, BW, DQ, VL), and the slices must hold m×k, n×k and m×n
/// elements (and the bias, if any, n).
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn a_bt(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    start: Start<'_, f32>,
) {
    // Short sums (the notes' 16-wide hidden layers at a mini-batch of 10) would spend most of
    // their time in this kernel's per-result reductions: the AVX2 kernel reduces 8 results at
    // once (`reduce_2x4`), the same sums.
    if k < SHORT {
        return super::avx2::a_bt(m, n, k, a, b, c, start);
    }
    // PR pairs of rows of a with 4 rows of b at a time (4·PR registers of partial sums), the
    // rows of b outer as in `avx2::a_bt`; an odd last row of a, and the columns past the last
    // multiple of 4, go to the AVX2 kernel, which computes the same sums.
    let pairs = m / 2;
    let full_j = n / 4 * 4;
    let mut j = 0;
    while j < full_j {
        let mut pair = 0;
        while pair + 2 <= pairs {
            pair_tile::<2>(k, a, b, c, n, (2 * pair, j), start);
            pair += 2;
        }
        if pair < pairs {
            pair_tile::<1>(k, a, b, c, n, (2 * pair, j), start);
        }
        j += 4;
    }
    // What is left: the last row if m is odd (all columns), the last n − full_j columns (all
    // rows).
    if m % 2 == 1 {
        let i = m - 1;
        let c_row = &mut c[i * n..(i + 1) * n];
        super::avx2::a_bt(1, n, k, &a[i * k..(i + 1) * k], b, c_row, start);
    }
    if full_j < n {
        for i in 0..m - m % 2 {
            let c_row = &mut c[i * n + full_j..(i + 1) * n];
            let start = match start {
                Start::Bias(bias) => Start::Bias(&bias[full_j..]),
                other => other,
            };
            super::avx2::a_bt(
                1,
                n - full_j,
                k,
                &a[i * k..(i + 1) * k],
                &b[full_j * k..],
                c_row,
                start,
            );
        }
    }
}

/// Rows i0..i0 + 2·PR of c = start + a · bᵀ, columns j0..j0 + 4: see [`a_bt`].
///
/// # Safety
/// As [`a_bt`], with those rows and columns inside c.
#[inline(always)]
unsafe fn pair_tile<const PR: usize>(
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    n: usize,
    (i0, j0): (usize, usize),
    start: Start<'_, f32>,
) {
    let chunks = k / 8;
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let rows: [[*const f32; 2]; PR] =
        std::array::from_fn(|q| std::array::from_fn(|h| ap.add((i0 + 2 * q + h) * k)));
    let bj: [*const f32; 4] = std::array::from_fn(|t| bp.add((j0 + t) * k));
    let mut acc = [[_mm512_setzero_ps(); 4]; PR];
    for ch in 0..chunks {
        let p = ch * 8;
        let av: [__m512; PR] = std::array::from_fn(|q| {
            _mm512_insertf32x8::<1>(
                _mm512_castps256_ps512(_mm256_loadu_ps(rows[q][0].add(p))),
                _mm256_loadu_ps(rows[q][1].add(p)),
            )
        });
        for t in 0..4 {
            let bv = _mm512_broadcast_f32x8(_mm256_loadu_ps(bj[t].add(p)));
            for q in 0..PR {
                acc[q][t] = _mm512_fmadd_ps(av[q], bv, acc[q][t]);
            }
        }
    }
    // Row i's partial sums in the low halves, row i + 1's in the high ones: the same pairwise
    // reduction as `portable::reduce`, then the terms after the last multiple of 8, then start.
    for q in 0..PR {
        for (t, acc) in acc[q].iter().enumerate() {
            let halves = [
                _mm512_castps512_ps256(*acc),
                _mm512_extractf32x8_ps::<1>(*acc),
            ];
            for (h, half) in halves.into_iter().enumerate() {
                let r = 2 * q + h;
                let mut s = reduce(half);
                for p in chunks * 8..k {
                    s = (*rows[q][h].add(p)).mul_add(*bj[t].add(p), s);
                }
                let d = &mut c[(i0 + r) * n + j0 + t];
                *d = match start {
                    Start::Zero => s,
                    Start::C => *d + s,
                    Start::Bias(bias) => bias[j0 + t] + s,
                };
            }
        }
    }
}

/// Sums shorter than this go to the AVX2 kernel (see [`a_bt`]).
const SHORT: usize = 256;

/// The 8 lanes of `v` added as `portable::reduce` adds them.
///
/// # Safety
/// The CPU must have AVX.
#[inline(always)]
unsafe fn reduce(v: __m256) -> f32 {
    let s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
    _mm_cvtss_f32(s1)
}
