//! The first layer's two products when most inputs are zero (see
//! [`crate::train::sparse::SparseImages`]): only the non-zero inputs are read, and every result
//! is the one the dense kernels compute, bit for bit, whichever [`Kernels`] run.
//!
//! Why the same bits: with x_k = 0 the dense kernels' step s ← fma(x_k, w, s) adds an exact
//! zero, which leaves s as it was (s is never −0: sums start at +0, and +0 + (−0) = +0), so
//! leaving the step out changes nothing, as long as the remaining steps keep their order. The
//! dense product's 8 partial sums take the inputs k ≡ l (mod 8) in order, and the index lists
//! each image's inputs in those 8 lanes. The same holds for a weight's step
//! w ← fma(−η·δ, x_k, w), with one exception no sum can see: a weight that is exactly −0 may
//! become +0 on the dense path and stays −0 here.
//!
//! The weights are stored input-major here, `wt[k·stride + j]` = w_jk with `stride` the number
//! of neurons rounded up to 8 (the padding is zero): the weights leaving input k are then one
//! contiguous run, and one input's contribution to all neurons is a few vector multiply-adds.

use super::{portable, Kernels};
use crate::train::sparse::SparseImage;

/// Checks what every kernel here relies on: `stride` a multiple of 8, `wt` (n_in + 1) rows of
/// `stride` (row n_in, the index's padding, zero), `row` at least `stride` long. Every pixel
/// number of an image is at most its `n_inputs` (only [`crate::train::sparse::SparseImages`]
/// makes images).
fn check(n_inputs: usize, wt: &[f32], stride: usize, row: usize) {
    assert!(
        stride.is_multiple_of(8) && row >= stride,
        "a row of {stride} weights"
    );
    assert!(
        wt.len() >= (n_inputs + 1) * stride,
        "weights for every input"
    );
}

/// z = bias + W·x for one sample, `stride` results (`bias` and `z` padded to `stride`): bit for
/// bit the sample's row of the dense `matmul_a_bt_plus_bias`.
pub(crate) fn forward(
    kernels: Kernels,
    image: &SparseImage<'_>,
    table: &[f32; 256],
    wt: &[f32],
    stride: usize,
    bias: &[f32],
    z: &mut [f32],
) {
    check(image.n_inputs, wt, stride, bias.len().min(z.len()));
    match kernels.checked() {
        Kernels::Portable => portable::sparse_forward(image, table, wt, stride, bias, z),
        // SAFETY: `checked` says the CPU has AVX2 and FMA; `check` the sizes.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx2 => unsafe { super::avx2_sparse::forward(image, table, wt, stride, bias, z) },
        // SAFETY: `checked` says the CPU has AVX-512; `check` the sizes.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx512 => unsafe {
            super::avx512_sparse::forward(image, table, wt, stride, bias, z)
        },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("checked"),
    }
}

/// wt[k] += x_k · d for every input k of `ks` (grey levels `vs`, pixel numbers at most
/// `n_inputs`) of one sample, where `d` is the sample's −η·∂C/∂z, padded with zeros to
/// `stride`. Called for the samples of a batch in order, this takes each sample's step
/// w_jk ← fma(−η·δ_j, x_k, w_jk) in the order the dense `add_scaled_at_b` does (which sums the
/// batch's steps into the weights sample by sample); the inputs it leaves out are those whose
/// step adds an exact zero. (Inputs whose grey level is 0 may be listed.)
#[allow(clippy::too_many_arguments)]
pub(crate) fn descend(
    kernels: Kernels,
    image: &SparseImage<'_>,
    table: &[f32; 256],
    d: &[f32],
    wt: &mut [f32],
    stride: usize,
) {
    check(image.n_inputs, wt, stride, d.len());
    let (ks, vs) = (image.all, image.values);
    assert_eq!(ks.len(), vs.len(), "a grey level for every pixel");
    match kernels.checked() {
        Kernels::Portable => portable::sparse_descend(ks, vs, table, d, wt, stride),
        // SAFETY: `checked` says the CPU has AVX2 and FMA; `check` the sizes.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx2 => unsafe { super::avx2_sparse::descend(ks, vs, table, d, wt, stride) },
        // SAFETY: `checked` says the CPU has AVX-512; `check` the sizes.
        #[cfg(target_arch = "x86_64")]
        Kernels::Avx512 => unsafe { super::avx512_sparse::descend(ks, vs, table, d, wt, stride) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("checked"),
    }
}
