//! Numbers about a model and how it does: per-class precision and recall, the worst mistakes,
//! and summary statistics of weights.

use crate::{argmax, Dataset, Network, Real, Result, Workspace};
use serde::Serialize;

/// How one class fares, from a confusion matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassStats {
    /// The class.
    pub class: usize,
    /// Samples of this class.
    pub support: usize,
    /// Of the samples predicted as this class, the fraction that are: TP / (TP + FP).
    /// `None` when the class was never predicted.
    pub precision: Option<f64>,
    /// Of the samples of this class, the fraction found: TP / (TP + FN). `None` without samples.
    pub recall: Option<f64>,
}

/// Precision and recall of every class of `confusion[true][predicted]`.
pub fn per_class(confusion: &[Vec<usize>]) -> Vec<ClassStats> {
    (0..confusion.len())
        .map(|c| {
            let tp = confusion[c][c];
            let support: usize = confusion[c].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[c]).sum();
            let ratio = |n: usize, d: usize| (d > 0).then(|| n as f64 / d as f64);
            ClassStats {
                class: c,
                support,
                precision: ratio(tp, predicted),
                recall: ratio(tp, support),
            }
        })
        .collect()
}

/// A test sample the network got wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mistake {
    /// Its index in the dataset.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The class the network chose.
    pub predicted: usize,
    /// The output a_j^(L) of the chosen class.
    pub a_predicted: f64,
    /// The output of the true class.
    pub a_label: f64,
}

/// The `n` misclassified samples the network was most sure about: largest
/// a_predicted − a_label first (ties by index).
///
/// # Errors
/// [`crate::Error::Shape`] if the network does not fit the data.
pub fn worst_mistakes<T: Real>(net: &Network<T>, data: &Dataset, n: usize) -> Result<Vec<Mistake>> {
    crate::check_fits(net, data)?;
    const CHUNK: usize = 250;
    let k = net.n_outputs();
    let mut ws = Workspace::new(net, CHUNK.min(data.len().max(1)));
    let mut mistakes = Vec::new();
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(CHUNK) {
        data.fill_inputs(chunk, ws.input_mut(chunk.len())?);
        let output = net.forward_batch(&mut ws, chunk.len())?;
        for (a, &i) in output.chunks_exact(k).zip(chunk) {
            let predicted = argmax(a);
            let Some(label) = data.label(i) else {
                continue; // regression: no classes to mistake
            };
            if predicted != label {
                mistakes.push(Mistake {
                    index: i,
                    label,
                    predicted,
                    a_predicted: a[predicted].to_f64(),
                    a_label: a[label].to_f64(),
                });
            }
        }
    }
    mistakes.sort_by(|x, y| {
        let margin = |m: &Mistake| m.a_predicted - m.a_label;
        margin(y).total_cmp(&margin(x)).then(x.index.cmp(&y.index))
    });
    mistakes.truncate(n);
    Ok(mistakes)
}

/// Mean, standard deviation (population), minimum and maximum of some numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// How many.
    pub n: usize,
    /// (1/n) Σ x.
    pub mean: f64,
    /// √((1/n) Σ (x − mean)²).
    pub std: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// The summary of `values` (all zero when there are none).
    pub fn of<T: Real>(values: &[T]) -> Self {
        let n = values.len();
        if n == 0 {
            return Summary {
                n,
                mean: 0.0,
                std: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        let x = || values.iter().map(|v| v.to_f64());
        let mean = x().sum::<f64>() / n as f64;
        let var = x().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Summary {
            n,
            mean,
            std: var.sqrt(),
            min: x().fold(f64::INFINITY, f64::min),
            max: x().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Counts of `values` in `bins` equal bins from their minimum to their maximum; returns the bin
/// edges (bins + 1 of them) and the counts. The last bin includes the maximum.
pub fn histogram<T: Real>(values: &[T], bins: usize) -> (Vec<f64>, Vec<usize>) {
    let s = Summary::of(values);
    let bins = bins.max(1);
    let width = (s.max - s.min) / bins as f64;
    let edges = (0..=bins).map(|i| s.min + i as f64 * width).collect();
    let mut counts = vec![0; bins];
    for v in values {
        let i = if width > 0.0 {
            (((v.to_f64() - s.min) / width) as usize).min(bins - 1)
        } else {
            0
        };
        counts[i] += 1;
    }
    (edges, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_and_recall_by_hand() {
        // true 0: 8 right, 2 taken for 1; true 1: 1 taken for 0, 4 right; class 2 never seen or
        // predicted.
        let c = vec![vec![8, 2, 0], vec![1, 4, 0], vec![0, 0, 0]];
        let s = per_class(&c);
        assert_eq!(s[0].precision, Some(8.0 / 9.0));
        assert_eq!(s[0].recall, Some(8.0 / 10.0));
        assert_eq!(s[1].precision, Some(4.0 / 6.0));
        assert_eq!(s[1].recall, Some(4.0 / 5.0));
        assert_eq!((s[2].precision, s[2].recall, s[2].support), (None, None, 0));
    }

    #[test]
    fn summary_and_histogram_by_hand() {
        let v = [1.0f32, 2.0, 3.0, 4.0];
        let s = Summary::of(&v);
        // mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
        assert_eq!(
            (s.n, s.mean, s.std, s.min, s.max),
            (4, 2.5, 1.25f64.sqrt(), 1.0, 4.0)
        );
        let (edges, counts) = histogram(&v, 3);
        assert_eq!(edges, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(counts, vec![1, 1, 2]);
        assert_eq!(histogram(&[5.0f64; 3], 4).1, vec![3, 0, 0, 0]);
    }

    #[test]
    fn worst_mistakes_are_the_most_confident_ones() {
        use crate::{Activation, Cost, Dense};
        // One identity layer that copies its two inputs: the prediction is the larger input.
        let mut layer = Dense::<f64>::zeros(2, 2, Activation::Identity);
        layer.weights = vec![1.0, 0.0, 0.0, 1.0];
        let net = Network {
            layers: vec![layer],
            cost: Cost::Quadratic,
        };
        let data = Dataset::from_floats(
            vec![0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.1, 0.9],
            vec![1, 1, 1, 0],
            2,
            2,
        )
        .unwrap();
        let m = worst_mistakes(&net, &data, 5).unwrap();
        let order: Vec<usize> = m.iter().map(|m| m.index).collect();
        assert_eq!(order, vec![0, 3, 2]); // margins 0.8, 0.8, 0.2
        assert_eq!((m[0].label, m[0].predicted), (1, 0));
    }
}
