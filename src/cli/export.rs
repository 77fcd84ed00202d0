//! `backprop export --model M --out M.onnx | M.json` and `backprop import M.json --out
//! M.safetensors`: our models as ONNX graphs for other runtimes, and to and from Michael
//! Nielsen's network2.py files.

use anyhow::{bail, Context};
use backprop::{model_io, nielsen, onnx};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model to export (safetensors)
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,

    /// Where to write it; the extension says how: .onnx is an ONNX graph (onnxruntime and
    /// others run it, standardisation included), .json is network2.py's format (sigmoid layers,
    /// quadratic or cross-entropy cost, no standardisation)
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A network saved by network2.py's Network.save (JSON)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Where to write the model (safetensors)
    #[arg(long, default_value = "model.safetensors", value_name = "PATH")]
    pub out: PathBuf,
}

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    let onnx = ext.eq_ignore_ascii_case("onnx");
    if !onnx && !ext.eq_ignore_ascii_case("json") {
        bail!(
            "{}: cannot tell the format from the extension; use .onnx (ONNX) or .json (network2.py)",
            args.out.display()
        );
    }
    let (net, info) = model_io::load_with_info(&args.model)?;
    if onnx {
        let bytes =
            onnx::to_onnx_bytes(&net, &info).with_context(|| args.model.display().to_string())?;
        model_io::write_atomically(&args.out, &bytes)?;
        eprintln!(
            "wrote {} (ONNX opset {}, {})",
            args.out.display(),
            onnx::OPSET,
            net.architecture().sizes_string()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if info.input_scaler.is_some() || info.target_scaler.is_some() {
        bail!(
            "{}: the model standardises its data, which network2.py files cannot hold",
            args.model.display()
        );
    }
    let json = nielsen::to_network2_json(&net).with_context(|| args.model.display().to_string())?;
    model_io::write_atomically(&args.out, json.as_bytes())?;
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let net =
        nielsen::from_network2_json(&text).with_context(|| args.file.display().to_string())?;
    model_io::save(&net, &args.out)?;
    eprintln!(
        "wrote {} ({}, {} cost)",
        args.out.display(),
        net.architecture().sizes_string(),
        net.cost
    );
    Ok(ExitCode::SUCCESS)
}
