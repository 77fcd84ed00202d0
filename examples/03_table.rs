//! Classification of a table in memory with the estimator API: two interleaved half-moons
//! (500 points, 2 features), a stratified 80/20 split, a 2-16-16-2 network.
//!
//! Run: `cargo run --release --example 03_table`
//!
//! Prints the test accuracy (100% with these seeds: the moons are separable, with a curved border) and the
//! class of two points, one inside each moon.

use backprop::{Dataset, Mlp, Rng};

fn main() -> backprop::Result<()> {
    // Two half-moons with a little noise, as scikit-learn's make_moons draws them.
    let mut rng = Rng::new(7);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..500 {
        let class = i % 2;
        let t = std::f64::consts::PI * rng.uniform();
        let (px, py) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x.push(px as f32 + 0.1 * rng.normal() as f32);
        x.push(py as f32 + 0.1 * rng.normal() as f32);
        y.push(class as u32);
    }
    let data = Dataset::from_rows(&x, 2, &y)?;
    let (train, test) = data.split_stratified(0.2, 1)?;

    let model = Mlp::classifier(&[16, 16]).epochs(100).fit_dataset(&train)?;
    let e = model.evaluate(&test)?;
    println!(
        "test accuracy {:.1}% on {} points",
        100.0 * e.accuracy(),
        e.n
    );
    for point in [[0.0, 0.9], [1.0, -0.4]] {
        println!(
            "{point:?} -> class {:?}",
            model.predict(&point)?.class().unwrap()
        );
    }
    Ok(())
}
