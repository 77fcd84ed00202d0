//! The public API checks what it is given: each wrong call gets an error that says what is
//! wrong, never a panic, a silent truncation or an update of the wrong network.

use backprop::gradcheck::{check_gradients, compare};
use backprop::{
    train, Architecture, Dataset, Error, Gradient, Init, Network, OptimizerConfig, TrainConfig,
    Workspace,
};

/// A 2-3-2 network and its workspace for 4 samples.
fn small() -> (Network<f64>, Workspace<f64>) {
    let net = Network::new(&Architecture::sigmoid(vec![2, 3, 2]), Init::Normal, 1).unwrap();
    let ws = Workspace::new(&net, 4);
    (net, ws)
}

/// A network of another shape (2-4-2).
fn other() -> Network<f64> {
    Network::new(&Architecture::sigmoid(vec![2, 4, 2]), Init::Normal, 2).unwrap()
}

fn shape_error<T: std::fmt::Debug>(r: backprop::Result<T>) -> String {
    match r {
        Err(e @ Error::Shape(_)) => e.to_string(),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn backprop_batch_refuses_targets_of_the_wrong_length() {
    let (net, mut ws) = small();
    ws.input_mut(2).unwrap().fill(0.5);
    let mut grad = Gradient::zeros_like(&net);
    // Two samples of two outputs need four targets; three used to be cut to one sample.
    let err = shape_error(net.backprop_batch(&mut ws, &[1.0, 0.0, 1.0], 2, &mut grad));
    assert!(
        err.contains("2 sample(s) need 4 target values (2 per sample), got 3"),
        "{err}"
    );
    let err = shape_error(net.backprop_batch(&mut ws, &[1.0; 10], 2, &mut grad));
    assert!(err.contains("got 10"), "{err}");
    assert_eq!(grad, Gradient::zeros_like(&net), "nothing was written");
    // The right length works.
    net.backprop_batch(&mut ws, &[1.0, 0.0, 0.0, 1.0], 2, &mut grad)
        .unwrap();
}

#[test]
fn backprop_batch_refuses_a_workspace_or_gradient_of_another_network_and_too_big_a_batch() {
    let (net, mut ws) = small();
    let y = vec![0.0; 10];
    let mut grad = Gradient::zeros_like(&net);
    let err = shape_error(net.backprop_batch(&mut ws, &y, 5, &mut grad));
    assert!(
        err.contains("a batch of 5 samples does not fit a workspace made for 4"),
        "{err}"
    );
    let mut foreign_ws = Workspace::new(&other(), 4);
    let err = shape_error(net.backprop_batch(&mut foreign_ws, &y[..4], 2, &mut grad));
    assert!(
        err.contains("the workspace was made for a network of sizes [2, 4, 2], not [2, 3, 2]"),
        "{err}"
    );
    let err = shape_error(net.forward_batch(&mut foreign_ws, 2));
    assert!(err.contains("sizes [2, 4, 2], not [2, 3, 2]"), "{err}");
    let mut foreign_grad = Gradient::zeros_like(&other());
    let err = shape_error(net.backprop_batch(&mut ws, &y[..4], 2, &mut foreign_grad));
    assert!(
        err.contains("the gradient is shaped for a network of sizes [2, 4, 2], not [2, 3, 2]"),
        "{err}"
    );
}

#[test]
fn the_fused_step_checks_as_backprop_batch_does() {
    let (mut net, mut ws) = small();
    let before = net.clone();
    let mut scratch = Gradient::zeros_like(&net);
    let err = shape_error(backprop::train::step::fused_sgd(
        &mut net,
        &mut ws,
        &[1.0],
        1,
        0.5,
        &mut scratch,
    ));
    assert!(err.contains("1 sample(s) need 2 target values"), "{err}");
    assert_eq!(net, before, "the network was not stepped");
}

#[test]
fn the_optimisers_step_refuses_a_gradient_or_a_state_of_another_network() {
    let (mut net, _) = small();
    let before = net.clone();
    let mut sgd = OptimizerConfig::sgd(0.5).build(&net, 10).unwrap();
    let err = shape_error(sgd.step(&mut net, &Gradient::zeros_like(&other())));
    assert!(
        err.contains("the gradient is shaped for a network of sizes [2, 4, 2], not [2, 3, 2]"),
        "{err}"
    );
    // Adam's moments built for the 2-4-2 network, used on the 2-3-2 one.
    let mut adam = OptimizerConfig::adam(1e-3).build(&other(), 10).unwrap();
    let grad = Gradient::zeros_like(&net);
    let err = shape_error(adam.step(&mut net, &grad));
    assert!(
        err.contains(
            "the adam optimiser's state is shaped for a network of sizes [2, 4, 2], not [2, 3, 2]"
        ),
        "{err}"
    );
    assert_eq!(adam.state().steps, 0, "a refused step is not counted");
    let momentum = OptimizerConfig::momentum(0.1, 0.9)
        .build(&other(), 10)
        .unwrap();
    let err = shape_error(momentum.check_network(&net));
    assert!(err.contains("the momentum optimiser's state"), "{err}");
    assert_eq!(net, before, "no refused step changed the network");
}

#[test]
fn training_refuses_an_optimiser_built_for_another_network_before_any_step() {
    let xor =
        Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
    let mut net =
        Network::<f32>::new(&Architecture::sigmoid(vec![2, 3, 2]), Init::Normal, 1).unwrap();
    let before = net.clone();
    let foreign =
        Network::<f32>::new(&Architecture::sigmoid(vec![2, 4, 2]), Init::Normal, 1).unwrap();
    let mut adam = OptimizerConfig::adam(1e-2)
        .build(&foreign, xor.len())
        .unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 2,
        ..TrainConfig::default()
    };
    let err = train(&mut net, &mut adam, &xor, &config).unwrap_err();
    assert!(
        err.to_string()
            .contains("the adam optimiser's state is shaped for a network of sizes [2, 4, 2]"),
        "{err}"
    );
    assert_eq!(net, before);
}

#[test]
fn a_workspace_refuses_batches_past_its_capacity() {
    let (net, mut ws) = small();
    assert_eq!(ws.capacity(), 4);
    let err = shape_error(ws.input_mut(5));
    assert!(
        err.contains("a batch of 5 samples does not fit a workspace made for 4"),
        "{err}"
    );
    let err = shape_error(net.forward_batch(&mut ws, 5));
    assert!(err.contains("a batch of 5 samples"), "{err}");
    let err = shape_error(ws.draw_masks(&mut backprop::Rng::new(1), 5));
    assert!(err.contains("a batch of 5 samples"), "{err}");
    assert!(ws.activations(1, 5).is_none() && ws.activations(3, 1).is_none());
    assert_eq!(ws.input_mut(4).unwrap().len(), 8);
}

#[test]
fn one_sample_calls_refuse_inputs_and_targets_of_the_wrong_length() {
    let (net, _) = small();
    let err = shape_error(net.feedforward(&[0.5]));
    assert!(err.contains("the network takes 2 inputs, got 1"), "{err}");
    let err = shape_error(net.outputs(&[0.5, 0.5, 0.5]));
    assert!(err.contains("the network takes 2 inputs, got 3"), "{err}");
    let err = shape_error(net.backprop(&[0.5], &[1.0, 0.0]));
    assert!(err.contains("the network takes 2 inputs, got 1"), "{err}");
    let err = shape_error(net.backprop(&[0.5, 0.5], &[1.0]));
    assert!(
        err.contains("1 sample(s) need 2 target values (2 per sample), got 1"),
        "{err}"
    );
    let err = shape_error(net.backward_trace(&[0.5, 0.5], &[1.0, 0.0, 0.0]));
    assert!(err.contains("got 3"), "{err}");
}

#[test]
fn gradient_checks_and_sums_refuse_mismatched_shapes() {
    let (net, _) = small();
    let err = shape_error(check_gradients(&net, &[0.5; 3], &[1.0, 0.0], 1));
    assert!(err.contains("the network takes 2 inputs, got 3"), "{err}");
    let err = shape_error(check_gradients(&net, &[0.5; 4], &[1.0, 0.0], 2));
    assert!(err.contains("2 sample(s) need 4 target values"), "{err}");
    let err = shape_error(check_gradients(&net, &[], &[], 0));
    assert!(err.contains("at least one sample"), "{err}");
    let err = shape_error(compare(
        &net,
        &Gradient::zeros_like(&other()),
        &[0.5, 0.5],
        &[1.0, 0.0],
        1,
    ));
    assert!(err.contains("the gradient is shaped for"), "{err}");
    let mut sum = Gradient::zeros_like(&net);
    let err = shape_error(sum.add(&Gradient::zeros_like(&other())));
    assert!(
        err.contains(
            "cannot add a gradient shaped for sizes [2, 4, 2] to one shaped for [2, 3, 2]"
        ),
        "{err}"
    );
}

#[test]
fn dataset_indices_past_the_end_are_none_or_an_error() {
    let d = Dataset::from_floats(vec![0., 1., 2., 3.], vec![0, 1], 2, 2).unwrap();
    assert_eq!(
        (d.label(1), d.label(2), d.label(usize::MAX)),
        (Some(1), None, None)
    );
    let err = d.input::<f32>(2).unwrap_err().to_string();
    assert!(err.contains("no sample 2: the dataset has 2"), "{err}");
    let err = d.target::<f32>(7).unwrap_err().to_string();
    assert!(err.contains("no sample 7"), "{err}");
}

#[test]
fn features_and_targets_that_are_not_finite_are_refused() {
    let err = Dataset::from_floats(vec![0., 1., f32::NAN, 3.], vec![0, 1], 2, 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("feature 0 of sample 1 is NaN, not a finite number"),
        "{err}"
    );
    let err = Dataset::from_rows(&[0., f32::INFINITY], 2, &[0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("feature 1 of sample 0 is inf, not a finite number"),
        "{err}"
    );
    let err = Dataset::from_floats_regression(vec![0., 1.], vec![f32::NAN, 1.0], 1, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("target 0 of sample 0 is NaN"), "{err}");
}

#[test]
fn l2_needs_the_number_of_training_samples() {
    let (net, _) = small();
    let config = OptimizerConfig {
        l2: 5.0,
        ..OptimizerConfig::sgd(0.5)
    };
    let err = config.build(&net, 0).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("L2 regularisation λ/n needs the number of training samples n, got 0"),
        "{err}"
    );
    config.build(&net, 1).unwrap();
    // Without λ, no n is needed.
    OptimizerConfig::sgd(0.5).build(&net, 0).unwrap();
}

#[test]
fn library_errors_speak_of_the_library_not_of_the_command_lines_flags() {
    // Early stopping without a validation set: the library names its own argument.
    let xor =
        Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
    let mut net =
        Network::<f32>::new(&Architecture::sigmoid(vec![2, 3, 2]), Init::Normal, 1).unwrap();
    let mut sgd = OptimizerConfig::sgd(1.0).build(&net, 4).unwrap();
    let config = TrainConfig {
        early_stopping: Some(2),
        ..TrainConfig::default()
    };
    let err = train(&mut net, &mut sgd, &xor, &config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("validation set") && !err.contains("--"),
        "{err}"
    );
    let err = xor.clone().split_last(4).unwrap_err().to_string();
    assert!(
        err.contains("cannot hold out 4 of 4 samples") && !err.contains("validation"),
        "{err}"
    );
}

#[test]
fn a_grey_image_must_have_its_width_times_height_pixels() {
    let err = shape_error(backprop::digit::GreyImage::new(3, 2, vec![0.5; 5]));
    assert!(err.contains("a 3×2 image has 6 pixels, got 5"), "{err}");
    let err = shape_error(backprop::digit::GreyImage::new(usize::MAX, 2, vec![]));
    assert!(err.contains("got 0"), "{err}");
    assert_eq!(
        backprop::digit::GreyImage::new(3, 2, vec![0.5; 6])
            .unwrap()
            .pixels
            .len(),
        6
    );
}
