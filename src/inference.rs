//! Answers from a trained network, checked and fast: the one-sample and batch calls a program
//! makes once training is over.
//!
//! [`Network::feedforward`] is the notes' loop, kept as the reference. These go through the
//! batched path training uses ([`Network::forward_batch`], the matrix kernels), manage their own
//! [`Workspace`], and return an [`Error::Shape`] instead of panicking when an input has the
//! wrong length.

use crate::{argmax, Error, Network, Real, Result, Workspace};

/// Samples per pass in the batch calls: enough for efficient matrix products, little memory.
const CHUNK: usize = 256;

impl<T: Real> Network<T> {
    /// The output a^(L) for one input x.
    ///
    /// # Errors
    /// [`Error::Shape`] unless `x` has [`Network::n_inputs`] values.
    ///
    /// # Examples
    /// ```
    /// use backprop::{Architecture, Init, Network};
    /// let net = Network::<f32>::new(&Architecture::sigmoid(vec![3, 4, 2]), Init::Normal, 1).unwrap();
    /// let a = net.outputs(&[0.5, -1.0, 2.0]).unwrap();
    /// assert_eq!(a.len(), 2);
    /// assert!(net.outputs(&[0.5]).unwrap_err().to_string().contains("takes 3 inputs, got 1"));
    /// ```
    pub fn outputs(&self, x: &[T]) -> Result<Vec<T>> {
        self.check_input(x.len(), 1)?;
        let mut ws = Workspace::new(self, 1);
        ws.input_mut(1)?.copy_from_slice(x);
        Ok(self.forward_batch(&mut ws, 1)?.to_vec())
    }

    /// The class the network picks for one input x: the index of its largest output.
    ///
    /// # Errors
    /// As [`Network::outputs`].
    pub fn predict(&self, x: &[T]) -> Result<usize> {
        Ok(argmax(&self.outputs(x)?))
    }

    /// The outputs for many inputs at once: `xs` holds n samples of [`Network::n_inputs`]
    /// values one after another; the answer holds n rows of [`Network::n_outputs`].
    ///
    /// # Errors
    /// [`Error::Shape`] unless `xs.len()` is a multiple of the number of inputs.
    pub fn outputs_batch(&self, xs: &[T]) -> Result<Vec<T>> {
        let (n_in, n_out) = (self.n_inputs(), self.n_outputs());
        if !xs.len().is_multiple_of(n_in) {
            return Err(Error::Shape(format!(
                "the network takes rows of {n_in} inputs, but {} values are not a whole number of rows",
                xs.len()
            )));
        }
        let n = xs.len() / n_in;
        let mut out = Vec::with_capacity(n * n_out);
        let mut ws = Workspace::new(self, CHUNK.min(n.max(1)));
        for rows in xs.chunks(CHUNK * n_in) {
            let batch = rows.len() / n_in;
            ws.input_mut(batch)?.copy_from_slice(rows);
            out.extend_from_slice(self.forward_batch(&mut ws, batch)?);
        }
        Ok(out)
    }

    /// The class picked for each of many inputs (laid out as for [`Network::outputs_batch`]).
    ///
    /// # Errors
    /// As [`Network::outputs_batch`].
    pub fn predict_batch(&self, xs: &[T]) -> Result<Vec<usize>> {
        let a = self.outputs_batch(xs)?;
        Ok(a.chunks_exact(self.n_outputs()).map(argmax).collect())
    }

    /// [`Error::Shape`] unless `len` is `samples` inputs.
    pub(crate) fn check_input(&self, len: usize, samples: usize) -> Result<()> {
        let n_in = self.n_inputs();
        if samples == 1 && len != n_in {
            return Err(Error::Shape(format!(
                "the network takes {n_in} inputs, got {len}"
            )));
        }
        if len != n_in * samples {
            return Err(Error::Shape(format!(
                "{samples} samples need {} input values ({n_in} per sample), got {len}",
                n_in * samples
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Architecture, Init, Network};

    #[test]
    fn the_fast_path_agrees_with_the_notes_loop() {
        let net =
            Network::<f64>::new(&Architecture::sigmoid(vec![5, 7, 3]), Init::Normal, 4).unwrap();
        let xs: Vec<f64> = (0..5 * 300)
            .map(|i| ((i * 37) % 11) as f64 / 5.0 - 1.0)
            .collect();
        let batch = net.outputs_batch(&xs).unwrap();
        assert_eq!(batch.len(), 300 * 3);
        for (x, a) in xs.chunks(5).zip(batch.chunks(3)) {
            let reference = net.feedforward(x).unwrap();
            let one = net.outputs(x).unwrap();
            for ((r, o), b) in reference.iter().zip(&one).zip(a) {
                assert!(
                    (r - o).abs() < 1e-12 && (r - b).abs() < 1e-12,
                    "{r} {o} {b}"
                );
            }
            assert_eq!(net.predict(x).unwrap(), crate::argmax(&reference));
        }
        assert_eq!(net.predict_batch(&xs).unwrap().len(), 300);
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let net = Network::<f32>::new(&Architecture::sigmoid(vec![3, 2]), Init::Normal, 1).unwrap();
        assert!(net.outputs(&[1.0; 4]).is_err());
        assert!(net.predict(&[]).is_err());
        assert!(net.feedforward(&[1.0; 2]).is_err());
        let err = net.outputs_batch(&[1.0; 7]).unwrap_err().to_string();
        assert!(err.contains("rows of 3 inputs"), "{err}");
        assert_eq!(net.outputs_batch(&[]).unwrap(), Vec::<f32>::new());
    }
}
