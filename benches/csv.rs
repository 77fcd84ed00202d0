//! CSV parse rate: a table of 20,000 rows × 50 numeric features and a class column, read
//! from memory by `data::csv::read_csv_from`, as `backprop train --data FILE.csv` would.
//!
//! Run with `cargo bench --bench csv`; throughput is in bytes per second of CSV text.

use backprop::data::csv::read_csv_from;
use backprop::Rng;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;

fn table(rows: usize, cols: usize) -> String {
    let mut rng = Rng::new(1);
    let mut text = String::new();
    let header: Vec<String> = (0..cols).map(|j| format!("f{j}")).collect();
    writeln!(text, "{},label", header.join(",")).unwrap();
    for _ in 0..rows {
        for _ in 0..cols {
            write!(text, "{:.6},", rng.normal()).unwrap();
        }
        writeln!(text, "{}", rng.below(3)).unwrap();
    }
    text
}

fn parse(c: &mut Criterion) {
    let text = table(20_000, 50);
    let mut group = c.benchmark_group("csv");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("20000x50", |b| {
        b.iter(|| {
            read_csv_from(
                black_box(text.as_bytes()),
                Path::new("bench.csv"),
                "label",
                None,
                None,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
