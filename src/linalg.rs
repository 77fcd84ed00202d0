//! The three matrix products of a dense layer, on row-major slices.
//!
//! A mini-batch of activations is a `batch × n` row-major matrix (one sample per row); a
//! layer's weights are `n_out × n_in` (row j holds w_j·). With those layouts:
//!
//! ```text
//! forward          Z      = A_prev · Wᵀ        (batch × n_out)   matmul_a_bt
//! weight gradient  ∂C/∂W  = Δᵀ · A_prev        (n_out × n_in)    matmul_at_b
//! input gradient   ∂C/∂A  = Δ · W              (batch × n_in)    matmul_a_b
//! ```
//!
//! All three go to the `gemm` crate, single-threaded: at these sizes a second thread costs more
//! than it saves, and one thread keeps every sum in a fixed order, so results are reproducible.

use crate::Real;
use gemm::{gemm, Parallelism};

/// `c = a · bᵀ` (or `c += a · bᵀ` when `accumulate`), with `a` m×k, `b` n×k, `c` m×n.
pub fn matmul_a_bt<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    // SAFETY: the asserts bound every index gemm touches: a[i*k + p], b[j*k + p], c[i*n + j].
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            k as isize,
            1,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// `c = aᵀ · b` (or `c += aᵀ · b` when `accumulate`), with `a` k×m, `b` k×n, `c` m×n.
pub fn matmul_at_b<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) {
    assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the asserts bound every index gemm touches: a[p*m + i], b[p*n + j], c[i*n + j].
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            m as isize,
            1,
            b.as_ptr(),
            1,
            n as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// `c = a · b`, with `a` m×k, `b` k×n, `c` m×n.
pub fn matmul_a_b<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the asserts bound every index gemm touches: a[i*k + p], b[p*n + j], c[i*n + j].
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The products written as the textbook sums, the oracle for the gemm calls.
    fn reference(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f64,
        b: impl Fn(usize, usize) -> f64,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            }
        }
        c
    }

    fn close(x: &[f64], y: &[f64]) {
        assert_eq!(x.len(), y.len());
        for (a, b) in x.iter().zip(y) {
            assert!((a - b).abs() <= 1e-12 + 1e-12 * b.abs(), "{a} vs {b}");
        }
    }

    #[test]
    fn products_match_the_textbook_sums() {
        let mut rng = crate::Rng::new(11);
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (10, 16, 784), (17, 9, 33)] {
            let a: Vec<f64> = (0..m * k).map(|_| rng.normal()).collect();
            let bt: Vec<f64> = (0..n * k).map(|_| rng.normal()).collect(); // n×k
            let b: Vec<f64> = (0..k * n).map(|_| rng.normal()).collect(); // k×n
            let at: Vec<f64> = (0..k * m).map(|_| rng.normal()).collect(); // k×m

            let mut c = vec![f64::NAN; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c, false);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_at_b(m, n, k, &at, &b, &mut c, false);
            close(
                &c,
                &reference(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]),
            );

            let mut c = vec![f64::NAN; m * n];
            matmul_a_b(m, n, k, &a, &b, &mut c);
            close(
                &c,
                &reference(m, n, k, |i, p| a[i * k + p], |p, j| b[p * n + j]),
            );

            let mut c = vec![1.0; m * n];
            matmul_a_bt(m, n, k, &a, &bt, &mut c, true);
            let expected: Vec<f64> = reference(m, n, k, |i, p| a[i * k + p], |p, j| bt[j * k + p])
                .into_iter()
                .map(|v| v + 1.0)
                .collect();
            close(&c, &expected);
        }
    }
}
