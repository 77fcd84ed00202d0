//! The backward pass of one sample with every intermediate kept: what [`Network::backprop`]
//! computes and throws away on its way down — each layer's a, ∂C₀/∂a and δ = ∂C₀/∂z — so that
//! a page or a table can show the nudges of the notes, not only the gradient at the end.
//!
//! ```text
//! forward:   a^(0) = x,  a^(l) = σ(W^(l) a^(l−1) + b^(l))          (2)(3)
//! output:    ∂C₀/∂a^(L) = 2(a^(L) − y)                             from (1)
//! each layer, from L down to 1:
//!            δ_j^(l)   = ∂C₀/∂z_j = σ'(z_j) ∂C₀/∂a_j              (the softmax: its Jacobian)
//!            ∂C₀/∂w_jk = a_k^(l−1) δ_j,   ∂C₀/∂b_j = δ_j
//!            ∂C₀/∂a_k^(l−1) = Σ_j w_jk δ_j
//! ```
//!
//! The gradient comes from the very calls [`Network::backprop`] makes ([`Dense::backprop`],
//! layer after layer), so it is the same bit for bit; δ is [`Activation::backward`], the step
//! [`Dense::backprop`] takes first.
//!
//! [`Dense::backprop`]: crate::Dense::backprop
//! [`Activation::backward`]: crate::Activation::backward

use crate::{Gradient, Network, Real, Result};

/// One layer l of a [`BackwardTrace`].
#[derive(Clone, Debug, PartialEq)]
pub struct LayerBackward<T> {
    /// a^(l), the layer's activations.
    pub a: Vec<T>,
    /// ∂C₀/∂a_j^(l): how C₀ changes with each activation, the "nudge" neuron j wants (its
    /// opposite lowers the cost).
    pub dc_da: Vec<T>,
    /// δ_j^(l) = ∂C₀/∂z_j^(l) = σ'(z_j) ∂C₀/∂a_j.
    pub delta: Vec<T>,
}

/// Forward and backward pass of one sample (x, y), every layer's numbers kept.
#[derive(Clone, Debug, PartialEq)]
pub struct BackwardTrace<T> {
    /// a^(0) = x.
    pub input: Vec<T>,
    /// y, the expected output.
    pub target: Vec<T>,
    /// Layers 1..=L, in forward order.
    pub layers: Vec<LayerBackward<T>>,
    /// C₀ (1).
    pub cost: T,
    /// C₀'s share from each output: C₀ = Σ_j `terms[j]` ((a_j − y_j)² for the quadratic cost).
    pub terms: Vec<T>,
    /// ∂C₀/∂w and ∂C₀/∂b, equal bit for bit to [`Network::backprop`]'s.
    pub gradient: Gradient<T>,
}

impl<T: Real> Network<T> {
    /// [`Network::backprop`] for one sample, keeping each layer's a, ∂C₀/∂a and δ.
    ///
    /// # Errors
    /// [`crate::Error::Shape`] unless `x` has [`Network::n_inputs`] values and `y`
    /// [`Network::n_outputs`].
    pub fn backward_trace(&self, x: &[T], y: &[T]) -> Result<BackwardTrace<T>> {
        self.check_input(x.len(), 1)?;
        self.check_targets(y.len(), 1)?;
        let mut activations = vec![x.to_vec()];
        for layer in &self.layers {
            let a = layer.feedforward(activations.last().unwrap());
            activations.push(a);
        }
        let output = activations.last().unwrap();
        let cost = self.cost.value(output, y);
        let terms = output
            .iter()
            .zip(y)
            .map(|(a, y)| {
                self.cost
                    .value(std::slice::from_ref(a), std::slice::from_ref(y))
            })
            .collect();
        let mut dc_da: Vec<T> = output
            .iter()
            .zip(y)
            .map(|(&a, &y)| self.cost.dc_da(a, y))
            .collect();
        let mut gradient = Gradient::zeros_like(self);
        let mut layers = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let a = &activations[l + 1];
            let mut delta = vec![T::ZERO; layer.n_out];
            layer.activation.backward(a, &dc_da, &mut delta);
            let dc_da_prev = layer.backprop(&activations[l], a, &dc_da, &mut gradient.layers[l]);
            layers.push(LayerBackward {
                a: a.clone(),
                dc_da: std::mem::replace(&mut dc_da, dc_da_prev),
                delta,
            });
        }
        layers.reverse();
        Ok(BackwardTrace {
            input: x.to_vec(),
            target: y.to_vec(),
            layers,
            cost,
            terms,
            gradient,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Activation, Architecture, Cost, Init, Network};

    #[test]
    fn the_trace_is_backprop_with_its_intermediates() {
        let arch = Architecture {
            sizes: vec![5, 4, 3],
            activations: vec![Activation::Tanh, Activation::Softmax],
            cost: Cost::LogLikelihood,
        };
        let net = Network::<f64>::new(&arch, Init::Normal, 2).unwrap();
        let x = [0.1, 0.9, 0.0, 0.4, 0.7];
        let y = [0.0, 1.0, 0.0];
        let t = net.backward_trace(&x, &y).unwrap();
        let (g, c) = net.backprop(&x, &y).unwrap();
        assert_eq!((t.gradient, t.cost), (g.clone(), c));
        assert_eq!(t.layers[1].a, net.feedforward(&x).unwrap());
        // ∂C₀/∂b_j = δ_j, and the terms add up to C₀.
        for (l, layer) in t.layers.iter().enumerate() {
            assert_eq!(layer.delta, g.layers[l].dc_db, "layer {}", l + 1);
        }
        assert!((t.terms.iter().sum::<f64>() - c).abs() < 1e-12);
    }
}
