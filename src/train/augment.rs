//! Data augmentation for images, seeded and on the fly: every time a training image is used it is
//! moved a little — shifted, rotated, scaled and, optionally, elastically distorted (Simard,
//! Steinkraus & Platt, 2003) — so the network sees a slightly different digit each epoch.
//!
//! Every output pixel p is read from the source image at
//!
//! ```text
//! q = c + R(−θ) · (p − c − t) / s + α · (G_σ ∗ u)(p)          bilinear, 0 outside the image
//! ```
//!
//! with c the image centre, t a shift, θ a rotation, s a scale factor, u a field of independent
//! uniform(−1, 1) displacements smoothed by a Gaussian of width σ and magnified by α (Simard's
//! elastic distortion; α = 0 turns it off).

use crate::kernels::{matmul_a_bt, Kernels};
use crate::{Error, Real, Result, Rng};
use serde::{Deserialize, Serialize};

/// How much to move the training images. All zero (the default) leaves them alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Largest shift along each axis, in pixels (uniform in ±shift).
    pub shift: f64,
    /// Largest rotation, in degrees (uniform in ±rotate).
    pub rotate: f64,
    /// Largest relative change of size (a factor uniform in 1 ± scale).
    pub scale: f64,
    /// α, the strength of the elastic distortion in pixels; 0 for none. Simard et al. use 34
    /// with σ = 4 on 28×28 digits.
    pub elastic_alpha: f64,
    /// σ, the smoothness of the elastic distortion in pixels.
    pub elastic_sigma: f64,
}

impl Augment {
    /// Whether anything moves.
    pub fn is_on(&self) -> bool {
        self.shift > 0.0 || self.rotate > 0.0 || self.scale > 0.0 || self.elastic_alpha > 0.0
    }

    /// # Errors
    /// [`Error::Config`] for negative or non-finite values, a rotation over 180°, a scale of 1 or
    /// more, or an elastic distortion without a σ in (0, 100].
    /// [`Augment::validate_for`] adds the limits that depend on the image size.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("shift", self.shift),
            ("rotation", self.rotate),
            ("scale", self.scale),
            ("elastic α", self.elastic_alpha),
            ("elastic σ", self.elastic_sigma),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Config(format!(
                    "the augmentation {name} must be 0 or positive, got {v}"
                )));
            }
        }
        if self.rotate > 180.0 {
            return Err(Error::Config(format!(
                "the augmentation rotation must be at most 180 degrees (beyond, angles repeat), got {}",
                self.rotate
            )));
        }
        if self.scale >= 1.0 {
            return Err(Error::Config(format!(
                "the augmentation scale must be below 1 (a factor in 1 ± scale), got {}",
                self.scale
            )));
        }
        if self.elastic_alpha > 0.0 && !(self.elastic_sigma > 0.0 && self.elastic_sigma <= 100.0) {
            return Err(Error::Config(format!(
                "an elastic distortion needs a σ in (0, 100] pixels, got {}",
                self.elastic_sigma
            )));
        }
        Ok(())
    }

    /// [`Augment::validate`], and the limits for images of `rows × cols` pixels: a shift below
    /// the shorter side (a shift of a whole side moves the image out of its frame), and an
    /// elastic distortion whose typical displacement, α‖G_σ‖/√3 (the root mean square of
    /// α·(G_σ ∗ u) for u uniform in ±1), stays under a quarter of the shorter side: 7 pixels for
    /// MNIST, where Simard's α = 34, σ = 4 gives 1.4 px and α = 171 is the most for σ = 4.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value, the image size and the limit.
    pub fn validate_for(&self, rows: usize, cols: usize) -> Result<()> {
        self.validate()?;
        let side = rows.min(cols) as f64;
        if self.shift >= side {
            return Err(Error::Config(format!(
                "the augmentation shift must be below {side} pixels for {rows}×{cols} images (a shift of a whole side moves the image out of its frame), got {}",
                self.shift
            )));
        }
        if self.elastic_alpha > 0.0 {
            let rms = self.elastic_alpha * blur_norm(self.elastic_sigma) / 3f64.sqrt();
            if rms > side / 4.0 {
                return Err(Error::Config(format!(
                    "an elastic α of {} with σ {} moves pixels by {rms:.1} px (root mean square), more than a quarter of the side of {rows}×{cols} images ({} px): at most α = {:.0} for σ = {}",
                    self.elastic_alpha,
                    self.elastic_sigma,
                    side / 4.0,
                    ((side / 4.0) * 3f64.sqrt() / blur_norm(self.elastic_sigma)).floor(),
                    self.elastic_sigma
                )));
            }
        }
        Ok(())
    }
}

/// The taps of the normalised Gaussian of width `sigma`, −⌈3σ⌉..=⌈3σ⌉.
fn gaussian_taps(sigma: f64) -> Vec<f64> {
    let radius = (3.0 * sigma).ceil() as i64;
    let taps: Vec<f64> = (-radius..=radius)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.iter().map(|t| t / sum).collect()
}

/// Σ gᵢ² over the taps, which is ‖G_σ‖, the 2-norm of the separable 2-D blur G_σ = g ⊗ g: a
/// field of independent values of variance v, blurred along both axes, has variance v‖G_σ‖².
fn blur_norm(sigma: f64) -> f64 {
    gaussian_taps(sigma).iter().map(|g| g * g).sum()
}

/// Applies an [`Augment`] to images of one size, with its buffers allocated once.
#[derive(Clone, Debug)]
pub(crate) struct Augmenter {
    config: Augment,
    rows: usize,
    cols: usize,
    source: Vec<f32>,
    /// Elastic displacement fields (rows × cols), and scratch space for the separable blur.
    dx: Vec<f32>,
    dy: Vec<f32>,
    scratch: Vec<f32>,
    /// The normalised Gaussian G_σ, taps −r..=r; empty without elastic distortion.
    kernel: Vec<f32>,
    /// The blur as matrices (zero outside the image): rows × rows and cols × cols, symmetric,
    /// so that blurring a field U is G_rows · U · G_cols — two small matrix products.
    blur_rows: Vec<f32>,
    blur_cols: Vec<f32>,
}

impl Augmenter {
    /// An augmenter for `rows` × `cols` images.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad `config` (see [`Augment::validate_for`]).
    pub fn new(config: Augment, rows: usize, cols: usize) -> Result<Self> {
        config.validate_for(rows, cols)?;
        let n = rows * cols;
        let kernel = if config.elastic_alpha > 0.0 {
            gaussian_taps(config.elastic_sigma)
                .iter()
                .map(|&t| t as f32)
                .collect()
        } else {
            Vec::new()
        };
        let field = if kernel.is_empty() { 0 } else { n };
        let blur_matrix = |n: usize| -> Vec<f32> {
            if kernel.is_empty() {
                return Vec::new();
            }
            let r = (kernel.len() / 2) as i64;
            let mut g = vec![0.0; n * n];
            for i in 0..n as i64 {
                for j in (i - r).max(0)..(i + r + 1).min(n as i64) {
                    g[(i * n as i64 + j) as usize] = kernel[(j - i + r) as usize];
                }
            }
            g
        };
        Ok(Augmenter {
            config,
            rows,
            cols,
            source: vec![0.0; n],
            dx: vec![0.0; field],
            dy: vec![0.0; field],
            scratch: vec![0.0; field],
            blur_rows: blur_matrix(rows),
            blur_cols: blur_matrix(cols),
            kernel,
        })
    }

    /// Moves one image (rows × cols, row-major) in place, with fresh random parameters from `rng`.
    pub fn apply<T: Real>(&mut self, image: &mut [T], rng: &mut Rng) {
        debug_assert_eq!(image.len(), self.rows * self.cols);
        let c = &self.config;
        let mut sym = |limit: f64| {
            if limit > 0.0 {
                limit * (2.0 * rng.uniform() - 1.0)
            } else {
                0.0
            }
        };
        let (tx, ty) = (sym(c.shift), sym(c.shift));
        let theta = sym(c.rotate).to_radians();
        let s = 1.0 + sym(c.scale);
        let elastic = !self.kernel.is_empty();
        if elastic {
            self.draw_elastic(rng);
        }
        self.warp(image, (tx, ty), theta, s, elastic);
    }

    /// Scales `image` by `s`, rotates it by `theta` (radians) about its centre, shifts it by
    /// `t` = (x, y) pixels and, if `elastic`, displaces it by the current elastic field.
    fn warp<T: Real>(&mut self, image: &mut [T], t: (f64, f64), theta: f64, s: f64, elastic: bool) {
        for (s, &x) in self.source.iter_mut().zip(image.iter()) {
            *s = x.to_f64() as f32;
        }
        // q = c + R(−θ)(p − c − t)/s: the inverse of "scale, rotate by θ, shift by t".
        let (sin, cos) = theta.sin_cos();
        let (a, b) = ((cos / s) as f32, (sin / s) as f32);
        let (cy, cx) = (
            (self.rows as f32 - 1.0) / 2.0,
            (self.cols as f32 - 1.0) / 2.0,
        );
        let (tx, ty) = (t.0 as f32, t.1 as f32);
        for i in 0..self.rows {
            for j in 0..self.cols {
                let (u, v) = (j as f32 - cx - tx, i as f32 - cy - ty);
                let mut x = cx + a * u + b * v;
                let mut y = cy - b * u + a * v;
                if elastic {
                    x += self.dx[i * self.cols + j];
                    y += self.dy[i * self.cols + j];
                }
                image[i * self.cols + j] = T::from_f64(self.bilinear(x, y) as f64);
            }
        }
    }

    /// The source image at (x, y), bilinearly interpolated; 0 outside.
    #[inline]
    fn bilinear(&self, x: f32, y: f32) -> f32 {
        // ⌊x⌋ without a libm call: truncation is the floor for positive numbers, and anything
        // left of −OFFSET is far outside the image anyway.
        const OFFSET: f32 = 1024.0;
        if !(x > -OFFSET && y > -OFFSET) {
            return 0.0;
        }
        let (x0, y0) = ((x + OFFSET) as i64 - 1024, (y + OFFSET) as i64 - 1024);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |yy: i64, xx: i64| -> f32 {
            if yy >= 0 && xx >= 0 && (yy as usize) < self.rows && (xx as usize) < self.cols {
                self.source[yy as usize * self.cols + xx as usize]
            } else {
                0.0
            }
        };
        let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
        let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Fills `dx`, `dy` with α · (G_σ ∗ u), u uniform in (−1, 1) per pixel.
    fn draw_elastic(&mut self, rng: &mut Rng) {
        let alpha = self.config.elastic_alpha as f32;
        for d in self.dx.iter_mut().chain(self.dy.iter_mut()) {
            *d = (2.0 * rng.uniform() - 1.0) as f32;
        }
        let (rows, cols) = (self.rows, self.cols);
        let kernels = Kernels::current();
        for field in [&mut self.dx, &mut self.dy] {
            // Along the rows: Tᵀ = G_cols · Uᵀ (cols × rows); then down the columns:
            // F = G_rows · T. Both as row-by-row dot products, the fastest small-product form.
            matmul_a_bt(
                kernels,
                cols,
                rows,
                cols,
                &self.blur_cols,
                field,
                &mut self.scratch,
                false,
            );
            matmul_a_bt(
                kernels,
                rows,
                cols,
                rows,
                &self.blur_rows,
                &self.scratch,
                field,
                false,
            );
            field.iter_mut().for_each(|d| *d *= alpha);
        }
    }
}

/// Separable Gaussian blur of a rows × cols field in place (zero outside), rows then columns,
/// straight from the definition: the reference for the matrix form above.
#[cfg(test)]
fn blur(field: &mut [f32], scratch: &mut [f32], kernel: &[f32], rows: usize, cols: usize) {
    let r = (kernel.len() / 2) as i64;
    for i in 0..rows {
        for j in 0..cols {
            let mut sum = 0.0;
            for (t, &k) in kernel.iter().enumerate() {
                let jj = j as i64 + t as i64 - r;
                if jj >= 0 && (jj as usize) < cols {
                    sum += k * field[i * cols + jj as usize];
                }
            }
            scratch[i * cols + j] = sum;
        }
    }
    for i in 0..rows {
        for j in 0..cols {
            let mut sum = 0.0;
            for (t, &k) in kernel.iter().enumerate() {
                let ii = i as i64 + t as i64 - r;
                if ii >= 0 && (ii as usize) < rows {
                    sum += k * scratch[ii as usize * cols + j];
                }
            }
            field[i * cols + j] = sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_depend_on_the_image_size() {
        let a = |shift: f64, elastic_alpha: f64| Augment {
            shift,
            elastic_alpha,
            elastic_sigma: 4.0,
            ..Default::default()
        };
        assert!(a(27.9, 0.0).validate_for(28, 28).is_ok());
        assert!(a(28.0, 0.0).validate_for(28, 28).is_err());
        assert!(a(28.0, 0.0).validate_for(56, 40).is_ok());
        // The root mean square displacement α‖G_σ‖/√3 against a quarter of the side, 7 px:
        // ‖G_4‖ = 0.0708, near the continuous 1/(2√π·4) = 0.0705 (taps cut at 3σ), so α = 171
        // passes and 172 does not.
        assert!((blur_norm(4.0) - 1.0 / (2.0 * std::f64::consts::PI.sqrt() * 4.0)).abs() < 1e-3);
        assert!(a(0.0, 171.0).validate_for(28, 28).is_ok());
        assert!(a(0.0, 172.0).validate_for(28, 28).is_err());
        assert!(a(0.0, 34.0).validate_for(28, 28).is_ok());
    }

    /// A 9×9 image with one bright pixel at (row, col).
    fn dot(row: usize, col: usize) -> Vec<f32> {
        let mut img = vec![0.0; 81];
        img[row * 9 + col] = 1.0;
        img
    }

    fn centre_of_mass(img: &[f32]) -> (f32, f32) {
        let total: f32 = img.iter().sum();
        let (mut r, mut c) = (0.0, 0.0);
        for (i, &v) in img.iter().enumerate() {
            r += v * (i / 9) as f32;
            c += v * (i % 9) as f32;
        }
        (r / total, c / total)
    }

    #[test]
    fn nothing_moves_when_off() {
        let mut aug = Augmenter::new(Augment::default(), 9, 9).unwrap();
        let mut img: Vec<f32> = (0..81).map(|i| i as f32 / 81.0).collect();
        let original = img.clone();
        aug.apply(&mut img, &mut Rng::new(1));
        assert_eq!(img, original);
    }

    #[test]
    fn a_shift_moves_the_ink_by_at_most_the_limit_and_keeps_it() {
        let config = Augment {
            shift: 2.0,
            ..Default::default()
        };
        let mut aug = Augmenter::new(config, 9, 9).unwrap();
        let mut rng = Rng::new(5);
        let mut moved = false;
        for _ in 0..50 {
            let mut img = dot(4, 4);
            aug.apply(&mut img, &mut rng);
            let (r, c) = centre_of_mass(&img);
            assert!((r - 4.0).abs() <= 2.0 + 1e-4 && (c - 4.0).abs() <= 2.0 + 1e-4);
            // Bilinear interpolation spreads the dot but keeps its mass inside the image.
            assert!((img.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            moved |= (r - 4.0).abs() > 0.1;
        }
        assert!(moved);
    }

    #[test]
    fn a_quarter_turn_and_a_shift_by_hand() {
        // Rotating by +90° (x to the right, y down, so clockwise on screen) takes the pixel two
        // right of the centre (4, 6) to two below it (6, 4); then shifting by (x, y) = (1, −2)
        // moves it to (4, 5).
        let mut aug = Augmenter::new(Augment::default(), 9, 9).unwrap();
        let mut img = dot(4, 6);
        aug.warp(
            &mut img,
            (0.0, 0.0),
            std::f64::consts::FRAC_PI_2,
            1.0,
            false,
        );
        assert!((img[6 * 9 + 4] - 1.0).abs() < 1e-5, "{img:?}");
        let mut img = dot(4, 6);
        aug.warp(
            &mut img,
            (1.0, -2.0),
            std::f64::consts::FRAC_PI_2,
            1.0,
            false,
        );
        assert!((img[4 * 9 + 5] - 1.0).abs() < 1e-5, "{img:?}");
        // Doubling the size about the centre takes (4, 5) to (4, 6), spread over neighbours.
        let mut img = dot(4, 5);
        aug.warp(&mut img, (0.0, 0.0), 0.0, 2.0, false);
        assert!((img[4 * 9 + 6] - 1.0).abs() < 1e-5, "{img:?}");
    }

    #[test]
    fn elastic_fields_are_smooth_and_of_the_expected_size() {
        let config = Augment {
            elastic_alpha: 34.0,
            elastic_sigma: 4.0,
            ..Default::default()
        };
        let mut aug = Augmenter::new(config, 28, 28).unwrap();
        aug.draw_elastic(&mut Rng::new(2));
        let mean_abs = aug.dx.iter().map(|d| d.abs()).sum::<f32>() / 784.0;
        // Neighbours differ far less than independent draws of that size would.
        let mean_step = (0..27 * 28)
            .map(|i| (aug.dx[i + 28] - aug.dx[i]).abs())
            .sum::<f32>()
            / (27.0 * 28.0);
        assert!(mean_abs > 0.2 && mean_abs < 5.0, "{mean_abs}");
        assert!(mean_step < 0.5 * mean_abs, "{mean_step} vs {mean_abs}");
    }

    #[test]
    fn the_matrix_blur_is_the_separable_convolution() {
        let config = Augment {
            elastic_alpha: 1.0,
            elastic_sigma: 2.5,
            ..Default::default()
        };
        let (rows, cols) = (13, 9);
        let mut aug = Augmenter::new(config, rows, cols).unwrap();
        aug.draw_elastic(&mut Rng::new(4));
        // The same uniform draws, blurred by the definition.
        let mut rng = Rng::new(4);
        let mut u: Vec<f32> = (0..rows * cols)
            .map(|_| (2.0 * rng.uniform() - 1.0) as f32)
            .collect();
        let mut scratch = vec![0.0; rows * cols];
        blur(&mut u, &mut scratch, &aug.kernel, rows, cols);
        for (a, b) in aug.dx.iter().zip(&u) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn the_same_seed_moves_the_same_way() {
        let config = Augment {
            shift: 2.0,
            rotate: 10.0,
            scale: 0.1,
            elastic_alpha: 8.0,
            elastic_sigma: 3.0,
        };
        let mut aug = Augmenter::new(config, 9, 9).unwrap();
        let (mut a, mut b) = (dot(3, 5), dot(3, 5));
        aug.apply(&mut a, &mut Rng::new(9));
        aug.apply(&mut b, &mut Rng::new(9));
        assert_eq!(a, b);
    }

    #[test]
    fn bad_settings_are_rejected() {
        for bad in [
            Augment {
                shift: -1.0,
                ..Default::default()
            },
            Augment {
                scale: 1.0,
                ..Default::default()
            },
            Augment {
                elastic_alpha: 34.0,
                elastic_sigma: 0.0,
                ..Default::default()
            },
            Augment {
                rotate: f64::NAN,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
