//! Trains XOR with backprop as a plain library dependency and checks the answers.

use backprop::{train, Architecture, Dataset, Init, Network, OptimizerConfig, TrainConfig};

fn main() -> Result<(), backprop::Error> {
    let xor = Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2)?;
    let mut net = Network::<f32>::new(&Architecture::sigmoid(vec![2, 4, 2]), Init::Normal, 3)?;
    let mut sgd = OptimizerConfig::sgd(2.0).build(&net, xor.len())?;
    let config = TrainConfig { epochs: 2000, batch_size: 4, seed: 1, ..Default::default() };
    train(&mut net, &mut sgd, &xor, &config)?;
    let bytes = backprop::model_io::to_bytes(&net).expect("serialises");
    let answers = net.predict_batch(&xor.features_f32())?;
    println!("xor {answers:?}, model file {} bytes", bytes.len());
    assert_eq!(answers, [0, 1, 1, 0]);
    Ok(())
}
