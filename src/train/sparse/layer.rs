//! The first layer, trained by plain gradient descent on inputs that are mostly zero.
//!
//! A zero input x_k contributes nothing to the layer's weighted inputs z_j = Σ_k w_jk x_k + b_j
//! and nothing to ∂C/∂w_jk = Σ_samples ∂C/∂z_j · x_k, so the weights w_jk of an input that is
//! zero in every sample of the batch keep their value, and a sum need not visit the zero
//! inputs at all. On MNIST (about 150 non-zero pixels of 784) that skips four fifths of the
//! first layer's work, which is nearly all the work of the notes' network.
//!
//! While an epoch runs, the layer's weights live here input-major (the weights leaving one
//! input side by side, see [`crate::kernels::sparse`]); [`SparseFirstLayer::store`] writes them
//! back to the [`Dense`] layer. Every number is the one the dense path computes, bit for bit
//! (but for the sign of a weight that is exactly zero, see [`crate::kernels::sparse`]).

use crate::kernels::{self, Kernels, GEMM_THRESHOLD};
use crate::train::sparse::SparseImage;
use crate::{Dense, Real};

/// The first layer's weights input-major, its gradient, and the buffers of a step.
#[derive(Debug)]
pub(crate) struct SparseFirstLayer {
    n_in: usize,
    n_out: usize,
    /// n_out rounded up to a multiple of 8.
    stride: usize,
    /// w_jk at [k·stride + j]; the padding is 0, and so is row n_in, the index's padding.
    wt: Aligned,
    /// Whether `wt` holds the layer's weights (and the [`Dense`] layer may be behind).
    loaded: bool,
    /// The kernels of the epoch.
    kernels: Kernels,
    /// b_j, padded to `stride`.
    bias: Vec<f32>,
    /// One sample's z, padded to `stride`.
    row: Vec<f32>,
    /// Each sample's −η·∂C/∂z, padded with zeros to `stride`.
    steps: Vec<f32>,
    /// The input value of each grey level: p · (1/255), as [`crate::Dataset`] converts it.
    table: [f32; 256],
}

impl SparseFirstLayer {
    /// The sparse path for `layer` at batches of up to `batch`, on `kernels`, or `None` where
    /// it does not apply: it needs f32 (the dense path's kernels; f64 goes to `gemm`, which sums
    /// in another order), and a product small enough for one thread (at most
    /// [`GEMM_THRESHOLD`] multiply-adds; above it the dense path shares the work out among
    /// threads, and this path has not been measured against that).
    pub(crate) fn new<T: Real>(layer: &Dense<T>, batch: usize, kernels: Kernels) -> Option<Self> {
        if batch * layer.n_in * layer.n_out > GEMM_THRESHOLD {
            return None;
        }
        let mut first = Self::for_forward(layer, kernels)?;
        first.steps = vec![0.0; batch * first.stride];
        Some(first)
    }

    /// The sparse path for [`SparseFirstLayer::forward`] alone, for batches of any size: an
    /// evaluation on one thread reads a fifth of what the dense product reads on all of them.
    /// `None` unless the layer is f32.
    pub(crate) fn for_forward<T: Real>(layer: &Dense<T>, kernels: Kernels) -> Option<Self> {
        kernels::as_f32(&layer.weights)?;
        let stride = layer.n_out.next_multiple_of(8);
        let scale = 1.0f32 / 255.0;
        Some(SparseFirstLayer {
            n_in: layer.n_in,
            n_out: layer.n_out,
            stride,
            wt: Aligned::zeros((layer.n_in + 1) * stride),
            loaded: false,
            kernels: kernels.checked(),
            bias: vec![0.0; stride],
            row: vec![0.0; stride],
            steps: Vec::new(),
            table: std::array::from_fn(|p| p as f32 * scale),
        })
    }

    /// Takes over `layer`'s weights, if not already holding them.
    fn load<T: Real>(&mut self, layer: &Dense<T>) {
        if self.loaded {
            return;
        }
        let w = kernels::as_f32(&layer.weights).expect("checked in new");
        let wt = self.wt.get_mut();
        for (j, row) in w.chunks_exact(self.n_in).enumerate() {
            for (k, &v) in row.iter().enumerate() {
                wt[k * self.stride + j] = v;
            }
        }
        self.loaded = true;
    }

    /// Writes the weights back to `layer` if they are held here; the [`Dense`] layer is then
    /// current and may be changed by others until the next step here.
    pub(crate) fn store<T: Real>(&mut self, layer: &mut Dense<T>) {
        if !self.loaded {
            return;
        }
        let w = kernels::as_f32_mut(&mut layer.weights).expect("checked in new");
        let wt = self.wt.get();
        for (j, row) in w.chunks_exact_mut(self.n_in).enumerate() {
            for (k, v) in row.iter_mut().enumerate() {
                *v = wt[k * self.stride + j];
            }
        }
        self.loaded = false;
    }

    /// a = σ(W·x + b) for every sample of the batch, rows of `a` (batch × n_out): what
    /// [`Dense::forward_batch`] writes.
    pub(crate) fn forward<T: Real>(
        &mut self,
        layer: &Dense<T>,
        images: &[SparseImage<'_>],
        a: &mut [T],
    ) {
        self.load(layer);
        let n_out = self.n_out;
        let bias = kernels::as_f32(&layer.biases).expect("checked in new");
        self.bias[..n_out].copy_from_slice(bias);
        let a = kernels::as_f32_mut(&mut a[..images.len() * n_out]).expect("checked in new");
        for (image, a) in images.iter().zip(a.chunks_exact_mut(n_out)) {
            assert_eq!(image.n_inputs, self.n_in, "an image of another size");
            kernels::sparse::forward(
                self.kernels,
                image,
                &self.table,
                self.wt.get(),
                self.stride,
                &self.bias,
                &mut self.row,
            );
            a.copy_from_slice(&self.row[..n_out]);
        }
        layer.activation.apply_rows(n_out, a);
    }

    /// w ← w − η·∂C/∂w for the batch whose ∂C/∂z is `dc_dz` (batch × n_out), bit for bit as
    /// [`Dense::sgd_step_batch`] steps the weights: each sample's −η·δ·xᵀ summed into w in
    /// turn (the biases are the caller's).
    pub(crate) fn sgd_step<T: Real>(&mut self, images: &[SparseImage<'_>], dc_dz: &[T], eta: T) {
        assert!(self.loaded, "a step before the forward pass");
        assert!(
            self.steps.len() >= images.len() * self.stride,
            "a step of {} samples on a layer made for fewer (or by for_forward)",
            images.len()
        );
        let (n_in, n_out, stride) = (self.n_in, self.n_out, self.stride);
        let dc_dz = kernels::as_f32(&dc_dz[..images.len() * n_out]).expect("checked in new");
        let eta = kernels::as_f32(std::slice::from_ref(&eta)).expect("checked in new")[0];
        for (step, delta) in self
            .steps
            .chunks_exact_mut(stride)
            .zip(dc_dz.chunks_exact(n_out))
        {
            for (s, &d) in step.iter_mut().zip(delta) {
                *s = -eta * d;
            }
        }
        let wt = self.wt.get_mut();
        for (image, step) in images.iter().zip(self.steps.chunks_exact(stride)) {
            assert_eq!(image.n_inputs, n_in, "an image of another size");
            kernels::sparse::descend(self.kernels, image, &self.table, step, wt, stride);
        }
    }
}

/// Zero-initialised f32s starting on a 64-byte boundary, so that a row of 16 weights is one
/// cache line (a row split across two lines costs a second access on every touch).
#[derive(Debug)]
struct Aligned {
    buffer: Vec<f32>,
    start: usize,
}

impl Aligned {
    fn zeros(len: usize) -> Self {
        let buffer = vec![0.0f32; len + 16];
        let start = buffer.as_ptr().align_offset(64).min(16);
        Aligned { buffer, start }
    }

    fn get(&self) -> &[f32] {
        &self.buffer[self.start..self.buffer.len() - 16 + self.start]
    }

    fn get_mut(&mut self) -> &mut [f32] {
        let end = self.buffer.len() - 16 + self.start;
        &mut self.buffer[self.start..end]
    }
}
