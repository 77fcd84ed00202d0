//! The training features beyond the notes: schedules, early stopping, dropout, augmentation and
//! the other optimisers, each on a small MNIST subset.

use crate::common;

use backprop::{
    evaluate, train, Activation, Architecture, Augment, Cost, Dataset, Dropout, Error, History,
    Init, Mnist, Network, OptimizerConfig, Schedule, Stop, TrainConfig, Training, UpdateRule,
};
use common::bits;

struct Data {
    train: Dataset,
    validation: Dataset,
    test: Dataset,
}

/// 2,000 training images, 1,000 for validation, 1,000 test images.
fn data(n_train: usize) -> Data {
    let m = Mnist::bundled().unwrap();
    let (rest, validation) = m.train.split_last(1_000).unwrap();
    Data {
        train: rest.head(n_train),
        validation,
        test: m.test.head(1_000),
    }
}

fn run(
    arch: &Architecture,
    optimizer: OptimizerConfig,
    config: TrainConfig,
    d: &Data,
) -> (Network<f32>, History) {
    let mut net = Network::<f32>::new(arch, Init::Scaled, config.seed).unwrap();
    let mut opt = optimizer.build(&net, d.train.len()).unwrap();
    let history = Training::new(&config)
        .validation(&d.validation)
        .test(&d.test)
        .run(&mut net, &mut opt, &d.train)
        .unwrap();
    (net, history)
}

fn val_acc(h: &History) -> Vec<f64> {
    h.epochs
        .iter()
        .map(|r| r.validation.as_ref().unwrap().accuracy())
        .collect()
}

#[test]
fn early_stopping_ends_with_the_best_epochs_network() {
    // 500 images overfit within a few epochs, so validation accuracy stops improving.
    let d = data(500);
    let arch = Architecture::sigmoid(vec![784, 30, 10]);
    let config = TrainConfig {
        epochs: 60,
        early_stopping: Some(3),
        ..Default::default()
    };
    let (net, h) = run(&arch, OptimizerConfig::sgd(1.5), config, &d);
    assert_eq!(h.stop, Stop::NoImprovement, "{:?}", val_acc(&h));
    let acc = val_acc(&h);
    let best = h.best_epoch.unwrap();
    // The best epoch is the first with the highest validation accuracy, and training ran
    // exactly `patience` epochs past it.
    let max = acc.iter().cloned().fold(0.0, f64::max);
    assert_eq!(acc.iter().position(|&a| a == max).unwrap() + 1, best);
    assert_eq!(h.epochs.len(), best + 3);
    // The network returned is that epoch's, not the last one's.
    assert_eq!(evaluate(&net, &d.validation).unwrap().accuracy(), max);
    assert_eq!(
        h.kept().unwrap().test.as_ref().unwrap().accuracy(),
        evaluate(&net, &d.test).unwrap().accuracy()
    );
}

#[test]
fn the_plateau_schedule_halves_eta_after_patience_epochs_without_improvement() {
    let d = data(500);
    let arch = Architecture::sigmoid(vec![784, 30, 10]);
    let config = TrainConfig {
        epochs: 80,
        schedule: Schedule::Plateau { patience: 2 },
        ..Default::default()
    };
    let (_, h) = run(&arch, OptimizerConfig::sgd(1.5), config, &d);
    let acc = val_acc(&h);
    let rates: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
    let mut halvings = 0;
    for e in 1..rates.len() {
        if rates[e] != rates[e - 1] {
            halvings += 1;
            assert_eq!(rates[e], rates[e - 1] / 2.0, "{rates:?}");
            // The two epochs before the change did not beat the best before them.
            let best_before = acc[..e - 1].iter().cloned().fold(0.0, f64::max);
            assert!(acc[e - 1] <= best_before, "{acc:?} {rates:?}");
        }
    }
    assert!(halvings >= 1, "{rates:?}");
    if h.stop == Stop::LearningRateExhausted {
        assert_eq!(halvings, 7, "1.5 → 1.5/128 takes 7 halvings, the 8th stops");
    }
}

#[test]
fn schedules_set_the_rate_of_every_epoch() {
    let d = data(300);
    let arch = Architecture::sigmoid(vec![784, 10, 10]);
    for schedule in [
        Schedule::Cosine,
        Schedule::Step {
            every: 2,
            factor: 0.5,
        },
    ] {
        let config = TrainConfig {
            epochs: 5,
            schedule,
            ..Default::default()
        };
        let (_, h) = run(&arch, OptimizerConfig::sgd(2.0), config, &d);
        for r in &h.epochs {
            assert_eq!(r.learning_rate, schedule.rate(2.0, r.epoch, 5));
        }
    }
}

#[test]
fn dropout_and_augmentation_are_reproducible_and_still_learn() {
    let d = data(2_000);
    let arch = Architecture::uniform(
        vec![784, 64, 10],
        Activation::Relu,
        Activation::Softmax,
        Cost::LogLikelihood,
    );
    let config = |seed| TrainConfig {
        epochs: 4,
        batch_size: 32,
        seed,
        dropout: Dropout {
            input: 0.1,
            hidden: 0.3,
        },
        augment: Augment {
            shift: 2.0,
            rotate: 10.0,
            scale: 0.1,
            elastic_alpha: 8.0,
            elastic_sigma: 4.0,
        },
        ..Default::default()
    };
    let adam = OptimizerConfig::adam(2e-3);
    let (a, h) = run(&arch, adam, config(7), &d);
    let (b, _) = run(&arch, adam, config(7), &d);
    let (c, _) = run(&arch, adam, config(8), &d);
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
    let test = h.epochs.last().unwrap().test.as_ref().unwrap().accuracy();
    assert!(test > 0.75, "{test}");
}

#[test]
fn every_optimiser_learns_an_mnist_subset() {
    // 2,000 images, 3 epochs: each update rule must beat 80% (chance is 10%).
    let d = data(2_000);
    let arch = Architecture::uniform(
        vec![784, 30, 10],
        Activation::Sigmoid,
        Activation::Sigmoid,
        Cost::CrossEntropy,
    );
    for (name, eta) in [
        ("sgd", 0.5),
        ("momentum", 0.05),
        ("nesterov", 0.05),
        ("adam", 2e-3),
        ("adamw", 2e-3),
    ] {
        let opt = OptimizerConfig {
            rule: UpdateRule::with_defaults(name).unwrap(),
            learning_rate: eta,
            l2: 1.0,
        };
        let config = TrainConfig {
            epochs: 3,
            ..Default::default()
        };
        let (_, h) = run(&arch, opt, config, &d);
        let test = h.epochs.last().unwrap().test.as_ref().unwrap().accuracy();
        assert!(test > 0.80, "{name}: {test}");
    }
}

#[test]
fn watching_validation_without_a_validation_set_is_refused() {
    let d = data(100);
    let mut net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    let mut sgd = OptimizerConfig::default().build(&net, 100).unwrap();
    for config in [
        TrainConfig {
            early_stopping: Some(2),
            ..Default::default()
        },
        TrainConfig {
            schedule: Schedule::Plateau { patience: 2 },
            ..Default::default()
        },
    ] {
        let err = train(&mut net, &mut sgd, &d.train, &config).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("validation")),
            "{err}"
        );
    }
}

#[test]
fn augmenting_data_that_are_not_images_is_refused() {
    let xor =
        Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
    let mut net =
        Network::<f32>::new(&Architecture::sigmoid(vec![2, 2, 2]), Init::Normal, 1).unwrap();
    let mut sgd = OptimizerConfig::default().build(&net, 4).unwrap();
    let config = TrainConfig {
        augment: Augment {
            shift: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = train(&mut net, &mut sgd, &xor, &config).unwrap_err();
    assert!(err.to_string().contains("image"), "{err}");
}

#[test]
fn bad_training_settings_are_refused_before_training() {
    let bad = [
        TrainConfig {
            early_stopping: Some(0),
            ..Default::default()
        },
        TrainConfig {
            dropout: Dropout {
                input: 0.0,
                hidden: 1.0,
            },
            ..Default::default()
        },
        TrainConfig {
            dropout: Dropout {
                input: -0.1,
                hidden: 0.0,
            },
            ..Default::default()
        },
        TrainConfig {
            schedule: Schedule::Step {
                every: 0,
                factor: 0.5,
            },
            ..Default::default()
        },
    ];
    for config in bad {
        assert!(
            matches!(config.validate(), Err(Error::Config(_))),
            "{config:?}"
        );
    }
}
