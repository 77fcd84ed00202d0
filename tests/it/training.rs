//! Training end to end: XOR learns, MNIST subsets reach a stated accuracy, seeds reproduce
//! models bit for bit, and bad settings are refused.

use crate::common;

use backprop::{
    evaluate, train, Activation, Architecture, Cost, Dataset, Error, Init, Mnist, Network,
    OptimizerConfig, TrainConfig, Training,
};
use common::bits;

fn xor() -> Dataset {
    Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap()
}

#[test]
fn xor_learns() {
    let data = xor();
    let arch = Architecture::sigmoid(vec![2, 3, 2]);
    let mut net = Network::<f32>::new(&arch, Init::Normal, 5).unwrap();
    let before = evaluate(&net, &data).unwrap();
    let mut sgd = OptimizerConfig::sgd(2.0).build(&net, 1).unwrap();
    let config = TrainConfig {
        epochs: 3000,
        batch_size: 4,
        seed: 1,
        ..Default::default()
    };
    train(&mut net, &mut sgd, &data, &config).unwrap();
    let after = evaluate(&net, &data).unwrap();
    assert_eq!(after.correct, 4, "{after:?}");
    assert!(
        after.cost < 0.05 && after.cost < before.cost / 5.0,
        "{before:?} → {after:?}"
    );
}

fn mnist() -> Mnist {
    Mnist::bundled().unwrap()
}

fn notes_net(seed: u64) -> Network<f32> {
    Network::new(&Architecture::notes(), Init::Normal, seed).unwrap()
}

#[test]
fn the_notes_network_learns_an_mnist_subset() {
    // 10,000 training images, 3 epochs of the notes' setting: measured 86.2–87.9% on the 10,000
    // test images for seeds 1–5 (87.86% for seed 1, used here). 85% fails a broken trainer by a
    // wide margin: chance is 10%, a network that only learns the biases gets about 11%.
    let m = mnist();
    let train_set = m.train.head(10_000);
    let mut net = notes_net(1);
    let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
    let config = TrainConfig {
        epochs: 3,
        batch_size: 10,
        seed: 1,
        ..Default::default()
    };
    let reports = Training::new(&config)
        .test(&m.test)
        .run(&mut net, &mut sgd, &train_set)
        .unwrap()
        .epochs;
    let acc: Vec<f64> = reports
        .iter()
        .map(|r| r.test.as_ref().unwrap().accuracy())
        .collect();
    assert!(acc[2] >= 0.85, "test accuracy per epoch {acc:?}");
    let costs: Vec<f64> = reports.iter().map(|r| r.train_cost).collect();
    assert!(costs[2] < costs[0], "training cost should fall: {costs:?}");
}

fn train_briefly(seed: u64) -> Network<f32> {
    let m = mnist();
    let data = m.train.head(3_000);
    let mut net = notes_net(seed);
    let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 10,
        seed,
        ..Default::default()
    };
    train(&mut net, &mut sgd, &data, &config).unwrap();
    net
}

#[test]
fn the_same_seed_gives_the_same_model_bit_for_bit() {
    let a = train_briefly(42);
    let b = train_briefly(42);
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&train_briefly(43)));
}

#[test]
fn the_same_network_always_gives_the_same_file_bytes() {
    // safetensors writes its metadata in HashMap order; the saved header must not depend on it.
    let net = notes_net(3);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let path = dir.path().join(format!("m{i}.safetensors"));
            backprop::model_io::save(&net, &path).unwrap();
            std::fs::read(path).unwrap()
        })
        .collect();
    assert!(files.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn divergence_stops_training_with_a_clear_error() {
    // Identity everywhere with the largest step accepted: the weights blow up within a few steps.
    let m = mnist();
    let data = m.train.head(200);
    let arch = Architecture::uniform(
        vec![784, 16, 10],
        Activation::Identity,
        Activation::Identity,
        Cost::Quadratic,
    );
    let mut net = Network::<f32>::new(&arch, Init::Normal, 1).unwrap();
    let mut sgd = OptimizerConfig::sgd(backprop::train::MAX_LEARNING_RATE)
        .build(&net, 1)
        .unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 10,
        seed: 1,
        ..Default::default()
    };
    let err = train(&mut net, &mut sgd, &data, &config).unwrap_err();
    assert!(matches!(err, Error::Diverged { epoch: 1, .. }), "{err:?}");
    assert!(
        err.to_string().contains("try a smaller learning rate"),
        "{err}"
    );
}

#[test]
fn a_network_that_does_not_fit_the_data_is_refused() {
    let m = mnist();
    let arch = Architecture::sigmoid(vec![100, 10]);
    let mut net = Network::<f32>::new(&arch, Init::Normal, 1).unwrap();
    let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
    let err = train(&mut net, &mut sgd, &m.test, &TrainConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch: the network takes 100 inputs but the data has 784 per sample"
    );
    let arch = Architecture::sigmoid(vec![784, 3]);
    let net = Network::<f32>::new(&arch, Init::Normal, 1).unwrap();
    let err = evaluate(&net, &m.test).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch: the network has 3 outputs but the data has 10 classes"
    );
}

#[test]
fn impossible_hyper_parameters_are_refused_before_training() {
    let data = xor();
    let arch = Architecture::sigmoid(vec![2, 2]);
    let mut net = Network::<f32>::new(&arch, Init::Normal, 1).unwrap();
    let before = net.clone();
    let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
    for (config, msg) in [
        (
            TrainConfig {
                epochs: 0,
                batch_size: 1,
                seed: 1,
                ..Default::default()
            },
            "the number of epochs must be from 1 to 100000, got 0",
        ),
        (
            TrainConfig {
                epochs: 1,
                batch_size: 0,
                seed: 1,
                ..Default::default()
            },
            "batch size must be at least 1",
        ),
    ] {
        let err = train(&mut net, &mut sgd, &data, &config).unwrap_err();
        assert!(err.to_string().contains(msg), "{err}");
    }
    assert_eq!(net, before);
}
