//! Helpers shared by the integration tests: hand-made IDX files and datasets, a model as bits.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// IDX bytes of unsigned bytes with the given dimensions.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// Gzips `bytes`.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A learnable toy image dataset: `rows × cols` images of `classes` classes, where class c
/// lights up the c-th band of columns, plus deterministic noise.
pub fn toy_images(
    n: usize,
    rows: usize,
    cols: usize,
    classes: usize,
    seed: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut rng = backprop::Rng::new(seed);
    let mut pixels = Vec::with_capacity(n * rows * cols);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.below(classes);
        labels.push(c as u8);
        for _r in 0..rows {
            for col in 0..cols {
                let band = col * classes / cols;
                let base = if band == c { 200.0 } else { 20.0 };
                let v = base + 50.0 * (rng.uniform() - 0.5);
                pixels.push(v as u8);
            }
        }
    }
    (pixels, labels)
}

/// Writes an MNIST-style directory of toy images. `raw_dot_names` picks the
/// `train-images.idx3-ubyte` spelling without gzip; otherwise `train-images-idx3-ubyte.gz`.
pub fn write_toy_dataset(
    dir: &Path,
    rows: usize,
    cols: usize,
    classes: usize,
    raw_dot_names: bool,
) {
    let (tp, tl) = toy_images(600, rows, cols, classes, 1);
    let (sp, sl) = toy_images(200, rows, cols, classes, 2);
    let (r, c) = (rows as u32, cols as u32);
    let files = [
        ("train-images", "idx3", idx(&[600, r, c], &tp)),
        ("train-labels", "idx1", idx(&[600], &tl)),
        ("t10k-images", "idx3", idx(&[200, r, c], &sp)),
        ("t10k-labels", "idx1", idx(&[200], &sl)),
    ];
    for (stem, kind, bytes) in files {
        if raw_dot_names {
            std::fs::write(dir.join(format!("{stem}.{kind}-ubyte")), bytes).unwrap();
        } else {
            std::fs::write(dir.join(format!("{stem}-{kind}-ubyte.gz")), gz(&bytes)).unwrap();
        }
    }
}

/// Decodes standard base64 (padding and whitespace ignored), for the images the tests read back
/// from SVG data URIs and WebDriver screenshots.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    } as u32;
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// Every weight and bias of `net`, layer by layer, as bits: two networks are the same model,
/// bit for bit, exactly when these are equal.
pub fn bits(net: &backprop::Network<f32>) -> Vec<u32> {
    net.layers
        .iter()
        .flat_map(|l| l.weights.iter().chain(&l.biases))
        .map(|v| v.to_bits())
        .collect()
}

/// A table model: classes "low" and "high" (target "size") by x₁ + x₂/10 > 12 of features
/// "width" and "depth", trained on raw features far from 0 ± 1.
pub fn table_classifier() -> backprop::Model {
    let mut rng = backprop::Rng::new(3);
    let rows: Vec<[f32; 2]> = (0..300)
        .map(|_| {
            [
                (rng.normal() * 3.0 + 10.0) as f32,
                (rng.normal() * 20.0 + 20.0) as f32,
            ]
        })
        .collect();
    let y: Vec<u32> = rows
        .iter()
        .map(|r| u32::from(r[0] + r[1] / 10.0 > 12.0))
        .collect();
    let mut m = backprop::Mlp::classifier(&[8])
        .epochs(30)
        .fit(&rows, &y)
        .unwrap();
    m.info.feature_names = Some(vec!["width".into(), "depth".into()]);
    m.info.class_names = Some(vec!["low".into(), "high".into()]);
    m.info.target_names = Some(vec!["size".into()]);
    m
}
