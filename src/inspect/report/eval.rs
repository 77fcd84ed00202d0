//! The pictures of `backprop eval --report`: the confusion matrix as a heat map, a gallery of the
//! worst mistakes, and the first layer's weights as images.

use super::svg::{diverging, hex, png, ramp, Anchor, Svg};
use crate::inspect::stats::{per_class, Mistake};
use crate::{Dataset, Dense, Real};

/// White to dark blue.
const BLUES: [[u8; 3]; 4] = [
    [247, 251, 255],
    [198, 219, 239],
    [66, 146, 198],
    [8, 48, 107],
];

/// The confusion matrix `confusion[true][predicted]` as a heat map with the count in each cell,
/// each row's recall on the right and each column's precision below.
///
/// A cell's colour is its share of the true class on a square-root scale, so that the few
/// mistakes stay visible next to the many right answers.
pub fn confusion_svg(confusion: &[Vec<usize>]) -> String {
    let k = confusion.len();
    let cell = if k <= 10 {
        44.0
    } else {
        (440.0 / k as f64).max(8.0)
    };
    let (left, top) = (80.0, 78.0);
    let grid = cell * k as f64;
    let (width, height) = (left + grid + 150.0, top + grid + 70.0);
    let mut svg = Svg::new(width, height);
    let n: usize = confusion.iter().flatten().sum();
    let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
    svg.styled_text(
        left,
        24.0,
        16.0,
        Anchor::Start,
        "#222222",
        true,
        &format!(
            "Confusion matrix: {n} test samples, {:.2}% right",
            100.0 * correct as f64 / n.max(1) as f64
        ),
    );
    svg.text(
        left + grid / 2.0,
        top - 26.0,
        13.0,
        Anchor::Middle,
        "predicted class",
    );
    svg.vertical_text(left - 40.0, top + grid / 2.0, 13.0, "true class");
    let font = (cell * 0.3).clamp(6.0, 12.0);
    // Class labels shrink with the cells when there are many classes.
    let label = (cell * 0.8).min(12.0);
    for (i, row) in confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        let y = top + i as f64 * cell;
        svg.text(
            left - 8.0,
            y + cell / 2.0 + label / 3.0,
            label,
            Anchor::End,
            &i.to_string(),
        );
        for (j, &count) in row.iter().enumerate() {
            let x = left + j as f64 * cell;
            let t = (count as f64 / total.max(1) as f64).sqrt();
            svg.rect(x, y, cell, cell, &hex(ramp(&BLUES, t)));
            if count > 0 && cell >= 20.0 {
                let ink = if t > 0.55 { "#ffffff" } else { "#222222" };
                svg.styled_text(
                    x + cell / 2.0,
                    y + cell / 2.0 + font / 3.0,
                    font,
                    Anchor::Middle,
                    ink,
                    i == j,
                    &count.to_string(),
                );
            }
        }
    }
    for j in 0..k {
        let x = left + j as f64 * cell + cell / 2.0;
        svg.text(x, top - 8.0, label, Anchor::Middle, &j.to_string());
    }
    svg.frame(left, top, grid, grid, "#888888", 1.0);
    // Recall per row, precision per column.
    let stats = per_class(confusion);
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}", 100.0 * v));
    if cell >= 20.0 {
        svg.text(
            left + grid + 10.0,
            top - 8.0,
            11.0,
            Anchor::Start,
            "recall %",
        );
        svg.text(
            left - 8.0,
            top + grid + 20.0,
            11.0,
            Anchor::End,
            "precision %",
        );
        for s in &stats {
            let y = top + s.class as f64 * cell + cell / 2.0 + 4.0;
            svg.text(left + grid + 10.0, y, 11.0, Anchor::Start, &pct(s.recall));
            let x = left + s.class as f64 * cell + cell / 2.0;
            svg.text(
                x,
                top + grid + 20.0,
                10.0,
                Anchor::Middle,
                &pct(s.precision),
            );
        }
    }
    // Colour key.
    let (kx, ky, kh) = (left + grid + 70.0, top, grid.min(220.0));
    let steps = 40;
    for s in 0..steps {
        let t = 1.0 - s as f64 / steps as f64;
        svg.rect(
            kx,
            ky + s as f64 * kh / steps as f64,
            14.0,
            kh / steps as f64 + 0.5,
            &hex(ramp(&BLUES, t)),
        );
    }
    svg.frame(kx, ky, 14.0, kh, "#888888", 0.5);
    for share in [1.0, 0.5, 0.1, 0.01, 0.0] {
        let y = ky + (1.0 - f64::sqrt(share)) * kh;
        svg.text(
            kx + 18.0,
            y + 4.0,
            10.0,
            Anchor::Start,
            &format!("{}%", 100.0 * share),
        );
    }
    svg.text(kx - 4.0, ky + kh + 16.0, 10.0, Anchor::Start, "share of");
    svg.text(
        kx - 4.0,
        ky + kh + 28.0,
        10.0,
        Anchor::Start,
        "the row (√ scale)",
    );
    svg.finish()
}

/// A gallery of mistakes: each sample's image (dark ink on white) with "true → predicted" and
/// the two outputs underneath.
///
/// # Panics
/// If `data`'s samples are not images (see [`Dataset::image_shape`]).
pub fn mistakes_svg(data: &Dataset, mistakes: &[Mistake], columns: usize) -> String {
    let (rows, cols) = data.image_shape().expect("image data");
    let scale = (84 / cols.max(rows)).max(1);
    let (iw, ih) = ((cols * scale) as f64, (rows * scale) as f64);
    let (cw, ch) = (iw.max(84.0) + 22.0, ih + 44.0);
    let columns = columns.max(1).min(mistakes.len().max(1));
    let grid_rows = mistakes.len().div_ceil(columns).max(1);
    let width = (cw * columns as f64 + 20.0).max(520.0);
    let mut svg = Svg::new(width, 70.0 + ch * grid_rows as f64);
    svg.styled_text(
        10.0,
        24.0,
        16.0,
        Anchor::Start,
        "#222222",
        true,
        &format!(
            "The {} test samples the network got most confidently wrong",
            mistakes.len()
        ),
    );
    svg.text(
        10.0,
        44.0,
        12.0,
        Anchor::Start,
        "true → predicted; below, the output a_j of the predicted class vs that of the true class",
    );
    for (n, m) in mistakes.iter().enumerate() {
        let x = 10.0 + (n % columns) as f64 * cw;
        let y = 58.0 + (n / columns) as f64 * ch;
        let mut input = vec![0f32; data.n_inputs()];
        data.fill_inputs(&[m.index], &mut input);
        let pixels: Vec<u8> = input
            .iter()
            .map(|&v| 255 - (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let ix = x + (cw - 22.0 - iw) / 2.0;
        svg.image(ix, y, iw, ih, &png(cols, rows, 1, &pixels, scale));
        svg.frame(ix, y, iw, ih, "#bbbbbb", 0.5);
        let mid = x + (cw - 22.0) / 2.0;
        svg.styled_text(
            mid,
            y + ih + 15.0,
            13.0,
            Anchor::Middle,
            "#b2182b",
            true,
            &format!("{} → {}", m.label, m.predicted),
        );
        svg.text(
            mid,
            y + ih + 29.0,
            10.0,
            Anchor::Middle,
            &format!("{:.3} vs {:.3}", m.a_predicted, m.a_label),
        );
    }
    svg.finish()
}

/// Each neuron's incoming weights w_jk^(1), k = 0..rows×cols, as a rows × cols image: red
/// positive, blue negative, white zero, each neuron scaled to its own largest |w|. At most
/// `max_neurons` neurons are drawn.
///
/// # Panics
/// If the layer's inputs are not `rows × cols`.
pub fn weights_svg<T: Real>(
    layer: &Dense<T>,
    rows: usize,
    cols: usize,
    max_neurons: usize,
) -> String {
    assert_eq!(
        layer.n_in,
        rows * cols,
        "the layer's inputs are not an image"
    );
    let shown = layer.n_out.min(max_neurons);
    let columns = if shown <= 16 { 8.min(shown) } else { 10 };
    let scale = (84 / cols.max(rows)).max(1);
    let (iw, ih) = ((cols * scale) as f64, (rows * scale) as f64);
    let (cw, ch) = (iw + 14.0, ih + 34.0);
    let grid_rows = shown.div_ceil(columns.max(1));
    let width = (cw * columns as f64 + 20.0).max(560.0);
    let mut svg = Svg::new(width, 110.0 + ch * grid_rows as f64);
    svg.styled_text(
        10.0,
        24.0,
        16.0,
        Anchor::Start,
        "#222222",
        true,
        &if shown < layer.n_out {
            format!(
                "What the first {shown} of the {} first-layer neurons look for",
                layer.n_out
            )
        } else {
            format!(
                "What each of the {} first-layer neurons looks for",
                layer.n_out
            )
        },
    );
    svg.text(
        10.0,
        44.0,
        12.0,
        Anchor::Start,
        &format!("neuron j's weights w_jk from the {rows}×{cols} input pixels k, each neuron scaled to its own largest |w|"),
    );
    for j in 0..shown {
        let row = &layer.weights[j * layer.n_in..(j + 1) * layer.n_in];
        let max = row.iter().map(|w| w.to_f64().abs()).fold(0.0, f64::max);
        let rgb: Vec<u8> = row
            .iter()
            .flat_map(|w| diverging(if max > 0.0 { w.to_f64() / max } else { 0.0 }))
            .collect();
        let x = 10.0 + (j % columns) as f64 * cw;
        let y = 56.0 + (j / columns) as f64 * ch;
        svg.image(x, y, iw, ih, &png(cols, rows, 3, &rgb, scale));
        svg.frame(x, y, iw, ih, "#bbbbbb", 0.5);
        svg.text(
            x + iw / 2.0,
            y + ih + 13.0,
            11.0,
            Anchor::Middle,
            &format!("neuron {j}"),
        );
        svg.text(
            x + iw / 2.0,
            y + ih + 25.0,
            9.0,
            Anchor::Middle,
            &format!("|w| ≤ {max:.2}"),
        );
    }
    // Colour key.
    let ky = 56.0 + ch * grid_rows as f64 + 8.0;
    let (kx, kw) = (10.0, 240.0);
    for s in 0..48 {
        let t = -1.0 + 2.0 * (s as f64 + 0.5) / 48.0;
        svg.rect(
            kx + s as f64 * kw / 48.0,
            ky,
            kw / 48.0 + 0.5,
            12.0,
            &hex(diverging(t)),
        );
    }
    svg.frame(kx, ky, kw, 12.0, "#888888", 0.5);
    svg.text(kx, ky + 26.0, 10.0, Anchor::Start, "−max |w|");
    svg.text(kx + kw / 2.0, ky + 26.0, 10.0, Anchor::Middle, "0");
    svg.text(kx + kw, ky + 26.0, 10.0, Anchor::End, "+max |w|");
    svg.text(
        kx + kw + 14.0,
        ky + 10.0,
        10.0,
        Anchor::Start,
        "red: this pixel's ink raises z_j; blue: it lowers z_j",
    );
    svg.finish()
}
