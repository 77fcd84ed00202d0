//! Your own digit: MNIST test digits written out the way a person might hand them in (large,
//! dark on light, off-centre, RGB PNG) must come back through `preprocess` to what the network
//! says about the originals.

use backprop::inspect::preprocess::{to_mnist, GreyImage};
use backprop::inspect::report::svg::png;
use backprop::{train, Architecture, Init, Mnist, Network, OptimizerConfig, TrainConfig};

/// How a 28×28 digit is enlarged.
#[derive(Clone, Copy)]
enum Upscale {
    /// Each pixel becomes a block, as image viewers zoom.
    Nearest,
    /// Bilinear interpolation between pixel centres: smooth, like a photo of a real stroke.
    Bilinear,
}

/// Enlarges a 28×28 digit (0..1, ink high) by `scale`, inverts it to dark ink on white, and puts
/// it at (`x`, `y`) on a `side × side` white RGB page. Returns the PNG.
fn page(digit: &[f32], how: Upscale, scale: f64, side: usize, (x, y): (usize, usize)) -> Vec<u8> {
    let size = (28.0 * scale) as usize;
    let at = |r: isize, c: isize| -> f64 {
        if (0..28).contains(&r) && (0..28).contains(&c) {
            digit[r as usize * 28 + c as usize] as f64
        } else {
            0.0
        }
    };
    let mut rgb = vec![255u8; side * side * 3];
    for py in 0..size {
        for px in 0..size {
            let ink = match how {
                Upscale::Nearest => at((py as f64 / scale) as isize, (px as f64 / scale) as isize),
                Upscale::Bilinear => {
                    let sy = (py as f64 + 0.5) / scale - 0.5;
                    let sx = (px as f64 + 0.5) / scale - 0.5;
                    let (r, c) = (sy.floor() as isize, sx.floor() as isize);
                    let (fy, fx) = (sy - sy.floor(), sx - sx.floor());
                    at(r, c) * (1.0 - fy) * (1.0 - fx)
                        + at(r, c + 1) * (1.0 - fy) * fx
                        + at(r + 1, c) * fy * (1.0 - fx)
                        + at(r + 1, c + 1) * fy * fx
                }
            };
            let v = (255.0 * (1.0 - ink)).round() as u8;
            let i = ((y + py) * side + x + px) * 3;
            rgb[i..i + 3].copy_from_slice(&[v, v, v]);
        }
    }
    png(side, side, 3, &rgb, 1)
}

/// The notes' network after 3 epochs of the default training (about 91% right).
fn quick_network(mnist: &Mnist) -> Network<f32> {
    let config = TrainConfig {
        epochs: 3,
        ..Default::default()
    };
    let mut net = Network::<f32>::new(&Architecture::notes(), Init::Normal, config.seed).unwrap();
    let mut sgd = OptimizerConfig::default()
        .build(&net, mnist.train.len())
        .unwrap();
    train(&mut net, &mut sgd, &mnist.train, &config).unwrap();
    net
}

/// Of the first `n` test digits written out as 200×200 pages, how many the network classifies
/// the same after preprocessing as it does the original.
fn agreement(net: &Network<f32>, mnist: &Mnist, n: usize, how: Upscale, scale: f64) -> usize {
    let room = 200 - (28.0 * scale) as usize + 1;
    (0..n)
        .filter(|&i| {
            let original = mnist.test.input::<f32>(i).unwrap();
            let at = ((i * 37) % room, (i * 53) % room);
            let image = GreyImage::decode(&page(&original, how, scale, 200, at)).unwrap();
            assert_eq!((image.width, image.height), (200, 200));
            let digit = to_mnist(&image).unwrap();
            assert!(digit.inverted);
            net.predict(&original).unwrap() == net.predict(&digit.pixels).unwrap()
        })
        .count()
}

// Measured with the network below (3 epochs, seed 3), 500 digits each:
//   nearest ×5 (140 px, anywhere on the page)  495 of 500
//   nearest ×6.5 (182 px)                       494
//   bilinear ×6.5                                476 (95%: smoothing up, then averaging down,
//                                                blurs the strokes a little, and the notes'
//                                                sigmoid network is sensitive to that)
#[test]
fn predict_agrees_with_eval_on_mnist_digits_written_as_pngs() {
    let mnist = Mnist::bundled().unwrap();
    let net = quick_network(&mnist);
    let n = 500;
    for (how, scale, at_least) in [
        (Upscale::Nearest, 5.0, 0.98),
        (Upscale::Nearest, 6.5, 0.98),
        (Upscale::Bilinear, 6.5, 0.93),
    ] {
        let agree = agreement(&net, &mnist, n, how, scale);
        let rate = agree as f64 / n as f64;
        assert!(
            rate >= at_least,
            "×{scale}: predict agrees with eval on {agree} of {n} ({:.1}%)",
            100.0 * rate
        );
        eprintln!("×{scale}: {agree} of {n}");
    }
}
