//! How close real-valued outputs are to their targets: the regression metrics of
//! [`evaluate`](crate::evaluate), the estimator's `score` and `backprop eval`.
//!
//! ```text
//! RMSE = √( (1/nk) Σ_i Σ_j (a_ij − y_ij)² )
//! MAE  =    (1/nk) Σ_i Σ_j |a_ij − y_ij|
//! R²   = (1/k) Σ_j [ 1 − Σ_i (a_ij − y_ij)² / Σ_i (y_ij − ȳ_j)² ]     (1 is perfect, 0 is ȳ)
//! ```
//!
//! R² is averaged over the k targets, as scikit-learn's `r2_score` does by default; a target
//! that never varies counts as 1 if it is predicted exactly and 0 otherwise (scikit-learn's
//! convention).

use serde::{Deserialize, Serialize};

/// RMSE, MAE and R² of some predictions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, averaged over the targets.
    pub r2: f64,
}

impl Regression {
    /// The metrics of `predictions` against `targets`, both n × k row-major.
    ///
    /// # Panics
    /// If the two lengths differ or are not a multiple of `k`.
    ///
    /// # Examples
    /// ```
    /// let r = backprop::Regression::of(&[1.0, 2.0, 4.0], &[1.0, 2.0, 3.0], 1);
    /// assert!((r.mae - 1.0 / 3.0).abs() < 1e-12 && (r.r2 - 0.5).abs() < 1e-12);
    /// ```
    pub fn of(predictions: &[f32], targets: &[f32], k: usize) -> Regression {
        assert_eq!(predictions.len(), targets.len(), "predictions and targets");
        assert!(k > 0 && targets.len().is_multiple_of(k), "rows of {k}");
        let mut sums = RegressionSums::new(targets, k);
        for (a, y) in predictions.chunks_exact(k).zip(targets.chunks_exact(k)) {
            sums.add(a, y);
        }
        sums.finish()
    }
}

/// Running sums for [`Regression`], fed a sample at a time.
pub(crate) struct RegressionSums {
    k: usize,
    n: usize,
    mean: Vec<f64>,
    sum_sq: Vec<f64>,
    sum_abs: f64,
    sum_tot: Vec<f64>,
}

impl RegressionSums {
    /// Sums for targets whose every value is `targets` (n × k), which fixes ȳ.
    pub(crate) fn new(targets: &[f32], k: usize) -> Self {
        let k = k.max(1);
        let mut mean = vec![0.0; k];
        let n = targets.len() / k;
        for row in targets.chunks_exact(k) {
            for (m, &y) in mean.iter_mut().zip(row) {
                *m += y as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        RegressionSums {
            k,
            n: 0,
            mean,
            sum_sq: vec![0.0; k],
            sum_abs: 0.0,
            sum_tot: vec![0.0; k],
        }
    }

    /// One sample's outputs a and targets y.
    pub(crate) fn add<T: crate::Real>(&mut self, a: &[T], y: &[T]) {
        self.n += 1;
        for j in 0..self.k {
            let (a, y) = (a[j].to_f64(), y[j].to_f64());
            self.sum_sq[j] += (a - y) * (a - y);
            self.sum_abs += (a - y).abs();
            self.sum_tot[j] += (y - self.mean[j]) * (y - self.mean[j]);
        }
    }

    pub(crate) fn finish(self) -> Regression {
        let values = (self.n * self.k).max(1) as f64;
        let r2 = self
            .sum_sq
            .iter()
            .zip(&self.sum_tot)
            .map(|(&res, &tot)| match (tot > 0.0, res > 0.0) {
                (true, _) => 1.0 - res / tot,
                (false, false) => 1.0,
                (false, true) => 0.0,
            })
            .sum::<f64>()
            / self.k as f64;
        Regression {
            rmse: (self.sum_sq.iter().sum::<f64>() / values).sqrt(),
            mae: self.sum_abs / values,
            r2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // y = (1, 2, 3), ȳ = 2, Σ(y − ȳ)² = 2; a = (2, 2, 2): errors 1, 0, −1.
        let r = Regression::of(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0], 1);
        assert!((r.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12, "{r:?}");
        assert!((r.mae - 2.0 / 3.0).abs() < 1e-12);
        assert!(
            r.r2.abs() < 1e-12,
            "predicting the mean gives R² = 0: {r:?}"
        );
        let perfect = Regression::of(&[1.0, 5.0, 2.0, 6.0], &[1.0, 5.0, 2.0, 6.0], 2);
        assert_eq!((perfect.rmse, perfect.mae, perfect.r2), (0.0, 0.0, 1.0));
        // Two targets: R² is the mean of each one's.
        let two = Regression::of(
            &[2.0, 5.0, 2.0, 7.0, 2.0, 9.0],
            &[1.0, 5.0, 2.0, 7.0, 3.0, 9.0],
            2,
        );
        assert!((two.r2 - 0.5).abs() < 1e-12, "{two:?}");
    }
}
