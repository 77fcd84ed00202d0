//! Tables in CSV files: a header row, one sample per row, numeric features, and a target column
//! found by name anywhere in the row.
//!
//! The target is a class label (integers or words; the names are kept) or a real value. Unless
//! told, the task is inferred: words, or at most [`MAX_INFERRED_CLASSES`] distinct integers,
//! make a classification; anything else a regression. Rows are parsed one at a time into the
//! features' `f32`s, so a file costs about its number of values × 4 bytes (doubling growth of
//! one vector may briefly make it × 8), never its text. Every error names the file, the line
//! and the column.

mod rows;

pub use rows::{Row, Rows};

use crate::model_io::Task;
use crate::{Dataset, Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Distinct integer targets up to which an inferred task is a classification.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// A table read from a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Features and targets.
    pub data: Dataset,
    /// The header's name of each feature column, in input order.
    pub feature_names: Vec<String>,
    /// The target column's name.
    pub target_name: String,
    /// For a classification: the name of each class, in label order (sorted, numerically for
    /// integer labels).
    pub class_names: Option<Vec<String>>,
}

/// The target column as it is read: numbers while every cell is one, words from the first
/// cell that is not.
enum Column {
    Numbers(Vec<f64>),
    Words(Vec<u32>, BTreeMap<String, u32>),
}

/// Reads `path` with `target` as the target column.
///
/// `task` forces classification or regression (inferred when `None`). `classes` gives the class
/// names of a model trained before (to read a test file with the same labels; a label not among
/// them is an error).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Dataset`] naming the file, line and column
/// for an empty file, a missing target column, a ragged row, a cell that is not a number, a
/// non-finite value, words as regression targets, or a label `classes` does not have.
pub fn read_csv(
    path: &Path,
    target: &str,
    task: Option<Task>,
    classes: Option<&[String]>,
) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_csv_from(
        std::io::BufReader::with_capacity(1 << 16, file),
        path,
        target,
        task,
        classes,
    )
}

/// [`read_csv`] from any reader; `path` only names it in errors.
///
/// # Errors
/// As [`read_csv`].
pub fn read_csv_from(
    reader: impl std::io::Read,
    path: &Path,
    target: &str,
    task: Option<Task>,
    classes: Option<&[String]>,
) -> Result<Table> {
    let p = path.display();
    let at = |line: u64, col: usize, name: &str, what: String| {
        Error::Dataset(format!("{p}:{line}: column {} ({name}): {what}", col + 1))
    };
    let (mut csv, header, line_of) = rows::open_with_header(reader, path)?;
    let mut record = csv::ByteRecord::new();
    let io = |e: csv::Error| Error::Dataset(format!("{p}: {e}"));
    let Some(t) = header.iter().position(|h| h == target) else {
        return Err(Error::Dataset(format!(
            "{p}:1: no column named {target:?} (the header has {})",
            header.join(", ")
        )));
    };
    let width = header.len();
    let feature_names: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != t)
        .map(|(_, h)| h.clone())
        .collect();
    if feature_names.is_empty() {
        return Err(Error::Dataset(format!(
            "{p}:1: the target {target:?} is the only column: there are no features"
        )));
    }
    let known: Option<BTreeMap<&str, u32>> = classes.map(|c| {
        c.iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect()
    });
    let mut features: Vec<f32> = Vec::new();
    let mut column = Column::Numbers(Vec::new());
    let mut n = 0usize;
    while csv.read_byte_record(&mut record).map_err(io)? {
        let line = line_of.of(&record, &csv);
        if record.len() == 1 && record.get(0).is_some_and(|c| c.is_empty()) {
            continue; // a blank line
        }
        if record.len() != width {
            return Err(Error::Dataset(format!(
                "{p}:{line}: {} cells, but the header has {width} columns",
                record.len()
            )));
        }
        for (col, cell) in record.iter().enumerate() {
            let text = std::str::from_utf8(cell)
                .map_err(|_| at(line, col, &header[col], "not UTF-8 text".into()))?
                .trim();
            if col == t {
                push_target(&mut column, text, n, known.as_ref())
                    .map_err(|what| at(line, col, &header[col], what))?;
                continue;
            }
            let v: f32 = text
                .parse()
                .map_err(|_| at(line, col, &header[col], format!("{text:?} is not a number")))?;
            if !v.is_finite() {
                return Err(at(
                    line,
                    col,
                    &header[col],
                    format!("{text:?} is not a finite number"),
                ));
            }
            features.push(v);
        }
        n += 1;
    }
    if n == 0 {
        return Err(Error::Dataset(format!("{p}: a header but no rows")));
    }
    let d = feature_names.len();
    let task = task.unwrap_or_else(|| infer(&column, known.is_some()));
    let (data, class_names) = match (task, column) {
        (Task::Regress, Column::Numbers(values)) => {
            let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            (
                Dataset::from_floats_regression(features, values, d, 1)?,
                None,
            )
        }
        (Task::Regress, Column::Words(..)) => {
            return Err(Error::Dataset(format!(
                "{p}: column {target:?} holds words, which cannot be regression targets"
            )))
        }
        (Task::Classify, column) => {
            let (labels, names) = match (classes, column) {
                (Some(names), Column::Words(codes, _)) => (codes, names.to_vec()),
                (Some(names), Column::Numbers(values)) => {
                    // Numbers in a test file, names from training: match them as text.
                    let mut labels = Vec::with_capacity(values.len());
                    for (i, v) in values.iter().enumerate() {
                        let text = v.to_string();
                        let Some(&l) = known.as_ref().and_then(|k| k.get(text.as_str())) else {
                            return Err(Error::Dataset(format!(
                                "{p}: row {} of column {target:?}: label {text:?} was not seen in training",
                                i + 1
                            )));
                        };
                        labels.push(l);
                    }
                    (labels, names.to_vec())
                }
                (None, Column::Words(codes, map)) => words_sorted(codes, map),
                (None, Column::Numbers(values)) => integers_sorted(&values, p.to_string(), target)?,
            };
            let n_classes = names.len();
            (
                Dataset::from_floats(features, labels, d, n_classes)?,
                Some(names),
            )
        }
    };
    Ok(Table {
        data,
        feature_names,
        target_name: target.to_string(),
        class_names,
    })
}

fn push_target(
    column: &mut Column,
    text: &str,
    row: usize,
    known: Option<&BTreeMap<&str, u32>>,
) -> std::result::Result<(), String> {
    if let Some(known) = known {
        // Classes named by training: every label must be one of them.
        let Some(&l) = known.get(text) else {
            return Err(format!("label {text:?} was not seen in training"));
        };
        if let Column::Numbers(v) = column {
            if v.is_empty() {
                *column = Column::Words(Vec::new(), BTreeMap::new());
            }
        }
        if let Column::Words(codes, _) = column {
            codes.push(l);
            return Ok(());
        }
    }
    if text.is_empty() {
        return Err("the target is empty".into());
    }
    match column {
        Column::Numbers(values) => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            Ok(_) => return Err(format!("{text:?} is not a finite number")),
            Err(_) => {
                // The first word: everything so far becomes a word too.
                let mut map = BTreeMap::new();
                let mut codes = Vec::with_capacity(values.len() + 1);
                for v in values.iter() {
                    codes.push(code(&mut map, &v.to_string()));
                }
                codes.push(code(&mut map, text));
                debug_assert_eq!(codes.len(), row + 1);
                *column = Column::Words(codes, map);
            }
        },
        Column::Words(codes, map) => codes.push(code(map, text)),
    }
    Ok(())
}

/// The code of a word, in order of first appearance (sorted later).
fn code(map: &mut BTreeMap<String, u32>, word: &str) -> u32 {
    let next = map.len() as u32;
    *map.entry(word.to_string()).or_insert(next)
}

fn infer(column: &Column, _known: bool) -> Task {
    match column {
        Column::Words(..) => Task::Classify,
        Column::Numbers(values) => {
            let mut distinct: Vec<i64> = Vec::new();
            for &v in values {
                if v.fract() != 0.0 || v.abs() > 1e9 {
                    return Task::Regress;
                }
                if !distinct.contains(&(v as i64)) {
                    distinct.push(v as i64);
                    if distinct.len() > MAX_INFERRED_CLASSES {
                        return Task::Regress;
                    }
                }
            }
            Task::Classify
        }
    }
}

/// Labels 0.. for words in sorted order.
fn words_sorted(codes: Vec<u32>, map: BTreeMap<String, u32>) -> (Vec<u32>, Vec<String>) {
    // `map` is sorted by word; its values are first-appearance codes.
    let mut rank = vec![0u32; map.len()];
    let mut names = Vec::with_capacity(map.len());
    for (i, (word, &c)) in map.iter().enumerate() {
        rank[c as usize] = i as u32;
        names.push(word.clone());
    }
    (codes.iter().map(|&c| rank[c as usize]).collect(), names)
}

/// Labels 0.. for integers in numeric order, named by their text.
fn integers_sorted(values: &[f64], path: String, target: &str) -> Result<(Vec<u32>, Vec<String>)> {
    if let Some(v) = values.iter().find(|v| v.fract() != 0.0) {
        return Err(Error::Dataset(format!(
            "{path}: column {target:?} has {v}, not a class label (use regression for real targets)"
        )));
    }
    let mut distinct: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let labels = values
        .iter()
        .map(|&v| distinct.binary_search(&(v as i64)).expect("present") as u32)
        .collect();
    Ok((labels, distinct.iter().map(|v| v.to_string()).collect()))
}
