//! What `--health` costs: one health measurement against one training epoch of the notes'
//! network on the bundled MNIST. `cargo run --release --example health_cost`
//!
//! It times `inspect::health::measure`, which is internal to the command-line tool (hidden from
//! the docs, not a stable API); training reports it through `Progress::wants_health`.
use backprop::inspect::health;
use backprop::{
    Architecture, Init, Mnist, Network, OptimizerConfig, TrainConfig, TrainState, Training,
};
use std::time::Instant;

fn main() -> backprop::Result<()> {
    let mnist = Mnist::bundled()?;
    let data = &mnist.train;
    let mut net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 3)?;
    let mut sgd = OptimizerConfig::default().build(&net, data.len())?;
    let config = TrainConfig {
        epochs: 5,
        ..Default::default()
    };
    let mut state = TrainState::new(&config, data.len());
    let start = Instant::now();
    Training::new(&config)
        .resume(&mut state)
        .run(&mut net, &mut sgd, data)?;
    let epoch = start.elapsed().as_secs_f64() / 5.0;
    let recent = &state.order[data.len() - health::SAMPLES..];
    let start = Instant::now();
    for _ in 0..20 {
        std::hint::black_box(health::measure(&net, data, recent, 10, 1.5));
    }
    let h = start.elapsed().as_secs_f64() / 20.0;
    println!(
        "epoch {:.1} ms, health {:.2} ms: {:.1}% of an epoch",
        1e3 * epoch,
        1e3 * h,
        100.0 * h / epoch
    );
    Ok(())
}
