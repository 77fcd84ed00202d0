//! Datasets from memory, and the chores done on them before training: a seeded shuffle, random
//! and stratified train/test splits.

use crate::{Dataset, Error, Result, Rng};

impl Dataset {
    /// A classification dataset from rows of features and one class label per row: `features`
    /// is n × `n_inputs`, row-major; the number of classes is the largest label + 1.
    ///
    /// # Errors
    /// [`Error::Dataset`] if the lengths do not agree or a feature is NaN or infinite.
    ///
    /// # Examples
    /// ```
    /// let d = backprop::Dataset::from_rows(&[0.5, 1.0, -2.0, 0.0, 3.0, 1.5], 2, &[0, 2, 1]).unwrap();
    /// assert_eq!((d.len(), d.n_inputs(), d.n_classes()), (3, 2, 3));
    /// assert!(backprop::Dataset::from_rows(&[f32::NAN, 1.0], 2, &[0]).is_err());
    /// ```
    pub fn from_rows(features: &[f32], n_inputs: usize, labels: &[u32]) -> Result<Dataset> {
        let n_classes = labels.iter().max().map_or(1, |&m| m as usize + 1);
        Dataset::from_floats(features.to_vec(), labels.to_vec(), n_inputs, n_classes)
    }

    /// A regression dataset from rows of features (n × `n_inputs`) and rows of real targets
    /// (n × `k`), both row-major.
    ///
    /// # Errors
    /// As [`Dataset::from_floats_regression`].
    ///
    /// # Examples
    /// ```
    /// let d = backprop::Dataset::from_rows_regression(&[0.0, 1.0, 2.0], 1, &[1.0, 3.0, 5.0], 1).unwrap();
    /// assert!(d.is_regression() && d.n_outputs() == 1);
    /// ```
    pub fn from_rows_regression(
        features: &[f32],
        n_inputs: usize,
        targets: &[f32],
        k: usize,
    ) -> Result<Dataset> {
        Dataset::from_floats_regression(features.to_vec(), targets.to_vec(), n_inputs, k)
    }

    /// The samples in an order drawn from `seed` (the same seed, the same order).
    pub fn shuffled(&self, seed: u64) -> Dataset {
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        self.select(&order).expect("a permutation of the samples")
    }

    /// A random split: (train, test) with `round(test_fraction × n)` samples in test, drawn
    /// from `seed`, each part in the original order.
    ///
    /// # Errors
    /// [`Error::Dataset`] unless both parts get at least one sample.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let n_test = self.test_count(test_fraction, self.len())?;
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let (mut test, mut train) = (order[..n_test].to_vec(), order[n_test..].to_vec());
        train.sort_unstable();
        test.sort_unstable();
        Ok((self.select(&train)?, self.select(&test)?))
    }

    /// A stratified split: each class keeps its share in both parts (`round(test_fraction ×
    /// count)` of each class in test), drawn from `seed`. For regression it is [`Dataset::split`].
    ///
    /// # Errors
    /// [`Error::Dataset`] unless both parts get at least one sample.
    pub fn split_stratified(&self, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if self.is_regression() {
            return self.split(test_fraction, seed);
        }
        self.test_count(test_fraction, self.len())?;
        let mut rng = Rng::new(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..self.n_classes() {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.label(i) == Some(class))
                .collect();
            rng.shuffle(&mut members);
            let k = (test_fraction * members.len() as f64).round() as usize;
            test.extend_from_slice(&members[..k]);
            train.extend_from_slice(&members[k..]);
        }
        if train.is_empty() || test.is_empty() {
            return Err(Error::Dataset(format!(
                "a stratified split of {} samples with a test fraction of {test_fraction} leaves one part empty",
                self.len()
            )));
        }
        train.sort_unstable();
        test.sort_unstable();
        Ok((self.select(&train)?, self.select(&test)?))
    }

    fn test_count(&self, fraction: f64, n: usize) -> Result<usize> {
        let k = (fraction * n as f64).round();
        if !(fraction > 0.0 && fraction < 1.0) || k < 1.0 || k >= n as f64 {
            return Err(Error::Dataset(format!(
                "a test fraction of {fraction} of {n} samples must leave at least one sample on each side"
            )));
        }
        Ok(k as usize)
    }
}

#[cfg(test)]
mod tests {
    use crate::Dataset;

    fn data() -> Dataset {
        // 10 of class 0, 30 of class 1; feature = the index.
        let labels: Vec<u32> = (0..40).map(|i| u32::from(i >= 10)).collect();
        let x: Vec<f32> = (0..40).map(|i| i as f32).collect();
        Dataset::from_rows(&x, 1, &labels).unwrap()
    }

    #[test]
    fn splits_partition_the_samples_and_stratified_keeps_class_shares() {
        let d = data();
        let (train, test) = d.split(0.25, 7).unwrap();
        assert_eq!((train.len(), test.len()), (30, 10));
        let mut all: Vec<f32> = train.features_f32();
        all.extend(test.features_f32());
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.features_f32());
        let (train, test) = d.split_stratified(0.2, 7).unwrap();
        assert_eq!(test.class_counts(), vec![2, 6]);
        assert_eq!(train.class_counts(), vec![8, 24]);
        assert!(d.split(0.0, 1).is_err() && d.split(1.0, 1).is_err());
        // Seeded: the same seed, the same split; another seed, another one.
        assert_eq!(d.split(0.25, 7).unwrap().1, d.split(0.25, 7).unwrap().1);
        assert_ne!(d.split(0.25, 7).unwrap().1, d.split(0.25, 8).unwrap().1);
    }

    #[test]
    fn shuffled_is_a_seeded_permutation() {
        let d = data();
        let s = d.shuffled(3);
        assert_eq!(s, d.shuffled(3));
        assert_ne!(s, d);
        let mut x = s.features_f32();
        x.sort_by(f32::total_cmp);
        assert_eq!(x, d.features_f32());
        for i in 0..s.len() {
            let v = s.input::<f32>(i).unwrap()[0];
            assert_eq!(s.label(i), Some(usize::from(v >= 10.0)));
        }
    }
}
