//! The web API's request handling (`backprop::serve::handle`) on arbitrary requests.
//!
//! The input is split into a method (chosen by the first byte), a path (up to the first
//! newline) and a body (the rest). Whatever arrives, the answer must be a well-formed HTTP
//! status with a JSON or HTML body, never a panic; a 200 to a prediction must carry finite
//! probabilities that sum to 1 and name the digit with the largest.
#![no_main]

use backprop::{Architecture, Init, Network};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn net() -> &'static Network<f32> {
    static NET: OnceLock<Network<f32>> = OnceLock::new();
    NET.get_or_init(|| Network::new(&Architecture::sigmoid(vec![784, 16, 10]), Init::Normal, 1).unwrap())
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&m, rest)) = bytes.split_first() else {
        return;
    };
    let method = ["GET", "POST", "PUT", "HEAD", "DELETE"][m as usize % 5];
    let (path, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let path = String::from_utf8_lossy(path);
    let r = backprop::serve::handle(net(), method, &path, body);
    assert!((200..600).contains(&r.status), "status {}", r.status);
    if r.content_type.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
        if r.status == 200 && v.get("ink") == Some(&serde_json::Value::Bool(true)) {
            let p: Vec<f64> = v["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            assert!(p.iter().all(|x| x.is_finite() && *x >= 0.0));
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{p:?}");
            let best = v["prediction"].as_u64().unwrap() as usize;
            assert!(p.iter().all(|&x| x <= p[best]));
        }
    }
});
