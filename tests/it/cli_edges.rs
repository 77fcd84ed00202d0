//! The command line used carelessly or with hostile files: a closed stdout, odd `--out` targets,
//! endless or truncated inputs, crafted checkpoints, flags that cannot make sense. Each case ends
//! in a saved model or a one-line error, fast, never in a lost run, a hang or a huge allocation.

use assert_cmd::Command;
use backprop::{
    model_io, Architecture, Checkpoint, Init, Mnist, Network, OptimizerConfig, Progress,
    TrainConfig, TrainState, Training,
};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Every command here ends in seconds; one that does not is a failure, not a hang.
const LIMIT: Duration = Duration::from_secs(60);

fn backprop() -> Command {
    let mut cmd = Command::cargo_bin("backprop").unwrap();
    cmd.timeout(LIMIT);
    cmd
}

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("backprop")
}

/// Runs a command expected to fail with exit code 1 and one `error:` line; returns that line.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{cmd:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr:?}");
    errors[0].to_string()
}

/// The notes' network, untrained, saved at `path`.
fn some_model(path: &Path) {
    let arch = Architecture::sigmoid(vec![784, 16, 16, 10]);
    model_io::save(&Network::<f32>::new(&arch, Init::Normal, 1).unwrap(), path).unwrap();
}

/// Asks to stop after `after` steps.
struct StopAfter(usize);

impl Progress for StopAfter {
    fn should_stop(&mut self) -> bool {
        self.0 = self.0.saturating_sub(1);
        self.0 == 0
    }
}

/// A checkpoint of `backprop train --limit 1000 --epochs 2`, interrupted after 30 batches,
/// as the command line writes it.
fn checkpoint() -> Checkpoint {
    let data = Mnist::bundled().unwrap().train.head(1000);
    let arch = Architecture::sigmoid(vec![784, 16, 16, 10]);
    let mut net = Network::<f32>::new(&arch, Init::Normal, 3).unwrap();
    let mut sgd = OptimizerConfig::sgd(1.5).build(&net, data.len()).unwrap();
    let config = TrainConfig {
        epochs: 2,
        ..Default::default()
    };
    let mut state = TrainState::new(&config, data.len());
    Training::new(&config)
        .progress(&mut StopAfter(30))
        .resume(&mut state)
        .run(&mut net, &mut sgd, &data)
        .unwrap();
    assert_eq!((state.epoch, state.batches_done), (1, 30));
    Checkpoint {
        net,
        optimizer: *sgd.config(),
        optimizer_state: sgd.state().clone(),
        config,
        state,
        extra: serde_json::json!({"data": null, "validation": 0, "limit": 1000}),
    }
}

#[test]
fn a_closed_stdout_does_not_lose_the_run() {
    // Item 7. stdout closed before the first line: training goes on and saves the model.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let mut child = std::process::Command::new(bin())
        .args(["train", "--limit", "2000", "--epochs", "2", "--out"])
        .arg(&model)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stdout was closed"), "{stderr}");
    model_io::load(&model).unwrap();
    let log = std::fs::read_to_string(dir.path().join("m.log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);

    // The issue's own command: `| head -2`, with the pipeline failing if train does.
    let model = dir.path().join("h.safetensors");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' train --limit 2000 --epochs 3 --out '{}' | head -2",
            bin().display(),
            model.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    model_io::load(&model).unwrap();
}

#[test]
fn resuming_into_the_checkpoint_path_keeps_the_model() {
    // Item 8.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    checkpoint().save(&path).unwrap();
    let out = backprop()
        .args(["train", "--resume"])
        .arg(&path)
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let net = model_io::load(&path).expect("the model saved over the checkpoint is kept");
    assert_eq!(net.architecture().sizes, vec![784, 16, 16, 10]);
}

#[test]
fn endless_files_are_refused_without_reading_them_all() {
    // Item 9: each reads at most its bound (64 MiB) of /dev/zero, then stops with one line.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    some_model(&model);
    let err = fails(
        backprop()
            .args(["plot", "/dev/zero", "--out"])
            .arg(dir.path().join("c.svg")),
    );
    assert!(
        err.contains("/dev/zero: larger than 64 MiB, the most a training log may be"),
        "{err}"
    );
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg("/dev/zero"),
    );
    assert!(
        err.contains("/dev/zero: larger than 64 MiB, the most an image file may be"),
        "{err}"
    );
}

#[test]
fn a_truncated_jpeg_and_a_huge_png_are_refused() {
    // Item 10.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    some_model(&model);
    let jpeg = std::fs::read("tests/fixtures/seven.jpg").unwrap();
    let half = dir.path().join("half.jpg");
    std::fs::write(&half, &jpeg[..2366]).unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&half),
    );
    assert!(err.contains("half.jpg: corrupt JPEG"), "{err}");

    // 10,000 × 10,000 white pixels: about 100 KB of PNG, 100 million pixels.
    let big = dir.path().join("big.png");
    let file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    let mut encoder = png::Encoder::new(file, 10_000, 10_000);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .unwrap()
        .into_stream_writer()
        .unwrap();
    let row = vec![255u8; 10_000];
    for _ in 0..10_000 {
        writer.write_all(&row).unwrap();
    }
    writer.finish().unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() < 1 << 20);
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&big),
    );
    assert!(
        err.contains("10000×10000 = 100000000 pixels; at most 16777216 (4096×4096)"),
        "{err}"
    );
}

#[test]
fn out_is_checked_before_any_training() {
    // Item 11. Each refusal comes before the run is even described on stderr.
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let refused = |out: &Path, expected: &str| {
        let output = backprop()
            .args(["train", "--limit", "500", "--epochs", "1", "--out"])
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("training 784"), "trained first: {stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    };
    refused(dir.path(), "is a directory, not a file");
    refused(&p("missing/m.safetensors"), "does not exist");

    // A named pipe (as a device would be) is neither written to nor replaced.
    let fifo = p("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    refused(&fifo, "not a regular file: refusing to replace it");
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }

    // A symbolic link is written through: the link stays, the file it names is the model.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("real.safetensors", p("link.safetensors")).unwrap();
        backprop()
            .args(["train", "--limit", "500", "--epochs", "1", "--out"])
            .arg(p("link.safetensors"))
            .assert()
            .success();
        assert!(std::fs::symlink_metadata(p("link.safetensors"))
            .unwrap()
            .file_type()
            .is_symlink());
        model_io::load(&p("real.safetensors")).unwrap();
    }
}

#[test]
fn an_interrupted_run_leaves_the_previous_log_alone() {
    // Item 12. The previous run's log, then a run stopped by Ctrl-C in its second epoch.
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("m.log.jsonl"), "the previous model's log\n").unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["train", "--epochs", "30", "--json", "--out"])
        .arg(p("m.safetensors"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("\"epoch\":1"));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    drop(lines);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(p("m.log.jsonl")).unwrap(),
        "the previous model's log\n"
    );
    let partial = std::fs::read_to_string(p("m.log.partial.jsonl")).unwrap();
    assert!(partial.starts_with("{\"epoch\":1,"), "{partial}");
    assert!(stderr.contains("the log so far to"), "{stderr}");
}

/// A change to a valid checkpoint.
type Craft = fn(&mut Checkpoint);

#[test]
fn impossible_checkpoints_get_precise_errors() {
    // Item 13.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.safetensors");
    let cases: Vec<(Craft, &str)> = vec![
        (
            |c| {
                c.config.epochs = 30;
                c.state.epoch = 99;
            },
            "crafted.safetensors: impossible state in the metadata: the training state is at epoch 99 of a run of 30 epochs",
        ),
        (
            |c| c.state.batches_done = 5000,
            "the training state has done 5000 batches of epoch 1, which has 100",
        ),
        (
            |c| c.config.epochs = usize::MAX,
            "bad train_config in the metadata: invalid configuration: the number of epochs must be from 1 to 100000, got 18446744073709551615",
        ),
        (
            |c| c.state.order[7] = c.state.order[3],
            "sample order names sample",
        ),
        (
            |c| c.state.order[7] = 1000,
            "the training state's sample order names sample 1000, but there are 1000 (0 to 999)",
        ),
        (
            |c| c.extra["limit"] = 999.into(),
            "the training state orders 1000 samples, but the data has 999",
        ),
    ];
    for (craft, expected) in cases {
        let mut c = checkpoint();
        craft(&mut c);
        c.save(&path).unwrap();
        let err = fails(
            backprop()
                .args(["train", "--resume"])
                .arg(&path)
                .arg("--out")
                .arg(dir.path().join("m.safetensors")),
        );
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn flags_that_cannot_make_sense_are_refused_before_training() {
    // Item 14.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    for (flags, expected) in [
        (
            &["--batch-size", "100000000"][..],
            "--batch-size 100000000 is larger than the 60000 training images",
        ),
        (
            &["--learning-rate", "1e30"],
            "the learning rate must be at most 1000",
        ),
        (
            &["--shift", "1e300"],
            "the augmentation shift must be below 28 pixels for 28×28 images",
        ),
        (
            &["--elastic", "1e9"],
            "more than a quarter of the side of 28×28 images (7 px): at most α = 171 for σ = 4",
        ),
        (
            &["--rotate", "720"],
            "the augmentation rotation must be at most 180 degrees",
        ),
        (
            &["--epochs", "18446744073709551615"],
            "the number of epochs must be from 1 to 100000",
        ),
    ] {
        let output = backprop()
            .arg("train")
            .args(flags)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(!stderr.contains("epoch 1"), "{flags:?} trained: {stderr}");
    }
    assert!(!out.exists());

    // More threads than cores are lowered to the cores, and said so; the command runs.
    some_model(&out);
    let output = backprop()
        .args(["--threads", "1000", "inspect"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--threads 1000 lowered to") && stderr.contains("the number of CPU cores"),
        "{stderr}"
    );
}
