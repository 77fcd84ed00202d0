//! Your own digit, the way MNIST was made: any PNG or JPEG → the 28×28 input of the notes'
//! network.
//!
//! LeCun, Cortes and Burges built MNIST by size-normalising each NIST digit to fit a 20×20 box
//! (keeping its aspect ratio, anti-aliased to grey levels) and then translating it so that its
//! centre of mass sits at the centre of a 28×28 field. [`to_mnist`] does the same to any image:
//!
//! ```text
//! 1. grey:     g = 0.299 R + 0.587 G + 0.114 B, transparent pixels on white paper
//! 2. ink:      the background is the median of the border pixels; if it is light, the ink is
//!              dark (ink = 1 − g), otherwise ink = g. Then ink is stretched so the background
//!              is 0 and the strongest ink 1, and anything below 0.1 (paper texture, JPEG noise)
//!              becomes 0
//! 3. crop:     to the bounding box of the ink
//! 4. scale:    the longer side to 20 px, keeping the aspect ratio (area averaging)
//! 5. centre:   into 28×28, shifted by whole pixels so the centre of mass lands on pixel (14, 14),
//!              where it is in MNIST (mean 13.99, 14.01 over the test set, spread ±0.5 px)
//! ```

use crate::{Error, Result};
#[cfg(feature = "images")]
use std::path::Path;

/// Side of the MNIST field.
pub const SIDE: usize = 28;
/// Side of the box the digit is scaled into.
pub(crate) const BOX: usize = 20;
/// Images larger than this in either direction are refused before any pixel is decoded.
pub const MAX_SIDE: u32 = 10_000;
/// Images of more pixels than this (4096 × 4096, a 16-megapixel photo) are refused before any
/// pixel is decoded: decoding takes at most 8 bytes a pixel, 128 MiB.
pub const MAX_PIXELS: usize = 4096 * 4096;
/// Image files larger than this are refused without being read further (an endless stream such
/// as `/dev/zero` costs this much, not all memory): a PNG of [`MAX_PIXELS`] grey pixels, barely
/// compressed, fits, and so does any photo of a digit.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Ink fainter than this, after stretching to 0..1, is background.
const INK_THRESHOLD: f32 = 0.1;
/// The ink must differ from the background by at least this much (of 0..1) to count.
const MIN_CONTRAST: f32 = 0.1;

/// A grey image, row-major, values in 0..1 (0 black, 1 white), as decoded from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct GreyImage {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` grey levels in 0..1.
    pub pixels: Vec<f32>,
}

/// A digit ready for the network, with what preprocessing found.
#[derive(Clone, Debug, PartialEq)]
pub struct Digit {
    /// 28×28 ink values in 0..1, row-major: the network's 784 inputs (MNIST's convention, ink high).
    pub pixels: Vec<f32>,
    /// Whether the image was dark ink on light paper (and so was inverted).
    pub inverted: bool,
    /// The ink's bounding box in the original image: (left, top, width, height).
    pub bbox: (usize, usize, usize, usize),
}

impl GreyImage {
    /// An image from grey levels in 0..1.
    ///
    /// # Errors
    /// [`Error::Shape`] unless `pixels` is `width × height` long.
    pub fn new(width: usize, height: usize, pixels: Vec<f32>) -> Result<Self> {
        if Some(pixels.len()) != width.checked_mul(height) {
            return Err(Error::Shape(format!(
                "a {width}×{height} image has {} pixels, got {}",
                width.saturating_mul(height),
                pixels.len()
            )));
        }
        Ok(GreyImage {
            width,
            height,
            pixels,
        })
    }

    /// Reads a PNG or JPEG file (recognised by content, not name) as grey.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read or is larger than [`MAX_FILE_BYTES`];
    /// [`Error::Image`] if it is neither PNG nor JPEG, is corrupt or truncated, or is larger than
    /// [`MAX_SIDE`] in either direction or than [`MAX_PIXELS`] in all.
    #[cfg(feature = "images")]
    #[cfg_attr(docsrs, doc(cfg(feature = "images")))]
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::model_io::read_at_most(path, MAX_FILE_BYTES, "an image file")?;
        Self::decode(&bytes).map_err(|reason| Error::Image {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Decodes PNG or JPEG bytes; the error is a one-line reason.
    #[cfg(feature = "images")]
    #[cfg_attr(docsrs, doc(cfg(feature = "images")))]
    pub fn decode(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            decode_png(bytes)
        } else if bytes.starts_with(&[0xff, 0xd8]) {
            decode_jpeg(bytes)
        } else {
            Err("not a PNG or JPEG image".into())
        }
    }
}

#[cfg(feature = "images")]
fn check_size(width: usize, height: usize) -> std::result::Result<(), String> {
    let max = MAX_SIDE as usize;
    if width == 0 || height == 0 {
        return Err(format!("the image is {width}×{height} pixels, empty"));
    }
    if width > max || height > max {
        return Err(format!(
            "the image is {width}×{height} pixels; at most {max}×{max} is accepted"
        ));
    }
    if width * height > MAX_PIXELS {
        return Err(format!(
            "the image is {width}×{height} = {} pixels; at most {MAX_PIXELS} (4096×4096) are decoded: scale it down",
            width * height
        ));
    }
    Ok(())
}

#[cfg(feature = "images")]
fn decode_png(bytes: &[u8]) -> std::result::Result<GreyImage, String> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            // MAX_PIXELS RGBA at 16 bits; the real check is on the header below.
            bytes: 8 * MAX_PIXELS,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a readable PNG: {e}"))?;
    let (width, height) = (reader.info().width as usize, reader.info().height as usize);
    check_size(width, height)?;
    let size = reader
        .output_buffer_size()
        .ok_or("the PNG's size overflows")?;
    let mut buf = vec![0; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("corrupt PNG: {e}"))?;
    let channels = frame.color_type.samples();
    let data = &buf[..frame.buffer_size()];
    let grey = data.chunks_exact(channels).map(|p| grey_of(p, channels));
    GreyImage::new(width, height, grey.collect()).map_err(|e| e.to_string())
}

/// Grey level in 0..1 of one 8-bit pixel with 1 to 4 channels; transparency shows white paper.
#[cfg(feature = "images")]
fn grey_of(p: &[u8], channels: usize) -> f32 {
    let f = |v: u8| v as f32 / 255.0;
    let (g, alpha) = match channels {
        1 => (f(p[0]), 1.0),
        2 => (f(p[0]), f(p[1])),
        3 => (0.299 * f(p[0]) + 0.587 * f(p[1]) + 0.114 * f(p[2]), 1.0),
        _ => (0.299 * f(p[0]) + 0.587 * f(p[1]) + 0.114 * f(p[2]), f(p[3])),
    };
    alpha * g + (1.0 - alpha)
}

#[cfg(feature = "images")]
fn decode_jpeg(bytes: &[u8]) -> std::result::Result<GreyImage, String> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    // Strict: a truncated file is an error, not an image whose missing part is grey.
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| format!("not a readable JPEG: {e}"))?;
    let (width, height) = decoder.dimensions().ok_or("JPEG without dimensions")?;
    check_size(width, height)?;
    let data = decoder.decode().map_err(|e| format!("corrupt JPEG: {e}"))?;
    if data.len() != width * height {
        return Err(format!(
            "JPEG decoded to {} values for {width}×{height} pixels",
            data.len()
        ));
    }
    let grey = data.iter().map(|&v| v as f32 / 255.0);
    GreyImage::new(width, height, grey.collect()).map_err(|e| e.to_string())
}

/// The MNIST-style 28×28 digit of an image (see the module docs for the five steps), or `None`
/// if the image has no ink: nothing differs from the background by at least 10%.
pub fn to_mnist(image: &GreyImage) -> Option<Digit> {
    let (w, h) = (image.width, image.height);
    // 2. Which way round: the border is mostly paper.
    let mut border: Vec<f32> = (0..w)
        .flat_map(|x| [image.pixels[x], image.pixels[(h - 1) * w + x]])
        .chain((0..h).flat_map(|y| [image.pixels[y * w], image.pixels[y * w + w - 1]]))
        .collect();
    border.sort_by(f32::total_cmp);
    let paper = border[border.len() / 2];
    let inverted = paper > 0.5;
    let raw_ink = |g: f32| if inverted { 1.0 - g } else { g };
    let background = raw_ink(paper);
    let strongest = image
        .pixels
        .iter()
        .map(|&g| raw_ink(g))
        .fold(f32::MIN, f32::max);
    if strongest - background < MIN_CONTRAST {
        return None;
    }
    let ink: Vec<f32> = image
        .pixels
        .iter()
        .map(|&g| {
            let v = (raw_ink(g) - background) / (strongest - background);
            if v < INK_THRESHOLD {
                0.0
            } else {
                v.min(1.0)
            }
        })
        .collect();

    // 3. Bounding box of the ink.
    let (mut left, mut top, mut right, mut bottom) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if ink[y * w + x] > 0.0 {
                left = left.min(x);
                right = right.max(x);
                top = top.min(y);
                bottom = bottom.max(y);
            }
        }
    }
    let (bw, bh) = (right - left + 1, bottom - top + 1);

    // 4. Longer side to 20 px.
    let scale = BOX as f64 / bw.max(bh) as f64;
    let sw = ((bw as f64 * scale).round() as usize).clamp(1, BOX);
    let sh = ((bh as f64 * scale).round() as usize).clamp(1, BOX);
    let scaled = resample(&ink, w, (left, top, bw, bh), sw, sh);

    // 5. Centre of mass to pixel (14, 14), by whole pixels as MNIST did (a fractional shift
    // would blur the digit), keeping the box inside the field.
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for y in 0..sh {
        for x in 0..sw {
            let v = scaled[y * sw + x] as f64;
            mass += v;
            mx += v * x as f64;
            my += v * y as f64;
        }
    }
    let centre = (SIDE / 2) as f64;
    let offset = |com: f64, size: usize| -> usize {
        let o = (centre - com / mass).round().max(0.0) as usize;
        o.min(SIDE - size)
    };
    let (ox, oy) = (offset(mx, sw), offset(my, sh));
    let mut pixels = vec![0.0; SIDE * SIDE];
    for y in 0..sh {
        for x in 0..sw {
            pixels[(y + oy) * SIDE + x + ox] = scaled[y * sw + x];
        }
    }
    Some(Digit {
        pixels,
        inverted,
        bbox: (left, top, bw, bh),
    })
}

/// Reads an image file and turns it into the network's input: [`GreyImage::load`], then
/// [`to_mnist`].
///
/// # Errors
/// As [`GreyImage::load`], and [`Error::Image`] if the image has no ink.
#[cfg(feature = "images")]
#[cfg_attr(docsrs, doc(cfg(feature = "images")))]
pub fn load_digit(path: &Path) -> Result<Digit> {
    let image = GreyImage::load(path)?;
    to_mnist(&image).ok_or_else(|| Error::Image {
        path: path.to_path_buf(),
        reason: format!(
            "no ink found in the {}×{} image: no pixel differs from the background by 10% or more",
            image.width, image.height
        ),
    })
}

/// Area-averaging resample of the `(left, top, width, height)` window of a `stride`-wide image to
/// `out_w × out_h`: each output pixel is the mean of the input area it covers, partial pixels
/// weighted by how much of them it covers.
fn resample(
    src: &[f32],
    stride: usize,
    (left, top, bw, bh): (usize, usize, usize, usize),
    out_w: usize,
    out_h: usize,
) -> Vec<f32> {
    // Coverage weights along one axis: for each output index, (input index, weight) pairs.
    let weights = |n_in: usize, n_out: usize| -> Vec<Vec<(usize, f64)>> {
        let step = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|o| {
                let (lo, hi) = (o as f64 * step, (o + 1) as f64 * step);
                let first = lo.floor() as usize;
                let last = (hi.ceil() as usize).min(n_in);
                (first..last)
                    .map(|i| {
                        let cover = hi.min((i + 1) as f64) - lo.max(i as f64);
                        (i, cover / step)
                    })
                    .filter(|&(_, c)| c > 0.0)
                    .collect()
            })
            .collect()
    };
    let wx = weights(bw, out_w);
    let wy = weights(bh, out_h);
    let mut out = vec![0.0; out_w * out_h];
    for (oy, ys) in wy.iter().enumerate() {
        for (ox, xs) in wx.iter().enumerate() {
            let mut sum = 0.0;
            for &(y, cy) in ys {
                let row = (top + y) * stride + left;
                for &(x, cx) in xs {
                    sum += cy * cx * src[row + x] as f64;
                }
            }
            out[oy * out_w + ox] = sum as f32;
        }
    }
    out
}

/// Encodes grey levels (0..1, row-major) as an 8-bit grey PNG, each pixel drawn as a
/// `scale × scale` block.
///
/// # Panics
/// If `pixels` is not `width × height` long.
#[cfg(feature = "images")]
#[cfg_attr(docsrs, doc(cfg(feature = "images")))]
pub fn grey_png(width: usize, height: usize, pixels: &[f32], scale: usize) -> Vec<u8> {
    assert_eq!(pixels.len(), width * height);
    let bytes: Vec<u8> = pixels
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    crate::inspect::report::svg::png(width, height, 1, &bytes, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w × h` white page with black rectangles (x, y, width, height) on it.
    fn page(w: usize, h: usize, rects: &[(usize, usize, usize, usize)]) -> GreyImage {
        let mut p = vec![1.0; w * h];
        for &(x0, y0, rw, rh) in rects {
            for y in y0..y0 + rh {
                for x in x0..x0 + rw {
                    p[y * w + x] = 0.0;
                }
            }
        }
        GreyImage::new(w, h, p).unwrap()
    }

    fn centre_of_mass(p: &[f32]) -> (f64, f64) {
        let (mut m, mut x, mut y) = (0.0, 0.0, 0.0);
        for (i, &v) in p.iter().enumerate() {
            m += v as f64;
            x += v as f64 * (i % SIDE) as f64;
            y += v as f64 * (i / SIDE) as f64;
        }
        (x / m, y / m)
    }

    fn ink_box(p: &[f32]) -> (usize, usize, usize, usize) {
        let on: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0).collect();
        let xs = on.iter().map(|i| i % SIDE);
        let ys = on.iter().map(|i| i / SIDE);
        let (l, r) = (xs.clone().min().unwrap(), xs.max().unwrap());
        let (t, b) = (ys.clone().min().unwrap(), ys.max().unwrap());
        (l, t, r - l + 1, b - t + 1)
    }

    #[test]
    fn a_square_in_a_corner_is_scaled_to_20_and_centred() {
        // A 50×50 black square in the top-left corner of a 200×200 white page.
        let d = to_mnist(&page(200, 200, &[(10, 5, 50, 50)])).unwrap();
        assert!(d.inverted);
        assert_eq!(d.bbox, (10, 5, 50, 50));
        // 20×20 of full ink, centre of mass (9.5, 9.5) in the box → shifted by round(4.5) = 5
        // (f64 rounds half away from zero): the box covers 5..25, centre 14.5.
        assert_eq!(ink_box(&d.pixels), (5, 5, 20, 20));
        assert!(d.pixels.iter().all(|&v| v == 0.0 || v == 1.0));
        assert_eq!(centre_of_mass(&d.pixels), (14.5, 14.5));
    }

    #[test]
    fn aspect_ratio_is_kept() {
        // A bar 30 wide and 120 tall → 5 × 20.
        let d = to_mnist(&page(300, 200, &[(200, 40, 30, 120)])).unwrap();
        let (_, _, w, h) = ink_box(&d.pixels);
        assert_eq!((w, h), (5, 20));
        let (cx, cy) = centre_of_mass(&d.pixels);
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "{cx} {cy}"
        );
        // A wide bar → 20 × 4 (120 × 25 scaled by 1/6 = 20 × 4.17).
        let d = to_mnist(&page(200, 200, &[(0, 150, 120, 25)])).unwrap();
        let (_, _, w, h) = ink_box(&d.pixels);
        assert_eq!((w, h), (20, 4));
    }

    #[test]
    fn centre_of_mass_not_the_box_is_centred() {
        // An L: a tall bar and a foot to its right. Its box is 20×20 but its mass leans left and
        // down, so the box must move right and up of the middle.
        let d = to_mnist(&page(100, 100, &[(10, 10, 10, 60), (10, 60, 60, 10)])).unwrap();
        let (cx, cy) = centre_of_mass(&d.pixels);
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "{cx} {cy}"
        );
        let (l, t, w, h) = ink_box(&d.pixels);
        assert_eq!((w, h), (20, 20));
        assert!(l > 4 && t < 4, "box at ({l}, {t})");
    }

    #[test]
    fn light_on_dark_is_not_inverted_and_gives_the_same_digit() {
        let dark_on_light = page(90, 60, &[(20, 10, 12, 40), (32, 40, 20, 10)]);
        let light_on_dark = GreyImage::new(
            90,
            60,
            dark_on_light.pixels.iter().map(|v| 1.0 - v).collect(),
        )
        .unwrap();
        let a = to_mnist(&dark_on_light).unwrap();
        let b = to_mnist(&light_on_dark).unwrap();
        assert!(a.inverted && !b.inverted);
        assert_eq!(a.pixels, b.pixels);
    }

    #[test]
    fn grey_paper_and_grey_ink_are_stretched() {
        // Paper at 0.8, ink at 0.3: the ink becomes 1, the paper 0.
        let mut img = page(40, 40, &[(10, 10, 10, 10)]);
        for v in &mut img.pixels {
            *v = if *v == 0.0 { 0.3 } else { 0.8 };
        }
        let d = to_mnist(&img).unwrap();
        assert_eq!(d.pixels.iter().cloned().fold(0.0, f32::max), 1.0);
        assert_eq!(d.pixels.iter().filter(|&&v| v > 0.0).count(), 400);
    }

    #[test]
    fn a_blank_page_has_no_digit() {
        assert!(to_mnist(&page(50, 50, &[])).is_none());
        let faint =
            GreyImage::new(10, 10, (0..100).map(|i| 0.95 + 0.0004 * i as f32).collect()).unwrap();
        assert!(to_mnist(&faint).is_none());
    }

    #[test]
    fn resampling_by_a_whole_factor_averages_blocks() {
        // 4×2 → 2×1: means of the 2×2 blocks.
        let src = [0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(resample(&src, 4, (0, 0, 4, 2), 2, 1), vec![0.5, 0.5]);
        // 3 → 2: the middle pixel is split half and half.
        assert_eq!(
            resample(&[1.0, 0.0, 0.0], 3, (0, 0, 3, 1), 2, 1),
            vec![1.0 / 1.5, 0.0]
        );
    }

    #[test]
    #[cfg(feature = "images")]
    fn png_and_jpeg_round_trip_and_bad_bytes_are_refused() {
        let img = page(30, 20, &[(5, 5, 10, 10)]);
        let png = grey_png(30, 20, &img.pixels, 1);
        assert_eq!(GreyImage::decode(&png).unwrap(), img);
        assert!(GreyImage::decode(b"hello")
            .unwrap_err()
            .contains("not a PNG or JPEG"));
        assert!(GreyImage::decode(&png[..40]).is_err());
        assert!(GreyImage::decode(&[0xff, 0xd8, 0xff, 0x00]).is_err());
    }
}
