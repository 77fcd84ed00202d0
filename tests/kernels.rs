//! One model on every machine: the same seed gives the same network, bit for bit, whichever
//! kernel set runs (portable, AVX2, AVX-512: every set this CPU has) and on one thread or two,
//! for the workloads of the README: the notes' sigmoid network with plain SGD at a mini-batch of
//! 10 (the sparse first layer, and the dense path with dropout and augmentation) and ReLU +
//! softmax with Adam at a mini-batch of 128 (products large enough to be shared by threads).

use backprop::{
    Activation, Architecture, Augment, Cost, Dropout, Init, Kernels, Mnist, Network,
    OptimizerConfig, TrainConfig, Training, UpdateRule,
};

/// One workload: layers, activations, optimiser, batch, and whether it moves and drops.
struct Workload {
    layers: &'static [usize],
    relu_adam: bool,
    batch_size: usize,
    regularised: bool,
}

/// Trains `w` on an MNIST subset with `kernels` on `threads` threads; every weight and bias as
/// bits, and the test cost.
fn train_with(w: &Workload, kernels: Kernels, threads: usize) -> (Vec<u32>, f64) {
    backprop::set_threads(threads);
    let m = Mnist::bundled().unwrap();
    let data = m.train.head(if w.relu_adam { 1_280 } else { 600 });
    let test = m.test.head(500);
    let arch = if w.relu_adam {
        let (relu, softmax) = (Activation::Relu, Activation::Softmax);
        Architecture::uniform(w.layers.to_vec(), relu, softmax, Cost::LogLikelihood)
    } else {
        Architecture::sigmoid(w.layers.to_vec())
    };
    let init = if w.relu_adam { Init::He } else { Init::Normal };
    let mut net = Network::<f32>::new(&arch, init, 3).unwrap();
    let (rule, learning_rate) = if w.relu_adam {
        (UpdateRule::with_defaults("adam").unwrap(), 1e-3)
    } else {
        (UpdateRule::Sgd, 1.5)
    };
    let config = OptimizerConfig {
        rule,
        learning_rate,
        l2: 1.0,
    };
    let mut optimizer = config.build(&net, data.len()).unwrap();
    let (dropout, augment) = if w.regularised {
        let dropout = Dropout {
            input: 0.1,
            hidden: 0.2,
        };
        let augment = Augment {
            shift: 2.0,
            rotate: 10.0,
            scale: 0.1,
            elastic_alpha: 8.0,
            elastic_sigma: 4.0,
        };
        (dropout, augment)
    } else {
        (Dropout::default(), Augment::default())
    };
    let config = TrainConfig {
        epochs: 1,
        batch_size: w.batch_size,
        dropout,
        augment,
        ..TrainConfig::default()
    };
    let history = kernels
        .install(|| {
            Training::new(&config)
                .test(&test)
                .run(&mut net, &mut optimizer, &data)
        })
        .unwrap()
        .unwrap();
    let bits = net
        .layers
        .iter()
        .flat_map(|l| l.weights.iter().chain(&l.biases))
        .map(|v| v.to_bits())
        .collect();
    (bits, history.epochs[0].test.as_ref().unwrap().cost)
}

#[test]
fn every_kernel_set_and_thread_count_trains_the_same_model_bit_for_bit() {
    let workloads = [
        Workload {
            layers: &[784, 16, 16, 10],
            relu_adam: false,
            batch_size: 10,
            regularised: false,
        },
        Workload {
            layers: &[784, 30, 10],
            relu_adam: false,
            batch_size: 10,
            regularised: true,
        },
        Workload {
            layers: &[784, 128, 10],
            relu_adam: true,
            batch_size: 128,
            regularised: false,
        },
        Workload {
            layers: &[784, 72, 40, 10],
            relu_adam: true,
            batch_size: 128,
            regularised: true,
        },
    ];
    for w in &workloads {
        let name = format!("{:?} at batch {}", w.layers, w.batch_size);
        let (reference, cost) = train_with(w, Kernels::Portable, 1);
        assert!(cost.is_finite() && cost > 0.0, "{name}: test cost {cost}");
        for kernels in Kernels::supported() {
            for threads in [1, 2] {
                let (bits, _) = train_with(w, kernels, threads);
                let differ = bits.iter().zip(&reference).filter(|(a, b)| a != b).count();
                assert!(
                    differ == 0,
                    "{name}, {kernels} on {threads} thread(s): {differ} of {} parameters differ \
                     from portable on one thread",
                    bits.len()
                );
            }
        }
    }
}

#[test]
fn the_portable_kernels_are_always_there() {
    assert!(Kernels::supported().contains(&Kernels::Portable));
    assert_eq!(Kernels::best(), *Kernels::supported().last().unwrap());
}
