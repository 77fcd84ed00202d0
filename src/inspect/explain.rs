//! The notes' worked example, computed: one forward pass and every term of the chain rule, for
//! a chain of single neurons and for a small layer of several.
//!
//! `backprop explain` prints these traces. Every number in them comes from the library's own
//! pieces — [`Dense::feedforward`] for a, [`Activation::sigma_prime`] for σ'(z),
//! [`Cost::value`] and [`Cost::dc_da`] for C₀ and 2(a − y) — and the tests check the products
//! against [`Network::backprop`] as well as against a hand computation.
//!
//! The notes give only a^(L) = 0.66 and y = 1 for the chain (C₀ = (0.66 − 1)² = 0.1156). The
//! input, weights and biases of [`ChainConfig::default`] are chosen so that the chain gives
//! a^(L) = 0.659993 and C₀ = 0.115605, the notes' figures to four digits;
//! the layer example's numbers are this crate's choice too.

use crate::{Activation, Cost, Dense, Error, Network, Result};
use serde::Serialize;

/// The chain of the notes: input → hidden → hidden → output, one sigmoid neuron each.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainConfig {
    /// a^(0), the input.
    pub input: f64,
    /// w^(1), …, w^(L), one per layer.
    pub weights: Vec<f64>,
    /// b^(1), …, b^(L).
    pub biases: Vec<f64>,
    /// y, the expected output.
    pub target: f64,
    /// η of the gradient-descent step.
    pub learning_rate: f64,
}

impl Default for ChainConfig {
    /// x = 0.5, w = (0.8, 1.2, 1.61), b = (0.1, −0.4, −0.28), y = 1, η = 1.5 (the `train`
    /// default): a^(L) = 0.6600 and C₀ = 0.1156 to four digits, the notes' figures.
    fn default() -> Self {
        ChainConfig {
            input: 0.5,
            weights: vec![0.8, 1.2, 1.61],
            biases: vec![0.1, -0.4, -0.28],
            target: 1.0,
            learning_rate: 1.5,
        }
    }
}

/// One neuron of the chain, forward and backward.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChainStep {
    /// 1-based layer; the last is L.
    pub layer: usize,
    /// w^(l).
    pub w: f64,
    /// b^(l).
    pub b: f64,
    /// a^(l−1), which is also ∂z^(l)/∂w^(l).
    pub a_prev: f64,
    /// z^(l) = w^(l) a^(l−1) + b^(l)  (2).
    pub z: f64,
    /// a^(l) = σ(z^(l))  (3).
    pub a: f64,
    /// ∂C₀/∂a^(l): 2(a^(L) − y) at the output, passed back from layer l+1 elsewhere.
    pub dc_da: f64,
    /// ∂a^(l)/∂z^(l) = σ'(z^(l)).
    pub sigma_prime: f64,
    /// ∂C₀/∂w^(l) = a^(l−1) σ'(z^(l)) ∂C₀/∂a^(l).
    pub dc_dw: f64,
    /// ∂C₀/∂b^(l) = 1 · σ'(z^(l)) ∂C₀/∂a^(l).
    pub dc_db: f64,
    /// ∂C₀/∂a^(l−1) = w^(l) σ'(z^(l)) ∂C₀/∂a^(l).
    pub dc_da_prev: f64,
    /// w^(l) − η ∂C₀/∂w^(l).
    pub new_w: f64,
    /// b^(l) − η ∂C₀/∂b^(l).
    pub new_b: f64,
}

/// The whole worked example for the chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChainTrace {
    /// a^(0).
    pub input: f64,
    /// y.
    pub target: f64,
    /// η.
    pub learning_rate: f64,
    /// Layers 1..=L, in forward order.
    pub steps: Vec<ChainStep>,
    /// C₀ = (a^(L) − y)²  (1).
    pub cost: f64,
    /// a^(L) after the gradient-descent step.
    pub new_output: f64,
    /// C₀ after the step.
    pub new_cost: f64,
}

/// A layer L of several neurons fed by a layer L−1 of several, to show the sum over j.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerConfig {
    /// a_k^(L−1).
    pub a_prev: Vec<f64>,
    /// w_jk^(L), n_L rows of n_(L−1), row-major.
    pub weights: Vec<f64>,
    /// b_j^(L).
    pub biases: Vec<f64>,
    /// y_j.
    pub target: Vec<f64>,
}

impl Default for LayerConfig {
    /// Two neurons in L−1 with a = (0.6, 0.3), three in L, y = (1, 0, 0).
    fn default() -> Self {
        LayerConfig {
            a_prev: vec![0.6, 0.3],
            weights: vec![0.5, -0.3, 0.8, 0.2, -0.6, 0.9],
            biases: vec![0.1, -0.2, 0.0],
            target: vec![1.0, 0.0, 0.0],
        }
    }
}

/// The worked example for a layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerTrace {
    /// a_k^(L−1).
    pub a_prev: Vec<f64>,
    /// w_jk^(L), row-major n_L × n_(L−1).
    pub weights: Vec<f64>,
    /// b_j^(L).
    pub biases: Vec<f64>,
    /// y_j.
    pub target: Vec<f64>,
    /// z_j^(L) = Σ_k w_jk a_k^(L−1) + b_j.
    pub z: Vec<f64>,
    /// a_j^(L) = σ(z_j).
    pub a: Vec<f64>,
    /// C₀ = Σ_j (a_j − y_j)².
    pub cost: f64,
    /// ∂C₀/∂a_j^(L) = 2(a_j − y_j).
    pub dc_da: Vec<f64>,
    /// σ'(z_j).
    pub sigma_prime: Vec<f64>,
    /// `terms[k][j]` = w_jk σ'(z_j) ∂C₀/∂a_j: what neuron j passes back to neuron k.
    pub terms: Vec<Vec<f64>>,
    /// ∂C₀/∂a_k^(L−1) = Σ_j `terms[k][j]`.
    pub dc_da_prev: Vec<f64>,
    /// ∂C₀/∂w_jk = a_k^(L−1) σ'(z_j) ∂C₀/∂a_j, row-major.
    pub dc_dw: Vec<f64>,
    /// ∂C₀/∂b_j = σ'(z_j) ∂C₀/∂a_j.
    pub dc_db: Vec<f64>,
}

const SIGMOID: Activation = Activation::Sigmoid;
const COST: Cost = Cost::Quadratic;

fn single(w: f64, b: f64) -> Dense<f64> {
    let mut layer = Dense::zeros(1, 1, SIGMOID);
    layer.weights[0] = w;
    layer.biases[0] = b;
    layer
}

fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::Config(format!("{what} must be finite numbers")))
    }
}

/// Runs the chain example: forward, backward, one gradient-descent step, forward again.
///
/// # Errors
/// [`Error::Config`] if the weights and biases differ in number, there are none, or a value is
/// not finite.
pub fn chain(config: &ChainConfig) -> Result<ChainTrace> {
    let n = config.weights.len();
    if n == 0 || config.biases.len() != n {
        return Err(Error::Config(format!(
            "the chain needs one weight and one bias per layer; got {} weights and {} biases",
            n,
            config.biases.len()
        )));
    }
    check_finite("the weights", &config.weights)?;
    check_finite("the biases", &config.biases)?;
    check_finite(
        "the input, target and learning rate",
        &[config.input, config.target, config.learning_rate],
    )?;
    let net = Network {
        layers: config
            .weights
            .iter()
            .zip(&config.biases)
            .map(|(&w, &b)| single(w, b))
            .collect(),
        cost: COST,
    };
    // Forward: a^(0) = x, then (2) and (3) layer by layer.
    let mut a = vec![config.input];
    for layer in &net.layers {
        a.push(layer.feedforward(&[a[a.len() - 1]])[0]);
    }
    let output = a[n];
    let cost = COST.value(&[output], &[config.target]);
    // Backward: ∂C₀/∂a^(L) = 2(a^(L) − y), then the chain rule layer by layer.
    let mut dc_da = COST.dc_da(output, config.target);
    let mut steps = Vec::with_capacity(n);
    for (l, layer) in net.layers.iter().enumerate().rev() {
        let (w, b) = (layer.weights[0], layer.biases[0]);
        let sigma_prime = SIGMOID.sigma_prime(a[l + 1]);
        let dc_dw = a[l] * sigma_prime * dc_da;
        let dc_db = 1.0 * sigma_prime * dc_da;
        let dc_da_prev = w * sigma_prime * dc_da;
        steps.push(ChainStep {
            layer: l + 1,
            w,
            b,
            a_prev: a[l],
            z: w * a[l] + b,
            a: a[l + 1],
            dc_da,
            sigma_prime,
            dc_dw,
            dc_db,
            dc_da_prev,
            new_w: w - config.learning_rate * dc_dw,
            new_b: b - config.learning_rate * dc_db,
        });
        dc_da = dc_da_prev;
    }
    steps.reverse();
    // The step θ ← θ − η∇C₀, and the same input through the new network.
    let stepped = Network {
        layers: steps.iter().map(|s| single(s.new_w, s.new_b)).collect(),
        cost: COST,
    };
    let new_output = stepped.feedforward(&[config.input])?[0];
    Ok(ChainTrace {
        input: config.input,
        target: config.target,
        learning_rate: config.learning_rate,
        steps,
        cost,
        new_output,
        new_cost: COST.value(&[new_output], &[config.target]),
    })
}

/// Runs the layer example: forward through one layer, then ∂C₀/∂w, ∂C₀/∂b and the sum over j
/// that gives ∂C₀/∂a_k^(L−1).
///
/// # Errors
/// [`Error::Config`] if the sizes do not fit (weights must be n_L × n_(L−1) with n_L the length
/// of the target and of the biases) or a value is not finite.
pub fn layer(config: &LayerConfig) -> Result<LayerTrace> {
    let (n_in, n_out) = (config.a_prev.len(), config.target.len());
    if n_in == 0
        || n_out == 0
        || config.weights.len() != n_in * n_out
        || config.biases.len() != n_out
    {
        return Err(Error::Config(format!(
            "the layer example needs n_L × n_(L−1) weights and n_L biases: with {n_in} inputs and \
             {n_out} targets that is {} weights and {n_out} biases, got {} and {}",
            n_in * n_out,
            config.weights.len(),
            config.biases.len()
        )));
    }
    for (what, v) in [
        ("the inputs", &config.a_prev),
        ("the weights", &config.weights),
        ("the biases", &config.biases),
        ("the targets", &config.target),
    ] {
        check_finite(what, v)?;
    }
    let mut dense = Dense::zeros(n_in, n_out, SIGMOID);
    dense.weights.clone_from(&config.weights);
    dense.biases.clone_from(&config.biases);
    let a = dense.feedforward(&config.a_prev);
    let z: Vec<f64> = (0..n_out)
        .map(|j| {
            (0..n_in)
                .map(|k| dense.w(j, k) * config.a_prev[k])
                .sum::<f64>()
                + dense.biases[j]
        })
        .collect();
    let cost = COST.value(&a, &config.target);
    let dc_da: Vec<f64> = a
        .iter()
        .zip(&config.target)
        .map(|(&a, &y)| COST.dc_da(a, y))
        .collect();
    let sigma_prime: Vec<f64> = a.iter().map(|&a| SIGMOID.sigma_prime(a)).collect();
    let terms: Vec<Vec<f64>> = (0..n_in)
        .map(|k| {
            (0..n_out)
                .map(|j| dense.w(j, k) * sigma_prime[j] * dc_da[j])
                .collect()
        })
        .collect();
    let dc_da_prev = terms.iter().map(|t| t.iter().sum()).collect();
    let dc_dw = (0..n_out)
        .flat_map(|j| (0..n_in).map(move |k| (j, k)))
        .map(|(j, k)| config.a_prev[k] * sigma_prime[j] * dc_da[j])
        .collect();
    let dc_db = (0..n_out).map(|j| sigma_prime[j] * dc_da[j]).collect();
    Ok(LayerTrace {
        a_prev: config.a_prev.clone(),
        weights: config.weights.clone(),
        biases: config.biases.clone(),
        target: config.target.clone(),
        z,
        a,
        cost,
        dc_da,
        sigma_prime,
        terms,
        dc_da_prev,
        dc_dw,
        dc_db,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayerGradient;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-4, "{a} vs {b}");
    }

    // The chain by hand (σ(z) = 1/(1 + e^−z), σ' = a(1 − a)), four decimals at each step:
    //   z1 = 0.8·0.5 + 0.1            = 0.5      a1 = σ(0.5)    = 0.6225
    //   z2 = 1.2·0.6225 − 0.4         = 0.3470   a2 = σ(0.3470) = 0.5859
    //   z3 = 1.61·0.5859 − 0.28      = 0.6633   a3 = σ(0.6633) = 0.6600   (the notes' 0.66)
    //   C0 = (0.6600 − 1)²            = 0.1156                              (the notes' 0.1156)
    //   ∂C0/∂a3 = 2(0.6600 − 1)       = −0.6800
    //   σ'(z3)  = 0.6600·0.3400       = 0.2244
    //   ∂C0/∂w3 = 0.5859·0.2244·(−0.6800) = −0.0894
    //   ∂C0/∂b3 = 0.2244·(−0.6800)    = −0.1526
    //   ∂C0/∂a2 = 1.61·(−0.1526)      = −0.2457
    //   σ'(z2)  = 0.5859·0.4141       = 0.2426
    //   ∂C0/∂w2 = 0.6225·0.2426·(−0.2457) = −0.0371
    //   ∂C0/∂b2 = 0.2426·(−0.2457)    = −0.0596
    //   ∂C0/∂a1 = 1.2·(−0.0596)       = −0.0715
    //   σ'(z1)  = 0.6225·0.3775       = 0.2350
    //   ∂C0/∂w1 = 0.5·0.2350·(−0.0715)    = −0.0084
    //   ∂C0/∂b1 = 0.2350·(−0.0715)    = −0.0168
    //   step, η = 1.5: w3 = 1.61 + 1.5·0.0894 = 1.7441, b3 = −0.28 + 1.5·0.1526 = −0.0511
    #[test]
    fn chain_matches_the_hand_computation() {
        let t = chain(&ChainConfig::default()).unwrap();
        let s = &t.steps;
        for (step, (z, a)) in s
            .iter()
            .zip([(0.5, 0.6225), (0.3470, 0.5859), (0.6633, 0.6600)])
        {
            close(step.z, z);
            close(step.a, a);
        }
        close(t.cost, 0.1156);
        close(s[2].dc_da, -0.6800);
        close(s[2].sigma_prime, 0.2244);
        close(s[2].dc_dw, -0.0894);
        close(s[2].dc_db, -0.1526);
        close(s[2].dc_da_prev, -0.2457);
        close(s[1].dc_da, -0.2457);
        close(s[1].sigma_prime, 0.2426);
        close(s[1].dc_dw, -0.0371);
        close(s[1].dc_db, -0.0596);
        close(s[1].dc_da_prev, -0.0715);
        close(s[0].sigma_prime, 0.2350);
        close(s[0].dc_dw, -0.0084);
        close(s[0].dc_db, -0.0168);
        close(s[2].new_w, 1.7441);
        close(s[2].new_b, -0.0511);
        assert!(t.new_cost < t.cost, "one step downhill lowers the cost");
    }

    #[test]
    fn chain_and_layer_agree_with_network_backprop() {
        let c = ChainConfig::default();
        let t = chain(&c).unwrap();
        let net = Network {
            layers: c
                .weights
                .iter()
                .zip(&c.biases)
                .map(|(&w, &b)| single(w, b))
                .collect(),
            cost: COST,
        };
        let (grad, cost) = net.backprop(&[c.input], &[c.target]).unwrap();
        assert_eq!(cost, t.cost);
        for (g, s) in grad.layers.iter().zip(&t.steps) {
            close(g.dc_dw[0], s.dc_dw);
            close(g.dc_db[0], s.dc_db);
        }

        let lc = LayerConfig::default();
        let lt = layer(&lc).unwrap();
        let mut dense = Dense::zeros(2, 3, SIGMOID);
        dense.weights.clone_from(&lc.weights);
        dense.biases.clone_from(&lc.biases);
        let mut g = LayerGradient::zeros_like(&dense);
        let dc_da_prev = dense.backprop(&lc.a_prev, &lt.a, &lt.dc_da, &mut g);
        for (x, y) in dc_da_prev.iter().zip(&lt.dc_da_prev) {
            close(*x, *y);
        }
        for (x, y) in g
            .dc_dw
            .iter()
            .zip(&lt.dc_dw)
            .chain(g.dc_db.iter().zip(&lt.dc_db))
        {
            close(*x, *y);
        }
    }

    // The layer by hand, a^(L−1) = (0.6, 0.3), y = (1, 0, 0):
    //   z0 = 0.5·0.6 − 0.3·0.3 + 0.1 = 0.31   a0 = σ(0.31) = 0.5769  σ' = 0.2441  2(a−y) = −0.8462
    //   z1 = 0.8·0.6 + 0.2·0.3 − 0.2 = 0.34   a1 = σ(0.34) = 0.5842  σ' = 0.2429  2(a−y) =  1.1684
    //   z2 = −0.6·0.6 + 0.9·0.3      = −0.09  a2 = σ(−0.09) = 0.4775 σ' = 0.2495  2(a−y) =  0.9550
    //   C0 = 0.4231² + 0.5842² + 0.4775² = 0.1790 + 0.3413 + 0.2280 = 0.7483
    //   σ'·2(a−y) per j: −0.2066, 0.2838, 0.2383
    //   ∂C0/∂a_0^(L−1) = 0.5·(−0.2066) + 0.8·0.2838 − 0.6·0.2383 = −0.1033 + 0.2271 − 0.1430 = −0.0192
    //   ∂C0/∂a_1^(L−1) = −0.3·(−0.2066) + 0.2·0.2838 + 0.9·0.2383 = 0.0620 + 0.0568 + 0.2144 = 0.3332
    //   ∂C0/∂w_10 = 0.6·0.2838 = 0.1703
    #[test]
    fn layer_matches_the_hand_computation() {
        let t = layer(&LayerConfig::default()).unwrap();
        for (x, y) in t.z.iter().zip([0.31, 0.34, -0.09]) {
            close(*x, y);
        }
        for (x, y) in t.a.iter().zip([0.5769, 0.5842, 0.4775]) {
            close(*x, y);
        }
        close(t.cost, 0.7483);
        close(t.terms[0][0], -0.1033);
        close(t.terms[0][1], 0.2271);
        close(t.terms[1][2], 0.2144);
        close(t.dc_da_prev[0], -0.0192);
        close(t.dc_da_prev[1], 0.3332);
        close(t.dc_dw[2], 0.1703);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = ChainConfig::default();
        c.biases.pop();
        assert!(chain(&c)
            .unwrap_err()
            .to_string()
            .contains("3 weights and 2 biases"));
        let c = ChainConfig {
            input: f64::NAN,
            ..Default::default()
        };
        assert!(chain(&c).is_err());
        let l = LayerConfig {
            weights: vec![1.0; 5],
            ..Default::default()
        };
        assert!(layer(&l).unwrap_err().to_string().contains("6 weights"));
    }
}
