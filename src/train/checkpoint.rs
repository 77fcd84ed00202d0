//! Checkpoints: a training run frozen between two steps, so that it can be continued later and
//! end with exactly the model an uninterrupted run would have produced.
//!
//! One safetensors file, written atomically:
//!
//! ```text
//! model.layers.{i}.weight|bias              the network, f32
//! best.layers.{i}.weight|bias               with early stopping: the best epoch's network
//! optimizer.{m}.layers.{i}.weight|bias      the optimiser's velocity or moments
//! order                                     u32, the current order of the training samples
//! metadata: format, architecture, optimizer, optimizer_steps, train_config, state, extra
//! ```

use crate::model_io::write_atomically;
use crate::{
    Architecture, Dense, Error, Gradient, Network, OptimizerConfig, OptimizerState, Real, Result,
    TrainConfig, TrainState,
};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// The value of the `format` metadata key of checkpoints.
pub const FORMAT: &str = "backprop-checkpoint-1";

/// A training run between two steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The network as it is.
    pub net: Network<f32>,
    /// The optimiser's hyper-parameters (η as of the current epoch).
    pub optimizer: OptimizerConfig,
    /// The optimiser's memory.
    pub optimizer_state: OptimizerState<f32>,
    /// How the run trains.
    pub config: TrainConfig,
    /// Where the run is.
    pub state: TrainState<f32>,
    /// Whatever else the caller needs to rebuild the run (the command line keeps its data
    /// source, split and output paths here).
    pub extra: serde_json::Value,
}

impl Checkpoint {
    /// Writes the checkpoint to `path`, atomically: a failed save leaves any previous file intact.
    ///
    /// # Errors
    /// [`Error::Model`] if the network is not finite or the state cannot be encoded;
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let fail = |reason: String| Error::Model {
            path: path.to_path_buf(),
            reason,
        };
        if !self.net.is_finite() {
            return Err(fail(
                "refusing to checkpoint a network with NaN or infinite parameters".into(),
            ));
        }
        let bytes = self.to_bytes().map_err(fail)?;
        write_atomically(path, &bytes)
    }

    fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut add_layers = |prefix: &str, layers: &[(usize, usize, &[f32], &[f32])]| {
            for (i, &(n_in, n_out, w, b)) in layers.iter().enumerate() {
                buffers.push((
                    format!("{prefix}.layers.{i}.weight"),
                    Dtype::F32,
                    vec![n_out, n_in],
                    le(w),
                ));
                buffers.push((
                    format!("{prefix}.layers.{i}.bias"),
                    Dtype::F32,
                    vec![n_out],
                    le(b),
                ));
            }
        };
        fn of_net(net: &Network<f32>) -> Vec<(usize, usize, &[f32], &[f32])> {
            net.layers
                .iter()
                .map(|l| (l.n_in, l.n_out, &l.weights[..], &l.biases[..]))
                .collect()
        }
        add_layers("model", &of_net(&self.net));
        if let Some(best) = &self.state.best_net {
            add_layers("best", &of_net(best));
        }
        for (m, g) in self.optimizer_state.moments.iter().enumerate() {
            let layers: Vec<_> = g
                .layers
                .iter()
                .zip(&self.net.layers)
                .map(|(g, l)| (l.n_in, l.n_out, &g.dc_dw[..], &g.dc_db[..]))
                .collect();
            add_layers(&format!("optimizer.{m}"), &layers);
        }
        let order: Vec<u8> = self
            .state
            .order
            .iter()
            .map(|&i| u32::try_from(i).map(u32::to_le_bytes))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| "more than 2^32 training samples".to_string())?
            .concat();
        buffers.push((
            "order".into(),
            Dtype::U32,
            vec![self.state.order.len()],
            order,
        ));
        let views = buffers
            .iter()
            .map(|(name, dtype, shape, data)| {
                Ok((name.clone(), TensorView::new(*dtype, shape.clone(), data)?))
            })
            .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| e.to_string())?;
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("architecture".into(), json(&self.net.architecture())?),
            ("optimizer".into(), json(&self.optimizer)?),
            (
                "optimizer_steps".into(),
                self.optimizer_state.steps.to_string(),
            ),
            ("train_config".into(), json(&self.config)?),
            ("state".into(), json(&self.state)?),
            ("extra".into(), self.extra.to_string()),
        ]);
        safetensors::serialize(views, Some(metadata.into_iter().collect()))
            .map(crate::model_io::sorted_header)
            .map_err(|e| e.to_string())
    }

    /// Reads a checkpoint written by [`Checkpoint::save`], checking everything in it.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Model`] naming the file and the
    /// problem if anything in it is missing, malformed or inconsistent.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        // Only as much as the header says, never more than the file holds.
        let bytes = crate::model_io::read_bounded(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|reason| Error::Model {
            path: path.to_path_buf(),
            reason,
        })
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        let bad = |e: safetensors::SafeTensorError| format!("not a valid safetensors file: {e}");
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(bad)?;
        let tensors = SafeTensors::deserialize(bytes).map_err(bad)?;
        let meta = meta.metadata().as_ref();
        let get = |key: &str| -> std::result::Result<&String, String> {
            meta.and_then(|m| m.get(key))
                .ok_or_else(|| format!("no \"{key}\" in the metadata: not a backprop checkpoint"))
        };
        if get("format")? != FORMAT {
            return Err(format!(
                "format {:?} is not {FORMAT:?}: not a backprop checkpoint",
                get("format")?
            ));
        }
        fn parse<V: serde::de::DeserializeOwned>(
            key: &str,
            text: &str,
        ) -> std::result::Result<V, String> {
            serde_json::from_str(text).map_err(|e| format!("bad {key} in the metadata: {e}"))
        }
        let arch: Architecture = parse("architecture", get("architecture")?)?;
        arch.validate()
            .map_err(|e| format!("bad architecture in the metadata: {e}"))?;
        let optimizer: OptimizerConfig = parse("optimizer", get("optimizer")?)?;
        optimizer
            .validate()
            .map_err(|e| format!("bad optimizer in the metadata: {e}"))?;
        let steps: u64 = parse("optimizer_steps", get("optimizer_steps")?)?;
        let config: TrainConfig = parse("train_config", get("train_config")?)?;
        config
            .validate()
            .map_err(|e| format!("bad train_config in the metadata: {e}"))?;
        let mut state: TrainState<f32> = parse("state", get("state")?)?;
        let extra: serde_json::Value = parse("extra", get("extra")?)?;

        // Every tensor below is checked against the architecture before anything is allocated
        // for it, and must be present in the file, so allocations are bounded by the file size.
        let read_net = |prefix: &str| -> std::result::Result<Network<f32>, String> {
            let mut layers = Vec::new();
            for (i, (s, &act)) in arch.sizes.windows(2).zip(&arch.activations).enumerate() {
                let w = read_f32(
                    &tensors,
                    &format!("{prefix}.layers.{i}.weight"),
                    &[s[1], s[0]],
                )?;
                let b = read_f32(&tensors, &format!("{prefix}.layers.{i}.bias"), &[s[1]])?;
                layers.push(Dense {
                    n_in: s[0],
                    n_out: s[1],
                    weights: w,
                    biases: b,
                    activation: act,
                });
            }
            Ok(Network {
                layers,
                cost: arch.cost,
            })
        };
        let net = read_net("model")?;
        let names = tensors.names();
        if names.iter().any(|n| n.starts_with("best.")) {
            state.best_net = Some(read_net("best")?);
        }
        let mut moments = Vec::new();
        while names
            .iter()
            .any(|n| n.starts_with(&format!("optimizer.{}.", moments.len())))
        {
            let g = read_net(&format!("optimizer.{}", moments.len()))?;
            moments.push(Gradient {
                layers: g
                    .layers
                    .into_iter()
                    .map(|l| crate::LayerGradient {
                        dc_dw: l.weights,
                        dc_db: l.biases,
                    })
                    .collect(),
            });
        }
        let order = tensors
            .tensor("order")
            .map_err(|_| "tensor order is missing".to_string())?;
        if order.dtype() != Dtype::U32 || order.shape().len() != 1 {
            return Err("tensor order must be a U32 vector".into());
        }
        state.order = order
            .data()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        state
            .check(&config, state.order.len())
            .map_err(|e| match e {
                Error::Config(reason) => format!("impossible state in the metadata: {reason}"),
                e => e.to_string(),
            })?;
        let n_moments = optimizer.rule.n_moments();
        if moments.len() != n_moments {
            return Err(format!(
                "the {} optimiser keeps {n_moments} buffers, the checkpoint has {}",
                optimizer.rule,
                moments.len()
            ));
        }
        Ok(Checkpoint {
            net,
            optimizer,
            optimizer_state: OptimizerState { steps, moments },
            config,
            state,
            extra,
        })
    }
}

impl<T: Real> TrainState<T> {
    /// Checks that the state can be where a run with `config` on `n` samples is: an epoch from
    /// 1 to `config.epochs` (or just past it, between epochs), fewer batches done than the epoch
    /// has, one report per finished epoch, and a sample order that is a permutation of `0..n`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first thing that does not fit, with the numbers.
    pub fn check(&self, config: &TrainConfig, n: usize) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        let epochs = config.epochs;
        let between_epochs = self.epoch == epochs + 1 && self.batches_done == 0;
        if self.epoch == 0 || (self.epoch > epochs && !between_epochs) {
            return bad(format!(
                "the training state is at epoch {} of a run of {epochs} epochs",
                self.epoch
            ));
        }
        if self.history.epochs.len() != self.epoch - 1 {
            return bad(format!(
                "the training state is at epoch {} but has {} epoch reports, expected {}",
                self.epoch,
                self.history.epochs.len(),
                self.epoch - 1
            ));
        }
        if self.order.len() != n {
            return bad(format!(
                "the training state orders {} samples, but the data has {n}",
                self.order.len()
            ));
        }
        let n_batches = n.div_ceil(config.batch_size.clamp(1, n.max(1)));
        if self.batches_done >= n_batches.max(1) {
            return bad(format!(
                "the training state has done {} batches of epoch {}, which has {n_batches}",
                self.batches_done, self.epoch
            ));
        }
        let mut seen = vec![false; n];
        for &i in &self.order {
            match seen.get_mut(i) {
                None => {
                    return bad(format!(
                        "the training state's sample order names sample {i}, but there are {n} (0 to {})",
                        n.saturating_sub(1)
                    ))
                }
                Some(true) => {
                    return bad(format!(
                        "the training state's sample order names sample {i} twice (it must be a permutation of 0 to {})",
                        n - 1
                    ))
                }
                Some(s) => *s = true,
            }
        }
        Ok(())
    }
}

/// An f32 tensor of exactly `shape`, all finite.
fn read_f32(
    tensors: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> std::result::Result<Vec<f32>, String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("tensor {name} is missing"))?;
    if view.dtype() != Dtype::F32 || view.shape() != shape {
        return Err(format!(
            "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
            view.dtype(),
            view.shape()
        ));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "tensor {name} has a non-finite value at index {pos}"
        ));
    }
    Ok(values)
}

/// `v` as a JSON string, with the error as a string.
fn json<V: serde::Serialize>(v: &V) -> std::result::Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}
