//! Live training behind `backprop serve --train`: a thread of its own owns the network, the
//! optimiser and the [`TrainState`], and takes commands over a channel (`run`, `pause`, `step`
//! N mini-batches, `save`, a new η). It trains with the library's own loop, a [`Training`]
//! resumed from its state and stopped after the asked number of mini-batches by its
//! [`Progress`]; since a [`TrainState`]
//! resumes exactly, stepping through an epoch in any chunks gives the network `backprop train`
//! gives, bit for bit. Paused, the thread waits on its channel and uses no CPU.
//!
//! Between chunks it publishes what the page polls: position, the per-epoch log, a train-cost
//! curve point per chunk, the layers' health, and the network as it is now.

use super::Failure;
use crate::inspect::health::{self, Health};
use crate::inspect::report::curves::epoch_json;
use crate::{model_io, Dataset, Network, Optimizer, Progress, TrainConfig, TrainState, Training};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Mini-batches per point of the train-cost curve.
pub(crate) const CURVE_EVERY: usize = 50;
/// While running, the network is published (and the commands looked at) this often: each
/// call of the training loop costs a few milliseconds to set up, so not more often.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// A step request publishes after at most this many mini-batches, so a long step shows.
const STEP_CHUNK: usize = 2000;
/// Most mini-batches one `step` request takes.
pub(crate) const MAX_STEP: usize = 1_000_000;
/// Largest η the page may set.
pub(crate) const MAX_RATE: f64 = 100.0;
/// While running, health is measured at most this often (it costs ~1% then).
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Everything a training run needs, handed to its thread.
pub struct LiveRun {
    /// The network being trained.
    pub net: Network<f32>,
    /// Its optimiser.
    pub optimizer: Optimizer<f32>,
    /// Training data.
    pub train: Dataset,
    /// Held-out data, if any.
    pub validation: Option<Dataset>,
    /// Test data, evaluated after every epoch.
    pub test: Option<Dataset>,
    /// How to train.
    pub config: TrainConfig,
    /// Where the run is: [`TrainState::new`] for a fresh one.
    pub state: TrainState<f32>,
    /// Where `save` writes the model (atomically).
    pub out: PathBuf,
    /// Where the per-epoch log is written as epochs end (JSON lines, as `backprop train`'s).
    pub log: Option<PathBuf>,
}

/// The handle the HTTP side holds: the command channel and the published state.
pub struct Live {
    commands: Sender<Message>,
    interrupt: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
}

/// What the page sees, published by the training thread.
struct Shared {
    running: bool,
    done: bool,
    epoch: usize,
    epochs: usize,
    batch: usize,
    batches: usize,
    steps: usize,
    learning_rate: f64,
    history: Vec<Value>,
    curve: Vec<(usize, f64)>,
    health: Option<Health>,
    net: Arc<Network<f32>>,
    error: Option<String>,
    saves: usize,
    /// Wall-clock seconds the thread has spent training (and publishing), waits excluded.
    seconds: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    Run,
    Pause,
    Step(usize),
    Save,
    Nothing,
}

struct Message {
    action: Action,
    learning_rate: Option<f64>,
    reply: Sender<Result<(), String>>,
}

/// `POST /api/train`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    action: Option<String>,
    batches: Option<usize>,
    learning_rate: Option<f64>,
}

impl Live {
    /// Starts the training thread, paused.
    pub fn start(run: LiveRun) -> Live {
        let n_batches = run
            .train
            .len()
            .div_ceil(run.config.batch_size.min(run.train.len()));
        let recent = first_samples(&run.state.order);
        let health = health::measure(
            &run.net,
            &run.train,
            &recent,
            run.config.batch_size,
            run.optimizer.learning_rate(),
        );
        let shared = Shared {
            running: false,
            done: run.state.is_done(&run.config),
            epoch: run.state.epoch,
            epochs: run.config.epochs,
            batch: run.state.batches_done,
            batches: n_batches,
            steps: 0,
            learning_rate: run.state.eta0.unwrap_or(run.optimizer.learning_rate()),
            history: run.state.history.epochs.iter().map(epoch_json).collect(),
            curve: Vec::new(),
            health: Some(health),
            net: Arc::new(run.net.clone()),
            error: None,
            saves: 0,
            seconds: 0.0,
        };
        let shared = Arc::new(Mutex::new(shared));
        let interrupt = Arc::new(AtomicBool::new(false));
        let (commands, rx) = mpsc::channel();
        let trainer = Trainer {
            run,
            shared: Arc::clone(&shared),
            interrupt: Arc::clone(&interrupt),
            last_health: Instant::now(),
            rate_changes: Vec::new(),
            curve: Curve::default(),
        };
        std::thread::Builder::new()
            .name("live-training".into())
            .spawn(move || trainer.serve(rx))
            .expect("a thread for training");
        Live {
            commands,
            interrupt,
            shared,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// The network as it is now.
    pub fn network(&self) -> Arc<Network<f32>> {
        Arc::clone(&self.lock().net)
    }

    /// `GET /api/train`.
    pub fn status(&self) -> Value {
        let s = self.lock();
        json!({
            "state": if s.done { "done" } else if s.running { "running" } else { "paused" },
            "epoch": s.epoch,
            "epochs": s.epochs,
            "batch": s.batch,
            "batches": s.batches,
            "steps": s.steps,
            "learning_rate": s.learning_rate,
            "history": s.history,
            "health": s.health,
            "curve": s.curve,
            "curve_every": CURVE_EVERY,
            "error": s.error,
            "saves": s.saves,
            "seconds": s.seconds,
        })
    }

    /// `POST /api/train`: answers when the training thread has done what was asked (a step:
    /// when its mini-batches are done), with the new status.
    pub fn command(&self, body: &[u8]) -> Result<Value, Failure> {
        let r: Request = serde_json::from_slice(body).map_err(|e| {
            (
                400,
                format!("the body is not a training command ({{\"action\", \"batches\", \"learning_rate\"}}): {e}"),
            )
        })?;
        let action = match (r.action.as_deref(), r.batches) {
            (Some("step"), n) => {
                let n = n.unwrap_or(1);
                if n == 0 || n > MAX_STEP {
                    return Err((422, format!("batches is {n}; a step takes 1 to {MAX_STEP}")));
                }
                Action::Step(n)
            }
            (_, Some(_)) => return Err((422, "batches goes with the action \"step\" only".into())),
            (Some("run"), None) => Action::Run,
            (Some("pause"), None) => Action::Pause,
            (Some("save"), None) => Action::Save,
            (None, None) if r.learning_rate.is_some() => Action::Nothing,
            (Some(other), None) => {
                return Err((
                    422,
                    format!("unknown action {other:?}: use run, pause, step or save"),
                ))
            }
            (None, None) => return Err((422, "no action: use run, pause, step or save".into())),
        };
        if let Some(eta) = r.learning_rate {
            if !(eta > 0.0 && eta <= MAX_RATE) {
                return Err((
                    422,
                    format!("learning_rate is {eta}; it must be above 0 and at most {MAX_RATE}"),
                ));
            }
        }
        let (reply, answer) = mpsc::channel();
        // A running chunk stops at its next mini-batch to take the command.
        self.interrupt.store(true, Ordering::SeqCst);
        self.commands
            .send(Message {
                action,
                learning_rate: r.learning_rate,
                reply,
            })
            .map_err(|_| (500, "the training thread has stopped".to_owned()))?;
        match answer.recv() {
            Ok(Ok(())) => Ok(self.status()),
            Ok(Err(e)) => Err((500, e)),
            Err(_) => Err((500, "the training thread has stopped".into())),
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The training thread.
struct Trainer {
    run: LiveRun,
    shared: Arc<Mutex<Shared>>,
    interrupt: Arc<AtomicBool>,
    last_health: Instant,
    /// η changes within the epoch in progress, for its log line.
    rate_changes: Vec<Value>,
    curve: Curve,
}

/// Stops [`Training::run`] after `limit` mini-batches, at a deadline, or when interrupted; gathers
/// the train-cost curve and the log lines of the epochs that end on the way.
struct Chunk<'a> {
    limit: usize,
    done: usize,
    ended: Vec<Value>,
    deadline: Option<Instant>,
    interrupt: Option<&'a AtomicBool>,
    curve: &'a mut Curve,
}

/// The train-cost curve: the mean of every [`CURVE_EVERY`] mini-batches' costs.
#[derive(Default)]
struct Curve {
    steps: usize,
    sum: f64,
    count: usize,
    points: Vec<(usize, f64)>,
}

impl Progress for Chunk<'_> {
    fn batch_cost(&mut self, cost: f64) {
        let c = &mut *self.curve;
        c.steps += 1;
        c.sum += cost;
        c.count += 1;
        if c.count == CURVE_EVERY {
            c.points.push((c.steps, c.sum / c.count as f64));
            (c.sum, c.count) = (0.0, 0);
        }
    }
    fn batch_end(&mut self, _batch: usize) {
        self.done += 1;
    }
    fn epoch_end(&mut self, report: &crate::EpochReport) {
        self.ended.push(epoch_json(report));
    }
    fn should_stop(&mut self) -> bool {
        self.done >= self.limit
            || self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Trainer {
    fn serve(mut self, rx: Receiver<Message>) {
        let mut running = false;
        loop {
            let message = if running {
                match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                // Paused: sleep until a command comes.
                match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                }
            };
            if let Some(m) = message {
                self.interrupt.store(false, Ordering::SeqCst);
                let rate = match m.learning_rate {
                    Some(eta) => self.set_learning_rate(eta).map_err(|e| e.to_string()),
                    None => Ok(()),
                };
                let result = rate.and_then(|()| match m.action {
                    Action::Run => {
                        running = true;
                        Ok(())
                    }
                    Action::Pause => {
                        running = false;
                        Ok(())
                    }
                    Action::Step(n) => {
                        let start = Instant::now();
                        let r = self.step(n);
                        lock(&self.shared).seconds += start.elapsed().as_secs_f64();
                        r
                    }
                    Action::Save => self.save(),
                    Action::Nothing => Ok(()),
                });
                running &= result.is_ok() && !self.is_done();
                self.publish(running, None);
                let _ = m.reply.send(result);
            }
            if running {
                let start = Instant::now();
                if let Err(e) = self.chunk(usize::MAX, true) {
                    running = false;
                    self.publish(false, Some(e));
                }
                running &= !self.is_done();
                self.publish(running, None);
                lock(&self.shared).seconds += start.elapsed().as_secs_f64();
            }
        }
    }

    fn is_done(&self) -> bool {
        self.run.state.is_done(&self.run.config)
    }

    /// η from the next step on: the run's η₀, which the schedule scales.
    fn set_learning_rate(&mut self, eta: f64) -> crate::Result<()> {
        self.run.optimizer.set_learning_rate(eta)?;
        self.run.state.eta0 = Some(eta);
        self.rate_changes.push(json!({
            "batch": self.run.state.batches_done,
            "learning_rate": eta,
        }));
        Ok(())
    }

    /// `n` mini-batches (fewer if training ends first), publishing every [`STEP_CHUNK`].
    fn step(&mut self, n: usize) -> Result<(), String> {
        let mut total = 0;
        while total < n && !self.is_done() {
            total += self.chunk((n - total).min(STEP_CHUNK), false)?;
            if total < n {
                self.publish(false, None);
            }
        }
        Ok(())
    }

    /// One call of the library's loop: at most `limit` mini-batches, and
    /// when running, until [`PUBLISH_EVERY`] has passed or a command comes. Returns how many
    /// mini-batches ran.
    fn chunk(&mut self, limit: usize, running: bool) -> Result<usize, String> {
        let r = &mut self.run;
        let mut progress = Chunk {
            limit,
            done: 0,
            ended: Vec::new(),
            deadline: running.then(|| Instant::now() + PUBLISH_EVERY),
            interrupt: running.then_some(&*self.interrupt),
            curve: &mut self.curve,
        };
        let result = Training::new(&r.config)
            .validation(r.validation.as_ref())
            .test(r.test.as_ref())
            .progress(&mut progress)
            .resume(&mut r.state)
            .run(&mut r.net, &mut r.optimizer, &r.train);
        let (ran, ended) = (progress.done, progress.ended);
        let mut s = lock(&self.shared);
        s.steps += ran;
        s.curve.append(&mut self.curve.points);
        result.map_err(|e| format!("training failed: {e}"))?;
        for mut line in ended {
            if !self.rate_changes.is_empty() {
                line["learning_rate_changes"] = json!(std::mem::take(&mut self.rate_changes));
            }
            s.history.push(line);
            if let Some(path) = &r.log {
                let text: String = s.history.iter().map(|l| l.to_string() + "\n").collect();
                model_io::write_atomically(path, text.as_bytes())
                    .map_err(|e| format!("cannot write the log: {e}"))?;
            }
        }
        Ok(ran)
    }

    /// Writes the model to `--out`, atomically.
    fn save(&mut self) -> Result<(), String> {
        model_io::save(&self.run.net, &self.run.out).map_err(|e| e.to_string())?;
        lock(&self.shared).saves += 1;
        Ok(())
    }

    /// Publishes the network and the position; health too, at most every [`HEALTH_EVERY`]
    /// while running, after every command when paused.
    fn publish(&mut self, running: bool, error: Option<String>) {
        let r = &self.run;
        let health = (!running || self.last_health.elapsed() >= HEALTH_EVERY).then(|| {
            self.last_health = Instant::now();
            let recent = recent_samples(&r.state, r.config.batch_size.min(r.train.len()));
            health::measure(
                &r.net,
                &r.train,
                recent,
                r.config.batch_size,
                r.optimizer.learning_rate(),
            )
        });
        let net = Arc::new(r.net.clone());
        let mut s = lock(&self.shared);
        s.running = running;
        s.done = r.state.is_done(&r.config);
        s.epoch = r.state.epoch.min(r.config.epochs);
        s.batch = r.state.batches_done;
        s.learning_rate = r.state.eta0.unwrap_or(r.optimizer.learning_rate());
        s.net = net;
        if let Some(h) = health {
            s.health = Some(h);
        }
        if error.is_some() {
            s.error = error;
        }
    }
}

/// The first samples of the order, for the health of an untouched network.
fn first_samples(order: &[usize]) -> Vec<usize> {
    order[..order.len().min(health::SAMPLES)].to_vec()
}

/// The samples of the most recent mini-batches (those of the last epoch if this one has not
/// started).
fn recent_samples<T>(state: &TrainState<T>, batch_size: usize) -> &[usize] {
    let n = state.order.len();
    let end = if state.batches_done == 0 {
        n
    } else {
        (state.batches_done * batch_size).min(n)
    };
    &state.order[end.saturating_sub(health::SAMPLES)..end]
}
