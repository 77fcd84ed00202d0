//! One thread or two, the same model bit for bit. In its own test binary because the thread
//! count is process-wide.

use backprop::{
    linalg, train, Activation, Architecture, Cost, Init, Method, Mnist, Monitor, Network,
    OptimizerConfig, TrainConfig,
};

fn train_with(threads: usize) -> (Vec<u32>, f64) {
    linalg::set_threads(threads);
    let m = Mnist::bundled().unwrap();
    let data = m.train.head(3_000);
    let test = m.test.head(1_000);
    // Wide enough and batched enough that every product goes to the multi-threaded GEMM.
    let arch = Architecture::uniform(
        vec![784, 512, 10],
        Activation::Relu,
        Activation::Softmax,
        Cost::LogLikelihood,
    );
    let mut net = Network::<f32>::new(&arch, Init::He, 1).unwrap();
    let mut adam = OptimizerConfig {
        method: Method::with_defaults("adam").unwrap(),
        learning_rate: 1e-3,
        l2: 0.0,
    }
    .build(&net, data.len())
    .unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 128,
        ..Default::default()
    };
    let monitor = Monitor {
        test: Some(&test),
        validation: None,
    };
    let h = train(&mut net, &mut adam, &data, monitor, &config, &mut ()).unwrap();
    let bits = net
        .layers
        .iter()
        .flat_map(|l| l.weights.iter().chain(&l.biases))
        .map(|v| v.to_bits())
        .collect();
    (bits, h.epochs[1].test.as_ref().unwrap().cost)
}

#[test]
fn one_or_two_threads_give_the_same_model_bit_for_bit() {
    const { assert!(128 * 512 * 784 > linalg::GEMM_THRESHOLD) };
    let (one, cost_one) = train_with(1);
    let (two, cost_two) = train_with(2);
    assert_eq!(linalg::threads(), 2);
    assert!(one == two, "the weights differ between 1 and 2 threads");
    assert_eq!(cost_one.to_bits(), cost_two.to_bits());
}
