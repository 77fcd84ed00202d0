//! Buffers for mini-batch passes: the activations and errors of every layer, and the dropout
//! masks, allocated once per run.

use crate::layer::{Dense, PrevLayer};
use crate::{Dropout, Error, Network, Real, Result, Rng};

/// Buffers for mini-batch passes of one network, allocated once: the activations a^(l) of
/// every layer and the errors ∂C/∂z^(l), for up to `capacity` samples; with dropout, the masks
/// and the dropped-out activations too.
#[derive(Clone, Debug)]
pub struct Workspace<T> {
    pub(crate) capacity: usize,
    /// n_0 … n_L.
    pub(crate) sizes: Vec<usize>,
    /// a^(0) (the input) to a^(L), each batch × n_l.
    pub(crate) activations: Vec<Vec<T>>,
    /// ∂C/∂z^(l) for layers 1..=L, each batch × n_l.
    pub(crate) dc_dz: Vec<Vec<T>>,
    /// Probability of keeping each activation of a^(0) … a^(L−1); 1 means no dropout there.
    keep: Vec<f64>,
    /// Dropout masks for a^(0) … a^(L−1): 0 or 1/keep per activation; empty where keep = 1.
    pub(crate) masks: Vec<Vec<T>>,
    /// a^(l) ⊙ mask^(l), what the next layer is fed during training; empty where keep = 1.
    pub(crate) dropped: Vec<Vec<T>>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for mini-batches of up to `capacity` samples through `net`.
    pub fn new(net: &Network<T>, capacity: usize) -> Self {
        let sizes = net.architecture().sizes;
        Workspace {
            capacity,
            sizes: sizes.clone(),
            activations: sizes.iter().map(|&n| vec![T::ZERO; n * capacity]).collect(),
            dc_dz: sizes[1..]
                .iter()
                .map(|&n| vec![T::ZERO; n * capacity])
                .collect(),
            keep: vec![1.0; sizes.len() - 1],
            masks: vec![Vec::new(); sizes.len() - 1],
            dropped: vec![Vec::new(); sizes.len() - 1],
        }
    }

    /// Turns dropout on for training passes ([`Network::backprop_batch`]); evaluation
    /// ([`Network::forward_batch`]) never drops anything. Masks are drawn by
    /// [`Workspace::draw_masks`].
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) if a rate is outside [0, 1).
    pub fn set_dropout(&mut self, dropout: &Dropout) -> Result<()> {
        dropout.validate()?;
        for l in 0..self.keep.len() {
            let rate = if l == 0 {
                dropout.input
            } else {
                dropout.hidden
            };
            self.keep[l] = 1.0 - rate;
            let len = if rate > 0.0 {
                self.activations[l].len()
            } else {
                0
            };
            self.masks[l] = vec![T::ONE; len];
            self.dropped[l] = vec![T::ZERO; len];
        }
        Ok(())
    }

    /// Draws new dropout masks for the next `batch` samples: each activation is kept with
    /// probability keep = 1 − rate and then scaled by 1/keep ("inverted dropout"), so nothing
    /// changes at evaluation time.
    ///
    /// # Errors
    /// [`Error::Shape`] if `batch` is more than the workspace holds.
    pub fn draw_masks(&mut self, rng: &mut Rng, batch: usize) -> Result<()> {
        self.check_capacity(batch)?;
        for ((mask, &keep), &n) in self.masks.iter_mut().zip(&self.keep).zip(&self.sizes) {
            if mask.is_empty() {
                continue;
            }
            let scale = T::from_f64(1.0 / keep);
            for m in &mut mask[..batch * n] {
                *m = if rng.uniform() < keep { scale } else { T::ZERO };
            }
        }
        Ok(())
    }

    /// The dropout mask last drawn for a^(l) (l = 0 is the input), batch × n_l: 0 for dropped,
    /// 1/keep for kept. `None` where there is no dropout, no layer `l`, or fewer than `batch`
    /// samples.
    pub fn dropout_mask(&self, l: usize, batch: usize) -> Option<&[T]> {
        let mask = self.masks.get(l)?;
        if mask.is_empty() || batch > self.capacity {
            return None;
        }
        Some(&mask[..batch * self.sizes[l]])
    }

    /// The most samples a batch may have in this workspace.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether any dropout is on.
    pub fn has_dropout(&self) -> bool {
        self.masks.iter().any(|m| !m.is_empty())
    }

    /// The output activations of the last pass, batch × n_outputs (batch ≤ capacity).
    pub(crate) fn output(&self, batch: usize) -> &[T] {
        let a = &self.activations[self.activations.len() - 1];
        &a[..batch * self.sizes[self.sizes.len() - 1]]
    }

    /// The activations a^(l) of layer `l` (0 the input) in the last pass, batch × n_l; `None`
    /// if there is no layer `l` or the workspace holds fewer than `batch` samples.
    pub fn activations(&self, l: usize, batch: usize) -> Option<&[T]> {
        let a = self.activations.get(l)?;
        (batch <= self.capacity).then(|| &a[..batch * self.sizes[l]])
    }

    /// What layer l's backward step needs: the activations it was fed (after dropout), its
    /// ∂C/∂z, and the previous layer's activations, mask and ∂C/∂z buffer (none for layer 0:
    /// nobody needs ∂C/∂x).
    pub(crate) fn backward_view(
        &mut self,
        layers: &[Dense<T>],
        l: usize,
    ) -> (&[T], &[T], Option<PrevLayer<'_, T>>) {
        let (before, after) = self.dc_dz.split_at_mut(l);
        let dropout = !self.masks[l].is_empty();
        let prev = match l {
            0 => None,
            _ => Some(PrevLayer {
                activation: layers[l - 1].activation,
                a: &self.activations[l],
                mask: dropout.then_some(&self.masks[l][..]),
                dc_dz: &mut before[l - 1][..],
            }),
        };
        let fed = if dropout {
            &self.dropped[l]
        } else {
            &self.activations[l]
        };
        (fed, &after[0], prev)
    }

    /// The input rows a^(0) of the next batch, batch × n_inputs, to be filled by the caller.
    ///
    /// # Errors
    /// [`Error::Shape`] if `batch` is more than the workspace holds ([`Workspace::capacity`]).
    ///
    /// # Examples
    /// ```
    /// use backprop::{Architecture, Init, Network, Workspace};
    /// let net = Network::<f32>::new(&Architecture::sigmoid(vec![2, 3, 1]), Init::Normal, 1).unwrap();
    /// let mut ws = Workspace::new(&net, 4);
    /// ws.input_mut(4).unwrap().copy_from_slice(&[0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 1.0]);
    /// assert_eq!(net.forward_batch(&mut ws, 4).unwrap().len(), 4);
    /// let err = ws.input_mut(5).unwrap_err();
    /// assert!(err.to_string().contains("a batch of 5 samples does not fit a workspace made for 4"));
    /// ```
    pub fn input_mut(&mut self, batch: usize) -> Result<&mut [T]> {
        self.check_capacity(batch)?;
        Ok(&mut self.activations[0][..batch * self.sizes[0]])
    }

    fn check_capacity(&self, batch: usize) -> Result<()> {
        if batch > self.capacity {
            return Err(Error::Shape(format!(
                "a batch of {batch} samples does not fit a workspace made for {}",
                self.capacity
            )));
        }
        Ok(())
    }
}
