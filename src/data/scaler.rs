//! Standardisation: each column shifted and scaled to mean 0 and standard deviation 1, with the
//! means and deviations learnt from the training data and kept (in the model file's metadata)
//! to treat every later row the same way.
//!
//! ```text
//! fit:        μ_j = (1/n) Σ_i x_ij,   s_j = √((1/n) Σ_i (x_ij − μ_j)²)   (1 where that is 0)
//! transform:  x'_ij = (x_ij − μ_j) / s_j
//! inverse:    x_ij  = x'_ij · s_j + μ_j
//! ```
//!
//! scikit-learn's `StandardScaler` does the same (population deviation, 1 for constant columns).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Means and standard deviations of some columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// μ_j of each column.
    pub mean: Vec<f32>,
    /// s_j of each column, never 0.
    pub std: Vec<f32>,
}

impl Scaler {
    /// Learns μ and s of the `width` columns of `rows` (row-major).
    ///
    /// # Errors
    /// [`Error::Dataset`] if `rows` is empty or not whole rows of `width`.
    ///
    /// # Examples
    /// ```
    /// let s = backprop::data::Scaler::fit(&[1.0, 10.0, 3.0, 10.0], 2).unwrap();
    /// assert_eq!((s.mean.clone(), s.std.clone()), (vec![2.0, 10.0], vec![1.0, 1.0]));
    /// let mut row = [3.0, 12.0];
    /// s.transform(&mut row);
    /// assert_eq!(row, [1.0, 2.0]);
    /// ```
    pub fn fit(rows: &[f32], width: usize) -> Result<Scaler> {
        if width == 0 || rows.is_empty() || !rows.len().is_multiple_of(width) {
            return Err(Error::Dataset(format!(
                "cannot standardise {} values as rows of {width}",
                rows.len()
            )));
        }
        let n = (rows.len() / width) as f64;
        let mut mean = vec![0f64; width];
        for row in rows.chunks_exact(width) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0f64; width];
        for row in rows.chunks_exact(width) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m) * (v as f64 - m);
            }
        }
        let std = var
            .iter()
            .map(|s| {
                let s = (s / n).sqrt() as f32;
                if s > f32::EPSILON * 16.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Scaler {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        })
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// (x − μ)/s for every row of `rows`, in place.
    pub fn transform(&self, rows: &mut [f32]) {
        for row in rows.chunks_exact_mut(self.width()) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
    }

    /// x·s + μ for every row of `rows`, in place: back to the original units.
    pub fn inverse(&self, rows: &mut [f32]) {
        for row in rows.chunks_exact_mut(self.width()) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = *x * s + m;
            }
        }
    }

    /// Checks a scaler read from a file: equal lengths, finite values, positive deviations.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.mean.len() != self.std.len() || self.mean.is_empty() {
            return Err(format!(
                "a scaler of {} means and {} deviations",
                self.mean.len(),
                self.std.len()
            ));
        }
        if self.mean.iter().any(|m| !m.is_finite())
            || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(
                "a scaler with a non-finite mean or a deviation that is not positive".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_then_inverse_is_the_identity_and_constant_columns_keep_scale_1() {
        let rows = [1.0, 5.0, 2.0, 5.0, 6.0, 5.0];
        let s = Scaler::fit(&rows, 2).unwrap();
        // Column 0: μ = 3, s = √((4 + 1 + 9)/3).
        assert!((s.mean[0] - 3.0).abs() < 1e-6 && (s.std[0] - (14f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!((s.mean[1], s.std[1]), (5.0, 1.0));
        let mut t = rows;
        s.transform(&mut t);
        assert_eq!(t[1], 0.0);
        s.inverse(&mut t);
        for (a, b) in t.iter().zip(&rows) {
            assert!((a - b).abs() < 1e-5);
        }
        assert!(Scaler::fit(&[], 2).is_err() && Scaler::fit(&[1.0; 3], 2).is_err());
    }
}
