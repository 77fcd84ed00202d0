//! The flags that describe a network's shape, shared by `train` and `bench`. Each one, when
//! given, overrides the recipe (the preset's or the notes').

use super::recipe::Recipe;
use backprop::{Activation, Cost, Init};
use clap::Args;

#[derive(Debug, Args)]
#[command(next_help_heading = "Network")]
pub struct NetworkArgs {
    /// Every layer size, input first, e.g. 784,16,16,10; must match the data
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "SIZES",
        conflicts_with = "hidden"
    )]
    pub layers: Option<Vec<usize>>,

    /// Hidden layer sizes, e.g. 16,16; the input and output sizes follow from the data
    /// [default: 16,16, or the preset's]
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub hidden: Option<Vec<usize>>,

    /// Activation of the hidden layers: sigmoid, tanh, relu, leaky-relu, identity
    /// [default: sigmoid, or the preset's]
    #[arg(long, value_name = "NAME")]
    pub activation: Option<Activation>,

    /// Activation of the output layer: sigmoid, tanh, relu, leaky-relu, identity, softmax
    /// [default: softmax with the log-likelihood cost, sigmoid otherwise]
    #[arg(long, value_name = "NAME")]
    pub output_activation: Option<Activation>,

    /// Cost of one sample: quadratic (the notes' Σ(a − y)², no ½), cross-entropy (sigmoid
    /// output), log-likelihood (softmax output) [default: quadratic, or the preset's]
    #[arg(long, value_name = "NAME")]
    pub cost: Option<Cost>,

    /// Weight initialisation: normal (N(0,1), the notes'), scaled (N(0,1/n_in)), xavier, he
    /// [default: normal, or the preset's]
    #[arg(long, value_name = "NAME")]
    pub init: Option<Init>,
}

impl NetworkArgs {
    /// Overrides `recipe` with the flags that were given.
    pub fn apply(&self, recipe: &mut Recipe) {
        if let Some(layers) = &self.layers {
            recipe.layers = Some(layers.clone());
        }
        if let Some(hidden) = &self.hidden {
            recipe.layers = None;
            recipe.hidden = hidden.clone();
        }
        if let Some(a) = self.activation {
            recipe.activation = a;
        }
        if let Some(cost) = self.cost {
            // A new cost brings its own default output unless one is given too.
            if cost != recipe.cost {
                recipe.output_activation = None;
            }
            recipe.cost = cost;
        }
        if let Some(o) = self.output_activation {
            recipe.output_activation = Some(o);
        }
        if let Some(init) = self.init {
            recipe.init = init;
        }
    }
}
