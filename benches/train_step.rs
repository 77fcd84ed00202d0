//! Training speed: one gradient step per batch size (backpropagation then the SGD step, and
//! the two fused as training runs them), and whole MNIST epochs of the four workloads of the
//! README's performance table: W1 (the notes' 784-16-16-10), W2 (784-30-10), W3 (784-128-10,
//! ReLU, softmax, Adam, batch 128) and W3b (784-256-128-10, otherwise W3).
//!
//! Run with `cargo bench --bench train_step`; throughput is in samples per second.

use backprop::train::step::fused_sgd;
use backprop::{
    train, Activation, Architecture, Cost, Gradient, Init, Mnist, Network, OptimizerConfig,
    TrainConfig, Workspace,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn sigmoid_net(sizes: &[usize]) -> Network<f32> {
    let arch = Architecture::sigmoid(sizes.to_vec());
    Network::new(&arch, Init::Normal, 1).unwrap()
}

/// Forward, backward and SGD update for one mini-batch of MNIST images.
fn step(c: &mut Criterion) {
    let mnist = Mnist::bundled().unwrap();
    let mut group = c.benchmark_group("step_784-16-16-10");
    for batch in [1usize, 10, 32, 128] {
        let mut net = sigmoid_net(&[784, 16, 16, 10]);
        let mut ws = Workspace::new(&net, batch);
        let mut grad = Gradient::zeros_like(&net);
        let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
        let indices: Vec<usize> = (0..batch).collect();
        let mut y = vec![0f32; batch * 10];
        mnist
            .train
            .fill_inputs(&indices, ws.input_mut(batch).unwrap());
        mnist.train.fill_targets(&indices, &mut y);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("backprop_then_step", batch), |b| {
            b.iter(|| {
                let cost = net.backprop_batch(&mut ws, &y, batch, &mut grad).unwrap();
                sgd.step(&mut net, &grad).unwrap();
                black_box(cost)
            })
        });
        group.bench_function(BenchmarkId::new("fused", batch), |b| {
            b.iter(|| black_box(fused_sgd(&mut net, &mut ws, &y, batch, 1.5, &mut grad)))
        });
    }
    group.finish();
}

/// A whole epoch (shuffle and every step), as `backprop train` and `backprop bench` run it.
fn epoch(c: &mut Criterion) {
    let mnist = Mnist::bundled().unwrap();
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(mnist.train.len() as u64));
    let notes = |sizes: Vec<usize>| {
        (
            Architecture::sigmoid(sizes),
            Init::Normal,
            OptimizerConfig::default(),
            10,
        )
    };
    let adam = |sizes: Vec<usize>| {
        let arch = Architecture::uniform(
            sizes,
            Activation::Relu,
            Activation::Softmax,
            Cost::LogLikelihood,
        );
        let optim = OptimizerConfig::adam(1e-3);
        (arch, Init::He, optim, 128)
    };
    for (name, (arch, init, optim, batch_size)) in [
        ("W1_784-16-16-10", notes(vec![784, 16, 16, 10])),
        ("W2_784-30-10", notes(vec![784, 30, 10])),
        ("W3_784-128-10", adam(vec![784, 128, 10])),
        ("W3b_784-256-128-10", adam(vec![784, 256, 128, 10])),
    ] {
        group.bench_function(name, |b| {
            let mut net = Network::<f32>::new(&arch, init, 1).unwrap();
            let mut optimizer = optim.build(&net, mnist.train.len()).unwrap();
            let config = TrainConfig {
                epochs: 1,
                batch_size,
                seed: 1,
                ..Default::default()
            };
            b.iter(|| train(&mut net, &mut optimizer, &mnist.train, &config).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, step, epoch);
criterion_main!(benches);
