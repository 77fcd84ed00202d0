//! `backprop gradcheck`: backpropagation against central finite differences.

use anyhow::bail;
use backprop::gradcheck::{check_gradients, combinations, GradCheck, TOLERANCE};
use backprop::{Activation, Architecture, Cost, Init, Network, Rng};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GradcheckArgs {
    /// Layer sizes, input first; 784,16,16,10 checks the notes' network (13,002 parameters)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "SIZES",
        default_value = "6,5,4,3"
    )]
    pub layers: Vec<usize>,

    /// Activation of the hidden layers: sigmoid, tanh, relu, leaky-relu, identity
    #[arg(long, default_value = "sigmoid", value_name = "NAME")]
    pub activation: Activation,

    /// Activation of the output layer [default: softmax with log-likelihood, sigmoid otherwise]
    #[arg(long, value_name = "NAME")]
    pub output_activation: Option<Activation>,

    /// Cost: quadratic, cross-entropy, log-likelihood
    #[arg(long, default_value = "quadratic", value_name = "NAME")]
    pub cost: Cost,

    /// Check every valid combination of hidden activation, output activation and cost instead
    #[arg(long)]
    pub all: bool,

    /// Weight initialisation: normal, scaled, xavier, he. The default keeps neurons out of
    /// saturation, where gradients vanish and finite differences lose their precision
    #[arg(long, default_value = "scaled", value_name = "NAME")]
    pub init: Init,

    /// Samples in the mini-batch whose mean cost is differentiated
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub batch: usize,

    /// Seed of the random network, inputs and targets
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Print JSON (max_rel_error, passed, per-layer errors) instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GradcheckArgs) -> anyhow::Result<ExitCode> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let archs: Vec<Architecture> = if args.all {
        combinations()
            .into_iter()
            .map(|(h, o, c)| Architecture::uniform(args.layers.clone(), h, o, c))
            .collect()
    } else {
        let output = args.output_activation.unwrap_or(args.cost.default_output());
        vec![Architecture::uniform(
            args.layers.clone(),
            args.activation,
            output,
            args.cost,
        )]
    };
    let mut out = std::io::stdout().lock();
    let mut passed = 0;
    let mut worst = 0.0f64;
    for arch in &archs {
        let check = check(arch, args.init, args.batch, args.seed)?;
        passed += usize::from(check.passed());
        worst = worst.max(check.max_rel_error);
        if args.json {
            let obj = json!({
                "sizes": arch.sizes,
                "activations": arch.activations,
                "cost": arch.cost,
                "max_rel_error": check.max_rel_error,
                "passed": check.passed(),
                "parameters": check.n_parameters,
                "layers": check.layers,
            });
            writeln!(out, "{obj}")?;
        } else {
            print_table(&mut out, arch, &check)?;
        }
    }
    if !args.json && archs.len() > 1 {
        writeln!(
            out,
            "{passed} of {} combinations passed; worst relative error {worst:.2e}",
            archs.len()
        )?;
    }
    Ok(if passed == archs.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(arch: &Architecture, init: Init, batch: usize, seed: u64) -> anyhow::Result<GradCheck> {
    let net = Network::<f64>::new(arch, init, seed)?;
    let mut rng = Rng::new(seed ^ 0x9e37_79b9);
    let n_in = net.n_inputs();
    let n_out = net.n_outputs();
    let x: Vec<f64> = (0..batch * n_in).map(|_| rng.uniform()).collect();
    let mut y = vec![0.0; batch * n_out];
    for row in y.chunks_exact_mut(n_out) {
        row[rng.below(n_out)] = 1.0;
    }
    Ok(check_gradients(&net, &x, &y, batch)?)
}

fn print_table(
    out: &mut impl Write,
    arch: &Architecture,
    check: &GradCheck,
) -> std::io::Result<()> {
    let acts: Vec<&str> = arch.activations.iter().map(|a| a.name()).collect();
    writeln!(
        out,
        "network {} ({}), {} cost, {} parameters",
        arch.sizes_string(),
        acts.join(", "),
        arch.cost,
        check.n_parameters
    )?;
    writeln!(
        out,
        "layer  max rel error (weights)  max rel error (biases)"
    )?;
    for (i, l) in check.layers.iter().enumerate() {
        writeln!(
            out,
            "{:>5}  {:>23.2e}  {:>22.2e}",
            i + 1,
            l.max_rel_error_weights,
            l.max_rel_error_biases
        )?;
    }
    writeln!(
        out,
        "{}: worst relative error {:.2e} (tolerance {TOLERANCE:.0e})\n",
        if check.passed() { "passed" } else { "FAILED" },
        check.max_rel_error
    )
}
