//! The real binary, "look inside" commands: predict, eval --report, plot, explain, inspect
//! statistics — their output, the files they write, and their errors.

use crate::common;

use assert_cmd::Command;
use backprop::inspect::preprocess::GreyImage;
use backprop::inspect::report::svg::png;
use std::path::{Path, PathBuf};

fn backprop() -> Command {
    Command::cargo_bin("backprop").unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs a command that must succeed; returns its stdout.
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with one `error:` line and exit code 1; returns that line.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{cmd:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr:?}");
    lines[0].to_string()
}

/// A quick 784-16-16-10 model (one epoch on 3000 images).
fn quick_model(dir: &Path) -> PathBuf {
    let model = dir.join("m.safetensors");
    ok(backprop()
        .args(["train", "--limit", "3000", "--epochs", "1", "--out"])
        .arg(&model));
    model
}

/// The width and height attributes of an SVG document, after checking it is one.
fn svg_size(path: &Path) -> (f64, f64) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        path.display()
    );
    assert!(text.trim_end().ends_with("</svg>"));
    // Every element is closed: as many opening tags as closing ones and self-closed ones.
    let opened = text.matches('<').count() - text.matches("</").count();
    let closed = text.matches("/>").count() + text.matches("</").count();
    assert_eq!(opened, closed, "{}", path.display());
    let attr = |name: &str| -> f64 {
        let start = text.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + text[start..].find('"').unwrap();
        text[start..end].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// Decodes every PNG embedded in an SVG; returns their sizes.
fn embedded_pngs(path: &Path) -> Vec<(usize, usize)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("data:image/png;base64,")
        .skip(1)
        .map(|rest| {
            let b64 = &rest[..rest.find('"').unwrap()];
            let image = GreyImage::decode(&common::base64_decode(b64)).unwrap();
            (image.width, image.height)
        })
        .collect()
}

/// CRC-32 (ISO-HDLC), as PNG chunks use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// MNIST test digit `i` as a 200×200 page, dark ink on white, enlarged ×5 at (x, y).
fn mnist_page(i: usize, x: usize, y: usize) -> Vec<u8> {
    let mnist = backprop::Mnist::bundled().unwrap();
    let digit = mnist.test.input::<f32>(i);
    let mut page = vec![255u8; 200 * 200];
    for py in 0..140 {
        for px in 0..140 {
            let v = digit[(py / 5) * 28 + px / 5];
            page[(y + py) * 200 + x + px] = 255 - (v * 255.0).round() as u8;
        }
    }
    png(200, 200, 1, &page, 1)
}

#[test]
fn predict_reads_pngs_and_jpegs_and_shows_what_the_network_saw() {
    let dir = tempfile::tempdir().unwrap();
    let model = quick_model(dir.path());
    let page = dir.path().join("digit.png");
    std::fs::write(&page, mnist_page(0, 50, 10)).unwrap();
    let shown = dir.path().join("shown");
    let text = ok(backprop()
        .args(["predict", "--model"])
        .arg(&model)
        .arg(&page)
        .arg(fixture("seven.jpg"))
        .arg(fixture("three.png"))
        .arg("--show")
        .arg(&shown));
    assert!(text.contains("digit.png: "), "{text}");
    assert!(text.contains("seven.jpg: "), "{text}");
    assert!(text.contains("dark ink on light paper"), "{text}");
    assert!(text.contains("light ink on dark paper"), "{text}");
    assert_eq!(
        text.matches('%').count(),
        9,
        "three lines per image: {text}"
    );
    for name in ["digit", "seven", "three"] {
        let bytes = std::fs::read(shown.join(format!("{name}.28x28.png"))).unwrap();
        let image = GreyImage::decode(&bytes).unwrap();
        assert_eq!((image.width, image.height), (280, 280));
    }

    // JSON: one object per image; probabilities sum to 1 and the top one is the prediction.
    let json = ok(backprop()
        .args(["predict", "--json", "--model"])
        .arg(&model)
        .arg(&page)
        .arg(fixture("seven.jpg")));
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        let p: Vec<f64> = serde_json::from_value(l["probabilities"].clone()).unwrap();
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        let best = (0..10).max_by(|&i, &j| p[i].total_cmp(&p[j])).unwrap();
        assert_eq!(l["predicted"], best);
        assert_eq!(l["inverted"], true);
    }
    assert_eq!(
        lines[1]["bbox"]["width"].as_u64().map(|w| w > 50),
        Some(true)
    );
}

#[test]
fn predict_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let model = quick_model(dir.path());
    let blank = dir.path().join("blank.png");
    std::fs::write(&blank, png(50, 40, 1, &[250; 2000], 1)).unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&blank),
    );
    assert!(
        err.contains("blank.png: no ink found in the 50×40 image"),
        "{err}"
    );

    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&text),
    );
    assert!(err.contains("notes.png: not a PNG or JPEG image"), "{err}");

    let truncated = dir.path().join("cut.png");
    std::fs::write(&truncated, &mnist_page(1, 0, 0)[..100]).unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&truncated),
    );
    assert!(err.contains("cut.png: "), "{err}");

    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(dir.path().join("missing.png")),
    );
    assert!(err.contains("missing.png: "), "{err}");

    // A PNG header claiming 20000 × 20000 pixels is refused before anything is allocated.
    let mut huge = mnist_page(1, 0, 0);
    huge[16..20].copy_from_slice(&20000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let crc = crc32(&huge[12..29]); // the IHDR chunk's type and data
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    let big = dir.path().join("big.png");
    std::fs::write(&big, huge).unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&big),
    );
    assert!(
        err.contains("big.png: the image is 20000×20000 pixels; at most 10000×10000"),
        "{err}"
    );

    // So is a JPEG whose frame header claims 20000 × 20000.
    let mut jpeg = std::fs::read(fixture("seven.jpg")).unwrap();
    let sof = jpeg
        .windows(2)
        .position(|w| w[0] == 0xff && (0xc0..=0xc2).contains(&w[1]))
        .unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&20000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&20000u16.to_be_bytes());
    let big = dir.path().join("big.jpg");
    std::fs::write(&big, jpeg).unwrap();
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&model)
            .arg(&big),
    );
    assert!(err.contains("big.jpg: ") && err.contains("20000"), "{err}");

    // A model whose input is not 28×28.
    let data = dir.path().join("toy");
    std::fs::create_dir(&data).unwrap();
    common::write_toy_dataset(&data, 4, 5, 3, false);
    let toy = dir.path().join("toy.safetensors");
    ok(backprop()
        .args(["train", "--epochs", "1", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&toy));
    let err = fails(
        backprop()
            .args(["predict", "--model"])
            .arg(&toy)
            .arg(fixture("seven.jpg")),
    );
    assert!(
        err.contains("toy.safetensors: the model takes 20 inputs"),
        "{err}"
    );
}

#[test]
fn eval_report_draws_three_pictures_and_lists_precision_and_recall() {
    let dir = tempfile::tempdir().unwrap();
    let model = quick_model(dir.path());
    let report = dir.path().join("report");
    let text = ok(backprop()
        .args(["eval", "--mistakes", "12", "--model"])
        .arg(&model)
        .arg("--report")
        .arg(&report));
    assert!(text.contains("class  samples  precision  recall"), "{text}");
    assert!(text.contains("    0      980"), "{text}");
    // The confusion matrix: 10 × 10 cells of 44 px and margins.
    assert_eq!(svg_size(&report.join("confusion.svg")), (670.0, 588.0));
    // The gallery: 12 mistakes, each a 28×28 digit drawn at 3× (84 px).
    let m = report.join("mistakes.svg");
    svg_size(&m);
    assert_eq!(embedded_pngs(&m), vec![(84, 84); 12]);
    // The weights: one 28×28 image per first-layer neuron.
    let w = report.join("weights.svg");
    svg_size(&w);
    assert_eq!(embedded_pngs(&w), vec![(84, 84); 16]);

    let json = ok(backprop().args(["eval", "--json", "--model"]).arg(&model));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let classes = v["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 10);
    assert_eq!(classes[1]["support"], 1135);
    let recall = classes[1]["recall"].as_f64().unwrap();
    let right = v["confusion"][1][1].as_f64().unwrap();
    assert_eq!(recall, right / 1135.0);
}

#[test]
fn plot_reads_training_logs_and_train_json_output() {
    let dir = tempfile::tempdir().unwrap();
    // The training log format, with nulls, missing keys and a blank line.
    let log = dir.path().join("log.jsonl");
    std::fs::write(
        &log,
        "{\"epoch\":1,\"learning_rate\":1.5,\"train_cost\":0.3,\"train_accuracy\":0.85,\"validation_cost\":0.2,\"validation_accuracy\":0.88,\"test_cost\":0.19,\"test_accuracy\":0.89,\"seconds\":0.1}\n\
         {\"epoch\":2,\"learning_rate\":1.5,\"train_cost\":0.2,\"train_accuracy\":null,\"validation_cost\":0.15,\"validation_accuracy\":0.91,\"test_cost\":0.16,\"test_accuracy\":0.9,\"seconds\":0.1}\n\n\
         {\"epoch\":3,\"learning_rate\":0.75,\"train_cost\":0.15,\"test_cost\":0.14,\"test_accuracy\":0.92,\"seconds\":0.1}\n",
    )
    .unwrap();
    let out = dir.path().join("curves.svg");
    ok(backprop().arg("plot").arg(&log).arg("--out").arg(&out));
    assert_eq!(svg_size(&out), (950.0, 410.0));
    let svg = std::fs::read_to_string(&out).unwrap();
    for label in [
        "mean cost C",
        "accuracy (%)",
        "epoch",
        ">train<",
        ">validation<",
        ">test<",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    // A line per data set with two or more points: 3 costs, 2 accuracies (training accuracy
    // has one point, a dot), and 3 in the legend.
    assert_eq!(svg.matches("<polyline").count(), 8);

    // What `train --json` prints.
    let json = ok(backprop()
        .args([
            "train", "--limit", "500", "--epochs", "2", "--json", "--out",
        ])
        .arg(dir.path().join("m.safetensors")));
    let log = dir.path().join("train.jsonl");
    std::fs::write(&log, json).unwrap();
    ok(backprop().arg("plot").arg(&log).arg("--out").arg(&out));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains(">test<") && !svg.contains(">validation<"));

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"epoch\":1}\nepoch 2 cost 0.1\n").unwrap();
    let err = fails(backprop().arg("plot").arg(&bad).arg("--out").arg(&out));
    assert!(
        err.contains("bad.jsonl: line 2: not a JSON object"),
        "{err}"
    );
    let err = fails(backprop().arg("plot").arg(dir.path().join("none.jsonl")));
    assert!(err.contains("none.jsonl"), "{err}");
}

#[test]
fn explain_prints_the_notes_example_and_follows_its_flags() {
    let text = ok(backprop().arg("explain"));
    // Figures of the hand computation in src/explain.rs.
    for figure in [
        "a^(L) = σ(0.6633) = 0.6600",
        "C₀ = (a^(L) − y)² = (0.6600 − 1.0000)² = 0.1156",
        "these are the notes' figures, a^(L) = 0.66 and C₀ = (0.66 − 1)² = 0.1156",
        "∂C₀/∂a^(L)        = 2(a^(L) − y) = 2 × (0.6600 − 1.0000) = −0.6800",
        "= 0.5859 × 0.2244 × (−0.6800) = −0.0894",
        "∂C₀/∂a_0^(L−1) = Σ_j w_j0 σ'(z_j) ∂C₀/∂a_j",
        "= (−0.1033) + 0.2271 + (−0.1430) = −0.0192",
    ] {
        assert!(text.contains(figure), "{figure} not in\n{text}");
    }
    // Other numbers: one neuron, x = 1, w = 0, b = 0 → a = σ(0) = 0.5, C₀ = 0.25.
    let text = ok(backprop().args(["explain", "--input", "1", "--weights", "0", "--biases", "0"]));
    assert!(text.contains("a^(L) = σ(0.0000) = 0.5000"), "{text}");
    assert!(text.contains("= 0.2500"), "{text}");
    let json = ok(backprop().args(["explain", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["chain"]["steps"].as_array().unwrap().len(), 3);
    let err = fails(backprop().args(["explain", "--weights", "1,2", "--biases", "0"]));
    assert!(err.contains("2 weights and 1 biases"), "{err}");
}

#[test]
fn inspect_shows_weight_statistics_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let model = quick_model(dir.path());
    let text = ok(backprop().arg("inspect").arg(&model).arg("--histogram"));
    assert!(
        text.contains("layer  parameters     mean      std      min      max"),
        "{text}"
    );
    assert_eq!(text.matches("weights (").count(), 3, "{text}");
    let json = ok(backprop()
        .arg("inspect")
        .arg(&model)
        .args(["--json", "--histogram"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[0]["weights"]["n"], 784 * 16);
    let counts: Vec<usize> =
        serde_json::from_value(layers[0]["weight_histogram"]["counts"].clone()).unwrap();
    assert_eq!(counts.iter().sum::<usize>(), 784 * 16);
    let (min, max) = (
        layers[0]["weights"]["min"].as_f64().unwrap(),
        layers[0]["weights"]["max"].as_f64().unwrap(),
    );
    assert!(min < 0.0 && max > 0.0);
}
