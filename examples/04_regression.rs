//! Regression with the estimator API: learn y = sin(x₁) + x₂²/4 from 1,000 noisy samples, with
//! the inputs and the target standardised inside the model and answers in y's own units.
//!
//! Run: `cargo run --release --example 04_regression`
//!
//! Prints the test RMSE, MAE and R² (R² about 0.99; the noise alone has RMSE 0.05) and one
//! prediction beside the true value.

use backprop::{Dataset, Mlp, Rng};

fn f(x1: f32, x2: f32) -> f32 {
    x1.sin() + x2 * x2 / 4.0
}

fn main() -> backprop::Result<()> {
    let mut rng = Rng::new(11);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        let (x1, x2) = (
            6.0 * rng.uniform() as f32 - 3.0,
            4.0 * rng.uniform() as f32 - 2.0,
        );
        x.extend([x1, x2]);
        y.push(f(x1, x2) + 0.05 * rng.normal() as f32);
    }
    let data = Dataset::from_rows_regression(&x, 2, &y, 1)?;
    let (train, test) = data.split(0.2, 1)?;

    let model = Mlp::regressor(&[32, 32]).epochs(200).fit_dataset(&train)?;
    let r = model.evaluate(&test)?.regression.expect("a regression");
    println!("test RMSE {:.4}, MAE {:.4}, R² {:.4}", r.rmse, r.mae, r.r2);
    let guess = model.predict(&[1.0, 1.0])?.value().unwrap();
    println!("f(1, 1) = {:.3}, predicted {guess:.3}", f(1.0, 1.0));
    Ok(())
}
