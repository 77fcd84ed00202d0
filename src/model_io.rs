//! Model files: safetensors, readable by PyTorch and numpy.
//!
//! ```text
//! layers.{i}.weight   f32, shape [n_out, n_in]   w_jk^(i+1) at [j, k]
//! layers.{i}.bias     f32, shape [n_out]
//! metadata "architecture": {"sizes":[784,16,16,10],
//!                           "activations":["sigmoid","sigmoid","sigmoid"],"cost":"quadratic"}
//! metadata "format": "backprop"
//! metadata "data" (only when there is something to say; see [`ModelInfo`]):
//!                          {"task":"classify","class_names":["setosa",...],
//!                           "input_scaler":{"mean":[...],"std":[...]},"target_scaler":...}
//! ```
//!
//! In Python: `safetensors.numpy.load_file(path)` gives the tensors,
//! `json.loads(safe_open(path, "np").metadata()["architecture"])` the shape; then
//! `a = σ(W @ a + b)` layer by layer reproduces [`Network::feedforward`].
//!
//! Saving writes a temporary file beside the target and renames it over the target, so a
//! failed save leaves the previous model intact. Loading trusts nothing in the file: the header,
//! the architecture, every tensor's dtype and shape, and every value's finiteness are checked.

use crate::data::Scaler;
use crate::{Architecture, Dense, Error, Network, Result};
use safetensors::tensor::{Dtype, Metadata, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The value of the `format` metadata key in files this crate writes.
pub const FORMAT: &str = "backprop";

/// What a model knows about its data besides the network: what its outputs mean and how its
/// inputs are prepared. Saved in the model file's metadata (key `data`), applied by the
/// estimator ([`crate::Model`]) and by `backprop eval`, `predict` and `export`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Whether the outputs are class scores or real values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// The name of each class, in output order (when the labels were words, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// The names of the input features, in input order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<Vec<String>>,
    /// The training table's target columns: for regression one name per output, for
    /// classification the one column that holds the labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_names: Option<Vec<String>>,
    /// Standardisation of the inputs, applied before the first layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_scaler: Option<Scaler>,
    /// Standardisation of regression targets: the network's outputs are in its units, and
    /// [`Scaler::inverse`] brings them back to the targets' own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scaler: Option<Scaler>,
}

/// Classification or regression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Outputs are class scores; the answer is the largest.
    Classify,
    /// Outputs are real values.
    Regress,
}

impl ModelInfo {
    /// Whether there is anything to save.
    pub fn is_empty(&self) -> bool {
        *self == ModelInfo::default()
    }

    /// Checks what a file says against the network it describes.
    pub(crate) fn validate(&self, net: &Network<f32>) -> std::result::Result<(), String> {
        let count = |what: &str, len: usize, want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(format!(
                    "the metadata has {len} {what} for a network of {want}"
                ))
            }
        };
        if let Some(names) = &self.class_names {
            count("class names", names.len(), net.n_outputs())?;
        }
        if let Some(names) = &self.feature_names {
            count("feature names", names.len(), net.n_inputs())?;
        }
        if let Some(names) = &self.target_names {
            // A classifier's outputs are its classes, all from one label column.
            let want = match self.task {
                Some(Task::Classify) => 1,
                _ => net.n_outputs(),
            };
            count("target names", names.len(), want)?;
        }
        if let Some(s) = &self.input_scaler {
            s.validate()?;
            count("input means", s.width(), net.n_inputs())?;
        }
        if let Some(s) = &self.target_scaler {
            s.validate()?;
            count("target means", s.width(), net.n_outputs())?;
        }
        Ok(())
    }
}

/// Writes `net` to `path` as safetensors, atomically.
///
/// # Errors
/// [`Error::Model`] if the network has a non-finite parameter (nothing is written);
/// [`Error::Io`] if the file cannot be written (the previous file, if any, is untouched).
pub fn save(net: &Network<f32>, path: &Path) -> Result<()> {
    save_with_info(net, &ModelInfo::default(), path)
}

/// [`save`], with what the model knows about its data in the metadata (nothing is added when
/// `info` is empty, so [`save`]'s files stay the same).
///
/// # Errors
/// As [`save`], and [`Error::Model`] if `info` does not fit the network.
pub fn save_with_info(net: &Network<f32>, info: &ModelInfo, path: &Path) -> Result<()> {
    if !net.is_finite() {
        return Err(Error::Model {
            path: path.to_path_buf(),
            reason: "refusing to save a network with NaN or infinite parameters".into(),
        });
    }
    let bytes = encode(net, info).map_err(|reason| Error::Model {
        path: path.to_path_buf(),
        reason,
    })?;
    write_atomically(path, &bytes)
}

/// The safetensors bytes of `net`, as [`save`] writes them.
///
/// # Errors
/// [`Error::ModelBytes`] if safetensors refuses to serialise the tensors.
pub fn to_bytes(net: &Network<f32>) -> Result<Vec<u8>> {
    encode(net, &ModelInfo::default()).map_err(Error::ModelBytes)
}

/// The bytes of [`save_with_info`].
///
/// # Errors
/// [`Error::ModelBytes`] if `info` does not fit the network or safetensors refuses the tensors.
pub fn to_bytes_with_info(net: &Network<f32>, info: &ModelInfo) -> Result<Vec<u8>> {
    encode(net, info).map_err(Error::ModelBytes)
}

fn encode(net: &Network<f32>, info: &ModelInfo) -> std::result::Result<Vec<u8>, String> {
    info.validate(net)?;
    let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut buffers = Vec::new();
    for (i, l) in net.layers.iter().enumerate() {
        buffers.push((
            format!("layers.{i}.weight"),
            vec![l.n_out, l.n_in],
            le(&l.weights),
        ));
        buffers.push((format!("layers.{i}.bias"), vec![l.n_out], le(&l.biases)));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, data)| {
            Ok((
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), data)?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| e.to_string())?;
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        (
            "architecture".to_string(),
            serde_json::to_string(&net.architecture()).map_err(|e| e.to_string())?,
        ),
    ]);
    if !info.is_empty() {
        let data = serde_json::to_string(info).map_err(|e| e.to_string())?;
        metadata.insert("data".to_string(), data);
    }
    safetensors::serialize(views, Some(metadata.into_iter().collect()))
        .map(sorted_header)
        .map_err(|e| e.to_string())
}

/// safetensors writes its metadata map in `HashMap` order, which changes from run to run; this
/// rewrites the header with every key sorted, so that the same network always gives the same
/// bytes. Only the order changes, so the header keeps its length and the data its offsets.
pub(crate) fn sorted_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = &mut bytes[8..8 + n];
    let value: serde_json::Value =
        serde_json::from_slice(header).expect("safetensors writes its header as JSON");
    let mut sorted = serde_json::to_vec(&value).expect("JSON values serialise");
    assert!(sorted.len() <= n, "sorting keys does not lengthen JSON");
    sorted.resize(n, b' ');
    header.copy_from_slice(&sorted);
    bytes
}

/// Writes `bytes` to `path` atomically: see [`write_atomically_with`].
///
/// # Errors
/// [`Error::Io`] naming `path`; the previous file, if any, is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Writes a file atomically: `write` fills a new temporary file beside `path`, which is flushed
/// to disk and then renamed over `path` (and the directory flushed too, on Unix). Until the
/// rename, `path` is untouched; after it, `path` holds everything `write` wrote. If `write` or
/// anything else fails — a full disk, a missing directory, a panic in `write` — the temporary
/// file is removed and `path` keeps its previous contents, or stays absent. If the process is
/// killed, `path` is just as safe; a `.NAME.PID-N.tmp` file may be left beside it.
///
/// A symbolic link is written through: the file it points to is replaced, the link stays. A
/// directory, device, pipe or socket at `path` (or at the end of its links) is never replaced.
///
/// Every file the crate and its command-line tool save goes through here.
///
/// # Errors
/// [`Error::Io`] naming `path`, with the first error `write` or the file system returned, or
/// saying what `path` is when it is not a file that may be replaced.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let target = save_target(path)?;
    let (dir, name) = dir_and_name(path, &target)?;
    // Unique per process and per call, so concurrent saves never share a temporary file.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| Error::io(path, e))?;
    // Removes the temporary file on every way out before the rename, a panic in `write` included.
    let mut guard = RemoveOnDrop(Some(tmp.as_path()));
    let result = (|| {
        let mut writer = std::io::BufWriter::new(file);
        write(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &target)
    })();
    result.map_err(|e| Error::io(path, e))?;
    guard.0 = None; // renamed: nothing to remove
                    // Make the rename itself durable. Best effort: the new file is in place either way, and some
                    // file systems cannot sync a directory.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Checks, before any work, that a file can be saved at `path` as [`write_atomically`] would
/// save it: `path` (or where its symbolic links lead) is absent or a regular file, and its
/// directory exists and lets a new file be created in it (one is created and removed).
///
/// # Errors
/// [`Error::Io`] naming `path` and the problem.
pub fn check_writable(path: &Path) -> Result<()> {
    let target = save_target(path)?;
    let (dir, name) = dir_and_name(path, &target)?;
    let probe = dir.join(format!(
        ".{}.{}-probe.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let not_writable = |e: std::io::Error| {
        let what = match std::fs::metadata(&dir) {
            Err(_) => format!("its directory {} does not exist", dir.display()),
            Ok(m) if !m.is_dir() => format!("{} is not a directory", dir.display()),
            Ok(_) => format!("cannot create a file in {}: {e}", dir.display()),
        };
        Error::io(path, std::io::Error::new(e.kind(), what))
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(not_writable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Where a save to `path` lands: `path` itself, or the end of its chain of symbolic links
/// (followed one by one, so a link to a file that does not exist yet works too). Refuses
/// anything there that is not a regular file.
fn save_target(path: &Path) -> Result<PathBuf> {
    let refuse = |what: String| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, what),
        )
    };
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        let meta = match std::fs::symlink_metadata(&target) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(Error::io(path, e)),
        };
        let kind = meta.file_type();
        if kind.is_file() {
            return Ok(target);
        }
        if kind.is_dir() {
            return Err(refuse("is a directory, not a file".into()));
        }
        if !kind.is_symlink() {
            return Err(refuse(
                "is a device, pipe or socket, not a regular file: refusing to replace it".into(),
            ));
        }
        let link = std::fs::read_link(&target).map_err(|e| Error::io(path, e))?;
        target = match target.parent() {
            Some(dir) => dir.join(link),
            None => link,
        };
    }
    Err(refuse("too many levels of symbolic links".into()))
}

/// The directory and file name of `target`, the file a save to `path` replaces.
fn dir_and_name<'a>(path: &Path, target: &'a Path) -> Result<(PathBuf, &'a std::ffi::OsStr)> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().ok_or_else(|| Error::Model {
        path: path.to_path_buf(),
        reason: "not a file name".into(),
    })?;
    Ok((dir, name))
}

/// Reads a whole file, refusing one larger than `max` bytes (`what` names what the file should
/// be, for the message) without reading more than `max + 1` of it: an endless stream such as
/// `/dev/zero` costs `max` bytes, not all memory.
///
/// # Errors
/// [`Error::Io`] naming `path`: it cannot be read, or is larger than `max` bytes.
pub fn read_at_most(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let too_large = || {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than {}, the most {what} may be", mib(max)),
            ),
        )
    };
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// "16 MiB", or the bytes when not a whole number of MiB.
fn mib(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Deletes the file at its path, if any, when dropped.
struct RemoveOnDrop<'a>(Option<&'a Path>);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The largest safetensors header (the JSON before the tensors' data) a model may have. The
/// notes' network needs under 1 KiB; 16 MiB is room for tens of thousands of layers.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;

/// Reads a model written by [`save`].
///
/// Reads no more of the file than its header says the tensors occupy (plus one byte, to notice
/// trailing data), so a huge file or an endless stream costs no more memory than a valid model.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Model`] naming the file and the problem if
/// it is not a valid safetensors file, has no or a bad architecture, or its tensors are
/// missing, of the wrong dtype or shape, or not finite.
pub fn load(path: &Path) -> Result<Network<f32>> {
    Ok(load_with_info(path)?.0)
}

/// [`load`], and what the model knows about its data (empty for files without it).
///
/// # Errors
/// As [`load`], and [`Error::Model`] if the `data` metadata is malformed or does not fit.
pub fn load_with_info(path: &Path) -> Result<(Network<f32>, ModelInfo)> {
    let bytes = read_bounded(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes).map_err(|reason| Error::Model {
        path: path.to_path_buf(),
        reason,
    })
}

/// The 8-byte header length, the header, and the tensors' data as the header describes them,
/// one byte more if the file goes on; stops early wherever [`from_bytes`] will find an error.
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut reader = std::io::BufReader::new(std::fs::File::open(path)?);
    // `read_to_end` grows the buffer with what arrives, never by what a header claims.
    let mut bytes = Vec::new();
    (&mut reader).take(8).read_to_end(&mut bytes)?;
    let Ok(prefix) = <[u8; 8]>::try_from(bytes.as_slice()) else {
        return Ok(bytes);
    };
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER_BYTES {
        return Ok(bytes);
    }
    (&mut reader).take(n).read_to_end(&mut bytes)?;
    let Ok(header) = serde_json::from_slice::<Metadata>(&bytes[8..]) else {
        return Ok(bytes);
    };
    reader
        .take(header.data_len() as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Parses model bytes, as [`load`] does a file.
///
/// # Errors
/// [`Error::ModelBytes`] with the reason, one line: the file is not safetensors (too short, a header length beyond
/// [`MAX_HEADER_BYTES`] or the file, bad JSON, tensors that do not exactly fill the rest of the
/// file), the architecture is missing, malformed or invalid, it needs more parameters than the
/// file can hold, or a tensor is missing, extra, not F32, of the wrong shape, or not finite.
pub fn from_bytes(bytes: &[u8]) -> Result<Network<f32>> {
    Ok(from_bytes_with_info(bytes)?.0)
}

/// [`from_bytes`] and the model's [`ModelInfo`].
///
/// # Errors
/// As [`from_bytes`].
pub fn from_bytes_with_info(bytes: &[u8]) -> Result<(Network<f32>, ModelInfo)> {
    decode(bytes).map_err(Error::ModelBytes)
}

fn decode(bytes: &[u8]) -> std::result::Result<(Network<f32>, ModelInfo), String> {
    let meta = read_header(bytes)?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let arch_json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("architecture"))
        .ok_or("no \"architecture\" in the safetensors metadata: not a backprop model")?;
    let arch: Architecture = serde_json::from_str(arch_json)
        .map_err(|e| format!("bad architecture in the metadata: {e}"))?;
    arch.validate()
        .map_err(|e| format!("bad architecture in the metadata: {e}"))?;

    // Allocate only what the file can fill: 4 bytes per parameter must be there.
    if arch.n_parameters().saturating_mul(4) > bytes.len() {
        return Err(format!(
            "the architecture {} needs {} parameters, more than the file's {} bytes can hold",
            arch.sizes_string(),
            arch.n_parameters(),
            bytes.len()
        ));
    }
    let layers = arch
        .sizes
        .windows(2)
        .zip(&arch.activations)
        .map(|(s, &act)| Dense::zeros(s[0], s[1], act));
    let mut net = Network {
        layers: layers.collect(),
        cost: arch.cost,
    };
    let mut expected_names = Vec::new();
    for (i, layer) in net.layers.iter_mut().enumerate() {
        let (n_in, n_out) = (layer.n_in, layer.n_out);
        for (name, shape, dest) in [
            (
                format!("layers.{i}.weight"),
                vec![n_out, n_in],
                &mut layer.weights,
            ),
            (format!("layers.{i}.bias"), vec![n_out], &mut layer.biases),
        ] {
            let view = tensors.tensor(&name).map_err(|_| {
                format!(
                    "tensor {name} is missing (the architecture has {} layers)",
                    arch.sizes.len() - 1
                )
            })?;
            if view.dtype() != Dtype::F32 {
                return Err(format!("tensor {name} is {:?}, expected F32", view.dtype()));
            }
            if view.shape() != shape.as_slice() {
                return Err(format!(
                    "tensor {name} has shape {:?}, the architecture {} needs {shape:?}",
                    view.shape(),
                    arch.sizes_string()
                ));
            }
            for (d, chunk) in dest.iter_mut().zip(view.data().chunks_exact(4)) {
                *d = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            }
            if let Some(pos) = dest.iter().position(|v| !v.is_finite()) {
                return Err(format!(
                    "tensor {name} has a non-finite value at index {pos}"
                ));
            }
            expected_names.push(name);
        }
    }
    if let Some(extra) = tensors
        .names()
        .into_iter()
        .find(|n| !expected_names.iter().any(|e| e == n))
    {
        return Err(format!(
            "unexpected tensor {extra} for the architecture {}",
            arch.sizes_string()
        ));
    }
    let info = match meta.metadata().as_ref().and_then(|m| m.get("data")) {
        None => ModelInfo::default(),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("bad data description in the metadata: {e}"))?,
    };
    info.validate(&net)
        .map_err(|e| format!("bad data description in the metadata: {e}"))?;
    Ok((net, info))
}

/// Checks the safetensors framing — the 8-byte little-endian header length, the JSON header, the
/// tensors' data exactly filling the rest of the file — with a message for each way it can fail.
fn read_header(bytes: &[u8]) -> std::result::Result<Metadata, String> {
    let not = |why: String| format!("not a valid safetensors file: {why}");
    let Some(prefix) = bytes.get(..8) else {
        return Err(not(format!(
            "{} bytes, too short for the 8-byte header length",
            bytes.len()
        )));
    };
    let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    if n > MAX_HEADER_BYTES {
        return Err(not(format!(
            "the header length {n} is more than the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    let after = bytes.len() - 8;
    let Some(header) = bytes.get(8..8 + n as usize) else {
        return Err(not(format!(
            "the header length is {n} bytes, but only {after} bytes follow it"
        )));
    };
    let meta: Metadata =
        serde_json::from_slice(header).map_err(|e| not(format!("bad header: {e}")))?;
    let (data, needed) = (after - header.len(), meta.data_len());
    if data < needed {
        return Err(format!(
            "truncated: the header's tensors need {needed} bytes of data, the file has {data}"
        ));
    }
    if data > needed {
        return Err(not(format!(
            "the file goes on after the tensors' data, which ends at byte {}",
            8 + header.len() + needed
        )));
    }
    Ok(meta)
}
