//! Rows to answer: a CSV file read one row at a time, its feature columns found by name (the
//! names a model was trained with), so that predicting on a file of any length holds one row.
//!
//! ```text
//! header      every feature of the model, by name, in any order; the target column may be
//!             there (its cell is kept as text for showing beside the answer); other columns
//!             are ignored and listed by Rows::ignored
//! each row    the features' cells as f32, in the model's input order
//! ```
//!
//! A model without feature names takes the file's columns in order, the target column left out.
//! Every error names the file, the line and the column, as [`super::read_csv`]'s do.

use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A CSV file's rows as a model's inputs, one at a time.
pub struct Rows<R: Read> {
    csv: csv::Reader<R>,
    record: csv::ByteRecord,
    path: PathBuf,
    header: Vec<String>,
    /// The file column of each input, in input order.
    columns: Vec<usize>,
    target: Option<usize>,
    ignored: Vec<String>,
    rows: usize,
    line_of: LineOf,
}

/// Where a row came from, and its target cell if the file has the target column.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based, counting the rows after the header (blank lines not counted).
    pub number: usize,
    /// The line of the file it starts on (the header is line 1).
    pub line: u64,
    /// The target column's cell, trimmed; `None` without the column or when the cell is empty.
    pub target: Option<String>,
}

impl Rows<std::io::BufReader<std::fs::File>> {
    /// Opens `path` and finds its columns: `features` by name (or, when `None`, the first
    /// `n_inputs` columns other than `target`).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Dataset`] for an empty file, a feature
    /// column missing or named twice, or (without names) the wrong number of columns.
    pub fn open(
        path: &Path,
        features: Option<&[String]>,
        n_inputs: usize,
        target: Option<&str>,
    ) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        Rows::from_reader(reader, path, features, n_inputs, target)
    }
}

impl<R: Read> Rows<R> {
    /// [`Rows::open`] from any reader; `path` only names it in errors.
    ///
    /// # Errors
    /// As [`Rows::open`].
    pub fn from_reader(
        reader: R,
        path: &Path,
        features: Option<&[String]>,
        n_inputs: usize,
        target: Option<&str>,
    ) -> Result<Self> {
        let p = path.display();
        let (csv, header, line_of) = open_with_header(reader, path)?;
        let record = csv::ByteRecord::new();
        let find = |name: &str| -> Result<Option<usize>> {
            let mut at = header.iter().enumerate().filter(|(_, h)| *h == name);
            match (at.next(), at.next()) {
                (Some((i, _)), None) => Ok(Some(i)),
                (None, _) => Ok(None),
                (Some(_), Some(_)) => Err(Error::Dataset(format!(
                    "{p}:1: two columns are named {name:?}"
                ))),
            }
        };
        let target = match target {
            Some(t) => find(t)?,
            None => None,
        };
        let columns: Vec<usize> = match features {
            Some(names) => names
                .iter()
                .map(|name| {
                    find(name)?.ok_or_else(|| {
                        Error::Dataset(format!(
                            "{p}:1: no column named {name:?}, a feature of the model (the header has {})",
                            header.join(", ")
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            None => {
                let columns: Vec<usize> =
                    (0..header.len()).filter(|&i| Some(i) != target).collect();
                if columns.len() != n_inputs {
                    return Err(Error::Dataset(format!(
                        "{p}:1: {} feature columns, but the model takes {n_inputs} (it has no feature names, so every column{} is a feature, in order)",
                        columns.len(),
                        if target.is_some() { " but the target" } else { "" }
                    )));
                }
                columns
            }
        };
        let ignored = (0..header.len())
            .filter(|i| !columns.contains(i) && Some(*i) != target)
            .map(|i| header[i].clone())
            .collect();
        Ok(Rows {
            csv,
            record,
            path: path.to_path_buf(),
            header,
            columns,
            target,
            ignored,
            rows: 0,
            line_of,
        })
    }

    /// The columns that are neither features nor the target, in file order.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// Whether the file has the target column.
    pub fn has_target(&self) -> bool {
        self.target.is_some()
    }

    /// Reads the next row's features into `x` (one value per input), or returns `None` at the
    /// end of the file.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x` is not one value per input; [`Error::Dataset`] naming the file,
    /// the line and the column for a ragged row, a feature cell that is not a finite number, or
    /// text that is not UTF-8.
    pub fn next_into(&mut self, x: &mut [f32]) -> Result<Option<Row>> {
        if x.len() != self.columns.len() {
            return Err(Error::Shape(format!(
                "a row of {} inputs, got room for {}",
                self.columns.len(),
                x.len()
            )));
        }
        let p = self.path.display();
        loop {
            let more = self
                .csv
                .read_byte_record(&mut self.record)
                .map_err(|e| Error::Dataset(format!("{p}: {e}")))?;
            if !more {
                return Ok(None);
            }
            let r = &self.record;
            if r.len() == 1 && r.get(0).is_some_and(|c| c.is_empty()) {
                continue; // a blank line
            }
            let line = self.line_of.of(r, &self.csv);
            let width = self.header.len();
            if r.len() != width {
                return Err(Error::Dataset(format!(
                    "{p}:{line}: {} cells, but the header has {width} columns",
                    r.len()
                )));
            }
            let header = &self.header;
            let text = |col: usize| -> Result<&str> {
                let cell = r.get(col).unwrap_or_default();
                std::str::from_utf8(cell).map(str::trim).map_err(|_| {
                    Error::Dataset(format!(
                        "{p}:{line}: column {} ({}): not UTF-8 text",
                        col + 1,
                        header[col]
                    ))
                })
            };
            for (x, &col) in x.iter_mut().zip(&self.columns) {
                let cell = text(col)?;
                let bad = |what: &str| {
                    Error::Dataset(format!(
                        "{p}:{line}: column {} ({}): {cell:?} is not {what}",
                        col + 1,
                        header[col]
                    ))
                };
                let v: f32 = cell.parse().map_err(|_| bad("a number"))?;
                if !v.is_finite() {
                    return Err(bad("a finite number"));
                }
                *x = v;
            }
            let target = match self.target {
                Some(col) => Some(text(col)?.to_string()).filter(|t| !t.is_empty()),
                None => None,
            };
            self.rows += 1;
            return Ok(Some(Row {
                number: self.rows,
                line,
                target,
            }));
        }
    }
}

/// A CSV reader over `reader` that lets rows differ in length (the callers check each row
/// against the header and say which line is off), the header's names trimmed, and where the
/// header ended; `path` only names the file in errors.
pub(crate) fn open_with_header<R: Read>(
    reader: R,
    path: &Path,
) -> Result<(csv::Reader<R>, Vec<String>, LineOf)> {
    let p = path.display();
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let read = csv
        .read_byte_record(&mut record)
        .map_err(|e| Error::Dataset(format!("{p}: {e}")))?;
    if !read {
        return Err(Error::Dataset(format!(
            "{p}: empty file, expected a header row"
        )));
    }
    let header = record
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let line_of = LineOf::after_header(&csv);
    Ok((csv, header, line_of))
}

/// Which line of the file a record is on.
///
/// The csv crate's own answer is off after blank lines (the first record after them gets the
/// first blank's line, rust-csv issue 208) and with `\r\n` line ends (one line early). Its
/// reader's position after a record, the start of the next one, counts blank lines, but lags by
/// one line with `\r\n` (it has not consumed the `\n` yet, rust-csv issue 395): how much it
/// lags is seen once, after the header. A record over several lines (a quoted newline) is
/// named by its last line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineOf {
    lag: u64,
}

impl LineOf {
    /// Measures the lag, right after the header (line 1) was read.
    pub(crate) fn after_header<R: Read>(reader: &csv::Reader<R>) -> LineOf {
        LineOf {
            lag: u64::from(reader.position().line() <= 1),
        }
    }

    /// The line of `record`, just read by `reader`.
    pub(crate) fn of<R: Read>(self, record: &csv::ByteRecord, reader: &csv::Reader<R>) -> u64 {
        let start = record.position().map_or(0, |p| p.line());
        // The last record of a file without a final newline: the reader did not move past it.
        start.max((reader.position().line() + self.lag).saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows<'a>(
        text: &'a str,
        features: Option<&[String]>,
        target: Option<&str>,
    ) -> Result<Rows<&'a [u8]>> {
        Rows::from_reader(text.as_bytes(), Path::new("r.csv"), features, 2, target)
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn features_are_found_by_name_in_the_models_order() {
        let f = names(&["b", "a"]);
        let mut r = rows("id,a,y,b\n7,1,setosa,2\n\n8,3,,4\n", Some(&f), Some("y")).unwrap();
        assert_eq!(r.ignored(), ["id"]);
        assert!(r.has_target());
        let mut x = [0.0; 2];
        let row = r.next_into(&mut x).unwrap().unwrap();
        assert_eq!((x, row.number, row.line), ([2.0, 1.0], 1, 2));
        assert_eq!(row.target.as_deref(), Some("setosa"));
        let row = r.next_into(&mut x).unwrap().unwrap();
        assert_eq!(
            (x, row.number, row.line, row.target),
            ([4.0, 3.0], 2, 4, None)
        );
        assert_eq!(r.next_into(&mut x).unwrap(), None);
    }

    #[test]
    fn without_names_the_columns_are_taken_in_order() {
        let mut r = rows("p,y,q\n1,0,2\n", None, Some("y")).unwrap();
        let mut x = [0.0; 2];
        r.next_into(&mut x).unwrap().unwrap();
        assert_eq!(x, [1.0, 2.0]);
        let err = rows("p,q,s\n1,2,3\n", None, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("r.csv:1: 3 feature columns, but the model takes 2"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_name_the_file_line_and_column() {
        let f = names(&["a", "b"]);
        let cases = [
            ("", "r.csv: empty file, expected a header row"),
            (
                "a,c\n1,2\n",
                "r.csv:1: no column named \"b\", a feature of the model (the header has a, c)",
            ),
            ("a,b,a\n1,2,3\n", "r.csv:1: two columns are named \"a\""),
            (
                "a,b\n1,2\n3\n",
                "r.csv:3: 1 cells, but the header has 2 columns",
            ),
            ("a,b\n1,x\n", "r.csv:2: column 2 (b): \"x\" is not a number"),
            (
                "a,b\n1,inf\n",
                "r.csv:2: column 2 (b): \"inf\" is not a finite number",
            ),
            ("a,b\n1,\n", "r.csv:2: column 2 (b): \"\" is not a number"),
            (
                "a,b\n1,2\n\n\n1,x\n",
                "r.csv:5: column 2 (b): \"x\" is not a number",
            ),
            (
                "a,b\r\n1,2\r\n1,x\r\n",
                "r.csv:3: column 2 (b): \"x\" is not a number",
            ),
            (
                "a,b\n1,2\n\n1,2\n1,x\n",
                "r.csv:5: column 2 (b): \"x\" is not a number",
            ),
        ];
        for (text, expected) in cases {
            let err = rows(text, Some(&f), None).and_then(|mut r| {
                let mut x = [0.0; 2];
                while r.next_into(&mut x)?.is_some() {}
                Ok(())
            });
            let err = err.unwrap_err().to_string();
            assert_eq!(err, expected, "{text:?}");
        }
    }
}
