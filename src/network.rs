//! A network: layers one after another, a cost at the end, and backpropagation through it all.
//!
//! Two versions of each pass live here. [`Network::feedforward`] and [`Network::backprop`] take
//! one sample and are written straight from the notes, loop by loop; they are the reference.
//! [`Network::forward_batch`] and [`Network::backprop_batch`] do the same for a whole mini-batch
//! with matrix products in a [`Workspace`] and no allocation; tests check them against the
//! reference. What training runs on top of them, the fused and sparse steps of plain gradient
//! descent, is in `train/step.rs`.

use crate::layer::{Dense, LayerGradient};
use crate::{Architecture, Cost, Error, Init, Real, Result, Rng, Workspace};

/// A feed-forward network of dense layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<T> {
    /// Layers 1..=L (the input layer has no parameters and is not stored).
    pub layers: Vec<Dense<T>>,
    /// The cost C₀ of one sample.
    pub cost: Cost,
}

/// The gradient of the cost: ∂C/∂w and ∂C/∂b for every layer, shaped like the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradient<T> {
    /// One entry per layer, in the network's order.
    pub layers: Vec<LayerGradient<T>>,
}

impl<T: Real> Network<T> {
    /// A network of the given shape with parameters drawn by `init` from a generator seeded
    /// with `seed`.
    ///
    /// # Errors
    /// [`Error::Config`] if the architecture is not valid (see [`Architecture::validate`]).
    ///
    /// # Examples
    /// ```
    /// use backprop::{Architecture, Init, Network};
    /// let net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    /// assert_eq!(net.n_parameters(), 13_002);
    /// ```
    pub fn new(arch: &Architecture, init: Init, seed: u64) -> Result<Self> {
        arch.validate()?;
        let mut rng = Rng::new(seed);
        let layers = arch
            .sizes
            .windows(2)
            .zip(&arch.activations)
            .map(|(s, &activation)| {
                let mut layer = Dense::zeros(s[0], s[1], activation);
                init.fill(s[0], s[1], &mut layer.weights, &mut layer.biases, &mut rng);
                layer
            })
            .collect();
        Ok(Network {
            layers,
            cost: arch.cost,
        })
    }

    /// The network's architecture.
    pub fn architecture(&self) -> Architecture {
        let mut sizes = vec![self.n_inputs()];
        sizes.extend(self.layers.iter().map(|l| l.n_out));
        Architecture {
            sizes,
            activations: self.layers.iter().map(|l| l.activation).collect(),
            cost: self.cost,
        }
    }

    /// Checks that consecutive layers connect and that the architecture is valid.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::Config`].
    pub fn validate(&self) -> Result<()> {
        for (i, pair) in self.layers.windows(2).enumerate() {
            if pair[0].n_out != pair[1].n_in {
                return Err(Error::Shape(format!(
                    "layer {} has {} outputs but layer {} takes {} inputs",
                    i + 1,
                    pair[0].n_out,
                    i + 2,
                    pair[1].n_in
                )));
            }
        }
        for (i, l) in self.layers.iter().enumerate() {
            if l.weights.len() != l.n_out * l.n_in || l.biases.len() != l.n_out {
                return Err(Error::Shape(format!(
                    "layer {} has parameters of the wrong length",
                    i + 1
                )));
            }
        }
        if self.layers.is_empty() {
            return Err(Error::Config("a network needs at least one layer".into()));
        }
        self.architecture().validate()
    }

    /// Neurons in the input layer.
    pub fn n_inputs(&self) -> usize {
        self.layers[0].n_in
    }

    /// Neurons in the output layer.
    pub fn n_outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].n_out
    }

    /// Number of weights and biases.
    pub fn n_parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.biases.len())
            .sum()
    }

    /// Whether every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.weights.iter().chain(&l.biases).all(|v| v.is_finite()))
    }

    /// The same network in another float type (f32 → f64 for gradient checks, and back).
    pub fn convert<U: Real>(&self) -> Network<U> {
        let conv = |v: &Vec<T>| v.iter().map(|x| U::from_f64(x.to_f64())).collect();
        Network {
            layers: self
                .layers
                .iter()
                .map(|l| Dense {
                    n_in: l.n_in,
                    n_out: l.n_out,
                    weights: conv(&l.weights),
                    biases: conv(&l.biases),
                    activation: l.activation,
                })
                .collect(),
            cost: self.cost,
        }
    }

    /// The output a^(L) for one input x, layer by layer by equations (2) and (3): the notes'
    /// loop, the reference the fast paths are tested against. [`Network::outputs`] gives the
    /// same through the fast path.
    ///
    /// # Errors
    /// [`Error::Shape`] unless `x` has [`Network::n_inputs`] values.
    pub fn feedforward(&self, x: &[T]) -> Result<Vec<T>> {
        self.check_input(x.len(), 1)?;
        Ok(self
            .layers
            .iter()
            .fold(x.to_vec(), |a, layer| layer.feedforward(&a)))
    }

    /// Backpropagation for one sample (x, y), straight from the notes. Returns the gradient of
    /// C₀ and C₀ itself.
    ///
    /// ```text
    /// forward:   a^(0) = x,  a^(l) = σ(W^(l) a^(l−1) + b^(l))          (2)(3)
    /// output:    ∂C₀/∂a^(L) = 2(a^(L) − y)                             from (1)
    /// each layer, from L down to 1:
    ///            ∂C₀/∂w_jk = a_k^(l−1) σ'(z_j) ∂C₀/∂a_j
    ///            ∂C₀/∂b_j  =           σ'(z_j) ∂C₀/∂a_j
    ///            ∂C₀/∂a_k^(l−1) = Σ_j w_jk σ'(z_j) ∂C₀/∂a_j
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] unless `x` has [`Network::n_inputs`] values and `y`
    /// [`Network::n_outputs`].
    pub fn backprop(&self, x: &[T], y: &[T]) -> Result<(Gradient<T>, T)> {
        self.check_input(x.len(), 1)?;
        self.check_targets(y.len(), 1)?;
        let mut activations = vec![x.to_vec()];
        for layer in &self.layers {
            let a = layer.feedforward(activations.last().unwrap());
            activations.push(a);
        }
        let output = activations.last().unwrap();
        let cost = self.cost.value(output, y);
        let mut dc_da: Vec<T> = output
            .iter()
            .zip(y)
            .map(|(&a, &y)| self.cost.dc_da(a, y))
            .collect();
        let mut grad = Gradient::zeros_like(self);
        for (l, layer) in self.layers.iter().enumerate().rev() {
            dc_da = layer.backprop(
                &activations[l],
                &activations[l + 1],
                &dc_da,
                &mut grad.layers[l],
            );
        }
        Ok((grad, cost))
    }

    /// The outputs for a mini-batch whose inputs are already in `ws.input_mut(batch)`.
    ///
    /// # Shapes
    /// Returns batch × n_outputs, one sample per row.
    ///
    /// # Errors
    /// [`Error::Shape`] if `ws` was made for another network, or holds fewer than `batch`
    /// samples.
    pub fn forward_batch<'w>(&self, ws: &'w mut Workspace<T>, batch: usize) -> Result<&'w [T]> {
        self.check_workspace(ws, batch)?;
        Ok(self.forward_impl(ws, batch, false, 0))
    }

    /// Checks that `ws` was made for this network and holds `batch` samples.
    pub(crate) fn check_workspace(&self, ws: &Workspace<T>, batch: usize) -> Result<()> {
        let same_shape = ws.sizes.len() == self.layers.len() + 1
            && ws.sizes[0] == self.n_inputs()
            && ws.sizes[1..]
                .iter()
                .zip(&self.layers)
                .all(|(&n, l)| n == l.n_out);
        if !same_shape {
            return Err(Error::Shape(format!(
                "the workspace was made for a network of sizes {:?}, not {:?}",
                ws.sizes,
                self.architecture().sizes
            )));
        }
        if batch > ws.capacity {
            return Err(Error::Shape(format!(
                "a batch of {batch} samples does not fit a workspace made for {}",
                ws.capacity
            )));
        }
        Ok(())
    }

    /// Checks that `len` target values are `batch` rows of [`Network::n_outputs`].
    pub(crate) fn check_targets(&self, len: usize, batch: usize) -> Result<()> {
        if len != batch * self.n_outputs() {
            return Err(Error::Shape(format!(
                "{batch} sample(s) need {} target values ({} per sample), got {len}",
                batch * self.n_outputs(),
                self.n_outputs()
            )));
        }
        Ok(())
    }

    /// Checks that `grad` (named `what` in the message) is shaped like this network.
    pub(crate) fn check_gradient(&self, grad: &Gradient<T>, what: &str) -> Result<()> {
        match self.fits_gradient(grad) {
            true => Ok(()),
            false => Err(self.gradient_mismatch(grad, what)),
        }
    }

    /// Whether `grad` is shaped like this network.
    pub(crate) fn fits_gradient(&self, grad: &Gradient<T>) -> bool {
        grad.layers.len() == self.layers.len()
            && grad
                .layers
                .iter()
                .zip(&self.layers)
                .all(|(g, l)| g.dc_dw.len() == l.weights.len() && g.dc_db.len() == l.biases.len())
    }

    /// The error for a `grad` (named `what`) not shaped like this network.
    pub(crate) fn gradient_mismatch(&self, grad: &Gradient<T>, what: &str) -> Error {
        Error::Shape(format!(
            "the {what} is shaped for a network of sizes {:?}, not {:?}",
            grad.sizes(),
            self.architecture().sizes
        ))
    }

    /// The forward pass from layer `from` on (the layers before have written their
    /// activations), with the workspace's dropout masks applied if `train`.
    pub(crate) fn forward_impl<'w>(
        &self,
        ws: &'w mut Workspace<T>,
        batch: usize,
        train: bool,
        from: usize,
    ) -> &'w [T] {
        assert!(
            batch <= ws.capacity,
            "batch {batch} exceeds the workspace's {}",
            ws.capacity
        );
        assert_eq!(
            ws.activations.len(),
            self.layers.len() + 1,
            "workspace of another network"
        );
        for (l, layer) in self.layers.iter().enumerate().skip(from) {
            let (before, after) = ws.activations.split_at_mut(l + 1);
            let a = &before[l][..batch * layer.n_in];
            let input = if train && !ws.masks[l].is_empty() {
                let dropped = &mut ws.dropped[l][..a.len()];
                for ((d, &a), &m) in dropped.iter_mut().zip(a).zip(&ws.masks[l]) {
                    *d = a * m;
                }
                &*dropped
            } else {
                a
            };
            layer.forward_batch(batch, input, &mut after[0]);
        }
        &ws.activations[self.layers.len()][..batch * self.n_outputs()]
    }

    /// Backpropagation for a mini-batch: inputs in `ws.input_mut(batch)`, expected outputs `y`
    /// (batch × n_outputs). Writes the gradient of the batch's mean cost
    /// C = (1/batch) Σ C₀ to `grad` and returns Σ C₀, the batch's total cost. If the workspace
    /// has dropout, the masks last drawn by [`Workspace::draw_masks`] are applied.
    ///
    /// The same chain rule as [`Network::backprop`], for all samples at once: the output error
    /// ∂C/∂z^(L) comes from [`Cost::delta`] (divided by the batch size, since C is a mean), then
    /// each [`Dense::backward_batch`] turns its layer's error into that layer's gradient and the
    /// previous layer's error.
    ///
    /// # Errors
    /// [`Error::Shape`] if `ws` was made for another network or holds fewer than `batch`
    /// samples, if `y` is not batch × n_outputs values, or if `grad` is not shaped like the
    /// network.
    pub fn backprop_batch(
        &self,
        ws: &mut Workspace<T>,
        y: &[T],
        batch: usize,
        grad: &mut Gradient<T>,
    ) -> Result<T> {
        self.check_batch(ws, y, batch, grad)?;
        Ok(self.backprop_batch_checked(ws, y, batch, grad))
    }

    /// Everything [`Network::backprop_batch`] checks.
    pub(crate) fn check_batch(
        &self,
        ws: &Workspace<T>,
        y: &[T],
        batch: usize,
        grad: &Gradient<T>,
    ) -> Result<()> {
        self.check_workspace(ws, batch)?;
        self.check_targets(y.len(), batch)?;
        self.check_gradient(grad, "gradient")
    }

    /// [`Network::backprop_batch`] once its arguments are checked.
    pub(crate) fn backprop_batch_checked(
        &self,
        ws: &mut Workspace<T>,
        y: &[T],
        batch: usize,
        grad: &mut Gradient<T>,
    ) -> T {
        let total_cost = self.forward_and_output_error(ws, y, batch);
        for l in (0..self.layers.len()).rev() {
            let (fed, dc_dz, prev) = ws.backward_view(&self.layers, l);
            self.layers[l].backward_batch(batch, fed, dc_dz, &mut grad.layers[l], prev);
        }
        total_cost
    }

    /// The forward pass (with dropout) and the output layer's ∂C/∂z^(L) for every sample, from
    /// [`Cost::delta`] divided by the batch size, since C is a mean. Returns Σ C₀.
    pub(crate) fn forward_and_output_error(
        &self,
        ws: &mut Workspace<T>,
        y: &[T],
        batch: usize,
    ) -> T {
        self.forward_impl(ws, batch, true, 0);
        self.output_error(ws, y, batch)
    }

    /// The output layer's ∂C/∂z^(L) for every sample, from [`Cost::delta`] divided by the
    /// batch size, since C is a mean. Returns Σ C₀.
    pub(crate) fn output_error(&self, ws: &mut Workspace<T>, y: &[T], batch: usize) -> T {
        let n_layers = self.layers.len();
        let n_out = self.n_outputs();
        let output_layer = &self.layers[n_layers - 1];
        let inv_batch = T::ONE / T::from_f64(batch as f64);
        let mut total_cost = T::ZERO;
        let a = &ws.activations[n_layers][..batch * n_out];
        let delta = &mut ws.dc_dz[n_layers - 1][..batch * n_out];
        for ((a, y), delta) in a
            .chunks_exact(n_out)
            .zip(y.chunks_exact(n_out))
            .zip(delta.chunks_exact_mut(n_out))
        {
            total_cost += self.cost.value(a, y);
            self.cost.delta(output_layer.activation, a, y, delta);
            delta.iter_mut().for_each(|d| *d *= inv_batch);
        }
        total_cost
    }
}

impl<T: Real> Gradient<T> {
    /// A zero gradient shaped like `net`.
    pub fn zeros_like(net: &Network<T>) -> Self {
        Gradient {
            layers: net.layers.iter().map(LayerGradient::zeros_like).collect(),
        }
    }

    /// Multiplies every component by `factor`.
    pub fn scale(&mut self, factor: T) {
        for l in &mut self.layers {
            l.dc_dw
                .iter_mut()
                .chain(l.dc_db.iter_mut())
                .for_each(|g| *g *= factor);
        }
    }

    /// Number of components, ∂C/∂w and ∂C/∂b.
    pub fn n_parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.dc_dw.len() + l.dc_db.len())
            .sum()
    }

    /// The layer sizes n_0 … n_L of the network this gradient is shaped for (for messages).
    fn sizes(&self) -> Vec<usize> {
        let first = self
            .layers
            .first()
            .map(|l| l.dc_dw.len() / l.dc_db.len().max(1));
        first
            .into_iter()
            .chain(self.layers.iter().map(|l| l.dc_db.len()))
            .collect()
    }

    /// Adds `other` component by component.
    ///
    /// # Errors
    /// [`Error::Shape`] unless `other` is shaped like `self`.
    pub fn add(&mut self, other: &Gradient<T>) -> Result<()> {
        let fits = self.layers.len() == other.layers.len()
            && self
                .layers
                .iter()
                .zip(&other.layers)
                .all(|(l, o)| l.dc_dw.len() == o.dc_dw.len() && l.dc_db.len() == o.dc_db.len());
        if !fits {
            return Err(Error::Shape(format!(
                "cannot add a gradient shaped for sizes {:?} to one shaped for {:?}",
                other.sizes(),
                self.sizes()
            )));
        }
        for (l, o) in self.layers.iter_mut().zip(&other.layers) {
            for (g, &h) in l
                .dc_dw
                .iter_mut()
                .zip(&o.dc_dw)
                .chain(l.dc_db.iter_mut().zip(&o.dc_db))
            {
                *g += h;
            }
        }
        Ok(())
    }
}

/// The index of the largest value (the first, on ties).
pub fn argmax<T: Real>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
