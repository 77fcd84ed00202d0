//! The IDX parser on arbitrary bytes, raw and gzipped.
//!
//! Besides "no panic, no unjustified allocation" (the libFuzzer memory limits), it checks that
//! a parsed file has exactly `product(dims)` bytes of data, and that gzipping a raw file changes
//! nothing: the same dimensions and data, or an error both ways.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let path = Path::new("fuzz.idx");
    let raw = backprop::data::idx::parse_idx_bytes(path, bytes);
    if let Ok(idx) = &raw {
        assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return; // already went through the gzip path
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    let gzipped = encoder.finish().unwrap();
    let unzipped = backprop::data::idx::parse_idx_bytes(path, &gzipped);
    match (raw, unzipped) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("raw and gzipped disagree: {a:?} vs {b:?}"),
    }
});
