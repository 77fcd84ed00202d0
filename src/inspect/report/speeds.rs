//! How fast each layer learns, epoch by epoch: ‖∂C/∂b^(l)‖ = ‖δ^(l)‖ on a log scale, one line
//! per layer, from the health that `backprop train --health` logs. Nielsen's chapter 5 picture:
//! in a deep sigmoid network the first hidden layer's line lies far below the last one's (the
//! vanishing gradient).

use super::curves::LogEntry;
use super::svg::{Anchor, Svg};

/// Height the panel adds below the cost and accuracy curves.
pub(crate) const HEIGHT: f64 = 330.0;

/// One colour per layer, first to last.
const COLOURS: [&str; 8] = [
    "#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// Draws the panel in the rectangle `(x0, y0, w, h)`.
pub(crate) fn panel(svg: &mut Svg, log: &[LogEntry], (x0, y0, w, h): (f64, f64, f64, f64)) {
    let values: Vec<f64> = log
        .iter()
        .flat_map(|e| e.speeds.iter().copied())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if values.is_empty() {
        (0.0, 1.0)
    } else {
        (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        )
    };
    let epochs: Vec<usize> = log.iter().map(|e| e.epoch).collect();
    let (e_lo, e_hi) = (
        *epochs.iter().min().unwrap_or(&1) as f64,
        *epochs.iter().max().unwrap_or(&1) as f64,
    );
    let (e_lo, e_hi) = if e_hi > e_lo {
        (e_lo, e_hi)
    } else {
        (e_lo - 0.5, e_hi + 0.5)
    };
    let sx = |e: f64| x0 + (e - e_lo) / (e_hi - e_lo) * w;
    let sy = |v: f64| y0 + h - (v.log10() - lo) / (hi - lo) * h;
    svg.rect(x0, y0, w, h, "#fbfbfb");
    for p in lo as i32..=hi as i32 {
        let y = sy(10f64.powi(p));
        svg.line((x0, y), (x0 + w, y), "#e4e4e4", 1.0);
        svg.text(x0 - 6.0, y + 4.0, 11.0, Anchor::End, &format!("1e{p}"));
    }
    for e in &epochs {
        let x = sx(*e as f64);
        svg.line((x, y0 + h), (x, y0 + h + 4.0), "#444444", 1.0);
        if epochs.len() <= 30 || e % 5 == 0 {
            svg.text(x, y0 + h + 17.0, 11.0, Anchor::Middle, &e.to_string());
        }
    }
    svg.frame(x0, y0, w, h, "#444444", 1.0);
    svg.text(x0 + w / 2.0, y0 + h + 36.0, 12.0, Anchor::Middle, "epoch");
    svg.styled_text(
        x0,
        y0 - 10.0,
        13.0,
        Anchor::Start,
        "#222222",
        true,
        "speed of learning per layer, ‖∂C/∂b^(l)‖ = ‖δ^(l)‖ on 1000 training samples (log scale)",
    );
    let n_layers = log.iter().map(|e| e.speeds.len()).max().unwrap_or(0);
    for l in 0..n_layers {
        let colour = COLOURS[l % COLOURS.len()];
        let points: Vec<(f64, f64)> = log
            .iter()
            .filter_map(|e| e.speeds.get(l).map(|&v| (e.epoch as f64, v)))
            .filter(|&(_, v)| v.is_finite() && v > 0.0)
            .map(|(e, v)| (sx(e), sy(v)))
            .collect();
        if points.len() > 1 {
            svg.polyline(&points, colour, 2.0, None);
        }
        for &(x, y) in points.iter().take(60) {
            svg.dot(x, y, 2.5, colour);
        }
        let lx = x0 + 10.0 + 110.0 * l as f64;
        svg.polyline(
            &[(lx, y0 + h + 50.0), (lx + 24.0, y0 + h + 50.0)],
            colour,
            2.5,
            None,
        );
        let name = if l + 1 == n_layers {
            format!("layer {} (output)", l + 1)
        } else {
            format!("layer {}", l + 1)
        };
        svg.text(lx + 30.0, y0 + h + 54.0, 12.0, Anchor::Start, &name);
    }
}
