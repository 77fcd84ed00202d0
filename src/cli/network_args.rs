//! The flags that describe a network's shape, shared by `train` and `bench`.

use anyhow::bail;
use backprop::{Activation, Architecture, Cost, Init};
use clap::Args;

#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Every layer size, input first, e.g. 784,16,16,10; must match the data
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "SIZES",
        conflicts_with = "hidden"
    )]
    pub layers: Option<Vec<usize>>,

    /// Hidden layer sizes; the input and output sizes follow from the data
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "SIZES",
        default_value = "16,16"
    )]
    pub hidden: Vec<usize>,

    /// Activation of the hidden layers: sigmoid, tanh, relu, identity
    #[arg(long, default_value = "sigmoid", value_name = "NAME")]
    pub activation: Activation,

    /// Activation of the output layer: sigmoid, tanh, relu, identity, softmax
    /// [default: softmax with the log-likelihood cost, sigmoid otherwise]
    #[arg(long, value_name = "NAME")]
    pub output_activation: Option<Activation>,

    /// Cost of one sample: quadratic (the notes' Σ(a − y)², no ½), cross-entropy (sigmoid
    /// output), log-likelihood (softmax output)
    #[arg(long, default_value = "quadratic", value_name = "NAME")]
    pub cost: Cost,

    /// Weight initialisation: normal (N(0,1), the notes'), scaled (N(0,1/n_in)), xavier, he
    #[arg(long, default_value = "normal", value_name = "NAME")]
    pub init: Init,
}

impl NetworkArgs {
    /// The architecture these flags describe for data with `n_in` inputs and `n_out` classes
    /// (`source` names the data in errors). Not yet validated.
    pub fn architecture(
        &self,
        n_in: usize,
        n_out: usize,
        source: &str,
    ) -> anyhow::Result<Architecture> {
        let sizes = match &self.layers {
            Some(layers) => {
                if layers.len() < 2 || layers[0] != n_in || layers[layers.len() - 1] != n_out {
                    let given: Vec<String> = layers.iter().map(|s| s.to_string()).collect();
                    bail!(
                        "--layers {}: {source} needs {n_in} inputs and {n_out} outputs, e.g. --layers {n_in},16,16,{n_out} \
                         (or give only --hidden)",
                        given.join(",")
                    );
                }
                layers.clone()
            }
            None => {
                let mut sizes = vec![n_in];
                sizes.extend(&self.hidden);
                sizes.push(n_out);
                sizes
            }
        };
        let output = self.output_activation.unwrap_or(self.cost.default_output());
        Ok(Architecture::uniform(
            sizes,
            self.activation,
            output,
            self.cost,
        ))
    }
}
