//! The `backprop` command: parse the arguments, hand them to the subcommand, turn the outcome
//! into an exit code. No mathematics here; everything is `backprop::…`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let broken_pipe_is_success = args.broken_pipe_is_success();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // `backprop eval | head` closing the pipe early is not an error; for `train`, whose
            // product is the model file, it is one if it ever gets here.
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe && broken_pipe_is_success {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
