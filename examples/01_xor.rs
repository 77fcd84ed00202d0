//! XOR, the smallest problem a single layer cannot solve: a 2-3-2 sigmoid network learns it.
//!
//! Run: `cargo run --release --example 01_xor`
//!
//! Prints the cost every 500 epochs (0.014 after 500, below 0.001 after 3000), then the network's
//! output for each of the four inputs: class 1 exactly for (0,1) and (1,0).

use backprop::{
    evaluate, train, Architecture, Dataset, Init, Network, OptimizerConfig, TrainConfig,
};

fn main() -> backprop::Result<()> {
    let inputs = vec![0., 0., 0., 1., 1., 0., 1., 1.];
    let xor = Dataset::from_floats(inputs, vec![0, 1, 1, 0], 2, 2)?;
    let arch = Architecture::sigmoid(vec![2, 3, 2]);
    let mut net = Network::<f32>::new(&arch, Init::Normal, 5)?;
    let mut sgd = OptimizerConfig::sgd(2.0).build(&net, 1)?;
    let config = TrainConfig {
        epochs: 500,
        batch_size: 4,
        seed: 1,
        ..Default::default()
    };
    for round in 1..=6 {
        train(&mut net, &mut sgd, &xor, &config)?;
        let e = evaluate(&net, &xor)?;
        println!(
            "epoch {:>4}: cost {:.4}, {} of 4 right",
            round * 500,
            e.cost,
            e.correct
        );
    }
    for i in 0..4 {
        let x: Vec<f32> = xor.input(i)?;
        let a = net.feedforward(&x)?;
        println!(
            "{x:?} -> a = [{:.3}, {:.3}] -> class {}",
            a[0],
            a[1],
            net.predict(&x)?
        );
    }
    Ok(())
}
