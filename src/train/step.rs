//! One training step: a mini-batch in, one update of the parameters out. The one door to the
//! fast path.
//!
//! The notes' step is backpropagation followed by gradient descent:
//!
//! ```text
//! ∇C = (1/m) Σ_samples ∇C₀          Network::backprop_batch (the chain rule, batched)
//! θ ← θ − η·∇C                       Optimizer::step (or momentum, Adam, …)
//! ```
//!
//! The training step takes it that way whenever it must (any optimiser but plain SGD, L2, f64, …), and
//! otherwise one of two faster ways that give the same network, chosen once per run:
//!
//! - **fused** plain gradient descent ([`fused_sgd`]): each layer is stepped as soon as its
//!   δ = ∂C/∂z is known, w_jk ← w_jk − η·δ_j·a_k sample by sample, without writing ∂C/∂w out;
//! - **sparse**: the fused step with the first layer on the non-zero pixels of each image only
//!   (about 150 of MNIST's 784; `train/sparse/`), for byte images without input dropout or
//!   augmentation. While a run holds it, the first layer's weights live input-major in the
//!   step; `Step::network` and dropping the step write them back, so the network is current
//!   whenever anybody else looks at it.
//!
//! `tests/it/gradcheck.rs` holds [`fused_sgd`] to backpropagation then the optimiser's step, and
//! `tests/it/sparse.rs` holds the sparse step to the dense one, bit for bit.

use super::augment::Augmenter;
use super::sparse::{SparseFirstLayer, SparseImage, SparseImages};
use super::{Optimizer, TrainConfig};
use crate::{Dataset, Error, Gradient, Network, Real, Result, Rng, Workspace};

/// How a step is taken: chosen once per run by [`Step::new`].
enum Path<'d> {
    /// ∇C by [`Network::backprop_batch`], then [`Optimizer::step`]: every optimiser, dropout and
    /// augmentation.
    Backprop,
    /// Plain gradient descent fused into backpropagation ([`fused_sgd`]).
    Fused,
    /// [`fused_sgd`] with the first layer on the images' non-zero pixels.
    Sparse {
        index: &'d SparseImages,
        first: Box<SparseFirstLayer>,
        images: Vec<SparseImage<'d>>,
    },
}

/// The training step of one run: the network it trains, the path it takes, and the buffers of
/// a mini-batch (activations, targets, gradient), allocated once.
pub(crate) struct Step<'n, 'd, T: Real> {
    net: &'n mut Network<T>,
    data: &'d Dataset,
    path: Path<'d>,
    ws: Workspace<T>,
    /// The batch's expected outputs y, batch × n_outputs.
    y: Vec<T>,
    /// ∇C on the backprop path; working space shaped like the network on the others.
    grad: Gradient<T>,
    augmenter: Option<Augmenter>,
}

impl<'n, 'd, T: Real> Step<'n, 'd, T> {
    /// The step for training `net` on `data` with `optimizer` and `config`, in mini-batches of
    /// up to `batch_size` samples: the fastest path that gives the notes' update.
    ///
    /// # Errors
    /// [`Error::Config`] for augmentation of data that are not images, or a bad dropout rate.
    pub(crate) fn new(
        net: &'n mut Network<T>,
        optimizer: &Optimizer<T>,
        data: &'d Dataset,
        config: &TrainConfig,
        batch_size: usize,
    ) -> Result<Self> {
        let augmenter = match (config.augment.is_on(), data.image_shape()) {
            (false, _) => None,
            (true, Some((rows, cols))) => Some(Augmenter::new(config.augment, rows, cols)?),
            (true, None) => {
                return Err(Error::Config(
                    "augmentation moves images, but these data have no image shape".into(),
                ))
            }
        };
        let mut ws = Workspace::new(net, batch_size);
        ws.set_dropout(&config.dropout)?;
        let path = if !optimizer.is_plain_sgd() {
            Path::Backprop
        } else if augmenter.is_some() || config.dropout.input > 0.0 {
            Path::Fused
        } else {
            // The index of non-zero pixels is built once per dataset, and only when it will be
            // used.
            let first =
                SparseFirstLayer::new(&net.layers[0], batch_size, crate::Kernels::current());
            let index = first.as_ref().and_then(|_| data.sparse_images());
            match (first, index) {
                (Some(first), Some(index)) => Path::Sparse {
                    index,
                    first: Box::new(first),
                    images: Vec::with_capacity(batch_size),
                },
                _ => Path::Fused,
            }
        };
        Ok(Step {
            y: vec![T::ZERO; batch_size * net.n_outputs()],
            grad: Gradient::zeros_like(net),
            net,
            data,
            path,
            ws,
            augmenter,
        })
    }

    /// One step on the samples `batch`; `next` is the batch after it, whose data are
    /// prefetched. Returns Σ C₀ over the batch before the step; if that is not finite, the
    /// parameters are left as they were on the backprop path (the caller stops).
    ///
    /// # Errors
    /// [`Error::Shape`] if `optimizer` was built for another network.
    pub(crate) fn take(
        &mut self,
        optimizer: &mut Optimizer<T>,
        batch: &[usize],
        next: &[usize],
        dropout_rng: &mut Rng,
        augment_rng: &mut Rng,
    ) -> Result<T> {
        let (data, ws, net, m) = (self.data, &mut self.ws, &mut *self.net, batch.len());
        if let Path::Sparse { index, images, .. } = &mut self.path {
            images.clear();
            images.extend(batch.iter().map(|&i| index.image(i)));
            next.iter().for_each(|&i| index.prefetch(i));
        } else {
            let x = ws.input_mut(m)?;
            data.fill_inputs_and_prefetch(batch, next, x);
            if let Some(augmenter) = self.augmenter.as_mut() {
                for image in x.chunks_exact_mut(net.n_inputs()) {
                    augmenter.apply(image, augment_rng);
                }
            }
        }
        let y = &mut self.y[..m * net.n_outputs()];
        data.fill_targets(batch, y);
        if ws.has_dropout() {
            ws.draw_masks(dropout_rng, m)?;
        }
        let eta = T::from_f64(optimizer.learning_rate());
        Ok(match &mut self.path {
            Path::Backprop => {
                let cost = net.backprop_batch(ws, y, m, &mut self.grad)?;
                if cost.is_finite() {
                    optimizer.step(net, &self.grad)?;
                }
                cost
            }
            Path::Fused => {
                optimizer.count_step();
                fused_sgd(net, ws, y, m, eta, &mut self.grad)?
            }
            Path::Sparse { first, images, .. } => {
                optimizer.count_step();
                sparse_sgd(net, ws, first, images, y, eta, &mut self.grad)
            }
        })
    }

    /// How many samples of the last [`take`](Self::take)'s `batch` the network classified
    /// right before its step.
    pub(crate) fn correct(&self, batch: &[usize]) -> usize {
        let k = self.net.n_outputs();
        let outputs = self.ws.output(batch.len()).chunks_exact(k);
        outputs
            .zip(batch)
            .filter(|(a, &i)| Some(crate::argmax(a)) == self.data.label(i))
            .count()
    }

    /// Whether the first layer visits only the non-zero pixels.
    pub(crate) fn is_sparse(&self) -> bool {
        matches!(self.path, Path::Sparse { .. })
    }

    /// The network as trained so far, with every parameter current.
    pub(crate) fn network(&mut self) -> &Network<T> {
        self.sync();
        self.net
    }

    /// Writes the first layer's weights back from the sparse path, if it holds them.
    fn sync(&mut self) {
        if let Path::Sparse { first, .. } = &mut self.path {
            first.store(&mut self.net.layers[0]);
        }
    }
}

impl<T: Real> Drop for Step<'_, '_, T> {
    /// Leaves the network current, however the run ended.
    fn drop(&mut self) {
        self.sync();
    }
}

/// [`Network::backprop_batch`] and then one step of plain gradient descent,
/// θ ← θ − η·∇C, as [`Optimizer`] with [`crate::UpdateRule::Sgd`] takes it, but each layer is stepped
/// as soon as its ∂C/∂z is known, without writing its ∂C/∂w out (see
/// [`crate::Dense::sgd_step_batch`]; for small f32 layers each sample's step is summed
/// straight into the weights, which rounds differently from summing the gradient first, by an
/// ulp or so). Inputs in `ws.input_mut(batch)`, expected outputs `y` (batch × n_outputs);
/// `scratch` is working space shaped like the network. Returns Σ C₀ of the batch before the
/// step.
///
/// # Errors
/// As [`Network::backprop_batch`] (`scratch` in the place of its gradient).
pub fn fused_sgd<T: Real>(
    net: &mut Network<T>,
    ws: &mut Workspace<T>,
    y: &[T],
    batch: usize,
    eta: T,
    scratch: &mut Gradient<T>,
) -> Result<T> {
    net.check_batch(ws, y, batch, scratch)?;
    let total_cost = net.forward_and_output_error(ws, y, batch);
    for l in (0..net.layers.len()).rev() {
        let (fed, dc_dz, prev) = ws.backward_view(&net.layers, l);
        net.layers[l].sgd_step_batch(batch, fed, dc_dz, eta, &mut scratch.layers[l], prev);
    }
    Ok(total_cost)
}

/// [`fused_sgd`] with the first layer on `first`, for the samples `images` (the workspace's
/// input is not read): the same network bit for bit, without visiting the inputs that are
/// zero. The workspace has no input dropout ([`Step::new`] sees to it).
fn sparse_sgd<T: Real>(
    net: &mut Network<T>,
    ws: &mut Workspace<T>,
    first: &mut SparseFirstLayer,
    images: &[SparseImage<'_>],
    y: &[T],
    eta: T,
    scratch: &mut Gradient<T>,
) -> T {
    let batch = images.len();
    debug_assert!(
        ws.masks[0].is_empty(),
        "the sparse path has no input dropout"
    );
    first.forward(&net.layers[0], images, &mut ws.activations[1]);
    net.forward_impl(ws, batch, true, 1);
    let total_cost = net.output_error(ws, y, batch);
    for l in (1..net.layers.len()).rev() {
        let (fed, dc_dz, prev) = ws.backward_view(&net.layers, l);
        net.layers[l].sgd_step_batch(batch, fed, dc_dz, eta, &mut scratch.layers[l], prev);
    }
    let dc_dz = &ws.dc_dz[0][..batch * net.layers[0].n_out];
    first.sgd_step(images, dc_dz, eta);
    net.layers[0].sgd_step_biases(dc_dz, eta, &mut scratch.layers[0]);
    total_cost
}
