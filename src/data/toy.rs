//! The TensorFlow Playground's kind of 2-D data sets, seeded, for learners: points (x₁, x₂)
//! of two classes (three for the spiral) that a straight line cannot separate.
//!
//! ```text
//! spiral    three arms r = t, θ = t·4 + arm·2π/3 (t in 0..1)      classes 0, 1, 2
//! circles   a disc of radius 0.5 inside a ring from 0.7 to 1         classes 0 (inside), 1
//! xor       uniform in [−1, 1]², class = whether x₁·x₂ > 0            classes 0, 1
//! gauss     two Gaussian blobs at (±0.5, ±0.5), σ = 0.3               classes 0, 1
//! moons     two interleaved half-circles (scikit-learn's make_moons)  classes 0, 1
//! ```
//!
//! Noise adds N(0, noise²) to both coordinates after the class is chosen.

use crate::{Dataset, Error, Result, Rng};

/// One of the toy sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toy {
    /// Three interleaved spiral arms.
    Spiral,
    /// A disc inside a ring.
    Circles,
    /// The four quadrants, alternating.
    Xor,
    /// Two Gaussian blobs.
    Gauss,
    /// Two half-moons.
    Moons,
}

impl Toy {
    /// The names, as `--data` takes them.
    pub const NAMES: [&'static str; 5] = ["spiral", "circles", "xor", "gauss", "moons"];

    /// The toy set called `name`.
    pub fn from_name(name: &str) -> Option<Toy> {
        Some(match name {
            "spiral" => Toy::Spiral,
            "circles" => Toy::Circles,
            "xor" => Toy::Xor,
            "gauss" => Toy::Gauss,
            "moons" => Toy::Moons,
            _ => return None,
        })
    }

    /// `n` points with noise σ = `noise`, drawn from `seed`: the same arguments, the same points.
    ///
    /// # Errors
    /// [`Error::Dataset`] if `n` is 0 or more than 10,000,000, or `noise` is negative or not
    /// finite.
    ///
    /// # Examples
    /// ```
    /// use backprop::data::Toy;
    /// let spiral = Toy::Spiral.generate(300, 0.0, 1).unwrap();
    /// assert_eq!((spiral.len(), spiral.n_inputs(), spiral.n_classes()), (300, 2, 3));
    /// ```
    pub fn generate(self, n: usize, noise: f64, seed: u64) -> Result<Dataset> {
        if n == 0 || n > 10_000_000 {
            return Err(Error::Dataset(format!(
                "a toy set needs 1 to 10000000 points, got {n}"
            )));
        }
        if !(noise.is_finite() && noise >= 0.0) {
            return Err(Error::Dataset(format!(
                "the noise must be 0 or positive, got {noise}"
            )));
        }
        let mut rng = Rng::new(seed);
        let (mut x, mut labels) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
        for i in 0..n {
            let (a, b, class) = match self {
                Toy::Spiral => {
                    let arm = i % 3;
                    let t = rng.uniform();
                    let theta = 4.0 * t + arm as f64 * std::f64::consts::TAU / 3.0;
                    (t * theta.cos(), t * theta.sin(), arm)
                }
                Toy::Circles => {
                    let class = i % 2;
                    let r = if class == 0 {
                        0.5 * rng.uniform()
                    } else {
                        0.7 + 0.3 * rng.uniform()
                    };
                    let theta = std::f64::consts::TAU * rng.uniform();
                    (r * theta.cos(), r * theta.sin(), class)
                }
                Toy::Xor => {
                    let (a, b) = (2.0 * rng.uniform() - 1.0, 2.0 * rng.uniform() - 1.0);
                    (a, b, usize::from(a * b > 0.0))
                }
                Toy::Gauss => {
                    let class = i % 2;
                    let c = if class == 0 { -0.5 } else { 0.5 };
                    (c + 0.3 * rng.normal(), c + 0.3 * rng.normal(), class)
                }
                Toy::Moons => {
                    let class = i % 2;
                    let t = std::f64::consts::PI * rng.uniform();
                    if class == 0 {
                        (t.cos(), t.sin(), 0)
                    } else {
                        (1.0 - t.cos(), 0.5 - t.sin(), 1)
                    }
                }
            };
            x.push((a + noise * rng.normal()) as f32);
            x.push((b + noise * rng.normal()) as f32);
            labels.push(class as u32);
        }
        let n_classes = if self == Toy::Spiral { 3 } else { 2 };
        Dataset::from_floats(x, labels, 2, n_classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toy_sets_are_seeded_and_shaped_as_documented() {
        for name in Toy::NAMES {
            let toy = Toy::from_name(name).unwrap();
            let a = toy.generate(200, 0.1, 5).unwrap();
            assert_eq!(a, toy.generate(200, 0.1, 5).unwrap(), "{name}");
            assert_ne!(a, toy.generate(200, 0.1, 6).unwrap(), "{name}");
            assert!(
                a.class_counts().iter().all(|&c| c > 40),
                "{name}: {:?}",
                a.class_counts()
            );
        }
        // Without noise, circles' classes are separated by radius 0.5 to 0.7.
        let c = Toy::Circles.generate(100, 0.0, 1).unwrap();
        for i in 0..c.len() {
            let x = c.input::<f64>(i).unwrap();
            let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
            assert_eq!(c.label(i), Some(usize::from(r > 0.6)), "r = {r}");
        }
        assert!(Toy::Xor.generate(0, 0.0, 1).is_err() && Toy::Xor.generate(5, -1.0, 1).is_err());
    }
}
