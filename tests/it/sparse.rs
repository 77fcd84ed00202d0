//! Plain gradient descent on byte images skips the zero pixels in the first layer (see
//! `src/train/sparse/layer.rs`). These tests hold it to the dense path: the same data given as
//! floats (which the sparse path never takes) must give the same model, bit for bit.

use crate::common;

use backprop::{
    evaluate, train, Activation, Architecture, Cost, Dataset, Error, Init, Kernels, Mnist, Network,
    OptimizerConfig, Rng, TrainConfig, UpdateRule,
};

/// The same samples as floats, converted as a batch of bytes is: p · (1/255).
fn as_floats(data: &Dataset) -> Dataset {
    let scale = 1.0f32 / 255.0;
    let floats = data
        .bytes()
        .unwrap()
        .iter()
        .map(|&p| p as f32 * scale)
        .collect();
    Dataset::from_floats(
        floats,
        data.labels().to_vec(),
        data.n_inputs(),
        data.n_classes(),
    )
    .unwrap()
}

fn sgd(net: &Network<f32>, n: usize) -> backprop::Optimizer<f32> {
    OptimizerConfig {
        rule: UpdateRule::Sgd,
        learning_rate: 0.5,
        l2: 0.0,
    }
    .build(net, n)
    .unwrap()
}

/// Trains a fresh network on `data` with `kernels` and returns every weight and bias as bits,
/// or the error.
fn trained(
    kernels: Kernels,
    data: &Dataset,
    arch: &Architecture,
    batch_size: usize,
    epochs: usize,
    poison: bool,
) -> Result<Vec<u32>, Error> {
    let mut net = Network::<f32>::new(arch, Init::Normal, 7).unwrap();
    if poison {
        // The weight from input 0, which is zero in every sample: never to be read.
        net.layers[0].weights[0] = f32::NAN;
    }
    let mut optimizer = sgd(&net, data.len());
    let config = TrainConfig {
        epochs,
        batch_size,
        ..Default::default()
    };
    kernels.install(|| train(&mut net, &mut optimizer, data, &config))??;
    Ok(common::bits(&net))
}

/// Two epochs on `bytes` (the sparse path) and on the same samples as `floats` (the dense
/// path) must give the same model, bit for bit, with every kernel set this CPU runs (each set's
/// sparse kernels against its dense ones, and every set against the portable one).
fn assert_same_models(bytes: &Dataset, floats: &Dataset, arch: &Architecture, batch: usize) {
    let sizes = arch.sizes_string();
    let reference = trained(Kernels::Portable, floats, arch, batch, 2, false).unwrap();
    for kernels in Kernels::supported() {
        let sparse = trained(kernels, bytes, arch, batch, 2, false).unwrap();
        let dense = trained(kernels, floats, arch, batch, 2, false).unwrap();
        assert!(
            sparse == dense,
            "{sizes} at batch {batch}, {kernels}: the sparse and dense models differ"
        );
        assert!(
            dense == reference,
            "{sizes} at batch {batch}: {kernels} and portable give different models"
        );
    }
}

/// `n` images of `n_inputs` pixels, a fifth of them non-zero, with one blank image and one
/// with no zero pixel at all, and input 0 always zero.
fn sparse_images(n: usize, n_inputs: usize, n_classes: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut pixels = vec![0u8; n * n_inputs];
    for (i, image) in pixels.chunks_exact_mut(n_inputs).enumerate() {
        for p in image.iter_mut().skip(1) {
            if i == 1 || (i != 0 && rng.uniform() < 0.2) {
                *p = 1 + (rng.uniform() * 254.0) as u8;
            }
        }
    }
    let labels = (0..n).map(|_| (rng.uniform() * n_classes as f64) as u32 % n_classes as u32);
    Dataset::from_bytes(pixels, labels.collect(), n_inputs, n_classes).unwrap()
}

fn arch(layers: &[usize], hidden: Activation, output: Activation, cost: Cost) -> Architecture {
    Architecture::uniform(layers.to_vec(), hidden, output, cost)
}

#[test]
fn the_notes_network_on_mnist_is_the_dense_paths_bit_for_bit() {
    let mnist = Mnist::bundled().unwrap();
    let bytes = mnist.train.head(2_000);
    let floats = as_floats(&bytes);
    let sigmoid = Activation::Sigmoid;
    for (layers, batch) in [
        (&[784, 16, 16, 10][..], 10),
        (&[784, 30, 10][..], 10),
        (&[784, 10][..], 7),
    ] {
        let arch = arch(layers, sigmoid, sigmoid, Cost::Quadratic);
        assert_same_models(&bytes, &floats, &arch, batch);
    }
}

#[test]
fn any_shape_and_activation_is_the_dense_paths_bit_for_bit() {
    let mut rng = Rng::new(11);
    for case in 0..9 {
        // Inputs with a tail after the last multiple of 8, layers not multiples of 8 or 16, and
        // every mix of the kernels' column blocks (AVX2: 32, 16 and 8 wide, strides 8 to 48;
        // AVX-512: 64, 32, 16 and a last 8 under a mask, strides up to 120).
        let n_inputs = 8 + (rng.uniform() * 300.0) as usize;
        let n_classes = 2 + case % 4;
        let bytes = sparse_images(203, n_inputs, n_classes, 100 + case as u64);
        let floats = as_floats(&bytes);
        let hidden = [3, 12, 21, 30, 39, 47, 70, 90, 113][case];
        let (activation, output, cost) = [
            (Activation::Sigmoid, Activation::Sigmoid, Cost::Quadratic),
            (Activation::Tanh, Activation::Sigmoid, Cost::CrossEntropy),
            (Activation::Relu, Activation::Softmax, Cost::LogLikelihood),
        ][case % 3];
        let arch = arch(&[n_inputs, hidden, n_classes], activation, output, cost);
        let batch = 1 + (rng.uniform() * 12.0) as usize;
        assert_same_models(&bytes, &floats, &arch, batch);
    }
}

#[test]
fn byte_images_take_the_sparse_path() {
    // A NaN weight from an input that is zero everywhere: the dense path multiplies it by
    // zero in the first batch (NaN), the sparse path never reads it, and only the check at the
    // end of the epoch finds it.
    let bytes = sparse_images(100, 64, 3, 5);
    let arch = arch(
        &[64, 16, 3],
        Activation::Sigmoid,
        Activation::Sigmoid,
        Cost::Quadratic,
    );
    for kernels in Kernels::supported() {
        let diverged_at = |data: &Dataset| match trained(kernels, data, &arch, 10, 1, true) {
            Err(Error::Diverged { batch, .. }) => batch,
            other => panic!("{kernels}: expected the NaN to be found, got {other:?}"),
        };
        assert_eq!(diverged_at(&as_floats(&bytes)), 1, "{kernels}");
        assert_eq!(diverged_at(&bytes), 10, "{kernels}");
    }
}

#[test]
fn the_index_is_built_once_per_dataset_and_only_for_bytes() {
    let data = sparse_images(50, 64, 3, 9);
    let first: *const _ = data.sparse_images().expect("sparse bytes");
    let again: *const _ = data.sparse_images().expect("sparse bytes");
    assert_eq!(first, again);
    assert!(as_floats(&data).sparse_images().is_none());
    let dense = Dataset::from_bytes(vec![200; 64 * 10], vec![0; 10], 64, 3).unwrap();
    assert!(
        dense.sparse_images().is_none(),
        "mostly non-zero: the dense path is faster"
    );
}

/// Once a dataset has its index (training builds it for the sets it evaluates on), `evaluate`
/// reads only the non-zero pixels in the first layer: the same evaluation, bit for bit.
#[test]
fn evaluations_on_the_index_are_the_dense_ones_bit_for_bit() {
    let mnist = Mnist::bundled().unwrap();
    let cases = [
        (mnist.test, Architecture::notes()),
        (
            sparse_images(300, 37, 4, 3),
            arch(
                &[37, 9, 4],
                Activation::Tanh,
                Activation::Softmax,
                Cost::LogLikelihood,
            ),
        ),
    ];
    for (data, arch) in cases {
        let sizes = arch.sizes_string();
        let mut net = Network::<f32>::new(&arch, Init::Normal, 5).unwrap();
        let without_index = data.clone(); // a clone starts without the index
        assert!(data.sparse_images().is_some());
        for kernels in Kernels::supported() {
            let dense = kernels
                .install(|| evaluate(&net, &without_index))
                .unwrap()
                .unwrap();
            let sparse = kernels.install(|| evaluate(&net, &data)).unwrap().unwrap();
            assert_eq!(
                dense.cost.to_bits(),
                sparse.cost.to_bits(),
                "{sizes}, {kernels}"
            );
            assert_eq!(dense, sparse, "{sizes}, {kernels}");
        }
        if arch.cost != Cost::Quadratic {
            continue; // the log-likelihood keeps a NaN output's cost finite
        }
        // The index is what was used: a NaN weight on input 0, zero in every MNIST image, is
        // read by the dense path only.
        net.layers[0].weights[0] = f32::NAN;
        assert!(
            evaluate(&net, &without_index).unwrap().cost.is_nan(),
            "{sizes}"
        );
        assert!(evaluate(&net, &data).unwrap().cost.is_finite(), "{sizes}");
    }
}
