//! `backprop bench --model M`: how long answers take here — the evaluation of the 10,000 test
//! images and one-sample predictions — for the PyTorch comparison in `bench/pytorch/inference.py`.

use anyhow::bail;
use backprop::{evaluate, model_io, Kernels, Mnist};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Evaluations of the whole test set timed; the best is reported.
const EVAL_ROUNDS: usize = 7;
/// One-sample predictions timed, one test image after another; the median is reported.
const PREDICTIONS: usize = 20_000;

pub fn run(model: &Path, json_out: bool) -> anyhow::Result<ExitCode> {
    let net = model_io::load(model)?;
    let test = &Mnist::bundled_test()?;
    if net.n_inputs() != test.n_inputs() {
        bail!(
            "{}: the model takes {} inputs, the MNIST test images have {}",
            model.display(),
            net.n_inputs(),
            test.n_inputs()
        );
    }
    let mut eval_seconds = Vec::with_capacity(EVAL_ROUNDS);
    let mut accuracy = 0.0;
    for _ in 0..EVAL_ROUNDS {
        let start = Instant::now();
        let e = evaluate(&net, test)?;
        eval_seconds.push(start.elapsed().as_secs_f64());
        accuracy = e.accuracy();
    }
    eval_seconds.sort_by(f64::total_cmp);

    // One sample at a time through the checked call a program makes (`Network::predict`:
    // validation, its own buffers, the fast kernels), each timed on its own.
    let inputs = (0..test.len())
        .map(|i| test.input::<f32>(i))
        .collect::<backprop::Result<Vec<_>>>()?;
    let mut micros = Vec::with_capacity(PREDICTIONS);
    let mut agree = 0usize;
    for i in 0..PREDICTIONS {
        let k = i % test.len();
        let start = Instant::now();
        let class = net.predict(&inputs[k])?;
        micros.push(start.elapsed().as_secs_f64() * 1e6);
        agree += usize::from(Some(class) == test.label(k));
    }
    micros.sort_by(f64::total_cmp);
    let (median, p99) = (micros[PREDICTIONS / 2], micros[PREDICTIONS * 99 / 100]);

    let mut out = std::io::stdout().lock();
    if json_out {
        let obj = json!({
            "sizes": net.architecture().sizes,
            "kernels": Kernels::current().name(),
            "threads": backprop::threads(),
            "eval_images": test.len(),
            "eval_best_seconds": eval_seconds[0],
            "eval_median_seconds": eval_seconds[EVAL_ROUNDS / 2],
            "accuracy": accuracy,
            "predict_median_us": median,
            "predict_p99_us": p99,
            "predict_accuracy": agree as f64 / PREDICTIONS as f64,
        });
        writeln!(out, "{obj}")?;
    } else {
        writeln!(
            out,
            "{} ({} kernels, {} threads): evaluation of {} test images best {:.4} s (median {:.4} s, accuracy {:.2}%); one-sample predict median {:.2} µs, 99th percentile {:.2} µs over {} calls",
            net.architecture().sizes_string(),
            Kernels::current(),
            backprop::threads(),
            test.len(),
            eval_seconds[0],
            eval_seconds[EVAL_ROUNDS / 2],
            100.0 * accuracy,
            median,
            p99,
            PREDICTIONS
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
