//! Michael Nielsen's `network2.py` model files (chapter 3 of "Neural Networks and Deep
//! Learning"): `Network.save(filename)` writes, and `load(filename)` reads,
//!
//! ```text
//! {"sizes": [784, 30, 10],
//!  "weights": [w⁽¹⁾ as n₁ rows of n₀, w⁽²⁾ ...],     w[j][k] = w_jk, as ours
//!  "biases":  [b⁽¹⁾ as n₁ rows of [b_j], ...],      column vectors
//!  "cost": "CrossEntropyCost" | "QuadraticCost"}
//! ```
//!
//! His networks are sigmoid on every layer. His quadratic cost is ½Σ(a − y)² where ours is
//! Σ(a − y)²: the same network, the same outputs; only the gradient's scale differs, which is why
//! our η = 1.5 trains like his η = 3.0.

use crate::{Activation, Architecture, Cost, Dense, Error, Network, Result};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Network2 {
    sizes: Vec<usize>,
    weights: Vec<Vec<Vec<f64>>>,
    biases: Vec<Vec<Vec<f64>>>,
    cost: String,
}

/// The JSON `network2.py`'s `load` reads.
///
/// # Errors
/// [`Error::Config`] unless every layer is sigmoid and the cost quadratic or cross-entropy
/// (all `network2.py` can describe).
pub fn to_network2_json(net: &Network<f32>) -> Result<String> {
    if let Some(l) = net
        .layers
        .iter()
        .position(|l| l.activation != Activation::Sigmoid)
    {
        return Err(Error::Config(format!(
            "network2.py networks are sigmoid on every layer, but layer {} is {}",
            l + 1,
            net.layers[l].activation
        )));
    }
    let cost = match net.cost {
        Cost::Quadratic => "QuadraticCost",
        Cost::CrossEntropy => "CrossEntropyCost",
        c => {
            return Err(Error::Config(format!(
                "network2.py has the quadratic and cross-entropy costs, not {c}"
            )))
        }
    };
    let file = Network2 {
        sizes: net.architecture().sizes,
        weights: net
            .layers
            .iter()
            .map(|l| {
                l.weights
                    .chunks_exact(l.n_in)
                    .map(|row| row.iter().map(|&w| w as f64).collect())
                    .collect()
            })
            .collect(),
        biases: net
            .layers
            .iter()
            .map(|l| l.biases.iter().map(|&b| vec![b as f64]).collect())
            .collect(),
        cost: cost.into(),
    };
    serde_json::to_string(&file).map_err(|e| Error::Config(e.to_string()))
}

/// A network from the JSON `network2.py`'s `save` writes.
///
/// # Errors
/// [`Error::ModelBytes`] if it is not such JSON, the sizes and the matrices disagree, a value
/// is not finite, or the cost is not one of network2.py's.
pub fn from_network2_json(text: &str) -> Result<Network<f32>> {
    let bad = |m: String| Error::ModelBytes(format!("network2.py JSON: {m}"));
    let file: Network2 = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let cost = match file.cost.as_str() {
        "QuadraticCost" => Cost::Quadratic,
        "CrossEntropyCost" => Cost::CrossEntropy,
        c => return Err(bad(format!("unknown cost {c:?}"))),
    };
    let arch = Architecture {
        cost,
        ..Architecture::sigmoid(file.sizes.clone())
    };
    arch.validate().map_err(|e| bad(e.to_string()))?;
    let n = file.sizes.len() - 1;
    if file.weights.len() != n || file.biases.len() != n {
        return Err(bad(format!(
            "{} sizes need {n} weight matrices and bias vectors, got {} and {}",
            n + 1,
            file.weights.len(),
            file.biases.len()
        )));
    }
    let mut layers = Vec::with_capacity(n);
    for (l, s) in file.sizes.windows(2).enumerate() {
        let (n_in, n_out) = (s[0], s[1]);
        let mut layer = Dense::zeros(n_in, n_out, Activation::Sigmoid);
        let w = &file.weights[l];
        let b = &file.biases[l];
        if w.len() != n_out || w.iter().any(|r| r.len() != n_in) {
            return Err(bad(format!("weights {l} are not {n_out} rows of {n_in}")));
        }
        if b.len() != n_out || b.iter().any(|r| r.len() != 1) {
            return Err(bad(format!("biases {l} are not {n_out} rows of 1")));
        }
        for (dst, &v) in layer.weights.iter_mut().zip(w.iter().flatten()) {
            *dst = v as f32;
        }
        for (dst, r) in layer.biases.iter_mut().zip(b) {
            *dst = r[0] as f32;
        }
        if !layer
            .weights
            .iter()
            .chain(&layer.biases)
            .all(|v| v.is_finite())
        {
            return Err(bad(format!(
                "layer {l} has a value that is not a finite f32"
            )));
        }
        layers.push(layer);
    }
    Ok(Network { layers, cost })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_written_network2_file_gives_the_outputs_of_its_formula() {
        // 2-2-1: a = σ(W2 σ(W1 x + b1) + b2), as network2.py's feedforward.
        let text = r#"{"sizes": [2, 2, 1], "weights": [[[1.0, -1.0], [0.5, 2.0]], [[1.5, -0.5]]],
                      "biases": [[[0.0], [-1.0]], [[0.25]]], "cost": "CrossEntropyCost"}"#;
        let net = from_network2_json(text).unwrap();
        let s = |z: f64| 1.0 / (1.0 + (-z).exp());
        let x = [0.3f64, 0.7];
        let h = [s(x[0] - x[1]), s(0.5 * x[0] + 2.0 * x[1] - 1.0)];
        let expected = s(1.5 * h[0] - 0.5 * h[1] + 0.25);
        let a = net.feedforward(&[0.3, 0.7]).unwrap()[0] as f64;
        assert!((a - expected).abs() < 1e-6, "{a} vs {expected}");
        assert_eq!(net.cost, Cost::CrossEntropy);
        // And back: the same numbers.
        let again = from_network2_json(&to_network2_json(&net).unwrap()).unwrap();
        assert_eq!(again, net);
    }

    #[test]
    fn bad_files_and_networks_it_cannot_describe_are_refused() {
        let err = from_network2_json(
            r#"{"sizes":[2,1],"weights":[[[1.0]]],"biases":[[[0.0]]],"cost":"QuadraticCost"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("weights 0 are not 1 rows of 2"), "{err}");
        assert!(from_network2_json("{}").is_err());
        let relu = Network::<f32>::new(
            &Architecture::uniform(
                vec![2, 2],
                Activation::Relu,
                Activation::Relu,
                Cost::Quadratic,
            ),
            crate::Init::Normal,
            1,
        )
        .unwrap();
        assert!(to_network2_json(&relu)
            .unwrap_err()
            .to_string()
            .contains("sigmoid on every layer"));
    }
}
