//! Training speed: one gradient step per batch size, and whole MNIST epochs of the notes'
//! network (W1) and Nielsen's 784-30-10 (W2).
//!
//! Run with `cargo bench --bench train_step`; throughput is in samples per second.

use backprop::{
    train, Architecture, Gradient, Init, Mnist, Monitor, Network, Optimizer, OptimizerConfig,
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
        mnist.train.fill_inputs(&indices, ws.input_mut(batch));
        mnist.train.fill_targets(&indices, &mut y);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                let cost = net.backprop_batch(&mut ws, &y, batch, &mut grad);
                sgd.step(&mut net, &grad);
                black_box(cost)
            })
        });
    }
    group.finish();
}

/// A whole epoch (shuffle and 6,000 steps of 10 images), as `backprop train` runs it.
fn epoch(c: &mut Criterion) {
    let mnist = Mnist::bundled().unwrap();
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(mnist.train.len() as u64));
    for (name, sizes) in [
        ("W1_784-16-16-10", vec![784, 16, 16, 10]),
        ("W2_784-30-10", vec![784, 30, 10]),
    ] {
        group.bench_function(name, |b| {
            let mut net = sigmoid_net(&sizes);
            let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
            let config = TrainConfig {
                epochs: 1,
                batch_size: 10,
                seed: 1,
                ..Default::default()
            };
            b.iter(|| {
                train(
                    &mut net,
                    &mut sgd,
                    &mnist.train,
                    Monitor::default(),
                    &config,
                    &mut (),
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step, epoch);
criterion_main!(benches);
