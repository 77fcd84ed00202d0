//! Training curves: the log that training writes (one JSON object per epoch), read back and
//! drawn as cost and accuracy per epoch for the training, validation and test sets.

use super::svg::{ticks, Anchor, Svg};
use serde_json::Value;

/// One epoch of a training log. Every measurement is optional: a run without validation data
/// has no validation figures, and `train --json` output has no training accuracy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogEntry {
    /// 1-based.
    pub epoch: usize,
    /// η in this epoch.
    pub learning_rate: Option<f64>,
    /// Mean cost on the training data.
    pub train_cost: Option<f64>,
    /// Fraction of training samples right, 0..1.
    pub train_accuracy: Option<f64>,
    /// Mean cost on the validation data.
    pub validation_cost: Option<f64>,
    /// Fraction of validation samples right.
    pub validation_accuracy: Option<f64>,
    /// Mean cost on the test data.
    pub test_cost: Option<f64>,
    /// Fraction of test samples right.
    pub test_accuracy: Option<f64>,
    /// Seconds of training in this epoch.
    pub seconds: Option<f64>,
    /// ‖∂C/∂b^(l)‖ of each layer, from the epoch's health (`train --health`); empty without.
    pub speeds: Vec<f64>,
}

/// The JSON object of one epoch, as `backprop train` writes it to its log and to `--json`:
/// epoch, learning_rate, train/validation/test cost and accuracy (null when not measured),
/// seconds, and the layers' health when it was measured. For real targets the accuracies are
/// null and validation/test have `_rmse`, `_mae` and `_r2` beside their cost.
pub fn epoch_json(r: &crate::EpochReport) -> Value {
    let mut obj = serde_json::json!({
        "epoch": r.epoch,
        "learning_rate": r.learning_rate,
        "train_cost": r.train_cost,
        "train_accuracy": r.train_accuracy,
        "validation_cost": null,
        "validation_accuracy": null,
        "test_cost": null,
        "test_accuracy": null,
        "seconds": r.seconds,
    });
    for (set, e) in [("validation", &r.validation), ("test", &r.test)] {
        let Some(e) = e else { continue };
        obj[format!("{set}_cost")] = e.cost.into();
        match &e.regression {
            None => obj[format!("{set}_accuracy")] = e.accuracy().into(),
            // Real targets: no accuracy (the training data's neither), RMSE, MAE and R².
            Some(m) => {
                obj["train_accuracy"] = Value::Null;
                obj[format!("{set}_rmse")] = m.rmse.into();
                obj[format!("{set}_mae")] = m.mae.into();
                obj[format!("{set}_r2")] = m.r2.into();
            }
        }
    }
    if let Some(h) = &r.health {
        obj["health"] = serde_json::to_value(h).unwrap_or(Value::Null);
    }
    obj
}

/// Reads a training log: JSON lines, one object per epoch, blank lines ignored. A line without
/// `epoch` is epoch (its number among the objects). Errors name the line.
pub fn parse_log(text: &str) -> Result<Vec<LogEntry>, String> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("line {}: not a JSON object: {e}", n + 1))?;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("line {}: not a JSON object", n + 1))?;
        let num = |key: &str| -> Result<Option<f64>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("line {}: {key} is {v}, not a number", n + 1)),
            }
        };
        let epoch =
            match obj.get("epoch") {
                None | Some(Value::Null) => entries.len() + 1,
                Some(v) => v.as_u64().filter(|&e| e >= 1).ok_or_else(|| {
                    format!("line {}: epoch is {v}, not a whole number ≥ 1", n + 1)
                })? as usize,
            };
        entries.push(LogEntry {
            epoch,
            learning_rate: num("learning_rate")?,
            train_cost: num("train_cost")?,
            train_accuracy: num("train_accuracy")?,
            validation_cost: num("validation_cost")?,
            validation_accuracy: num("validation_accuracy")?,
            test_cost: num("test_cost")?,
            test_accuracy: num("test_accuracy")?,
            seconds: num("seconds")?,
            speeds: obj
                .get("health")
                .and_then(|h| h.get("layers"))
                .and_then(Value::as_array)
                .map(|layers| {
                    layers
                        .iter()
                        .filter_map(|l| l.get("speed").and_then(Value::as_f64))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    if entries.is_empty() {
        return Err("no epochs in the log".into());
    }
    Ok(entries)
}

/// The three data sets and how each is drawn.
const SERIES: [(&str, &str, Option<&str>); 3] = [
    ("train", "#1f77b4", None),
    ("validation", "#ff7f0e", Some("7 4")),
    ("test", "#2ca02c", None),
];

/// Two panels side by side: mean cost per epoch, and accuracy (%) per epoch, one line per data
/// set that the log has figures for; below them, if the log has the layers' health, each
/// layer's ‖∂C/∂b‖ per epoch (the `speeds` panel).
pub fn curves_svg(log: &[LogEntry], title: &str) -> String {
    let (pw, ph) = (400.0, 280.0);
    let speeds = log.iter().any(|e| !e.speeds.is_empty());
    let extra = if speeds { super::speeds::HEIGHT } else { 0.0 };
    let mut svg = Svg::new(2.0 * pw + 150.0, ph + 130.0 + extra);
    if speeds {
        super::speeds::panel(
            &mut svg,
            log,
            (70.0, ph + 170.0, 2.0 * pw + 60.0, extra - 120.0),
        );
    }
    svg.styled_text(20.0, 26.0, 16.0, Anchor::Start, "#222222", true, title);
    let cost = |e: &LogEntry| [e.train_cost, e.validation_cost, e.test_cost];
    let acc = |e: &LogEntry| {
        [e.train_accuracy, e.validation_accuracy, e.test_accuracy].map(|a| a.map(|a| 100.0 * a))
    };
    panel(&mut svg, log, (70.0, 60.0, pw, ph), "mean cost C", &cost);
    panel(
        &mut svg,
        log,
        (pw + 150.0, 60.0, pw - 20.0, ph),
        "accuracy (%)",
        &acc,
    );
    // Legend, of the sets that appear.
    let mut x = 70.0;
    let y = ph + 118.0;
    for (s, &(name, colour, dash)) in SERIES.iter().enumerate() {
        let present = log
            .iter()
            .any(|e| cost(e)[s].is_some() || acc(e)[s].is_some());
        if present {
            svg.polyline(&[(x, y - 4.0), (x + 28.0, y - 4.0)], colour, 2.5, dash);
            svg.text(x + 34.0, y, 12.0, Anchor::Start, name);
            x += 120.0;
        }
    }
    svg.finish()
}

fn panel(
    svg: &mut Svg,
    log: &[LogEntry],
    (x0, y0, w, h): (f64, f64, f64, f64),
    label: &str,
    values: &dyn Fn(&LogEntry) -> [Option<f64>; 3],
) {
    let finite = |v: &Option<f64>| v.filter(|v| v.is_finite());
    let all: Vec<f64> = log
        .iter()
        .flat_map(values)
        .filter_map(|v| finite(&v))
        .collect();
    let (e_lo, e_hi) = (
        log.iter().map(|e| e.epoch).min().unwrap_or(1) as f64,
        log.iter().map(|e| e.epoch).max().unwrap_or(1) as f64,
    );
    let (e_lo, e_hi) = if e_hi > e_lo {
        (e_lo, e_hi)
    } else {
        (e_lo - 0.5, e_hi + 0.5)
    };
    let (mut lo, mut hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if all.is_empty() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.06).max(1e-3 * hi.abs().max(1e-9));
    (lo, hi) = (lo - pad, hi + pad);
    let sx = |e: f64| x0 + (e - e_lo) / (e_hi - e_lo) * w;
    let sy = |v: f64| y0 + h - (v - lo) / (hi - lo) * h;
    svg.rect(x0, y0, w, h, "#fbfbfb");
    let value_ticks = ticks(lo, hi, 6);
    let step = match value_ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => hi - lo,
    };
    for &t in &value_ticks {
        svg.line((x0, sy(t)), (x0 + w, sy(t)), "#e4e4e4", 1.0);
        svg.text(
            x0 - 6.0,
            sy(t) + 4.0,
            11.0,
            Anchor::End,
            &tick_label(t, step),
        );
    }
    let mut epoch_ticks = ticks(e_lo, e_hi, 8);
    epoch_ticks.retain(|t| t.fract() == 0.0);
    for t in epoch_ticks {
        svg.line((sx(t), y0 + h), (sx(t), y0 + h + 4.0), "#444444", 1.0);
        svg.text(sx(t), y0 + h + 17.0, 11.0, Anchor::Middle, &format!("{t}"));
    }
    svg.frame(x0, y0, w, h, "#444444", 1.0);
    svg.text(x0 + w / 2.0, y0 + h + 36.0, 12.0, Anchor::Middle, "epoch");
    svg.styled_text(x0, y0 - 10.0, 13.0, Anchor::Start, "#222222", true, label);
    for (s, &(_, colour, dash)) in SERIES.iter().enumerate() {
        let points: Vec<(f64, f64)> = log
            .iter()
            .filter_map(|e| finite(&values(e)[s]).map(|v| (sx(e.epoch as f64), sy(v))))
            .collect();
        if points.len() > 1 {
            svg.polyline(&points, colour, 2.0, dash);
        }
        if points.len() <= 30 {
            for (x, y) in &points {
                svg.dot(*x, *y, 2.5, colour);
            }
        }
    }
}

/// A tick label with as many decimals as the step between ticks needs: 0.05 → 2, 0.5 → 1, 1 → 0.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-(step.log10() + 1e-9).floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_with_nulls_missing_keys_and_train_json_output_parse() {
        let log = "{\"epoch\":1,\"learning_rate\":1.5,\"train_cost\":0.27,\"train_accuracy\":null,\"validation_cost\":0.2,\"validation_accuracy\":0.9,\"test_cost\":0.19,\"test_accuracy\":0.91,\"seconds\":0.1}\n\n\
                   {\"epoch\":2,\"train_cost\":0.15,\"test_cost\":0.16,\"test_accuracy\":0.92,\"seconds\":0.1}\n";
        let e = parse_log(log).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].learning_rate, Some(1.5));
        assert_eq!((e[0].train_accuracy, e[1].validation_cost), (None, None));
        assert_eq!((e[1].epoch, e[1].test_accuracy), (2, Some(0.92)));
        let svg = curves_svg(&e, "t");
        assert!(svg.contains("validation") && svg.contains("accuracy (%)"));
    }

    #[test]
    fn tick_labels_have_the_decimals_of_their_step() {
        assert_eq!(tick_label(94.0, 1.0), "94");
        assert_eq!(tick_label(0.15, 0.05), "0.15");
        assert_eq!(tick_label(2.5, 0.5), "2.5");
        assert_eq!(tick_label(20.0, 10.0), "20");
    }

    #[test]
    fn bad_logs_name_the_line() {
        assert_eq!(parse_log("").unwrap_err(), "no epochs in the log");
        assert!(parse_log("{\"epoch\":1}\nepoch 2\n")
            .unwrap_err()
            .starts_with("line 2: not a JSON object"));
        assert!(parse_log("{\"epoch\":1,\"test_cost\":\"x\"}")
            .unwrap_err()
            .contains("test_cost is \"x\""));
        assert!(parse_log("{\"epoch\":0}")
            .unwrap_err()
            .contains("epoch is 0"));
        assert!(parse_log("[1,2]").unwrap_err().contains("line 1"));
    }
}
