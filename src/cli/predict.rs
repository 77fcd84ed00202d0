//! `backprop predict`: the network's answer for your own handwritten digit, or (with --data) for
//! each row of a table (`predict_table.rs`).

use anyhow::{bail, Context};
use backprop::inspect::preprocess::{self, load_digit, SIDE};
use backprop::{model_io, Activation};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file written by `backprop train`: a digit model (784 = 28×28 inputs) for
    /// images, a table model for --data
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,

    /// PNG or JPEG images of one digit each: any size, colour or grey, dark ink on light paper
    /// or light on dark (detected from the border)
    #[arg(value_name = "IMAGE", required_unless_present = "data")]
    pub images: Vec<PathBuf>,

    /// A CSV file of rows to answer, for a model trained on a table: a header naming the
    /// model's feature columns (in any order); the target column, if there, is shown beside
    /// each answer; other columns are ignored. One line (or JSON object) per row
    #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["images", "show"])]
    pub data: Option<PathBuf>,

    /// How many of the most likely digits to list
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub top: usize,

    /// Write the 28×28 image the network saw (white ink on black, as in MNIST, each pixel
    /// drawn 10×10) to DIR/<image name>.28x28.png
    #[arg(long, value_name = "DIR")]
    pub show: Option<PathBuf>,

    /// Print one JSON object per image instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let (net, info) = model_io::load_with_info(&args.model)?;
    if let Some(data) = &args.data {
        return super::predict_table::run(
            &args.model,
            backprop::Model { net, info },
            data,
            args.json,
        );
    }
    if super::predict_table::is_table_model(&info) {
        bail!(
            "{}: the model was trained on a table{}: give it rows with --data FILE.csv, not images",
            args.model.display(),
            info.feature_names
                .as_ref()
                .map(|f| format!(" (features {})", f.join(", ")))
                .unwrap_or_default()
        );
    }
    if net.n_inputs() != SIDE * SIDE {
        bail!(
            "{}: the model takes {} inputs, but predict feeds it 28×28 = 784 pixels",
            args.model.display(),
            net.n_inputs()
        );
    }
    if let Some(dir) = &args.show {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the --show directory {}", dir.display()))?;
    }
    let softmax = net.layers[net.layers.len() - 1].activation == Activation::Softmax;
    let mut out = std::io::stdout().lock();
    for path in &args.images {
        let digit = load_digit(path)?;
        let a = net.feedforward(&digit.pixels)?;
        // Sigmoid outputs are ten independent yes/no scores; divided by their sum they read as
        // shares of one vote. Softmax outputs already sum to 1.
        let p = backprop::serve::shares(&a);
        let mut order: Vec<usize> = (0..a.len()).collect();
        order.sort_by(|&i, &j| p[j].total_cmp(&p[i]).then(i.cmp(&j)));
        let predicted = backprop::argmax(&a);
        let shown = match &args.show {
            Some(dir) => Some(write_show(dir, path, &digit.pixels)?),
            None => None,
        };
        if args.json {
            let obj = json!({
                "image": path.display().to_string(),
                "predicted": predicted,
                "probabilities": p,
                "outputs": a,
                "inverted": digit.inverted,
                "bbox": {"x": digit.bbox.0, "y": digit.bbox.1, "width": digit.bbox.2, "height": digit.bbox.3},
                "show": shown.map(|s| s.display().to_string()),
            });
            writeln!(out, "{obj}")?;
            continue;
        }
        writeln!(out, "{}: {predicted}", path.display())?;
        for &c in order.iter().take(args.top.max(1)) {
            let bar = "█".repeat((p[c] * 30.0).round() as usize);
            writeln!(out, "  {c}  {:>6.2}%  {bar}", 100.0 * p[c])?;
        }
        let what = if softmax {
            "softmax outputs"
        } else {
            "outputs a_j divided by their sum"
        };
        write!(
            out,
            "  ({what}; {} ink on {} paper, ink box {}×{} px",
            if digit.inverted { "dark" } else { "light" },
            if digit.inverted { "light" } else { "dark" },
            digit.bbox.2,
            digit.bbox.3
        )?;
        match shown {
            Some(s) => writeln!(out, "; the network saw {})", s.display())?,
            None => writeln!(out, ")")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_show(dir: &Path, image: &Path, pixels: &[f32]) -> anyhow::Result<PathBuf> {
    let stem = image
        .file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().into_owned());
    let path = dir.join(format!("{stem}.28x28.png"));
    let png = preprocess::grey_png(SIDE, SIDE, pixels, 10);
    backprop::model_io::write_atomically(&path, &png)?;
    Ok(path)
}
