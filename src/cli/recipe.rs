//! A recipe: everything `train` needs to know besides the data. Presets are named recipes;
//! flags given on the command line override the preset's values.

use backprop::{
    Activation, Architecture, Augment, Cost, Dropout, Init, OptimizerConfig, Schedule, TrainConfig,
    UpdateRule,
};
use clap::ValueEnum;
use serde::Serialize;

/// Named recipes: the notes' network, Nielsen's book, and our best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// The notes' network: 784-16-16-10, sigmoid, quadratic cost, SGD η = 1.5, batches of 10,
    /// N(0,1) weights, 30 epochs
    Notes,
    /// Nielsen's chapter 1: 784-30-10, sigmoid, quadratic, η = 3.0 in his convention (1.5
    /// here), 30 epochs, trained on 50,000 images (10,000 held out); he reports 95.42%
    NielsenCh1,
    /// Nielsen's chapter 3: 784-100-10, sigmoid, cross-entropy, N(0, 1/n_in) weights, η = 0.5,
    /// L2 λ = 5.0, 30 epochs on 50,000 images; he reports 97.92% on the validation images
    NielsenCh3,
    /// Our best in at most 5 minutes on 2 cores: 784-800-10 ReLU, softmax, Adam, dropout,
    /// shifted/rotated/scaled digits, cosine schedule
    Best,
    /// The highest accuracy we reach, in up to about 30 minutes: two ReLU layers of 1000,
    /// elastic distortions, more epochs
    Record,
}

/// A complete training setup.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recipe {
    /// All sizes, input first; if absent, `hidden` between the data's input and output sizes.
    pub layers: Option<Vec<usize>>,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Without it, the cost's default output activation.
    pub output_activation: Option<Activation>,
    pub cost: Cost,
    pub init: Init,
    pub optimizer: OptimizerConfig,
    pub train: TrainConfig,
    /// Training images held out for validation, from the end of the training set.
    pub validation: usize,
}

impl Preset {
    /// The preset's recipe.
    pub fn recipe(self) -> Recipe {
        let notes = Recipe {
            layers: None,
            hidden: vec![16, 16],
            activation: Activation::Sigmoid,
            output_activation: None,
            cost: Cost::Quadratic,
            init: Init::Normal,
            optimizer: OptimizerConfig::default(),
            train: TrainConfig::default(),
            validation: 0,
        };
        match self {
            Preset::Notes => notes,
            Preset::NielsenCh1 => Recipe {
                hidden: vec![30],
                validation: 10_000,
                ..notes
            },
            Preset::NielsenCh3 => Recipe {
                hidden: vec![100],
                cost: Cost::CrossEntropy,
                init: Init::Scaled,
                optimizer: OptimizerConfig {
                    rule: UpdateRule::Sgd,
                    learning_rate: 0.5,
                    l2: 5.0,
                },
                validation: 10_000,
                ..notes
            },
            Preset::Best => best(notes),
            Preset::Record => {
                let best = best(notes);
                Recipe {
                    hidden: vec![1000, 1000],
                    train: TrainConfig {
                        epochs: 60,
                        augment: Augment {
                            elastic_alpha: 34.0,
                            elastic_sigma: 4.0,
                            ..best.train.augment
                        },
                        ..best.train
                    },
                    ..best
                }
            }
        }
    }
}

/// The `best` preset, built on the notes' recipe.
fn best(notes: Recipe) -> Recipe {
    Recipe {
        hidden: vec![800],
        activation: Activation::Relu,
        cost: Cost::LogLikelihood,
        init: Init::He,
        optimizer: OptimizerConfig::adam(1e-3),
        train: TrainConfig {
            epochs: 30,
            batch_size: 128,
            schedule: Schedule::Cosine,
            dropout: Dropout {
                input: 0.0,
                hidden: 0.3,
            },
            augment: Augment {
                shift: 2.0,
                rotate: 10.0,
                scale: 0.1,
                ..Augment::default()
            },
            ..TrainConfig::default()
        },
        ..notes
    }
}

impl Recipe {
    /// The architecture for data with `n_in` inputs and `n_out` classes (`source` names the
    /// data in errors). Not yet validated.
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
                    anyhow::bail!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for p in Preset::value_variants() {
            let r = p.recipe();
            r.optimizer.validate().unwrap();
            r.train.validate().unwrap();
            r.architecture(784, 10, "MNIST")
                .unwrap()
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn the_notes_preset_is_the_library_default() {
        let r = Preset::Notes.recipe();
        assert_eq!(r.architecture(784, 10, "x").unwrap(), Architecture::notes());
        assert_eq!(r.optimizer, OptimizerConfig::default());
        assert_eq!(r.train, TrainConfig::default());
        assert_eq!(r.validation, 0);
    }
}
