//! Backpropagation against central finite differences, for every activation × cost pair over
//! random layer sizes, and the batched fast path against the per-sample reference.

use backprop::gradcheck::{
    check_gradients, combinations, compare, relative_error, STEP, TOLERANCE,
};
use backprop::train::step::fused_sgd;
use backprop::{
    Activation, Architecture, Cost, Dense, Dropout, Gradient, Init, Kernels, LayerGradient,
    Network, Rng, Workspace,
};

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
    assert_eq!(combos.len(), 40);
    for seed in 0..12 {
        for (i, &combo) in combos.iter().enumerate() {
            let (net, x, y, batch) = random_case(seed * 100 + i as u64, combo);
            let check = check_gradients(&net, &x, &y, batch).unwrap();
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
    let check = check_gradients(&net, &x, &y, 1).unwrap();
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
        let (g, c) = net
            .backprop(&x[s * n_in..(s + 1) * n_in], &y[s * n_out..(s + 1) * n_out])
            .unwrap();
        sum.add(&g).unwrap();
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
        let check = compare(&net, &grad, &x, &y, batch).unwrap();
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
            ws.input_mut(batch).unwrap().copy_from_slice(&x);
            let mut grad = Gradient::zeros_like(&net);
            let cost = net.backprop_batch(&mut ws, &y, batch, &mut grad).unwrap();
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

/// The f32 fast path (vectorised kernels, e^x by `fast_exp`) against the f64 per-sample
/// reference, for every activation × cost pair on the notes' layer sizes.
#[test]
fn training_in_f32_computes_the_f64_gradient() {
    for (i, &(h, o, c)) in combinations().iter().enumerate() {
        let arch = Architecture::uniform(vec![784, 16, 16, 10], h, o, c);
        let net64 = Network::<f64>::new(&arch, Init::Scaled, 4 + i as u64).unwrap();
        let net32: Network<f32> = net64.convert();
        let mut rng = Rng::new(9 + i as u64);
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
        for (d, &s) in ws.input_mut(batch).unwrap().iter_mut().zip(&x) {
            *d = s as f32;
        }
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        let mut grad = Gradient::zeros_like(&net32);
        net32
            .backprop_batch(&mut ws, &y32, batch, &mut grad)
            .unwrap();
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
                    "{h}/{o}/{c:?}: {a} vs {b} (largest component {max})"
                );
            }
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
    assert!(compare(&net, &grad, &x, &y, batch).unwrap().passed());
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
    let check = compare(&net, &grad, &x, &y, batch).unwrap();
    assert!(
        !check.passed() && check.max_rel_error > TOLERANCE,
        "{check:?}"
    );
}

/// Parameter `p` of layer `l`: its weights first, then its biases.
fn param(net: &mut Network<f64>, l: usize, p: usize) -> &mut f64 {
    let layer = &mut net.layers[l];
    let n_w = layer.weights.len();
    if p < n_w {
        &mut layer.weights[p]
    } else {
        &mut layer.biases[p - n_w]
    }
}

#[test]
fn dropout_gradients_match_finite_differences_with_the_masks_held_fixed() {
    // With a mask drawn once, the cost is an ordinary function of the parameters; backprop
    // through the masks must be its exact gradient.
    let dropout = Dropout {
        input: 0.2,
        hidden: 0.5,
    };
    for (i, &combo) in combinations().iter().enumerate() {
        let (net, x, y, batch) = random_case(90_000 + i as u64, combo);
        let mut ws = Workspace::new(&net, batch);
        ws.set_dropout(&dropout).unwrap();
        ws.draw_masks(&mut Rng::new(i as u64), batch).unwrap();
        let mut grad = Gradient::zeros_like(&net);
        let mut cost = |net: &Network<f64>, grad: &mut Gradient<f64>| {
            ws.input_mut(batch).unwrap().copy_from_slice(&x);
            net.backprop_batch(&mut ws, &y, batch, grad).unwrap() / batch as f64
        };
        cost(&net, &mut grad);
        let mut scratch = Gradient::zeros_like(&net);
        let mut probe = net.clone();
        let mut worst = 0.0f64;
        for l in 0..net.layers.len() {
            let n_w = net.layers[l].weights.len();
            for p in 0..n_w + net.layers[l].biases.len() {
                let analytic = if p < n_w {
                    grad.layers[l].dc_dw[p]
                } else {
                    grad.layers[l].dc_db[p - n_w]
                };
                let original = *param(&mut probe, l, p);
                *param(&mut probe, l, p) = original + STEP;
                let plus = cost(&probe, &mut scratch);
                *param(&mut probe, l, p) = original - STEP;
                let minus = cost(&probe, &mut scratch);
                *param(&mut probe, l, p) = original;
                worst = worst.max(relative_error(analytic, (plus - minus) / (2.0 * STEP)));
            }
        }
        assert!(
            worst <= TOLERANCE,
            "{combo:?}: worst relative error {worst}"
        );
    }
}

#[test]
fn dropout_keeps_about_the_asked_fraction_scales_it_and_never_drops_at_evaluation() {
    let net =
        Network::<f64>::new(&Architecture::sigmoid(vec![50, 40, 3]), Init::Normal, 1).unwrap();
    let mut ws = Workspace::new(&net, 100);
    ws.set_dropout(&Dropout {
        input: 0.2,
        hidden: 0.5,
    })
    .unwrap();
    ws.draw_masks(&mut Rng::new(3), 100).unwrap();
    for (l, n, keep) in [(0, 50, 0.8), (1, 40, 0.5)] {
        let mask = ws.dropout_mask(l, 100).unwrap();
        assert_eq!(mask.len(), 100 * n);
        let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / mask.len() as f64;
        // 5000 or 4000 Bernoulli draws: the fraction kept is within 0.03 of keep (> 4 σ).
        assert!((kept - keep).abs() < 0.03, "layer {l}: kept {kept}");
        assert!(mask
            .iter()
            .all(|&m| m == 0.0 || (m - 1.0 / keep).abs() < 1e-12));
    }
    assert!(ws.dropout_mask(2, 100).is_none());
    // Evaluation never drops: forward_batch equals the per-sample feedforward.
    ws.input_mut(100).unwrap().fill(1.0);
    let out = net.forward_batch(&mut ws, 100).unwrap().to_vec();
    let reference = net.feedforward(&[1.0; 50]).unwrap();
    for row in out.chunks_exact(3) {
        for (a, b) in row.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-12);
        }
    }
    assert!(Workspace::new(&net, 1)
        .set_dropout(&Dropout {
            input: 1.0,
            hidden: 0.0
        })
        .is_err());
}

/// Plain gradient descent fused into backpropagation (`sgd_step_batch`, no gradient written
/// out) leaves the network as backpropagation followed by the optimiser's step: bit for bit
/// where the fused step forms the gradient too (f64, where gemm writes it to the scratch
/// buffer), and within rounding where the f32 kernels sum each sample's step into the weights
/// (the next test holds those to the bit); with dropout, with ReLU, above and below
/// `GEMM_THRESHOLD`.
#[test]
fn fused_gradient_descent_equals_backprop_then_the_optimisers_step() {
    fn case<T: backprop::Real>(
        sizes: Vec<usize>,
        act: Activation,
        batch: usize,
        dropout: bool,
        exact: bool,
    ) {
        let same = |p: T, q: T| {
            let (p, q) = (p.to_f64(), q.to_f64());
            if exact {
                p.to_bits() == q.to_bits()
            } else {
                (p - q).abs() <= 1e-5 * p.abs().max(1.0)
            }
        };
        let arch = Architecture::uniform(sizes, act, Activation::Sigmoid, Cost::Quadratic);
        let net = Network::<T>::new(&arch, Init::Scaled, 3).unwrap();
        let mut rng = Rng::new(4);
        let x: Vec<T> = (0..batch * net.n_inputs())
            .map(|_| T::from_f64(rng.uniform()))
            .collect();
        let mut y = vec![T::ZERO; batch * net.n_outputs()];
        for row in y.chunks_exact_mut(net.n_outputs()) {
            row[rng.below(row.len())] = T::ONE;
        }
        let config = backprop::OptimizerConfig {
            rule: backprop::UpdateRule::Sgd,
            learning_rate: 0.7,
            l2: 0.0,
        };
        let (mut a, mut b) = (net.clone(), net.clone());
        let mut optim = config.build(&a, 1000).unwrap();
        let mut scratch = Gradient::zeros_like(&b);
        for step in 0..3 {
            let mut ws_a = Workspace::new(&a, batch);
            let mut ws_b = Workspace::new(&b, batch);
            for ws in [&mut ws_a, &mut ws_b] {
                ws.input_mut(batch).unwrap().copy_from_slice(&x);
                if dropout {
                    ws.set_dropout(&Dropout {
                        input: 0.2,
                        hidden: 0.5,
                    })
                    .unwrap();
                    ws.draw_masks(&mut Rng::new(step), batch).unwrap();
                }
            }
            let mut grad = Gradient::zeros_like(&a);
            let cost_a = a.backprop_batch(&mut ws_a, &y, batch, &mut grad).unwrap();
            optim.step(&mut a, &grad).unwrap();
            let cost_b =
                fused_sgd(&mut b, &mut ws_b, &y, batch, T::from_f64(0.7), &mut scratch).unwrap();
            assert!(same(cost_a, cost_b), "cost {cost_a} vs {cost_b}");
            for (la, lb) in a.layers.iter().zip(&b.layers) {
                for (p, q) in la
                    .weights
                    .iter()
                    .chain(&la.biases)
                    .zip(lb.weights.iter().chain(&lb.biases))
                {
                    assert!(same(*p, *q), "{act} {:?}: {p} vs {q}", arch.sizes);
                }
            }
        }
        assert_ne!(a, net, "the steps changed nothing");
    }
    // Small f32 layers run the fused kernels (of every kernel set): within rounding of the
    // optimiser's step. Each set is held to the same results.
    for kernels in Kernels::supported() {
        kernels
            .install(|| {
                let sigmoid = Activation::Sigmoid;
                case::<f32>(vec![784, 16, 16, 10], sigmoid, 10, false, false);
                case::<f32>(vec![784, 30, 10], Activation::Relu, 10, true, false);
                case::<f32>(vec![19, 33, 7, 3], Activation::Tanh, 5, false, false);
                case::<f32>(vec![784, 700, 10], sigmoid, 100, false, false);
                case::<f64>(vec![784, 16, 16, 10], sigmoid, 10, true, true);
            })
            .unwrap();
    }
}

/// One layer's plain gradient descent step (`Dense::sgd_step_batch`) is w ← w − η·Σ_samples δ·aᵀ
/// taken sample by sample, w_jk ← fma(−η·δ_j, a_k, w_jk) in sample order, and b ← b − η·Σ δ:
/// bit for bit with every kernel set (small f32 layers run the fused kernel), for column
/// counts that are and are not multiples of the kernel's 16, down to one sample, and with more
/// samples than inputs.
#[test]
fn a_layers_gradient_descent_step_is_each_samples_step_in_turn() {
    let mut rng = Rng::new(21);
    // The last two have more samples than inputs, so the kernel scales −η·δ as it goes.
    let shapes = [
        (784, 16, 10),
        (16, 16, 10),
        (16, 10, 10),
        (19, 33, 5),
        (5, 3, 1),
        (16, 5, 20),
        (2, 20, 9),
    ];
    for (n_in, n_out, batch) in shapes {
        let mut layer = Dense::<f32>::zeros(n_in, n_out, Activation::Sigmoid);
        for w in layer.weights.iter_mut().chain(&mut layer.biases) {
            *w = rng.uniform() as f32 - 0.5;
        }
        let a: Vec<f32> = (0..batch * n_in).map(|_| rng.uniform() as f32).collect();
        let delta: Vec<f32> = (0..batch * n_out)
            .map(|_| rng.uniform() as f32 - 0.5)
            .collect();
        let eta = 0.7f32;
        let mut expected = layer.clone();
        for j in 0..n_out {
            let (d, a) = (
                |s: usize| delta[s * n_out + j],
                |s: usize, k| a[s * n_in + k],
            );
            for k in 0..n_in {
                let w = &mut expected.weights[j * n_in + k];
                for s in 0..batch {
                    *w = (-eta * d(s)).mul_add(a(s, k), *w);
                }
            }
            let db = (1..batch).fold(d(0), |db, s| db + d(s));
            expected.biases[j] += -eta * db;
        }
        let values = |l: &Dense<f32>| -> Vec<f32> { [&l.weights[..], &l.biases].concat() };
        for kernels in Kernels::supported() {
            let mut layer = layer.clone();
            let mut scratch = LayerGradient::zeros_like(&layer);
            kernels
                .install(|| layer.sgd_step_batch(batch, &a, &delta, eta, &mut scratch, None))
                .unwrap();
            for (got, want) in values(&layer).into_iter().zip(values(&expected)) {
                assert!(
                    got.to_bits() == want.to_bits(),
                    "{kernels}, {n_in}-{n_out}, batch {batch}: {got} vs {want}"
                );
            }
        }
    }
}
