//! A few lines of SVG, written by hand: rectangles, lines, real text, and embedded PNG images.
//! No fonts are needed to write it; any SVG viewer or browser renders the text with its own.

use std::fmt::Write;

/// The font stack of every label: whatever sans-serif the viewer has.
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// An SVG picture being drawn, in pixels, origin at the top left.
#[derive(Clone, Debug)]
pub(crate) struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// How a text is anchored at its x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// x is where the text begins.
    Start,
    /// x is the text's middle.
    Middle,
    /// x is where the text ends.
    End,
}

impl Svg {
    /// An empty white picture.
    pub fn new(width: f64, height: f64) -> Self {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, "#ffffff");
        svg
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"/>"#
        );
    }

    /// An outlined rectangle.
    pub fn frame(&mut self, x: f64, y: f64, w: f64, h: f64, stroke: &str, stroke_width: f64) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="none" stroke="{stroke}" stroke-width="{stroke_width}"/>"#
        );
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// A line through `points`, dashed if `dash` is given (e.g. "6 3").
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let dash = dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"{dash}/>"#,
            pts.join(" ")
        );
    }

    /// A small filled circle.
    pub fn dot(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}"/>"#
        );
    }

    /// Text with its baseline at y.
    pub fn text(&mut self, x: f64, y: f64, size: f64, anchor: Anchor, text: &str) {
        self.styled_text(x, y, size, anchor, "#222222", false, text);
    }

    /// Text in a colour, bold or not.
    #[allow(clippy::too_many_arguments)]
    pub fn styled_text(
        &mut self,
        x: f64,
        y: f64,
        size: f64,
        anchor: Anchor,
        fill: &str,
        bold: bool,
        text: &str,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{weight}>{}</text>"#,
            escape(text)
        );
    }

    /// Text turned 90° anticlockwise (a vertical axis label), centred on (x, y).
    pub fn vertical_text(&mut self, x: f64, y: f64, size: f64, text: &str) {
        let _ = writeln!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" font-family="{FONT}" font-size="{size}" text-anchor="middle" fill="#222222" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"##,
            escape(text)
        );
    }

    /// A PNG drawn into the rectangle (x, y, w, h), embedded as a data URI.
    pub fn image(&mut self, x: f64, y: f64, w: f64, h: f64, png: &[u8]) {
        let _ = writeln!(
            self.body,
            r#"<image x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
            base64(png)
        );
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// Text safe inside an XML element.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Standard base64 (RFC 4648, with padding).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An 8-bit PNG of `channels` (1 grey, 3 RGB) per pixel, each pixel drawn as a `scale × scale`
/// block so that every viewer shows sharp pixels.
///
/// # Panics
/// If `data` is not `width × height × channels` long, or `scale` is 0.
pub fn png(width: usize, height: usize, channels: usize, data: &[u8], scale: usize) -> Vec<u8> {
    assert_eq!(data.len(), width * height * channels, "PNG data size");
    assert!(scale > 0);
    let (w, h) = (width * scale, height * scale);
    let mut scaled = Vec::with_capacity(w * h * channels);
    for row in data.chunks_exact(width * channels) {
        let mut line = Vec::with_capacity(w * channels);
        for px in row.chunks_exact(channels) {
            for _ in 0..scale {
                line.extend_from_slice(px);
            }
        }
        for _ in 0..scale {
            scaled.extend_from_slice(&line);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(if channels == 3 {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("writing to memory");
        writer.write_image_data(&scaled).expect("writing to memory");
    }
    out
}

/// A colour between stops (t from 0 to 1), as "#rrggbb".
pub(crate) fn ramp(stops: &[[u8; 3]], t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let mut c = [0; 3];
    for (k, c) in c.iter_mut().enumerate() {
        *c = (stops[i][k] as f64 * (1.0 - f) + stops[i + 1][k] as f64 * f).round() as u8;
    }
    c
}

/// "#rrggbb" of a colour.
pub(crate) fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Blue for negative, white for zero, red for positive: t from −1 to 1.
pub(crate) fn diverging(t: f64) -> [u8; 3] {
    ramp(
        &[
            [33, 102, 172],
            [146, 197, 222],
            [247, 247, 247],
            [244, 165, 130],
            [178, 24, 43],
        ],
        (t + 1.0) / 2.0,
    )
}

/// Round, readable axis ticks covering lo..hi: about `n` of them at 1, 2 or 5 × 10^k.
pub(crate) fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        // RFC 4648 section 10 test vectors.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn png_scales_pixels_into_blocks() {
        let bytes = png(2, 1, 1, &[0, 255], 3);
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (6, 3));
        assert_eq!(&buf[..6], &[0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn text_is_escaped_and_ticks_are_round() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text(0.0, 0.0, 10.0, Anchor::Start, "a < b & c");
        assert!(svg.finish().contains("a &lt; b &amp; c"));
        assert_eq!(
            ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks(1.0, 30.0, 6), vec![5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        assert_eq!(diverging(0.0), [247, 247, 247]);
    }
}
