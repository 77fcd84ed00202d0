//! The floating-point type a network computes in.
//!
//! Training runs in `f32` (fast, and what the model file stores); gradient checks run in `f64`,
//! where central differences are accurate to about 1e-10. Everything numeric in the crate is
//! generic over [`Real`], which only `f32` and `f64` implement.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar: `f32` or `f64`.
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Machine epsilon: the gap between 1 and the next larger number.
    const EPSILON: Self;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts a byte exactly.
    fn from_u8(x: u8) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// e^x.
    fn exp(self) -> Self;
    /// e^x by straight-line arithmetic that loops vectorise: for f32 a range reduction and a
    /// polynomial (Cephes' `expf`, within 2 ulp of e^x; inputs beyond ±87.3 are clamped there, so
    /// it never returns 0 or ∞); for f64 the same as [`Real::exp`].
    fn fast_exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// self · a + b with one rounding (fast only where the CPU has FMA).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// The larger of two numbers (NaN-ignoring, like `f32::max`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two numbers (NaN-ignoring, like `f32::min`).
    fn min(self, other: Self) -> Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

macro_rules! impl_real {
    ($t:ty, $fast_exp:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const EPSILON: Self = <$t>::EPSILON;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_u8(x: u8) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn fast_exp(self) -> Self {
                $fast_exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_real!(f32, exp_f32);
impl_real!(f64, f64::exp);

/// e^x for f32 without branches or table look-ups, after Cephes' `expf`: x = n·ln 2 + r with
/// |r| ≤ ln 2 / 2, e^r by a degree-7 polynomial, 2^n put straight into the exponent bits.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    // 1.5·2²³: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 87.3);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    // ln 2 in two parts; n · 0.693359375 is exact, so r carries no rounding error from it.
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * (r * r) + r + 1.0;
    let n = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    e_r * f32::from_bits(((n + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_within_2_ulp_of_exp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 87.0 {
            let exact = (x as f64).exp();
            let ulp = (exact as f32).to_bits() as f64;
            let got = x.fast_exp();
            let err = (got.to_bits() as f64 - ulp).abs();
            worst = worst.max(err);
            x += 0.000_37;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(0.0f32.fast_exp(), 1.0);
        assert!(f32::NAN.fast_exp().is_nan());
        assert!((-1000.0f32).fast_exp() > 0.0 && (-1000.0f32).fast_exp() < 1e-37);
        assert!(1000.0f32.fast_exp().is_finite());
        assert_eq!(1.5f64.fast_exp(), 1.5f64.exp());
    }
}
