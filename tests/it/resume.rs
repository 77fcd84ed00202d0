//! Interrupt a run anywhere, save a checkpoint, load it, continue: the final model is exactly
//! the one an uninterrupted run makes.

use crate::common;

use backprop::{
    Activation, Architecture, Augment, Checkpoint, Cost, Dropout, Init, Mnist, Network,
    OptimizerConfig, Progress, Schedule, Stop, TrainConfig, TrainState, Training,
};
use common::bits;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Asks to stop after `after` steps.
struct StopAfter {
    steps: usize,
    after: usize,
}

impl Progress for StopAfter {
    fn batch_end(&mut self, _batch: usize) {
        self.steps += 1;
    }
    fn should_stop(&mut self) -> bool {
        self.steps >= self.after
    }
}

#[test]
fn a_run_interrupted_and_resumed_from_a_checkpoint_ends_bit_identical() {
    let m = Mnist::bundled().unwrap();
    let (rest, validation) = m.train.split_last(500).unwrap();
    let data = rest.head(1_000);
    let arch = Architecture::uniform(
        vec![784, 24, 10],
        Activation::Relu,
        Activation::Softmax,
        Cost::LogLikelihood,
    );
    // Every piece of state at once: Adam's moments, dropout and augmentation streams, a
    // schedule, early stopping's best network.
    let config = TrainConfig {
        epochs: 4,
        batch_size: 16,
        seed: 11,
        schedule: Schedule::Cosine,
        early_stopping: Some(10),
        dropout: Dropout {
            input: 0.1,
            hidden: 0.2,
        },
        augment: Augment {
            shift: 1.5,
            rotate: 8.0,
            ..Default::default()
        },
    };
    let opt = OptimizerConfig {
        l2: 0.5,
        ..OptimizerConfig::adam(3e-3)
    };
    let fresh = || Network::<f32>::new(&arch, Init::He, 11).unwrap();

    let mut reference = fresh();
    let mut adam = opt.build(&reference, data.len()).unwrap();
    let expected = Training::new(&config)
        .validation(&validation)
        .run(&mut reference, &mut adam, &data)
        .unwrap();

    // 63 batches per epoch: stop mid-epoch 2, then at an epoch's last step, then mid-epoch 4.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.checkpoint.safetensors");
    let mut net = fresh();
    let mut adam = opt.build(&net, data.len()).unwrap();
    let mut state = TrainState::new(&config, data.len());
    for after in [100, 89, 5, usize::MAX] {
        let mut stop = StopAfter { steps: 0, after };
        let history = Training::new(&config)
            .validation(&validation)
            .progress(&mut stop)
            .resume(&mut state)
            .run(&mut net, &mut adam, &data)
            .unwrap();
        assert_eq!(
            history, state.history,
            "the run answers the state's history"
        );
        if after == usize::MAX {
            assert_eq!(state.history.stop, Stop::Finished);
            break;
        }
        assert_eq!(state.history.stop, Stop::Interrupted);
        // Through a file and back, as the command line does.
        Checkpoint {
            net: net.clone(),
            optimizer: *adam.config(),
            optimizer_state: adam.state().clone(),
            config,
            state: state.clone(),
            extra: serde_json::json!({"note": "anything"}),
        }
        .save(&path)
        .unwrap();
        let c = Checkpoint::load(&path).unwrap();
        assert!(
            c.state == state,
            "the state changed on its way through the file"
        );
        assert_eq!(c.extra["note"], "anything");
        net = c.net;
        adam = c.optimizer.build(&net, data.len()).unwrap();
        adam.set_state(c.optimizer_state).unwrap();
        state = c.state;
    }
    assert_eq!(bits(&net), bits(&reference));
    let accuracies = |h: &backprop::History| -> Vec<f64> {
        h.epochs
            .iter()
            .map(|r| r.validation.as_ref().unwrap().accuracy())
            .collect()
    };
    assert_eq!(accuracies(&state.history), accuracies(&expected));
}

#[test]
fn ctrl_c_writes_a_checkpoint_and_resume_finishes_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let flags = [
        "train",
        "--limit",
        "20000",
        "--epochs",
        "3",
        "--hidden",
        "128",
        "--optimizer",
        "adam",
        "--learning-rate",
        "0.002",
        "--dropout",
        "0.2",
        "--shift",
        "1",
        "--schedule",
        "cosine",
        "--seed",
        "5",
        "--threads",
        "1",
        "--json",
    ];
    let bin = assert_cmd::cargo::cargo_bin("backprop");
    let status = Command::new(&bin)
        .args(flags)
        .arg("--out")
        .arg(p("reference.safetensors"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let mut child = Command::new(&bin)
        .args(flags)
        .arg("--out")
        .arg(p("model.safetensors"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first epoch to end, then press Ctrl-C during the second.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("\"epoch\":1"));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("checkpoint written to"), "{stderr}");
    let checkpoint = p("model.checkpoint.safetensors");
    assert!(checkpoint.exists());
    assert!(
        !p("model.safetensors").exists(),
        "no model before the run ends"
    );

    let out = Command::new(&bin)
        .arg("train")
        .arg("--resume")
        .arg(&checkpoint)
        .arg("--out")
        .arg(p("model.safetensors"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(p("model.safetensors")).unwrap(),
        std::fs::read(p("reference.safetensors")).unwrap(),
        "the resumed model differs from the uninterrupted one"
    );
    assert!(
        !checkpoint.exists(),
        "a finished run's checkpoint is removed"
    );
    // The log holds all three epochs, as the uninterrupted run's does.
    let log = std::fs::read_to_string(p("model.log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3);
}
