//! A dense (fully connected) layer: its forward pass, equations (2) and (3), and right below it
//! its backward pass, the chain rule of the notes.

use crate::kernels::{
    add_scaled_at_b, axpy, matmul_a_b, matmul_a_bt_plus_bias, matmul_at_b, Kernels,
};
use crate::{Activation, Real};

/// One layer L: `n_out` neurons, each connected to all `n_in` neurons of layer L−1.
///
/// `weights` is stored n_out × n_in, row-major, so `weights[j * n_in + k]` is w_jk^(L), the weight
/// from neuron k of layer L−1 to neuron j of layer L (see [`Dense::w`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<T> {
    /// Neurons in layer L−1.
    pub n_in: usize,
    /// Neurons in layer L.
    pub n_out: usize,
    /// w_jk^(L), n_out × n_in, row-major.
    pub weights: Vec<T>,
    /// b_j^(L), n_out of them.
    pub biases: Vec<T>,
    /// σ of this layer.
    pub activation: Activation,
}

/// ∂C/∂w and ∂C/∂b of one layer, shaped like its weights and biases.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradient<T> {
    /// ∂C/∂w_jk, n_out × n_in, row-major.
    pub dc_dw: Vec<T>,
    /// ∂C/∂b_j.
    pub dc_db: Vec<T>,
}

impl<T: Real> Dense<T> {
    /// A layer with every weight and bias zero.
    pub fn zeros(n_in: usize, n_out: usize, activation: Activation) -> Self {
        Dense {
            n_in,
            n_out,
            weights: vec![T::ZERO; n_out * n_in],
            biases: vec![T::ZERO; n_out],
            activation,
        }
    }

    /// w_jk: the weight from neuron k of the previous layer to neuron j of this one.
    #[inline(always)]
    pub fn w(&self, j: usize, k: usize) -> T {
        self.weights[j * self.n_in + k]
    }

    /// One sample, straight from the notes:
    ///
    /// ```text
    /// z_j = Σ_k w_jk a_k^(L−1) + b_j        (2)
    /// a_j = σ(z_j)                          (3)
    /// ```
    ///
    /// # Shapes
    /// `a_prev`: n_in; returns a: n_out.
    ///
    /// # Panics
    /// If a slice is shorter than its shape says (or, for [`Dense::feedforward`], `a_prev` is
    /// not n_in long): a layer is a building block, and [`crate::Network`]'s passes check their
    /// arguments and return an error instead.
    pub fn feedforward(&self, a_prev: &[T]) -> Vec<T> {
        assert_eq!(a_prev.len(), self.n_in, "input size");
        let mut z: Vec<T> = (0..self.n_out)
            .map(|j| (0..self.n_in).map(|k| self.w(j, k) * a_prev[k]).sum::<T>() + self.biases[j])
            .collect();
        self.activation.apply(&mut z);
        z
    }

    /// One sample backwards, straight from the notes: given this layer's output `a` and
    /// `dc_da` = ∂C₀/∂a_j, adds this sample's ∂C₀/∂w_jk and ∂C₀/∂b_j into `grad` and returns
    /// ∂C₀/∂a_k^(L−1).
    ///
    /// ```text
    /// ∂C₀/∂z_j      = σ'(z_j) · ∂C₀/∂a_j
    /// ∂C₀/∂w_jk     = a_k^(L−1) · σ'(z_j) · ∂C₀/∂a_j
    /// ∂C₀/∂b_j      =        1  · σ'(z_j) · ∂C₀/∂a_j
    /// ∂C₀/∂a_k^(L−1) = Σ_j w_jk · σ'(z_j) · ∂C₀/∂a_j     (a neuron feeds every neuron of L)
    /// ```
    ///
    /// # Shapes
    /// `a_prev`: n_in; `a`, `dc_da`: n_out; `grad` shaped like the layer; returns n_in values.
    ///
    /// # Panics
    /// If a slice is shorter than its shape says (or, for [`Dense::feedforward`], `a_prev` is
    /// not n_in long): a layer is a building block, and [`crate::Network`]'s passes check their
    /// arguments and return an error instead.
    // j and k index as in the notes' formulas; iterators would hide them.
    #[allow(clippy::needless_range_loop)]
    pub fn backprop(
        &self,
        a_prev: &[T],
        a: &[T],
        dc_da: &[T],
        grad: &mut LayerGradient<T>,
    ) -> Vec<T> {
        let mut dc_dz = vec![T::ZERO; self.n_out];
        self.activation.backward(a, dc_da, &mut dc_dz);
        let mut dc_da_prev = vec![T::ZERO; self.n_in];
        for j in 0..self.n_out {
            for k in 0..self.n_in {
                grad.dc_dw[j * self.n_in + k] += a_prev[k] * dc_dz[j];
                dc_da_prev[k] += self.w(j, k) * dc_dz[j];
            }
            grad.dc_db[j] += dc_dz[j];
        }
        dc_da_prev
    }

    /// A mini-batch forward: `a = σ(a_prev · Wᵀ + b)`, equations (2) and (3) for every sample at
    /// once.
    ///
    /// # Shapes
    /// `a_prev`: batch × n_in; `a`: batch × n_out (written).
    ///
    /// # Panics
    /// If a slice is shorter than its shape says (or, for [`Dense::feedforward`], `a_prev` is
    /// not n_in long): a layer is a building block, and [`crate::Network`]'s passes check their
    /// arguments and return an error instead.
    pub fn forward_batch(&self, batch: usize, a_prev: &[T], a: &mut [T]) {
        let a = &mut a[..batch * self.n_out];
        let (w, b) = (&self.weights, &self.biases);
        let kernels = Kernels::current();
        matmul_a_bt_plus_bias(kernels, batch, self.n_out, self.n_in, a_prev, w, b, a);
        self.activation.apply_rows(self.n_out, a);
    }

    /// A mini-batch backward. `dc_dz` holds ∂C/∂z_j for every sample (batch × n_out); the
    /// gradient of the batch's cost is written to `grad`:
    ///
    /// ```text
    /// ∂C/∂w_jk = Σ_samples ∂C/∂z_j · a_k^(L−1)     Δᵀ · A_prev
    /// ∂C/∂b_j  = Σ_samples ∂C/∂z_j                 column sums of Δ
    /// ```
    ///
    /// `a_prev` is what this layer was fed: the previous layer's activations, after dropout if
    /// there was any. If `prev` is given, its buffer receives the previous layer's ∂C/∂z, ready
    /// for that layer's own backward step (m is the dropout mask, 1 without dropout):
    ///
    /// ```text
    /// ∂C/∂z_k^(L−1) = σ'(z_k^(L−1)) · m_k · Σ_j w_jk ∂C/∂z_j     σ'(Z_prev) ⊙ M ⊙ (Δ · W)
    /// ```
    /// The first layer skips this: nobody needs ∂C/∂x.
    ///
    /// # Shapes
    /// `a_prev`: batch × n_in; `dc_dz`: batch × n_out; `grad` shaped like the layer; `prev`'s
    /// slices batch × n_in.
    ///
    /// # Panics
    /// If a slice is shorter than its shape says (or, for [`Dense::feedforward`], `a_prev` is
    /// not n_in long): a layer is a building block, and [`crate::Network`]'s passes check their
    /// arguments and return an error instead.
    pub fn backward_batch(
        &self,
        batch: usize,
        a_prev: &[T],
        dc_dz: &[T],
        grad: &mut LayerGradient<T>,
        prev: Option<PrevLayer<'_, T>>,
    ) {
        let dc_dz = &dc_dz[..batch * self.n_out];
        let (n_out, n_in, dc_dw) = (self.n_out, self.n_in, &mut grad.dc_dw);
        matmul_at_b(Kernels::current(), n_out, n_in, batch, dc_dz, a_prev, dc_dw);
        self.bias_gradient(dc_dz, &mut grad.dc_db);
        if let Some(prev) = prev {
            self.propagate(batch, dc_dz, prev);
        }
    }

    /// [`Dense::backward_batch`] followed by plain gradient descent on this layer,
    /// w ← w − η·∂C/∂w and b ← b − η·∂C/∂b, but without writing ∂C/∂w out: for small f32
    /// layers each sample's term −η·δ·aᵀ is summed straight into w (see `kernels::add_scaled_at_b`,
    /// which says how that rounds); `scratch` holds ∂C/∂b, and ∂C/∂w where no fused kernel
    /// applies. The previous layer's ∂C/∂z is computed first, from the weights before the step.
    ///
    /// # Shapes
    /// As [`Dense::backward_batch`], `scratch` in the place of `grad`.
    ///
    /// # Panics
    /// If a slice is shorter than its shape says (or, for [`Dense::feedforward`], `a_prev` is
    /// not n_in long): a layer is a building block, and [`crate::Network`]'s passes check their
    /// arguments and return an error instead.
    pub fn sgd_step_batch(
        &mut self,
        batch: usize,
        a_prev: &[T],
        dc_dz: &[T],
        eta: T,
        scratch: &mut LayerGradient<T>,
        prev: Option<PrevLayer<'_, T>>,
    ) {
        let dc_dz = &dc_dz[..batch * self.n_out];
        if let Some(prev) = prev {
            self.propagate(batch, dc_dz, prev);
        }
        let (n_out, n_in) = (self.n_out, self.n_in);
        let w = &mut self.weights;
        add_scaled_at_b(
            Kernels::current(),
            -eta,
            n_out,
            n_in,
            batch,
            dc_dz,
            a_prev,
            w,
            &mut scratch.dc_dw,
        );
        self.sgd_step_biases(dc_dz, eta, scratch);
    }

    /// The biases' part of [`Dense::sgd_step_batch`]: b ← b − η·∂C/∂b.
    pub(crate) fn sgd_step_biases(&mut self, dc_dz: &[T], eta: T, scratch: &mut LayerGradient<T>) {
        self.bias_gradient(dc_dz, &mut scratch.dc_db);
        axpy(Kernels::current(), -eta, &scratch.dc_db, &mut self.biases);
    }

    /// ∂C/∂b_j = Σ_samples ∂C/∂z_j, the column sums of Δ, in sample order.
    fn bias_gradient(&self, dc_dz: &[T], dc_db: &mut [T]) {
        dc_db.copy_from_slice(&dc_dz[..self.n_out]);
        for row in dc_dz.chunks_exact(self.n_out).skip(1) {
            for (db, &d) in dc_db.iter_mut().zip(row) {
                *db += d;
            }
        }
    }

    /// The previous layer's ∂C/∂z = σ'(Z_prev) ⊙ M ⊙ (Δ · W).
    fn propagate(&self, batch: usize, dc_dz: &[T], prev: PrevLayer<'_, T>) {
        let dc_dz_prev = &mut prev.dc_dz[..batch * self.n_in];
        matmul_a_b(
            Kernels::current(),
            batch,
            self.n_in,
            self.n_out,
            dc_dz,
            &self.weights,
            dc_dz_prev,
        );
        let a = &prev.a[..batch * self.n_in];
        let act = prev.activation;
        assert!(
            act != Activation::Softmax,
            "softmax is only allowed in the output layer"
        );
        act.times_derivative(a, prev.mask, dc_dz_prev);
    }
}

/// The layer before the one stepping backwards, as [`Dense::backward_batch`] needs it.
#[derive(Debug)]
pub struct PrevLayer<'a, T> {
    /// Its activation function σ (not softmax).
    pub activation: Activation,
    /// Its activations a = σ(z), before dropout, batch × n.
    pub a: &'a [T],
    /// Its dropout mask (0 or 1/keep per activation), if dropout was applied.
    pub mask: Option<&'a [T]>,
    /// Receives its ∂C/∂z, batch × n.
    pub dc_dz: &'a mut [T],
}

impl<T: Real> LayerGradient<T> {
    /// A zero gradient for `layer`.
    pub fn zeros_like(layer: &Dense<T>) -> Self {
        LayerGradient {
            dc_dw: vec![T::ZERO; layer.weights.len()],
            dc_db: vec![T::ZERO; layer.biases.len()],
        }
    }
}
