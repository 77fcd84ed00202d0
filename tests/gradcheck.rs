//! Backpropagation against central finite differences, for every activation × cost pair over
//! random layer sizes, and the batched fast path against the per-sample reference.

use backprop::gradcheck::{check_gradients, combinations, compare, TOLERANCE};
use backprop::{Activation, Architecture, Cost, Gradient, Init, Network, Rng, Workspace};

/// A random network with 1 to 3 hidden layers of 1 to 9 neurons, a random batch and one-hot
/// targets, all from `seed`.
fn random_case(
    seed: u64,
    (h, o, c): (Activation, Activation, Cost),
) -> (Network<f64>, Vec<f64>, Vec<f64>, usize) {
    let mut rng = Rng::new(seed);
    let n_layers = 2 + rng.below(3);
    let sizes: Vec<usize> = (0..=n_layers).map(|_| 1 + rng.below(9)).collect();
    let batch = 1 + rng.below(5);
    let net = Network::new(&Architecture::uniform(sizes, h, o, c), Init::Scaled, seed).unwrap();
    let x: Vec<f64> = (0..batch * net.n_inputs()).map(|_| rng.uniform()).collect();
    let mut y = vec![0.0; batch * net.n_outputs()];
    for row in y.chunks_exact_mut(net.n_outputs()) {
        row[rng.below(row.len())] = 1.0;
    }
    (net, x, y, batch)
}

#[test]
fn backprop_matches_finite_differences_for_every_activation_and_cost() {
    let combos = combinations();
    assert_eq!(combos.len(), 28);
    for seed in 0..12 {
        for (i, &combo) in combos.iter().enumerate() {
            let (net, x, y, batch) = random_case(seed * 100 + i as u64, combo);
            let check = check_gradients(&net, &x, &y, batch);
            assert!(
                check.passed(),
                "{combo:?}, sizes {:?}, batch {batch}: {check:?}",
                net.architecture().sizes
            );
        }
    }
}

#[test]
fn the_notes_network_passes_the_gradient_check() {
    // 784-16-16-10, sigmoid, quadratic, N(0,1): the network the notes derive, all 13,002 parameters.
    let net = Network::<f64>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    let mut rng = Rng::new(2);
    let x: Vec<f64> = (0..784).map(|_| rng.uniform()).collect();
    let mut y = vec![0.0; 10];
    y[3] = 1.0;
    let check = check_gradients(&net, &x, &y, 1);
    assert_eq!(check.n_parameters, 13_002);
    assert!(check.passed(), "{check:?}");
}

/// The reference: the per-sample backprop of the notes, averaged over the batch.
fn reference_gradient(
    net: &Network<f64>,
    x: &[f64],
    y: &[f64],
    batch: usize,
) -> (Gradient<f64>, f64) {
    let (n_in, n_out) = (net.n_inputs(), net.n_outputs());
    let mut sum = Gradient::zeros_like(net);
    let mut cost = 0.0;
    for s in 0..batch {
        let (g, c) = net.backprop(&x[s * n_in..(s + 1) * n_in], &y[s * n_out..(s + 1) * n_out]);
        sum.add(&g);
        cost += c;
    }
    sum.scale(1.0 / batch as f64);
    (sum, cost)
}

#[test]
fn the_per_sample_reference_also_matches_finite_differences() {
    for (i, &combo) in combinations().iter().enumerate() {
        let (net, x, y, batch) = random_case(7_000 + i as u64, combo);
        let (grad, _) = reference_gradient(&net, &x, &y, batch);
        let check = compare(&net, &grad, &x, &y, batch);
        assert!(check.passed(), "{combo:?}: {check:?}");
    }
}

#[test]
fn batched_backprop_equals_the_per_sample_reference() {
    for seed in 0..10 {
        for (i, &combo) in combinations().iter().enumerate() {
            let (net, x, y, batch) = random_case(50_000 + seed * 100 + i as u64, combo);
            let (expected, expected_cost) = reference_gradient(&net, &x, &y, batch);
            let mut ws = Workspace::new(&net, batch);
            ws.input_mut(batch).copy_from_slice(&x);
            let mut grad = Gradient::zeros_like(&net);
            let cost = net.backprop_batch(&mut ws, &y, batch, &mut grad);
            assert!((cost - expected_cost).abs() <= 1e-12 * (1.0 + expected_cost.abs()));
            for (l, (g, e)) in grad.layers.iter().zip(&expected.layers).enumerate() {
                for (a, b) in g
                    .dc_dw
                    .iter()
                    .chain(&g.dc_db)
                    .zip(e.dc_dw.iter().chain(&e.dc_db))
                {
                    assert!(
                        (a - b).abs() <= 1e-12 + 1e-10 * b.abs(),
                        "{combo:?} layer {l}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn training_in_f32_computes_the_f64_gradient() {
    let net64 = Network::<f64>::new(&Architecture::notes(), Init::Normal, 4).unwrap();
    let net32: Network<f32> = net64.convert();
    let mut rng = Rng::new(9);
    let batch = 10;
    let x: Vec<f64> = (0..batch * 784)
        .map(|_| (rng.below(256) as f64) / 255.0)
        .collect();
    let mut y = vec![0.0; batch * 10];
    for row in y.chunks_exact_mut(10) {
        row[rng.below(10)] = 1.0;
    }
    let (expected, _) = reference_gradient(&net64, &x, &y, batch);
    let mut ws = Workspace::new(&net32, batch);
    for (d, &s) in ws.input_mut(batch).iter_mut().zip(&x) {
        *d = s as f32;
    }
    let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let mut grad = Gradient::zeros_like(&net32);
    net32.backprop_batch(&mut ws, &y32, batch, &mut grad);
    let max = expected
        .layers
        .iter()
        .flat_map(|l| l.dc_dw.iter().chain(&l.dc_db))
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (g, e) in grad.layers.iter().zip(&expected.layers) {
        for (&a, &b) in g
            .dc_dw
            .iter()
            .chain(&g.dc_db)
            .zip(e.dc_dw.iter().chain(&e.dc_db))
        {
            assert!(
                (a as f64 - b).abs() <= 1e-5 * max,
                "{a} vs {b} (largest component {max})"
            );
        }
    }
}

#[test]
fn a_wrong_gradient_fails_the_check() {
    let (net, x, y, batch) = random_case(
        3,
        (Activation::Sigmoid, Activation::Sigmoid, Cost::Quadratic),
    );
    let (mut grad, _) = reference_gradient(&net, &x, &y, batch);
    assert!(compare(&net, &grad, &x, &y, batch).passed());
    // The notes' 2(a − y) with the 2 forgotten would halve every gradient; a much subtler error,
    // one component off by 0.1%, must already fail.
    let layer = &mut grad.layers[0];
    let (i, _) = layer
        .dc_dw
        .iter()
        .enumerate()
        .fold((0, 0.0f64), |best, (i, &v)| {
            if v.abs() > best.1 {
                (i, v.abs())
            } else {
                best
            }
        });
    layer.dc_dw[i] *= 1.001;
    let check = compare(&net, &grad, &x, &y, batch);
    assert!(
        !check.passed() && check.max_rel_error > TOLERANCE,
        "{check:?}"
    );
}
