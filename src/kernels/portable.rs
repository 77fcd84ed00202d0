//! Every f32 kernel in plain Rust: what runs on every target (ARM included), and the reference
//! the intrinsics of `avx2.rs` and `avx512.rs` are held to, bit for bit.
//!
//! Each function computes exactly what its SIMD versions compute: the same partial sums in the
//! same order, the same chains of fused multiply-adds (`f32::mul_add` where they use `fma`),
//! written so the compiler can vectorise them (fixed-size blocks of columns, the reductions'
//! order spelled out). `mul_add` is one instruction where the target has FMA (AArch64 always);
//! on x86-64 the functions are compiled a second time with FMA enabled and that version runs
//! where the CPU has it, since there the baseline build turns every `mul_add` into a call to
//! the C library's `fmaf`. Both compute the same bits.

use super::dense::Start;
use crate::train::sparse::SparseImage;

/// Defines `pub(super) fn $name`, compiled twice on x86-64 (see the module doc).
macro_rules! compiled_with_fma {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub(super) fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            if super::x86_has_fma() {
                #[target_feature(enable = "fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn fma($($arg: $ty),*) {
                    body($($arg),*)
                }
                // SAFETY: the CPU has FMA.
                return unsafe { fma($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

/// The 8 partial sums of a dot product added pairwise: (0+4, 1+5, 2+6, 3+7), (0+2, 1+3), 0+1.
#[inline(always)]
pub(super) fn reduce(acc: [f32; 8]) -> f32 {
    let s4: [f32; 4] = std::array::from_fn(|l| acc[l] + acc[l + 4]);
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

compiled_with_fma! {
    /// c = start + a · bᵀ, a m×k, b n×k, c m×n: each result a dot product of two rows as `dense.rs` defines it, 2 rows of a
    /// by 4 of b at a time (8 independent sums, as in `avx2::a_bt`).
    fn a_bt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], start: Start<'_, f32>) {
        let mut j = 0;
        while j < n {
            let nr = (n - j).min(4);
            let mut i = 0;
            while i < m {
                let mr = (m - i).min(2);
                let at = (i, j);
                match (mr, nr) {
                    (2, 4) => dot_2x4(k, a, b, c, n, at, start),
                    (2, 3) => dot_tile::<2, 3>(k, a, b, c, n, at, start),
                    (2, 2) => dot_tile::<2, 2>(k, a, b, c, n, at, start),
                    (2, 1) => dot_tile::<2, 1>(k, a, b, c, n, at, start),
                    (1, 4) => dot_tile::<1, 4>(k, a, b, c, n, at, start),
                    (1, 3) => dot_tile::<1, 3>(k, a, b, c, n, at, start),
                    (1, 2) => dot_tile::<1, 2>(k, a, b, c, n, at, start),
                    _ => dot_tile::<1, 1>(k, a, b, c, n, at, start),
                }
                i += mr;
            }
            j += nr;
        }
    }
}

/// [`dot_tile`] for a 2×4 tile, with its 8 sums in named locals so that they stay in
/// registers (in an array, LLVM keeps them in memory).
#[inline(always)]
fn dot_2x4(
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    n: usize,
    (i0, j0): (usize, usize),
    start: Start<'_, f32>,
) {
    /// Row r of m (rows of k): its chunks of 8 and the rest.
    fn row(m: &[f32], k: usize, r: usize) -> (&[[f32; 8]], &[f32]) {
        m[r * k..(r + 1) * k].as_chunks::<8>()
    }
    let ((a0, a0t), (a1, a1t)) = (row(a, k, i0), row(a, k, i0 + 1));
    let ((b0, b0t), (b1, b1t), (b2, b2t), (b3, b3t)) = (
        row(b, k, j0),
        row(b, k, j0 + 1),
        row(b, k, j0 + 2),
        row(b, k, j0 + 3),
    );
    let z = [0.0f32; 8];
    let (mut c00, mut c01, mut c02, mut c03) = (z, z, z, z);
    let (mut c10, mut c11, mut c12, mut c13) = (z, z, z, z);
    let chunks = a0.len();
    let (a1, b0, b1, b2, b3) = (
        &a1[..chunks],
        &b0[..chunks],
        &b1[..chunks],
        &b2[..chunks],
        &b3[..chunks],
    );
    for ch in 0..chunks {
        let (x0, x1) = (&a0[ch], &a1[ch]);
        let (y0, y1, y2, y3) = (&b0[ch], &b1[ch], &b2[ch], &b3[ch]);
        for l in 0..8 {
            c00[l] = x0[l].mul_add(y0[l], c00[l]);
            c01[l] = x0[l].mul_add(y1[l], c01[l]);
            c02[l] = x0[l].mul_add(y2[l], c02[l]);
            c03[l] = x0[l].mul_add(y3[l], c03[l]);
            c10[l] = x1[l].mul_add(y0[l], c10[l]);
            c11[l] = x1[l].mul_add(y1[l], c11[l]);
            c12[l] = x1[l].mul_add(y2[l], c12[l]);
            c13[l] = x1[l].mul_add(y3[l], c13[l]);
        }
    }
    let tails = [b0t, b1t, b2t, b3t];
    for (i, (accs, at)) in [([c00, c01, c02, c03], a0t), ([c10, c11, c12, c13], a1t)]
        .into_iter()
        .enumerate()
    {
        for (j, (acc, bt)) in accs.into_iter().zip(tails).enumerate() {
            let mut s = reduce(acc);
            for (x, y) in at.iter().zip(bt) {
                s = x.mul_add(*y, s);
            }
            let c = &mut c[(i0 + i) * n + j0 + j];
            *c = match start {
                Start::Zero => s,
                Start::C => *c + s,
                Start::Bias(bias) => bias[j0 + j] + s,
            };
        }
    }
}

/// An MR×NR tile of [`a_bt`]: rows i0.. of a against rows j0.. of b. Each result's partial
/// sum l takes the terms p ≡ l (mod 8) by fused multiply-adds in order; the 8 are [`reduce`]d,
/// then the terms after the last multiple of 8 are added in order, then the start.
#[inline(always)]
fn dot_tile<const MR: usize, const NR: usize>(
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    n: usize,
    (i0, j0): (usize, usize),
    start: Start<'_, f32>,
) {
    let main = k / 8 * 8;
    let ar: [&[f32]; MR] = std::array::from_fn(|i| &a[(i0 + i) * k..(i0 + i + 1) * k]);
    let br: [&[f32]; NR] = std::array::from_fn(|j| &b[(j0 + j) * k..(j0 + j + 1) * k]);
    let mut acc = [[[0.0f32; 8]; NR]; MR];
    for p in (0..main).step_by(8) {
        let bv: [&[f32; 8]; NR] = std::array::from_fn(|j| br[j][p..p + 8].try_into().unwrap());
        for (acc, ar) in acc.iter_mut().zip(&ar) {
            let av: &[f32; 8] = ar[p..p + 8].try_into().unwrap();
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                for l in 0..8 {
                    acc[l] = av[l].mul_add(bv[l], acc[l]);
                }
            }
        }
    }
    for (i, (acc, ar)) in acc.iter().zip(&ar).enumerate() {
        for (j, (acc, br)) in acc.iter().zip(&br).enumerate() {
            let mut s = reduce(*acc);
            for p in main..k {
                s = ar[p].mul_add(br[p], s);
            }
            let c = &mut c[(i0 + i) * n + j0 + j];
            *c = match start {
                Start::Zero => s,
                Start::C => *c + s,
                Start::Bias(bias) => bias[j0 + j] + s,
            };
        }
    }
}

compiled_with_fma! {
    /// c = A · b, A(i, p) = a[i·a_rs + p·a_cs], b k×n, c m×n: c_ij ← fma(A(i, p), b_pj, c_ij)
    /// for p in order from c_ij = 0. With `alpha`, c += alpha · (A · b) instead, from c_ij as it
    /// is, by c_ij ← fma(alpha · A(i, p), b_pj, c_ij) (alpha = 1 is left out: it is exact).
    fn rows(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        strides: (usize, usize),
        b: &[f32],
        c: &mut [f32],
        alpha: Option<f32>,
    ) {
        let (a_rs, a_cs) = strides;
        let scale = alpha.filter(|&alpha| alpha != 1.0);
        let at = |i: usize, p: usize| {
            let v = a[i * a_rs + p * a_cs];
            scale.map_or(v, |alpha| alpha * v)
        };
        // Blocks of 6 rows and 16 columns held in locals while p runs (12 independent sums of
        // 8), then the last columns.
        let full = n / W * W;
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(6);
            let tile = (i, full);
            match rows {
                6 => rows_block::<6>(n, k, &at, b, c, tile, alpha.is_some()),
                5 => rows_block::<5>(n, k, &at, b, c, tile, alpha.is_some()),
                4 => rows_block::<4>(n, k, &at, b, c, tile, alpha.is_some()),
                3 => rows_block::<3>(n, k, &at, b, c, tile, alpha.is_some()),
                2 => rows_block::<2>(n, k, &at, b, c, tile, alpha.is_some()),
                _ => rows_block::<1>(n, k, &at, b, c, tile, alpha.is_some()),
            }
            for r in 0..rows {
                let c = &mut c[(i + r) * n..(i + r + 1) * n];
                if alpha.is_none() {
                    c[full..].fill(0.0);
                }
                for p in 0..k {
                    let s = at(i + r, p);
                    for (c, &b) in c[full..].iter_mut().zip(&b[p * n + full..(p + 1) * n]) {
                        *c = s.mul_add(b, *c);
                    }
                }
            }
            i += rows;
        }
    }
}

/// The columns a block of [`rows`] takes at a time.
const W: usize = 16;

/// Rows i0..i0 + R of [`rows`], its columns 0..full (a multiple of [`W`]), `at(i, p)` the
/// (scaled) A(i, p); from c as it is if `accumulate`, else from 0.
#[inline(always)]
fn rows_block<const R: usize>(
    n: usize,
    k: usize,
    at: &impl Fn(usize, usize) -> f32,
    b: &[f32],
    c: &mut [f32],
    (i0, full): (usize, usize),
    accumulate: bool,
) {
    for j in (0..full).step_by(W) {
        let mut acc = [[0.0f32; W]; R];
        if accumulate {
            for (r, acc) in acc.iter_mut().enumerate() {
                acc.copy_from_slice(&c[(i0 + r) * n + j..][..W]);
            }
        }
        for p in 0..k {
            let b: &[f32; W] = b[p * n + j..][..W].try_into().expect("W columns");
            let s: [f32; R] = std::array::from_fn(|r| at(i0 + r, p));
            for r in 0..R {
                for l in 0..W {
                    acc[r][l] = s[r].mul_add(b[l], acc[r][l]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            c[(i0 + r) * n + j..][..W].copy_from_slice(acc);
        }
    }
}

compiled_with_fma! {
    /// The sparse first layer's z = bias + W·x for one sample (see `sparse.rs`): for every
    /// column, lane l's sum over the image's lane-l entries by fused multiply-adds in order,
    /// the 8 lanes added as [`reduce`] adds them, the tail's terms in order, then the bias.
    fn sparse_forward(
        image: &SparseImage<'_>,
        table: &[f32; 256],
        wt: &[f32],
        stride: usize,
        bias: &[f32],
        z: &mut [f32],
    ) {
        let mut col = 0;
        while col + 16 <= stride {
            sparse_forward_columns::<16>(image, table, wt, stride, col, bias, z);
            col += 16;
        }
        while col < stride {
            sparse_forward_columns::<8>(image, table, wt, stride, col, bias, z);
            col += 8;
        }
    }
}

/// [`sparse_forward`] for the `W` columns from `col` on; the 8 lanes advance together (8
/// independent sums), each in its own order.
#[inline(always)]
fn sparse_forward_columns<const W: usize>(
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    col: usize,
    bias: &[f32],
    z: &mut [f32],
) {
    let len = image.len;
    let x = |at: usize| table[image.values[at] as usize];
    let w = |k: u16| -> &[f32; W] { wt[k as usize * stride + col..][..W].try_into().unwrap() };
    let mut lanes = [[0.0f32; W]; 8];
    for i in 0..len {
        for (l, lane) in lanes.iter_mut().enumerate() {
            let at = l * len + i;
            let (xk, w) = (x(at), w(image.all[at]));
            for c in 0..W {
                lane[c] = xk.mul_add(w[c], lane[c]);
            }
        }
    }
    for c in 0..W {
        let mut s = reduce(std::array::from_fn(|l| lanes[l][c]));
        for (t, &k) in image.tail().iter().enumerate() {
            s = x(8 * len + t).mul_add(w(k)[c], s);
        }
        z[col + c] = bias[col + c] + s;
    }
}

compiled_with_fma! {
    /// The sparse first layer's step for one sample (see `sparse.rs`): wt[k] ← fma(d, x_k,
    /// wt[k]) for every listed input k in order.
    fn sparse_descend(ks: &[u16], vs: &[u8], table: &[f32; 256], d: &[f32], wt: &mut [f32], stride: usize) {
        for (&k, &v) in ks.iter().zip(vs) {
            let xk = table[v as usize];
            let row = &mut wt[k as usize * stride..][..stride];
            for (w, &d) in row.iter_mut().zip(&d[..stride]) {
                *w = d.mul_add(xk, *w);
            }
        }
    }
}
