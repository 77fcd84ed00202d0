//! Command-line types and dispatch, one file per subcommand.

mod bench;
mod bench_inference;
mod data;
mod eval;
mod gradcheck;
mod inspect;
mod network_args;
mod optim_args;
mod progress;
mod recipe;
mod train;
// Issue 5, "look inside".
mod explain;
mod plot;
mod predict;
mod predict_table;
// Issue 6, the draw-a-digit page.
mod serve;
// Issue 16, tables and other tools' model files.
mod export;
mod table;
mod table_progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Train and inspect feed-forward neural networks by backpropagation.
///
/// Start with `backprop train`: it trains the lecture notes' 784-16-16-10 sigmoid network on
/// the bundled MNIST digits and saves it to model.safetensors. Then `backprop eval --model
/// model.safetensors` shows how it does, and `backprop gradcheck` checks backpropagation
/// against finite differences.
#[derive(Debug, Parser)]
#[command(name = "backprop", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Threads for the large matrix products (wide layers, big batches, evaluation); small
    /// ones always use one. Results are the same bit for bit whatever the number. More than
    /// the CPU cores is lowered to their number, with a note: extra threads would only wait
    /// [default: the number of CPU cores]
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network by mini-batch gradient descent and save it.
    Train(Box<train::TrainArgs>),
    /// Accuracy, mean cost and confusion matrix of a saved model on a test set.
    Eval(eval::EvalArgs),
    /// Architecture and parameter counts of a saved model.
    Inspect(inspect::InspectArgs),
    /// Check backpropagation against central finite differences on a random network.
    Gradcheck(gradcheck::GradcheckArgs),
    /// Time training epochs of any configuration on the bundled MNIST (no evaluation, no saving),
    /// or with --model a model's answers (evaluation of the test set, one-sample predictions).
    Bench(bench::BenchArgs),
    /// A model's answers: which digit is in your own PNG or JPEG image and how sure the network
    /// is, or (with --data) the class or value of each row of a CSV table.
    Predict(predict::PredictArgs),
    /// The notes' worked example step by step: forward pass, every chain-rule term, the update.
    Explain(explain::ExplainArgs),
    /// Draw training curves (cost and accuracy per epoch) from a training log, as SVG.
    Plot(plot::PlotArgs),
    /// A local web page: draw a digit and watch every layer of your model respond (for a table
    /// model, a form of its features).
    Serve(Box<serve::ServeArgs>),
    /// Write a model for another tool: an ONNX graph (.onnx) or network2.py's JSON (.json).
    Export(export::ExportArgs),
    /// Read a network saved by Nielsen's network2.py (JSON) into a model file.
    Import(export::ImportArgs),
}

impl Cli {
    /// Whether a closed stdout (`backprop eval | head`) ends the command quietly, as a success:
    /// true for the commands whose product is what they print. `train`'s product is the model
    /// file, so a broken pipe must never pass for success there.
    pub fn broken_pipe_is_success(&self) -> bool {
        !matches!(self.command, Command::Train(_))
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // A bad BACKPROP_KERNELS is an error before any work, whatever the command.
    backprop::Kernels::from_env()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match cli.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) if n > cores => {
            eprintln!("note: --threads {n} lowered to {cores}, the number of CPU cores");
            cores
        }
        Some(n) => n,
        None => cores,
    };
    backprop::set_threads(threads);
    match cli.command {
        Command::Train(args) => train::run(*args),
        Command::Eval(args) => eval::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Gradcheck(args) => gradcheck::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Export(args) => export::export(args),
        Command::Import(args) => export::import(args),
    }
}

/// Percent with two decimals: 0.9345 → "93.45%".
fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("backprop").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn train_defaults_are_the_notes_setting() {
        let Command::Train(a) = parse(&["train"]) else {
            panic!()
        };
        let r = a.recipe().unwrap();
        assert_eq!(r, recipe::Preset::Notes.recipe());
        assert_eq!(r.hidden, vec![16, 16]);
        assert_eq!(
            (
                r.train.epochs,
                r.train.batch_size,
                r.optimizer.learning_rate
            ),
            (30, 10, 1.5)
        );
        assert_eq!(a.out.to_str(), Some("model.safetensors"));
        let Command::Train(a) =
            parse(&["train", "--layers", "784,30,10", "--epochs", "2", "--json"])
        else {
            panic!()
        };
        assert_eq!(a.recipe().unwrap().layers, Some(vec![784, 30, 10]));
        assert!(a.json);
        assert!(
            Cli::try_parse_from(["backprop", "train", "--layers", "4,2", "--hidden", "3"]).is_err()
        );
        assert!(Cli::try_parse_from(["backprop", "train", "--activation", "swish"]).is_err());
    }

    #[test]
    fn other_subcommands_parse() {
        assert!(matches!(
            parse(&["eval", "--model", "m.safetensors"]),
            Command::Eval(_)
        ));
        assert!(matches!(
            parse(&["inspect", "m.safetensors"]),
            Command::Inspect(_)
        ));
        let Command::Gradcheck(g) = parse(&["gradcheck", "--layers", "784,16,16,10"]) else {
            panic!()
        };
        assert_eq!(g.layers, vec![784, 16, 16, 10]);
    }

    #[test]
    fn look_inside_subcommands_parse() {
        let Command::Predict(p) = parse(&["predict", "--model", "m", "a.png", "b.jpg", "--json"])
        else {
            panic!()
        };
        assert_eq!((p.images.len(), p.top, p.json), (2, 3, true));
        assert!(Cli::try_parse_from(["backprop", "predict", "--model", "m"]).is_err());
        assert!(matches!(parse(&["explain"]), Command::Explain(_)));
        let Command::Plot(p) = parse(&["plot", "log.jsonl"]) else {
            panic!()
        };
        assert_eq!(p.out.to_str(), Some("curves.svg"));
        let Command::Eval(e) = parse(&["eval", "--model", "m", "--report", "r"]) else {
            panic!()
        };
        assert_eq!((e.report.unwrap().to_str(), e.mistakes), (Some("r"), 32));
        let Command::Inspect(i) = parse(&["inspect", "m", "--histogram"]) else {
            panic!()
        };
        assert!(i.histogram);
    }

    #[test]
    fn serve_parses_with_local_defaults() {
        let Command::Serve(s) = parse(&["serve", "--model", "m"]) else {
            panic!()
        };
        assert_eq!((s.port, s.host.as_str()), (8080, "127.0.0.1"));
        let Command::Serve(s) = parse(&["serve", "--model", "m", "--port", "0", "--host", "::1"])
        else {
            panic!()
        };
        assert_eq!((s.port, s.host.as_str()), (0, "::1"));
        assert!(Cli::try_parse_from(["backprop", "serve"]).is_err());
        // Live training takes every flag of train, and no model.
        let Command::Serve(s) = parse(&["serve", "--train", "--hidden", "30", "--epochs", "2"])
        else {
            panic!()
        };
        assert!(s.train && s.model.is_none());
        assert_eq!(s.run.recipe().unwrap().hidden, vec![30]);
        assert_eq!(s.run.epochs, Some(2));
    }
}
