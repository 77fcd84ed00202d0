//! A dataset: features, and class labels (classification) or real-valued targets (regression),
//! and how mini-batches are cut from it.

use crate::kernels::{scale_bytes, Kernels};
use crate::train::sparse::SparseImages;
use crate::{Error, Real, Result};
use std::sync::OnceLock;

/// The input features of every sample, stored compactly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Features {
    /// Grey levels 0..=255, scaled to [0, 1] when a batch is built: a quarter of the memory of
    /// `f32`, and the form images arrive in.
    Bytes(Vec<u8>),
    /// Ready-made features.
    Floats(Vec<f32>),
}

/// What each sample should give.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Targets {
    /// A class label in `0..n_classes` per sample.
    Classes { labels: Vec<u32>, n_classes: usize },
    /// `k` real values per sample, row-major.
    Values { values: Vec<f32>, k: usize },
}

/// Samples with `n_inputs` features each and either a class label in `0..n_classes`
/// (classification) or `k` real-valued targets (regression).
///
/// Class targets are one-hot: class 3 of 10 is y = (0,0,0,1,0,0,0,0,0,0), the notes' "expected
/// output". Real targets are y itself. Build one from memory with [`Dataset::from_rows`] (labels)
/// or [`Dataset::from_rows_regression`] (real targets); see also the splits, shuffles and
/// scalers in [`crate::data`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    features: Features,
    pub(crate) targets: Targets,
    n: usize,
    n_inputs: usize,
    image_shape: Option<(usize, usize)>,
    /// Where the byte features are not zero, built the first time training asks.
    sparse: SparseCache,
}

/// [`SparseImages`] of a dataset, built once on first use. Not part of the data: two datasets
/// are equal whatever their caches hold, and a clone starts with an empty one.
#[derive(Debug, Default)]
struct SparseCache(OnceLock<Option<SparseImages>>);

impl Clone for SparseCache {
    fn clone(&self) -> Self {
        SparseCache::default()
    }
}

impl PartialEq for SparseCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Dataset {
    /// A dataset of byte-valued features (grey levels), scaled by 1/255 into [0, 1].
    ///
    /// # Errors
    /// [`Error::Dataset`] if `pixels` is not `labels.len() × n_inputs` long or a label is not below
    /// `n_classes`.
    pub fn from_bytes(
        pixels: Vec<u8>,
        labels: Vec<u32>,
        n_inputs: usize,
        n_classes: usize,
    ) -> Result<Self> {
        check(pixels.len(), &labels, n_inputs, n_classes)?;
        Ok(Dataset::new(
            Features::Bytes(pixels),
            Targets::Classes { labels, n_classes },
            n_inputs,
        ))
    }

    /// A dataset of floating-point features, used as they are.
    ///
    /// # Errors
    /// As [`Dataset::from_bytes`], and [`Error::Dataset`] naming the sample and the feature if a
    /// value is NaN or infinite.
    ///
    /// # Examples
    /// ```
    /// // XOR: four samples, two inputs, two classes.
    /// let xor = backprop::Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
    /// assert_eq!(xor.len(), 4);
    /// ```
    pub fn from_floats(
        features: Vec<f32>,
        labels: Vec<u32>,
        n_inputs: usize,
        n_classes: usize,
    ) -> Result<Self> {
        check(features.len(), &labels, n_inputs, n_classes)?;
        check_finite(&features, n_inputs, "feature")?;
        Ok(Dataset::new(
            Features::Floats(features),
            Targets::Classes { labels, n_classes },
            n_inputs,
        ))
    }

    /// A regression dataset: `features` n × `n_inputs` and `targets` n × `k`, both row-major,
    /// every value finite. A network for it has `k` outputs, compared with y by the cost.
    ///
    /// # Errors
    /// [`Error::Dataset`] if the lengths are not n × `n_inputs` and n × `k` for one n, or a value
    /// is NaN or infinite (naming the sample and column).
    pub fn from_floats_regression(
        features: Vec<f32>,
        targets: Vec<f32>,
        n_inputs: usize,
        k: usize,
    ) -> Result<Self> {
        if n_inputs == 0 || k == 0 {
            return Err(Error::Dataset(format!(
                "a regression dataset needs at least one input and one target, got {n_inputs} inputs and {k} targets"
            )));
        }
        if !features.len().is_multiple_of(n_inputs) || !targets.len().is_multiple_of(k) {
            return Err(Error::Dataset(format!(
                "{} feature values are not rows of {n_inputs}, or {} target values not rows of {k}",
                features.len(),
                targets.len()
            )));
        }
        let n = features.len() / n_inputs;
        if targets.len() / k != n {
            return Err(Error::Dataset(format!(
                "{n} samples of {n_inputs} features but {} rows of {k} targets",
                targets.len() / k
            )));
        }
        check_finite(&features, n_inputs, "feature")?;
        check_finite(&targets, k, "target")?;
        Ok(Dataset::new(
            Features::Floats(features),
            Targets::Values { values: targets, k },
            n_inputs,
        ))
    }

    pub(crate) fn new(features: Features, targets: Targets, n_inputs: usize) -> Self {
        let n = match &targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, k } => values.len() / k,
        };
        Dataset {
            features,
            targets,
            n,
            n_inputs,
            image_shape: None,
            sparse: SparseCache::default(),
        }
    }

    /// Records that each sample is a `rows × cols` image.
    ///
    /// # Errors
    /// [`Error::Dataset`] if `rows × cols` is not the number of inputs.
    pub fn with_image_shape(mut self, rows: usize, cols: usize) -> Result<Self> {
        if rows.checked_mul(cols) != Some(self.n_inputs) {
            return Err(Error::Dataset(format!(
                "images of {rows}×{cols} do not have {} pixels",
                self.n_inputs
            )));
        }
        self.image_shape = Some((rows, cols));
        Ok(self)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Features per sample: the size of a network's input layer.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Number of classes (0 for a regression dataset).
    pub fn n_classes(&self) -> usize {
        match self.targets {
            Targets::Classes { n_classes, .. } => n_classes,
            Targets::Values { .. } => 0,
        }
    }

    /// Values per target vector y: the size of a network's output layer (the number of classes,
    /// or of real-valued targets).
    pub fn n_outputs(&self) -> usize {
        match self.targets {
            Targets::Classes { n_classes, .. } => n_classes,
            Targets::Values { k, .. } => k,
        }
    }

    /// Whether the targets are real values (regression) rather than classes.
    pub fn is_regression(&self) -> bool {
        matches!(self.targets, Targets::Values { .. })
    }

    /// Every real-valued target, n × k row-major, for a regression dataset.
    pub fn values(&self) -> Option<&[f32]> {
        match &self.targets {
            Targets::Values { values, .. } => Some(values),
            Targets::Classes { .. } => None,
        }
    }

    /// `(rows, cols)` when the samples are images.
    pub fn image_shape(&self) -> Option<(usize, usize)> {
        self.image_shape
    }

    /// Every label, in order (empty for a regression dataset).
    pub fn labels(&self) -> &[u32] {
        match &self.targets {
            Targets::Classes { labels, .. } => labels,
            Targets::Values { .. } => &[],
        }
    }

    /// The class of sample `i`; `None` past the end or for a regression dataset.
    pub fn label(&self, i: usize) -> Option<usize> {
        self.labels().get(i).map(|&l| l as usize)
    }

    /// Sample `i`'s features as the network sees them.
    ///
    /// # Errors
    /// [`Error::Dataset`] if there is no sample `i`.
    pub fn input<T: Real>(&self, i: usize) -> Result<Vec<T>> {
        self.check_index(i)?;
        let mut x = vec![T::ZERO; self.n_inputs];
        self.fill_inputs(&[i], &mut x);
        Ok(x)
    }

    /// Sample `i`'s target y: one-hot for a class, the values for regression.
    ///
    /// # Errors
    /// [`Error::Dataset`] if there is no sample `i`.
    pub fn target<T: Real>(&self, i: usize) -> Result<Vec<T>> {
        self.check_index(i)?;
        let mut y = vec![T::ZERO; self.n_outputs()];
        self.fill_targets(&[i], &mut y);
        Ok(y)
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i >= self.n {
            return Err(Error::Dataset(format!(
                "no sample {i}: the dataset has {}",
                self.n
            )));
        }
        Ok(())
    }

    /// Every sample's features one after another, if they are bytes (scaled by 1/255 when a
    /// batch is built).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.features {
            Features::Bytes(pixels) => Some(pixels),
            Features::Floats(_) => None,
        }
    }

    /// Where the byte features are not zero (an index of non-zero pixels, `train/sparse/index.rs`), if they are bytes and mostly
    /// zero; built on the first call (one pass over the bytes), kept for the next ones.
    pub fn sparse_images(&self) -> Option<&SparseImages> {
        let build = || SparseImages::new(self.bytes()?, self.n_inputs);
        self.sparse.0.get_or_init(build).as_ref()
    }

    /// The index of [`Dataset::sparse_images`] if something has built it already.
    pub(crate) fn sparse_images_if_built(&self) -> Option<&SparseImages> {
        self.sparse.0.get().and_then(Option::as_ref)
    }

    /// Writes the inputs of the samples `indices` as rows of `out` (indices.len() × n_inputs).
    ///
    /// # Panics
    /// If an index is not below [`Dataset::len`] or `out` is shorter than the rows: this fills
    /// a [`crate::Workspace`] batch after batch, where a check per sample would cost; the
    /// checked way to one sample is [`Dataset::input`].
    pub fn fill_inputs<T: Real>(&self, indices: &[usize], out: &mut [T]) {
        self.fill_inputs_and_prefetch(indices, &[], out);
    }

    /// [`fill_inputs`](Self::fill_inputs) for `indices` and [`prefetch`](Self::prefetch) for
    /// `next` (the next batch) at once: where threads share a large batch, each prefetches the
    /// samples of the next batch it will convert next time, into its own core's cache.
    pub fn fill_inputs_and_prefetch<T: Real>(
        &self,
        indices: &[usize],
        next: &[usize],
        out: &mut [T],
    ) {
        let n = self.n_inputs;
        let rows = out[..indices.len() * n].chunks_exact_mut(n);
        match &self.features {
            Features::Bytes(pixels) => {
                // p · (1/255): within an ulp of p/255, exactly 0 and 1 at the ends, and a
                // multiplication vectorises where a division would be the bottleneck.
                let scale = T::ONE / T::from_f64(255.0);
                let kernels = Kernels::current();
                let convert = |(row, &i): (&mut [T], &usize)| {
                    scale_bytes(kernels, &pixels[i * n..(i + 1) * n], scale, row);
                };
                // Large batches share the rows among the threads (the same numbers either way).
                if crate::kernels::threads() > 1 && indices.len() >= 64 {
                    const ROWS: usize = 16;
                    let outs = crate::kernels::Parts::new(&mut out[..indices.len() * n]);
                    crate::kernels::for_each_part(indices.len().div_ceil(ROWS), &|p| {
                        let samples = &indices[p * ROWS..((p + 1) * ROWS).min(indices.len())];
                        let ahead = next.len().min(p * ROWS)..next.len().min((p + 1) * ROWS);
                        self.prefetch(&next[ahead]);
                        let start = p * ROWS * n;
                        // SAFETY: every part writes its own rows.
                        let rows = unsafe { outs.range(start..start + samples.len() * n) };
                        rows.chunks_exact_mut(n).zip(samples).for_each(convert);
                    });
                } else {
                    self.prefetch(next);
                    rows.zip(indices).for_each(convert);
                }
            }
            Features::Floats(values) => {
                for (row, &i) in rows.zip(indices) {
                    for (x, &v) in row.iter_mut().zip(&values[i * n..(i + 1) * n]) {
                        *x = T::from_f64(v as f64);
                    }
                }
            }
        }
    }

    /// Asks the CPU to start loading the samples `indices` into cache, without waiting: called
    /// one batch ahead, it hides the memory latency of reading shuffled images.
    pub fn prefetch(&self, indices: &[usize]) {
        #[cfg(target_arch = "x86_64")]
        if let Features::Bytes(pixels) = &self.features {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let n = self.n_inputs;
            for &i in indices {
                for offset in (i * n..(i + 1) * n).step_by(64) {
                    // wrapping_add: `indices` are the caller's, and an address outside the
                    // vector made by `add` would be undefined behaviour.
                    let at = pixels.as_ptr().wrapping_add(offset);
                    // SAFETY: a prefetch is only a hint: it never faults, whatever the address.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
                }
            }
        }
        let _ = indices;
    }

    /// Writes the targets y of the samples `indices` as rows of `out` (indices.len() ×
    /// n_outputs): one-hot for classes, the values for regression.
    ///
    /// # Panics
    /// As [`Dataset::fill_inputs`]; the checked way to one sample is [`Dataset::target`].
    pub fn fill_targets<T: Real>(&self, indices: &[usize], out: &mut [T]) {
        let k = self.n_outputs();
        let rows = out[..indices.len() * k].chunks_exact_mut(k).zip(indices);
        match &self.targets {
            Targets::Classes { labels, .. } => {
                for (row, &i) in rows {
                    row.fill(T::ZERO);
                    row[labels[i] as usize] = T::ONE;
                }
            }
            Targets::Values { values, .. } => {
                for (row, &i) in rows {
                    for (y, &v) in row.iter_mut().zip(&values[i * k..(i + 1) * k]) {
                        *y = T::from_f64(v as f64);
                    }
                }
            }
        }
    }

    /// Splits off the last `n` samples: returns (the first len − n, the last n). Nielsen's
    /// 50,000/10,000 training/validation split of MNIST is `split_last(10_000)`.
    ///
    /// # Errors
    /// [`Error::Dataset`] unless 0 < n < len.
    pub fn split_last(self, n: usize) -> Result<(Dataset, Dataset)> {
        if n == 0 || n >= self.len() {
            return Err(Error::Dataset(format!(
                "cannot hold out {n} of {} samples: at least one must be held out and one left for training",
                self.len()
            )));
        }
        let keep = self.len() - n;
        let f = self.n_inputs;
        let (a, b) = match self.features {
            Features::Bytes(mut v) => {
                let tail = v.split_off(keep * f);
                (Features::Bytes(v), Features::Bytes(tail))
            }
            Features::Floats(mut v) => {
                let tail = v.split_off(keep * f);
                (Features::Floats(v), Features::Floats(tail))
            }
        };
        let (ta, tb) = match self.targets {
            Targets::Classes {
                mut labels,
                n_classes,
            } => {
                let tail = labels.split_off(keep);
                (
                    Targets::Classes { labels, n_classes },
                    Targets::Classes {
                        labels: tail,
                        n_classes,
                    },
                )
            }
            Targets::Values { mut values, k } => {
                let tail = values.split_off(keep * k);
                (
                    Targets::Values { values, k },
                    Targets::Values { values: tail, k },
                )
            }
        };
        let make = |features, targets| Dataset {
            image_shape: self.image_shape,
            ..Dataset::new(features, targets, self.n_inputs)
        };
        Ok((make(a, ta), make(b, tb)))
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        self.select(&(0..n).collect::<Vec<_>>())
            .expect("indices below the length")
    }

    /// The samples `indices`, in that order (repeats allowed): shuffles, splits and subsets are
    /// all this.
    ///
    /// # Errors
    /// [`Error::Dataset`] naming the first index that is not a sample.
    pub fn select(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&i) = indices.iter().find(|&&i| i >= self.n) {
            return Err(Error::Dataset(format!(
                "no sample {i}: the dataset has {}",
                self.n
            )));
        }
        let f = self.n_inputs;
        fn rows<V: Copy>(v: &[V], width: usize, indices: &[usize]) -> Vec<V> {
            let mut out = Vec::with_capacity(indices.len() * width);
            for &i in indices {
                out.extend_from_slice(&v[i * width..(i + 1) * width]);
            }
            out
        }
        let features = match &self.features {
            Features::Bytes(v) => Features::Bytes(rows(v, f, indices)),
            Features::Floats(v) => Features::Floats(rows(v, f, indices)),
        };
        let targets = match &self.targets {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: rows(labels, 1, indices),
                n_classes: *n_classes,
            },
            Targets::Values { values, k } => Targets::Values {
                values: rows(values, *k, indices),
                k: *k,
            },
        };
        Ok(Dataset {
            image_shape: self.image_shape,
            ..Dataset::new(features, targets, f)
        })
    }

    /// How many samples of each class (empty for a regression dataset).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &l in self.labels() {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Every sample's features as `f32`, n × n_inputs row-major (bytes scaled by 1/255).
    pub fn features_f32(&self) -> Vec<f32> {
        match &self.features {
            Features::Floats(v) => v.clone(),
            Features::Bytes(v) => {
                let mut out = vec![0f32; v.len()];
                scale_bytes(Kernels::current(), v, 1.0 / 255.0, &mut out);
                out
            }
        }
    }
}

/// Finds the first value that is not finite, naming its sample and column.
pub(crate) fn check_finite(values: &[f32], width: usize, what: &str) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(Error::Dataset(format!(
            "{what} {} of sample {} is {}, not a finite number",
            p % width,
            p / width,
            values[p]
        ))),
    }
}

fn check(n_values: usize, labels: &[u32], n_inputs: usize, n_classes: usize) -> Result<()> {
    if n_inputs == 0 || n_classes == 0 {
        return Err(Error::Dataset(format!(
            "a dataset needs at least one input and one class, got {n_inputs} inputs and {n_classes} classes"
        )));
    }
    if Some(n_values) != labels.len().checked_mul(n_inputs) {
        return Err(Error::Dataset(format!(
            "{} labels of {n_inputs} inputs need {} values, got {n_values}",
            labels.len(),
            labels.len().saturating_mul(n_inputs)
        )));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= n_classes)
    {
        return Err(Error::Dataset(format!(
            "label {l} of sample {i} is not a class of 0..{n_classes}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_scaled_and_one_hot() {
        let d = Dataset::from_bytes(vec![0, 255, 51, 102, 204, 0], vec![2, 0, 1], 2, 3).unwrap();
        let mut x = [0f32; 4];
        let mut y = [9f32; 6];
        d.fill_inputs(&[2, 0], &mut x);
        d.fill_targets(&[2, 0], &mut y);
        assert_eq!(x[1..], [0.0, 0.0, 1.0]);
        assert!((x[0] - 0.8).abs() <= f32::EPSILON, "{x:?}");
        assert_eq!(y, [0., 1., 0., 0., 0., 1.]);
    }

    #[test]
    fn split_last_holds_out_the_tail() {
        let d = Dataset::from_bytes((0..10).collect(), vec![0, 1, 0, 1, 1], 2, 2).unwrap();
        let (train, val) = d.split_last(2).unwrap();
        assert_eq!((train.len(), val.len()), (3, 2));
        assert_eq!(val.input::<f64>(0).unwrap(), vec![6.0 / 255.0, 7.0 / 255.0]);
        assert_eq!(val.labels(), &[1, 1]);
        let d = Dataset::from_bytes(vec![0; 4], vec![0, 1], 2, 2).unwrap();
        assert!(d.clone().split_last(2).is_err());
        assert!(d.split_last(0).is_err());
    }

    #[test]
    fn inconsistent_data_is_rejected() {
        assert!(Dataset::from_bytes(vec![0; 5], vec![0, 1], 2, 2)
            .unwrap_err()
            .to_string()
            .contains("need 4 values, got 5"));
        assert!(Dataset::from_bytes(vec![0; 4], vec![0, 2], 2, 2)
            .unwrap_err()
            .to_string()
            .contains("label 2 of sample 1"));
    }
}
