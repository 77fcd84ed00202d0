//! One thread or two, the same model bit for bit. In its own test binary because the thread
//! count is process-wide.

mod common;

use backprop::{
    Activation, Architecture, Cost, Init, Mnist, Network, OptimizerConfig, TrainConfig, Training,
};

/// The tests here take turns: the thread count is process-wide.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn train_with(threads: usize, layers: &[usize], batch_size: usize) -> (Vec<u32>, f64) {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    backprop::set_threads(threads);
    let m = Mnist::bundled().unwrap();
    let data = m.train.head(3_000);
    let test = m.test.head(1_000);
    let arch = Architecture::uniform(
        layers.to_vec(),
        Activation::Relu,
        Activation::Softmax,
        Cost::LogLikelihood,
    );
    let mut net = Network::<f32>::new(&arch, Init::He, 1).unwrap();
    let mut adam = OptimizerConfig::adam(1e-3).build(&net, data.len()).unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size,
        ..Default::default()
    };
    let h = Training::new(&config)
        .test(&test)
        .run(&mut net, &mut adam, &data)
        .unwrap();
    (common::bits(&net), h.epochs[1].test.as_ref().unwrap().cost)
}

#[test]
fn one_or_two_threads_give_the_same_model_bit_for_bit() {
    // Wide enough and batched enough that the large products go to the GEMM shared by threads.
    const { assert!(128 * 512 * 784 > backprop::GEMM_THRESHOLD) };
    let (one, cost_one) = train_with(1, &[784, 512, 10], 128);
    let (two, cost_two) = train_with(2, &[784, 512, 10], 128);
    assert!(one == two, "the weights differ between 1 and 2 threads");
    assert_eq!(cost_one.to_bits(), cost_two.to_bits());
}

#[test]
fn cutting_a_product_for_threads_never_changes_how_gemm_cuts_its_sums() {
    // The first layer's z = W·a for a batch of 96 is 96×48 results of 784-term sums, above the
    // GEMM threshold. One thread computes all 96 rows; two compute 48 each, three 32: blocks
    // below 65×65, for which gemm itself would cut the sums differently (512 + 272 terms
    // instead of 392 + 392) if it were given sums that long.
    const { assert!(96 * 48 * 784 > backprop::GEMM_THRESHOLD) };
    let (one, cost_one) = train_with(1, &[784, 48, 10], 96);
    for threads in [2, 3] {
        let (more, cost_more) = train_with(threads, &[784, 48, 10], 96);
        assert!(
            one == more,
            "the weights differ between 1 and {threads} threads"
        );
        assert_eq!(cost_one.to_bits(), cost_more.to_bits());
    }
}
