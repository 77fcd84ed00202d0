//! The optimiser's flags, shared by `train` and `bench`. Each one, when given, overrides the
//! recipe (the preset's or the notes').

use super::recipe::Recipe;
use anyhow::bail;
use backprop::UpdateRule;
use clap::Args;

#[derive(Debug, Args)]
#[command(next_help_heading = "Optimiser")]
pub struct OptimArgs {
    /// Update rule: sgd (the notes'), momentum, nesterov, adam, adamw [default: sgd, or the preset's]
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(UpdateRule::NAMES))]
    pub optimizer: Option<String>,

    /// η, the learning rate, at most 1000; with sgd, 1.5 and the notes' cost equal Nielsen's
    /// η = 3.0 with his ½Σ(a − y)² [default: 1.5, or the preset's]
    #[arg(long, value_name = "ETA", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,

    /// λ of L2 regularisation, Nielsen's w ← (1 − ηλ/n)·w − η·∂C/∂w with n the number of
    /// training images [default: 0, or the preset's]
    #[arg(long, value_name = "LAMBDA", allow_negative_numbers = true)]
    pub l2: Option<f64>,

    /// μ of momentum and nesterov [default: 0.9]
    #[arg(long, value_name = "MU", allow_negative_numbers = true)]
    pub momentum: Option<f64>,

    /// β₁ of adam and adamw [default: 0.9]
    #[arg(long, value_name = "BETA1", allow_negative_numbers = true)]
    pub beta1: Option<f64>,

    /// β₂ of adam and adamw [default: 0.999]
    #[arg(long, value_name = "BETA2", allow_negative_numbers = true)]
    pub beta2: Option<f64>,

    /// ε of adam and adamw [default: 1e-8]
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub epsilon: Option<f64>,

    /// Decoupled weight decay d of adamw, w ← (1 − η·d)·w [default: 0.01]
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
}

impl OptimArgs {
    /// Overrides `recipe` with the flags that were given.
    ///
    /// # Errors
    /// A hyper-parameter given for a method that has none of that name.
    pub fn apply(&self, recipe: &mut Recipe) -> anyhow::Result<()> {
        let opt = &mut recipe.optimizer;
        if let Some(name) = &self.optimizer {
            if name != opt.rule.name() {
                opt.rule = UpdateRule::with_defaults(name).expect("clap checked the name");
            }
        }
        if let Some(eta) = self.learning_rate {
            opt.learning_rate = eta;
        }
        if let Some(l2) = self.l2 {
            opt.l2 = l2;
        }
        let method = opt.rule;
        let not_for = |flag: &str, applies: &str| -> anyhow::Result<()> {
            bail!("--{flag} applies to {applies}, not to the {method} optimiser (choose one with --optimizer)")
        };
        if let Some(v) = self.momentum {
            match &mut opt.rule {
                UpdateRule::Momentum { mu } | UpdateRule::Nesterov { mu } => *mu = v,
                _ => not_for("momentum", "momentum and nesterov")?,
            }
        }
        for (flag, value) in [
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("epsilon", self.epsilon),
            ("weight-decay", self.weight_decay),
        ] {
            let Some(v) = value else { continue };
            match (&mut opt.rule, flag) {
                (UpdateRule::Adam { beta1, .. } | UpdateRule::AdamW { beta1, .. }, "beta1") => {
                    *beta1 = v
                }
                (UpdateRule::Adam { beta2, .. } | UpdateRule::AdamW { beta2, .. }, "beta2") => {
                    *beta2 = v
                }
                (
                    UpdateRule::Adam { epsilon, .. } | UpdateRule::AdamW { epsilon, .. },
                    "epsilon",
                ) => *epsilon = v,
                (UpdateRule::AdamW { weight_decay, .. }, "weight-decay") => *weight_decay = v,
                (_, "weight-decay") => not_for(flag, "adamw")?,
                _ => not_for(flag, "adam and adamw")?,
            }
        }
        Ok(())
    }
}
