//! The sparse first layer's kernels (see `sparse.rs`) with AVX2 and FMA: 8 columns a register.

use super::avx2::reduce_lanes;
use crate::train::sparse::SparseImage;
use std::arch::x86_64::*;

/// Runs `$body` for the columns of a row of `$stride` (a multiple of 8) in blocks of 32 (4
/// registers, `$nc` = 4), then, if that many are left, one of 16 (`$nc` = 2) and one of 8
/// (`$nc` = 1), `$col` the block's first column. The wider the block, the fewer times a sample's
/// entries of the index are read.
macro_rules! column_blocks {
    ($stride:expr, |$col:ident, $nc:ident| $body:expr) => {{
        let mut $col = 0;
        while $col + 32 <= $stride {
            const $nc: usize = 4;
            $body;
            $col += 32;
        }
        if $col + 16 <= $stride {
            const $nc: usize = 2;
            $body;
            $col += 16;
        }
        if $col < $stride {
            const $nc: usize = 1;
            $body;
        }
    }};
}

/// z = bias + W·x for one sample, `stride` results (`bias` and `z` are padded to `stride`):
/// what `portable::sparse_forward` computes.
///
/// # Safety
/// The CPU must have AVX2 and FMA; every pixel number of `image` must be at most n_in (n_in
/// itself is the index's padding), `wt` must hold (n_in + 1) × `stride` weights (row n_in all
/// zero), `stride` must be a multiple of 8, and `bias` and `z` must hold `stride` values.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn forward(
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    bias: &[f32],
    z: &mut [f32],
) {
    debug_assert!(stride.is_multiple_of(8) && bias.len() >= stride && z.len() >= stride);
    column_blocks!(stride, |col, NC| {
        // G lanes at a time: 4·NC independent sums keep both FMA units busy, 8·NC would not
        // fit the registers.
        const G: usize = if NC > 2 { 2 } else { 4 };
        forward_columns::<NC, G>(image, table, wt, stride, col, bias, z)
    });
}

/// [`forward`] for the `8·NC` results from `col` on, `G` lanes at a time.
///
/// # Safety
/// As [`forward`], with `col + 8·NC` at most `stride`.
#[inline(always)]
unsafe fn forward_columns<const NC: usize, const G: usize>(
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    col: usize,
    bias: &[f32],
    z: &mut [f32],
) {
    let values = image.values.as_ptr();
    let x = |at: usize| _mm256_broadcast_ss(table.get_unchecked(*values.add(at) as usize));
    let w = |k: u16, h: usize| _mm256_loadu_ps(wt.as_ptr().add(k as usize * stride + col + 8 * h));
    let len = image.len;
    let mut lanes = [[_mm256_setzero_ps(); NC]; 8];
    for group in 0..8 / G {
        let first = G * group * len;
        let mut acc = [[_mm256_setzero_ps(); NC]; G];
        for i in 0..len {
            for (l, acc) in acc.iter_mut().enumerate() {
                let at = first + l * len + i;
                let k = *image.all.get_unchecked(at);
                let xk = x(at);
                for (h, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm256_fmadd_ps(xk, w(k, h), *acc);
                }
            }
        }
        lanes[G * group..G * (group + 1)].copy_from_slice(&acc);
    }
    // h picks the register of 8 columns in every lane's sum: indices read plainer here.
    #[allow(clippy::needless_range_loop)]
    for h in 0..NC {
        let mut s = reduce_lanes(std::array::from_fn(|l| lanes[l][h]));
        for (t, &k) in image.tail().iter().enumerate() {
            s = _mm256_fmadd_ps(x(8 * len + t), w(k, h), s);
        }
        let b = _mm256_loadu_ps(bias.as_ptr().add(col + 8 * h));
        _mm256_storeu_ps(z.as_mut_ptr().add(col + 8 * h), _mm256_add_ps(b, s));
    }
}

/// wt[k] += x_k · d for every input k of `ks` (grey levels `vs`) of one sample: what
/// `portable::sparse_descend` computes.
///
/// # Safety
/// As [`forward`], with `d` holding `stride` values.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn descend(
    ks: &[u16],
    vs: &[u8],
    table: &[f32; 256],
    d: &[f32],
    wt: &mut [f32],
    stride: usize,
) {
    debug_assert!(stride.is_multiple_of(8) && d.len() >= stride && ks.len() == vs.len());
    column_blocks!(stride, |col, NC| descend_columns::<NC>(
        ks, vs, table, d, wt, stride, col
    ));
}

/// [`descend`] for the `8·NC` columns from `col` on.
///
/// # Safety
/// As [`descend`], with `col + 8·NC` at most `stride`.
#[inline(always)]
unsafe fn descend_columns<const NC: usize>(
    ks: &[u16],
    vs: &[u8],
    table: &[f32; 256],
    d: &[f32],
    wt: &mut [f32],
    stride: usize,
    col: usize,
) {
    let w = wt.as_mut_ptr().add(col);
    let d: [__m256; NC] = std::array::from_fn(|h| _mm256_loadu_ps(d.as_ptr().add(col + 8 * h)));
    for (&k, &v) in ks.iter().zip(vs) {
        let xk = _mm256_broadcast_ss(table.get_unchecked(v as usize));
        let row = w.add(k as usize * stride);
        for (h, &d) in d.iter().enumerate() {
            let v = _mm256_fmadd_ps(d, xk, _mm256_loadu_ps(row.add(8 * h)));
            _mm256_storeu_ps(row.add(8 * h), v);
        }
    }
}
