//! The sparse first layer's kernels (see `sparse.rs`) with AVX-512: 16 columns a register (the
//! last 8 of a row under a mask), the same sums as `portable.rs`, bit for bit.

use crate::train::sparse::SparseImage;
use std::arch::x86_64::*;

/// Runs `$body` for the columns of a row of `$stride` (a multiple of 8) in blocks of 64 (4
/// registers, `$nc` = 4), then, if that many are left, one of 32 (`$nc` = 2), then blocks of
/// 16 (`$nc` = 1, the last of them perhaps 8 wide), `$col` the block's first column and `$mask`
/// the lanes of its last register inside the row.
macro_rules! column_blocks {
    ($stride:expr, |$col:ident, $nc:ident, $mask:ident| $body:expr) => {{
        let mut $col = 0;
        let $mask: __mmask16 = !0;
        while $col + 64 <= $stride {
            const $nc: usize = 4;
            $body;
            $col += 64;
        }
        if $col + 32 <= $stride {
            const $nc: usize = 2;
            $body;
            $col += 32;
        }
        while $col < $stride {
            const $nc: usize = 1;
            let $mask: __mmask16 = if $stride - $col >= 16 { !0 } else { 0xff };
            $body;
            $col += 16;
        }
    }};
}

/// Register h of a block whose last register is masked by `mask`, from `p`.
///
/// # Safety
/// The CPU must have AVX-512F; the lanes kept must be readable.
#[inline(always)]
unsafe fn load<const NC: usize>(p: *const f32, h: usize, mask: __mmask16) -> __m512 {
    if h + 1 == NC {
        _mm512_maskz_loadu_ps(mask, p.add(16 * h))
    } else {
        _mm512_loadu_ps(p.add(16 * h))
    }
}

/// Stores register h of such a block, the kept lanes only.
///
/// # Safety
/// As [`load`], for writing.
#[inline(always)]
unsafe fn store<const NC: usize>(p: *mut f32, h: usize, mask: __mmask16, v: __m512) {
    if h + 1 == NC {
        _mm512_mask_storeu_ps(p.add(16 * h), mask, v)
    } else {
        _mm512_storeu_ps(p.add(16 * h), v)
    }
}

/// z = bias + W·x for one sample, `stride` results (`bias` and `z` are padded to `stride`):
/// what `portable::sparse_forward` computes.
///
/// # Safety
/// The CPU must have AVX-512 (F, BW, DQ, VL); every pixel number of `image` must be at most
/// n_in, `wt` must hold (n_in + 1) × `stride` weights (row n_in all zero), `stride` must be a
/// multiple of 8, and `bias` and `z` must hold `stride` values.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
pub(super) unsafe fn forward(
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    bias: &[f32],
    z: &mut [f32],
) {
    column_blocks!(stride, |col, NC, mask| {
        // G lanes at a time: 4·NC independent sums keep both FMA units busy.
        const G: usize = if NC > 2 { 2 } else { 4 };
        forward_columns::<NC, G>(image, table, wt, stride, (col, mask), bias, z)
    });
}

/// [`forward`] for the block of `NC` registers from `col` on, `G` lanes at a time.
///
/// # Safety
/// As [`forward`], with the block's kept lanes inside the row.
#[inline(always)]
unsafe fn forward_columns<const NC: usize, const G: usize>(
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    (col, mask): (usize, __mmask16),
    bias: &[f32],
    z: &mut [f32],
) {
    let values = image.values.as_ptr();
    let x = |at: usize| _mm512_set1_ps(*table.get_unchecked(*values.add(at) as usize));
    let w = |k: u16, h: usize| load::<NC>(wt.as_ptr().add(k as usize * stride + col), h, mask);
    let len = image.len;
    let mut lanes = [[_mm512_setzero_ps(); NC]; 8];
    for group in 0..8 / G {
        let first = G * group * len;
        let mut acc = [[_mm512_setzero_ps(); NC]; G];
        for i in 0..len {
            for (l, acc) in acc.iter_mut().enumerate() {
                let at = first + l * len + i;
                let k = *image.all.get_unchecked(at);
                let xk = x(at);
                for (h, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm512_fmadd_ps(xk, w(k, h), *acc);
                }
            }
        }
        lanes[G * group..G * (group + 1)].copy_from_slice(&acc);
    }
    // h picks the register in every lane's sum: indices read plainer here.
    #[allow(clippy::needless_range_loop)]
    for h in 0..NC {
        // The 8 lanes added as `portable::reduce` adds them: (0+4, …), (0+2, 1+3), 0+1.
        let l = |i: usize| lanes[i][h];
        let s4 = [
            _mm512_add_ps(l(0), l(4)),
            _mm512_add_ps(l(1), l(5)),
            _mm512_add_ps(l(2), l(6)),
            _mm512_add_ps(l(3), l(7)),
        ];
        let mut s = _mm512_add_ps(_mm512_add_ps(s4[0], s4[2]), _mm512_add_ps(s4[1], s4[3]));
        for (t, &k) in image.tail().iter().enumerate() {
            s = _mm512_fmadd_ps(x(8 * len + t), w(k, h), s);
        }
        let b = load::<NC>(bias.as_ptr().add(col), h, mask);
        store::<NC>(z.as_mut_ptr().add(col), h, mask, _mm512_add_ps(b, s));
    }
}

/// wt[k] += x_k · d for every input k of `ks` (grey levels `vs`) of one sample: what
/// `portable::sparse_descend` computes.
///
/// # Safety
/// As [`forward`], with `d` holding `stride` values.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
pub(super) unsafe fn descend(
    ks: &[u16],
    vs: &[u8],
    table: &[f32; 256],
    d: &[f32],
    wt: &mut [f32],
    stride: usize,
) {
    column_blocks!(stride, |col, NC, mask| descend_columns::<NC>(
        ks,
        vs,
        table,
        d,
        wt,
        stride,
        (col, mask)
    ));
}

/// [`descend`] for the block of `NC` registers from `col` on.
///
/// # Safety
/// As [`descend`], with the block's kept lanes inside the row.
#[inline(always)]
unsafe fn descend_columns<const NC: usize>(
    ks: &[u16],
    vs: &[u8],
    table: &[f32; 256],
    d: &[f32],
    wt: &mut [f32],
    stride: usize,
    (col, mask): (usize, __mmask16),
) {
    let w = wt.as_mut_ptr().add(col);
    let d: [__m512; NC] = std::array::from_fn(|h| load::<NC>(d.as_ptr().add(col), h, mask));
    for (&k, &v) in ks.iter().zip(vs) {
        let xk = _mm512_set1_ps(*table.get_unchecked(v as usize));
        let row = w.add(k as usize * stride);
        for (h, &d) in d.iter().enumerate() {
            let v = _mm512_fmadd_ps(d, xk, load::<NC>(row, h, mask));
            store::<NC>(row, h, mask, v);
        }
    }
}
