//! Data from memory and regression: datasets built from rows, their checks, the regression
//! gradient, metrics, the estimator, checked inference and the model file's data description.

use backprop::gradcheck::check_gradients;
use backprop::model_io::{self, ModelInfo, Task};
use backprop::{
    evaluate, Activation, Architecture, Cost, Dataset, Error, Init, Mlp, Model, Network, Rng,
};

#[test]
fn regression_gradients_match_finite_differences() {
    // Identity output and the quadratic cost against real targets (not one-hot), under each
    // hidden activation: backprop_batch against central differences of the per-sample cost.
    for hidden in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
        let arch = Architecture::uniform(
            vec![3, 5, 4, 2],
            hidden,
            Activation::Identity,
            Cost::Quadratic,
        );
        let net = Network::<f64>::new(&arch, Init::Normal, 9).unwrap();
        let mut rng = Rng::new(2);
        let batch = 6;
        let x: Vec<f64> = (0..3 * batch).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..2 * batch).map(|_| 3.0 * rng.normal() + 1.0).collect();
        let check = check_gradients(&net, &x, &y, batch).unwrap();
        assert!(check.passed(), "{hidden}: {check:?}");
    }
}

#[test]
fn datasets_from_memory_are_validated_with_clear_errors() {
    let cases: Vec<(Result<Dataset, Error>, &str)> = vec![
        (
            Dataset::from_rows(&[1.0, 2.0, 3.0], 2, &[0]),
            "need 2 values, got 3",
        ),
        (
            Dataset::from_rows(&[1.0, f32::NAN], 2, &[0]),
            "feature 1 of sample 0 is NaN",
        ),
        (
            Dataset::from_rows(&[1.0, 2.0], 0, &[0]),
            "at least one input",
        ),
        (
            Dataset::from_rows_regression(&[1.0, 2.0, 3.0, 4.0], 2, &[1.0], 1),
            "2 samples of 2 features but 1 rows of 1 targets",
        ),
        (
            Dataset::from_rows_regression(&[1.0, 2.0], 1, &[1.0, f32::INFINITY], 1),
            "target 0 of sample 1 is inf",
        ),
    ];
    for (result, expected) in cases {
        let err = result.unwrap_err().to_string();
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
    }
    let d = Dataset::from_rows(&[1.0, 2.0], 1, &[0, 1]).unwrap();
    assert_eq!(d.label(5), None);
    assert!(d
        .input::<f32>(2)
        .unwrap_err()
        .to_string()
        .contains("no sample 2"));
    assert!(d.select(&[0, 3]).is_err());
}

#[test]
fn evaluate_gives_rmse_mae_and_r2_for_real_targets() {
    // One input, identity output, w = 2, b = 1: a = 2x + 1. Targets 1, 3, 6 at x = 0, 1, 2:
    // errors 0, 0, −1, so RMSE √(1/3), MAE 1/3, R² = 1 − 1/(Σ(y − 10/3)²) = 1 − 1/12.6667.
    let mut net = Network::<f32>::new(
        &Architecture::uniform(
            vec![1, 1],
            Activation::Identity,
            Activation::Identity,
            Cost::Quadratic,
        ),
        Init::Normal,
        1,
    )
    .unwrap();
    net.layers[0].weights[0] = 2.0;
    net.layers[0].biases[0] = 1.0;
    let data = Dataset::from_rows_regression(&[0.0, 1.0, 2.0], 1, &[1.0, 3.0, 6.0], 1).unwrap();
    let e = evaluate(&net, &data).unwrap();
    let r = e.regression.unwrap();
    assert!((r.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-6, "{r:?}");
    assert!((r.mae - 1.0 / 3.0).abs() < 1e-6);
    let ss_tot = (1.0f64 - 10.0 / 3.0).powi(2)
        + (3.0f64 - 10.0 / 3.0).powi(2)
        + (6.0f64 - 10.0 / 3.0).powi(2);
    assert!((r.r2 - (1.0 - 1.0 / ss_tot)).abs() < 1e-6);
    assert!((e.cost - 1.0 / 3.0).abs() < 1e-6, "mean C₀ = Σ(a − y)²/n");
    assert!(e.confusion.is_empty());
}

#[test]
fn the_regressor_learns_a_plane_and_answers_in_its_units() {
    // y = 100 + 30·x₁ − 20·x₂: far from standardised units, and exactly learnable.
    let mut rng = Rng::new(5);
    let rows: Vec<[f32; 2]> = (0..400)
        .map(|_| [rng.normal() as f32 * 5.0, rng.normal() as f32 + 10.0])
        .collect();
    let y: Vec<f32> = rows
        .iter()
        .map(|r| 100.0 + 30.0 * r[0] - 20.0 * r[1])
        .collect();
    let model = Mlp::regressor(&[8])
        .epochs(60)
        .seed(2)
        .fit(&rows, &y)
        .unwrap();
    let guess = model.predict(&[1.0, 10.0]).unwrap().value().unwrap();
    assert!(
        (guess - -70.0).abs() < 3.0,
        "predicted {guess}, expected -70"
    );
    let data = Dataset::from_rows_regression(&rows.concat(), 2, &y, 1).unwrap();
    let r = model.evaluate(&data).unwrap().regression.unwrap();
    assert!(r.r2 > 0.995 && r.rmse < 5.0, "{r:?}");
    assert!(model.info.target_scaler.is_some() && model.info.input_scaler.is_some());
}

#[test]
fn estimator_errors_are_clear() {
    let err = Mlp::classifier(&[4])
        .fit(&[vec![1.0, 2.0], vec![1.0]], &[0, 1])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("row 1 has 1 features, row 0 has 2"),
        "{err}"
    );
    let err = Mlp::classifier(&[4]).fit(&[[1.0f32]], &[0, 1]).unwrap_err();
    assert!(
        err.to_string().contains("1 rows of features but 2 targets"),
        "{err}"
    );
    let err = Mlp::classifier(&[4])
        .fit(&[[1.0f32]], &[0.5f32])
        .unwrap_err();
    assert!(err.to_string().contains("class labels"), "{err}");
    let err = Mlp::classifier(&[4])
        .epochs(0)
        .fit(&[[1.0f32]], &[0])
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn a_model_file_keeps_class_names_and_scalers() {
    let x = [[0.0f32, 10.0], [0.0, 11.0], [5.0, 10.0], [5.0, 11.0]];
    let mut model = Mlp::classifier(&[4])
        .epochs(200)
        .batch_size(4)
        .fit(&x, &[0, 0, 1, 1])
        .unwrap();
    model.info.class_names = Some(vec!["low".into(), "high".into()]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.info.task, Some(Task::Classify));
    let p = loaded.predict(&[5.0, 10.5]).unwrap();
    assert_eq!(
        (p.class(), p),
        (Some(1), loaded.predict(&[5.0, 10.5]).unwrap())
    );
    let backprop::Prediction::Class { name, .. } = loaded.predict(&[0.0, 10.5]).unwrap() else {
        panic!("a class")
    };
    assert_eq!(name.as_deref(), Some("low"));
    // A description that does not fit the network is refused, on saving and on loading.
    let bad = ModelInfo {
        class_names: Some(vec!["one".into()]),
        ..ModelInfo::default()
    };
    let err = model_io::save_with_info(&model.net, &bad, &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 class names for a network of 2"), "{err}");
    // A model without a description saves byte for byte as before.
    assert_eq!(
        model_io::to_bytes(&model.net).unwrap(),
        model_io::to_bytes_with_info(&model.net, &ModelInfo::default()).unwrap()
    );
}

#[test]
fn checked_inference_refuses_wrong_lengths() {
    let model = Mlp::regressor(&[3])
        .epochs(1)
        .fit(&[[1.0f32, 2.0], [2.0, 1.0]], &[1.0f32, 2.0])
        .unwrap();
    for bad in [&[][..], &[1.0][..], &[1.0, 2.0, 3.0][..]] {
        let err = model.predict(bad).unwrap_err().to_string();
        assert!(err.contains("rows of 2 features"), "{err}");
    }
    assert_eq!(model.predict_batch(&[1.0, 2.0, 3.0, 4.0]).unwrap().len(), 2);
    let err = model.net.outputs(&[1.0]).unwrap_err().to_string();
    assert!(err.contains("takes 2 inputs, got 1"), "{err}");
}

#[test]
fn l2_without_training_samples_is_refused() {
    let net = Network::<f32>::new(&Architecture::sigmoid(vec![2, 2]), Init::Normal, 1).unwrap();
    let config = backprop::OptimizerConfig {
        l2: 0.5,
        ..backprop::OptimizerConfig::sgd(0.1)
    };
    let err = config.build(&net, 0).unwrap_err().to_string();
    assert!(
        err.contains("needs the number of training samples"),
        "{err}"
    );
    assert!(config.build(&net, 10).is_ok());
}

#[test]
fn fitting_with_progress_reports_each_epoch_in_the_targets_units_and_can_stop_early() {
    // y = 100 + 30·x₁ − 20·x₂ + noise: a test set, and a validation tenth held out for stopping.
    let mut rng = Rng::new(8);
    let mut table = |n: usize| {
        let rows: Vec<f32> = (0..2 * n).map(|_| rng.normal() as f32 * 5.0).collect();
        let y: Vec<f32> = rows
            .chunks(2)
            .map(|r| 100.0 + 30.0 * r[0] - 20.0 * r[1] + 5.0 * rng.normal() as f32)
            .collect();
        Dataset::from_rows_regression(&rows, 2, &y, 1).unwrap()
    };
    let (train, test) = (table(300), table(100));
    #[derive(Default)]
    struct Seen(Vec<backprop::EpochReport>);
    impl backprop::Progress for Seen {
        fn epoch_end(&mut self, r: &backprop::EpochReport) {
            self.0.push(r.clone());
        }
    }
    let mut seen = Seen::default();
    let (model, history) = Mlp::regressor(&[8])
        .epochs(500)
        .learning_rate(0.05)
        .early_stopping(5)
        .fit_dataset_with(&train, Some(&test), &mut seen)
        .unwrap();
    assert_eq!(history.stop, backprop::Stop::NoImprovement);
    assert!(seen.0.len() < 500 && seen.0.len() == history.epochs.len());
    let best = history.best_epoch.unwrap();
    assert_eq!(
        seen.0.len(),
        best + 5,
        "five epochs without a better R² after the best"
    );
    // The kept network is the best epoch's: its test metrics, in the target's units, are what
    // the report said then (RMSE times the target's σ; R² the same in any units).
    let reported = seen.0[best - 1].test.as_ref().unwrap().regression.unwrap();
    let now = model.evaluate(&test).unwrap().regression.unwrap();
    assert!(
        (reported.rmse - now.rmse).abs() <= 1e-4 * now.rmse,
        "{reported:?} vs {now:?}"
    );
    assert!(
        (reported.mae - now.mae).abs() <= 1e-4 * now.mae,
        "{reported:?} vs {now:?}"
    );
    assert!(
        (reported.r2 - now.r2).abs() < 1e-5,
        "{reported:?} vs {now:?}"
    );
    assert!(
        now.rmse > 3.0 && now.rmse < 15.0,
        "in y's units (noise σ 5): {now:?}"
    );
    assert!(
        seen.0[0].validation.is_some(),
        "the held-out tenth is evaluated"
    );
    assert_eq!(seen.0[0].validation.as_ref().unwrap().n, 30);
    // Too small a share to hold anything out is an error, not a silent run without stopping.
    let err = Mlp::regressor(&[8])
        .early_stopping(5)
        .validation_fraction(0.0)
        .fit_dataset(&train)
        .unwrap_err()
        .to_string();
    assert!(err.contains("validation fraction 0"), "{err}");
}
