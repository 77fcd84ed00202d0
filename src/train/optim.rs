//! Optimisers: how a gradient becomes a change of the parameters.
//!
//! Plain gradient descent is the notes' update rule; the others are the ones a learner meets
//! next (Nielsen's chapter 3, then Adam). Here g = ∂C/∂w of the mini-batch's mean cost, η the
//! learning rate, λ the L2 strength and n the number of training samples:
//!
//! ```text
//! sgd        w ← (1 − ηλ/n)·w − η·g                      the notes (λ = 0), Nielsen ch.3 (λ > 0)
//! momentum   v ← μ·v − η·(g + λ/n·w);  w ← w + v           Nielsen ch.3
//! nesterov   v ← μ·v − η·(g + λ/n·w);  w ← w + μ·v − η·(g + λ/n·w)
//! adam       g' = g + λ/n·w
//!            m ← β₁·m + (1 − β₁)·g';   s ← β₂·s + (1 − β₂)·g'²
//!            w ← w − η/(1 − β₁ᵗ) · m / (√s/√(1 − β₂ᵗ) + ε)          (Kingma & Ba, PyTorch's form)
//! adamw      w ← (1 − η·d)·w, then the adam step; d is the decoupled weight decay
//! ```
//!
//! Biases follow the same rules without the λ and d terms: regularisation shrinks weights only,
//! as in Nielsen's chapter 3.
//!
//! Three types, from choice to use:
//!
//! ```text
//! UpdateRule        which rule above, with its own constants (μ; β₁, β₂, ε; d)
//! OptimizerConfig   what you choose: the rule, η and λ          OptimizerConfig::adam(1e-3)
//! Optimizer         built for one network by config.build(&net, n): steps it, keeps an
//!                   OptimizerState (the step count t and the buffers v, or m and s)
//! ```

use crate::kernels::{axpy, with_kernels, Kernels};
use crate::{Error, Gradient, Network, Real, Result};
use serde::{Deserialize, Serialize};

/// The update rule, with its own hyper-parameters: what you choose in
/// [`OptimizerConfig::rule`]. The built [`Optimizer`] applies it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "name")]
pub enum UpdateRule {
    /// Plain stochastic gradient descent, the notes' θ ← θ − η∇C.
    Sgd,
    /// Momentum ("heavy ball"), with friction μ (Nielsen's chapter 3 calls 1 − μ the friction).
    Momentum {
        /// μ, typically 0.9.
        mu: f64,
    },
    /// Nesterov's accelerated gradient, in the form of Sutskever et al. (2013).
    Nesterov {
        /// μ, typically 0.9.
        mu: f64,
    },
    /// Adam (Kingma & Ba, 2015).
    Adam {
        /// β₁, typically 0.9.
        beta1: f64,
        /// β₂, typically 0.999.
        beta2: f64,
        /// ε, typically 1e-8.
        epsilon: f64,
    },
    /// Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
    AdamW {
        /// β₁, typically 0.9.
        beta1: f64,
        /// β₂, typically 0.999.
        beta2: f64,
        /// ε, typically 1e-8.
        epsilon: f64,
        /// d in w ← (1 − η·d)·w, typically 0.01.
        weight_decay: f64,
    },
}

impl UpdateRule {
    /// The names used on the command line.
    pub const NAMES: [&'static str; 5] = ["sgd", "momentum", "nesterov", "adam", "adamw"];

    /// The rule called `name` (one of [`UpdateRule::NAMES`]) with the usual hyper-parameters:
    /// μ = 0.9; β₁ = 0.9, β₂ = 0.999, ε = 1e-8; weight decay 0.01.
    pub fn with_defaults(name: &str) -> Option<UpdateRule> {
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8);
        Some(match name {
            "sgd" => UpdateRule::Sgd,
            "momentum" => UpdateRule::Momentum { mu: 0.9 },
            "nesterov" => UpdateRule::Nesterov { mu: 0.9 },
            "adam" => UpdateRule::Adam {
                beta1,
                beta2,
                epsilon,
            },
            "adamw" => UpdateRule::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay: 0.01,
            },
            _ => return None,
        })
    }

    /// How many parameter-shaped buffers the rule keeps between steps: none for SGD, the
    /// velocity for momentum and Nesterov, the two moments for Adam and AdamW.
    pub fn n_moments(&self) -> usize {
        match self {
            UpdateRule::Sgd => 0,
            UpdateRule::Momentum { .. } | UpdateRule::Nesterov { .. } => 1,
            UpdateRule::Adam { .. } | UpdateRule::AdamW { .. } => 2,
        }
    }

    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            UpdateRule::Sgd => "sgd",
            UpdateRule::Momentum { .. } => "momentum",
            UpdateRule::Nesterov { .. } => "nesterov",
            UpdateRule::Adam { .. } => "adam",
            UpdateRule::AdamW { .. } => "adamw",
        }
    }
}

impl std::fmt::Display for UpdateRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Hyper-parameters of an optimiser: what you choose. [`OptimizerConfig::build`] makes the
/// [`Optimizer`] that steps a network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// The update rule: SGD, momentum, Nesterov, Adam or AdamW, with its own hyper-parameters.
    /// (Saved in checkpoints under its earlier name, `method`.)
    #[serde(rename = "method")]
    pub rule: UpdateRule,
    /// η, the step size. The default 1.5 with the notes' cost Σ(a − y)² makes exactly the
    /// updates of Nielsen's network.py with η = 3.0 and his cost ½Σ(a − y)².
    pub learning_rate: f64,
    /// λ of L2 regularisation in Nielsen's form, C = C₀ + λ/(2n)·Σw², n the number of training
    /// samples. 0 (the default) for none.
    pub l2: f64,
}

impl Default for OptimizerConfig {
    /// The notes' setting: plain SGD, η = 1.5, no regularisation.
    fn default() -> Self {
        OptimizerConfig::sgd(1.5)
    }
}

/// The largest learning rate accepted. The notes' network learns at η = 1.5 to 3; Adam's
/// steps are η itself, 0.001 by default. At η = 1000 a single step moves a weight by hundreds,
/// so beyond it a run learns nothing, or diverges.
pub const MAX_LEARNING_RATE: f64 = 1000.0;

impl OptimizerConfig {
    /// Plain SGD with learning rate `eta` and no regularisation.
    pub fn sgd(eta: f64) -> Self {
        OptimizerConfig {
            rule: UpdateRule::Sgd,
            learning_rate: eta,
            l2: 0.0,
        }
    }

    /// Momentum with learning rate `eta`, momentum `mu` and no regularisation.
    pub fn momentum(eta: f64, mu: f64) -> Self {
        OptimizerConfig {
            rule: UpdateRule::Momentum { mu },
            learning_rate: eta,
            l2: 0.0,
        }
    }

    /// Adam with learning rate `eta` (0.001 is the usual choice), its usual β₁ = 0.9,
    /// β₂ = 0.999, ε = 1e-8, and no regularisation.
    pub fn adam(eta: f64) -> Self {
        OptimizerConfig {
            rule: UpdateRule::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
            learning_rate: eta,
            l2: 0.0,
        }
    }

    /// Checks the hyper-parameters.
    ///
    /// # Errors
    /// [`Error::Config`] unless η is finite and positive, λ finite and not negative, μ and the
    /// β's in [0, 1), ε positive and the weight decay in [0, 1).
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        check_learning_rate(self.learning_rate)?;
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad(format!(
                "the L2 strength λ must be 0 or positive, got {}",
                self.l2
            ));
        }
        let unit = |name: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                bad(format!("{name} must be in [0, 1), got {v}"))
            }
        };
        match self.rule {
            UpdateRule::Sgd => Ok(()),
            UpdateRule::Momentum { mu } | UpdateRule::Nesterov { mu } => unit("the momentum μ", mu),
            UpdateRule::Adam {
                beta1,
                beta2,
                epsilon,
            }
            | UpdateRule::AdamW {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                unit("β₁", beta1)?;
                unit("β₂", beta2)?;
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return bad(format!("ε must be a positive number, got {epsilon}"));
                }
                if let UpdateRule::AdamW { weight_decay, .. } = self.rule {
                    unit("the weight decay", weight_decay)?;
                }
                Ok(())
            }
        }
    }

    /// Checks the hyper-parameters and builds the optimiser for `net`, trained on `n_train`
    /// samples (the n of λ/n).
    ///
    /// # Errors
    /// See [`OptimizerConfig::validate`]; and [`Error::Config`] if λ > 0 and `n_train` is 0.
    ///
    /// # Examples
    /// ```
    /// use backprop::{Architecture, Init, Network, OptimizerConfig};
    /// let net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    /// let adam = OptimizerConfig::adam(1e-3).build(&net, 60_000).unwrap();
    /// assert_eq!(adam.learning_rate(), 1e-3);
    /// ```
    pub fn build<T: Real>(&self, net: &Network<T>, n_train: usize) -> Result<Optimizer<T>> {
        self.validate()?;
        if self.l2 > 0.0 && n_train == 0 {
            return Err(Error::Config(
                "L2 regularisation λ/n needs the number of training samples n, got 0".into(),
            ));
        }
        let moments = self.rule.n_moments();
        let zeros =
            || -> Vec<Gradient<T>> { (0..moments).map(|_| Gradient::zeros_like(net)).collect() };
        Ok(Optimizer {
            config: *self,
            l2_over_n: self.l2 / n_train.max(1) as f64,
            state: OptimizerState {
                steps: 0,
                moments: zeros(),
            },
        })
    }
}

/// What an optimiser remembers between steps: the step count t and, per parameter, the
/// velocity v (momentum, Nesterov) or the moments m and s (Adam), shaped like the network.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    /// Steps taken so far.
    pub steps: u64,
    /// 0, 1 or 2 parameter-shaped buffers, depending on the update rule.
    pub moments: Vec<Gradient<T>>,
}

/// An optimiser built for one network: its [`OptimizerConfig`] and the state it keeps between
/// steps ([`OptimizerState`]), ready to step. Made by [`OptimizerConfig::build`].
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    config: OptimizerConfig,
    l2_over_n: f64,
    state: OptimizerState<T>,
}

impl<T: Real> Optimizer<T> {
    /// The configuration, with the current learning rate.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The remembered state (for checkpoints).
    pub fn state(&self) -> &OptimizerState<T> {
        &self.state
    }

    /// Replaces the remembered state (when resuming from a checkpoint).
    ///
    /// # Errors
    /// [`Error::Shape`] if the buffers are not shaped like the optimiser's own.
    pub fn set_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let shape = |s: &OptimizerState<T>| -> Vec<Vec<(usize, usize)>> {
            s.moments
                .iter()
                .map(|g| {
                    g.layers
                        .iter()
                        .map(|l| (l.dc_dw.len(), l.dc_db.len()))
                        .collect()
                })
                .collect()
        };
        if shape(&state) != shape(&self.state) {
            return Err(Error::Shape(format!(
                "the saved {} state does not fit this network",
                self.config.rule
            )));
        }
        self.state = state;
        Ok(())
    }
}

impl<T: Real> Optimizer<T> {
    /// Whether a step is plain gradient descent θ ← θ − η·∇C (no momentum, no decay): the
    /// training step then takes it fused into backpropagation (`train/step.rs`).
    pub(crate) fn is_plain_sgd(&self) -> bool {
        self.config.rule == UpdateRule::Sgd && self.l2_over_n == 0.0
    }

    /// Counts a plain gradient-descent step that the training step took itself.
    pub(crate) fn count_step(&mut self) {
        debug_assert!(self.is_plain_sgd());
        self.state.steps += 1;
    }

    /// Checks that this optimiser's state (the velocity, or Adam's moments) was built for a
    /// network shaped like `net`.
    ///
    /// # Errors
    /// [`Error::Shape`] if it was built for another shape.
    pub fn check_network(&self, net: &Network<T>) -> Result<()> {
        // Once a step: the message is made only when the state does not fit.
        match self.state.moments.iter().find(|m| !net.fits_gradient(m)) {
            None => Ok(()),
            Some(m) => {
                let what = format!("{} optimiser's state", self.config.rule);
                Err(net.gradient_mismatch(m, &what))
            }
        }
    }

    /// Applies one update to `net`, given the gradient of the current mini-batch's mean cost.
    ///
    /// # Errors
    /// [`Error::Shape`] if `grad` is not shaped like `net`, or the optimiser was built for a
    /// network of another shape; `net` is then left as it was.
    pub fn step(&mut self, net: &mut Network<T>, grad: &Gradient<T>) -> Result<()> {
        net.check_gradient(grad, "gradient")?;
        self.check_network(net)?;
        self.state.steps += 1;
        let eta = self.config.learning_rate;
        let decay = self.l2_over_n; // λ/n
        let moments = &mut self.state.moments;
        for (l, (layer, g)) in net.layers.iter_mut().zip(&grad.layers).enumerate() {
            let params = [
                (&mut layer.weights, &g.dc_dw, decay),
                (&mut layer.biases, &g.dc_db, 0.0),
            ];
            for (p, (w, g, decay)) in params.into_iter().enumerate() {
                let mut buffers = moments.iter_mut().map(|m| {
                    let lm = &mut m.layers[l];
                    if p == 0 {
                        &mut lm.dc_dw
                    } else {
                        &mut lm.dc_db
                    }
                });
                match self.config.rule {
                    UpdateRule::Sgd => sgd(eta, decay, w, g),
                    UpdateRule::Momentum { mu } => {
                        momentum(eta, decay, mu, false, w, g, buffers.next().unwrap())
                    }
                    UpdateRule::Nesterov { mu } => {
                        momentum(eta, decay, mu, true, w, g, buffers.next().unwrap())
                    }
                    UpdateRule::Adam {
                        beta1,
                        beta2,
                        epsilon,
                    }
                    | UpdateRule::AdamW {
                        beta1,
                        beta2,
                        epsilon,
                        ..
                    } => {
                        if let (0, UpdateRule::AdamW { weight_decay, .. }) = (p, self.config.rule) {
                            // AdamW's decoupled decay, on the weights only.
                            let keep = T::from_f64(1.0 - eta * weight_decay);
                            w.iter_mut().for_each(|w| *w *= keep);
                        }
                        let (m, s) = (buffers.next().unwrap(), buffers.next().unwrap());
                        let adam = Adam::new(eta, beta1, beta2, epsilon, self.state.steps);
                        adam.step(decay, w, g, m, s);
                    }
                }
            }
        }
        Ok(())
    }

    /// The current learning rate η.
    pub fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    /// Changes η from the next step on.
    ///
    /// # Errors
    /// [`Error::Config`] unless η is finite, positive and at most [`MAX_LEARNING_RATE`] (as
    /// [`OptimizerConfig::validate`] asks); η is then unchanged.
    pub fn set_learning_rate(&mut self, eta: f64) -> Result<()> {
        check_learning_rate(eta)?;
        self.config.learning_rate = eta;
        Ok(())
    }

    /// η from the next step on as the run's schedule gives it: η₀ (checked) scaled by a factor
    /// in (0, 1], which may only underflow towards 0.
    pub(crate) fn set_scheduled_rate(&mut self, eta: f64) {
        self.config.learning_rate = eta;
    }
}

/// η must be finite, positive and at most [`MAX_LEARNING_RATE`].
fn check_learning_rate(eta: f64) -> Result<()> {
    if !(eta.is_finite() && eta > 0.0) {
        return Err(Error::Config(format!(
            "the learning rate must be a positive number, got {eta}"
        )));
    }
    if eta > MAX_LEARNING_RATE {
        return Err(Error::Config(format!(
            "the learning rate must be at most {MAX_LEARNING_RATE} (one step that long moves a weight by hundreds), got {eta}"
        )));
    }
    Ok(())
}

/// w ← (1 − ηλ/n)·w − η·g: Nielsen's regularised rule, the notes' when λ = 0.
fn sgd<T: Real>(eta: f64, decay: f64, w: &mut [T], g: &[T]) {
    if decay > 0.0 {
        let keep = T::from_f64(1.0 - eta * decay);
        w.iter_mut().for_each(|w| *w *= keep);
    }
    // w + (−η)·g is exactly w − η·g.
    axpy(Kernels::current(), T::from_f64(-eta), g, w);
}

/// v ← μ·v − η·g';  w ← w + v (momentum) or w ← w + μ·v − η·g' (Nesterov), g' = g + λ/n·w.
fn momentum<T: Real>(
    eta: f64,
    decay: f64,
    mu: f64,
    nesterov: bool,
    w: &mut [T],
    g: &[T],
    v: &mut [T],
) {
    let (eta, decay, mu) = (T::from_f64(eta), T::from_f64(decay), T::from_f64(mu));
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
        let g = g + decay * *w;
        *v = mu * *v - eta * g;
        *w += if nesterov { mu * *v - eta * g } else { *v };
    }
}

/// One Adam step's constants: η/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ) fold the bias corrections in.
struct Adam<T> {
    beta1: T,
    beta2: T,
    epsilon: T,
    step_size: T,
    inv_sqrt_bc2: T,
}

impl<T: Real> Adam<T> {
    fn new(eta: f64, beta1: f64, beta2: f64, epsilon: f64, t: u64) -> Self {
        let t = t.min(i32::MAX as u64) as i32;
        let (bc1, bc2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
        Adam {
            beta1: T::from_f64(beta1),
            beta2: T::from_f64(beta2),
            epsilon: T::from_f64(epsilon),
            step_size: T::from_f64(eta / bc1),
            inv_sqrt_bc2: T::from_f64(1.0 / bc2.sqrt()),
        }
    }

    fn step(&self, decay: f64, w: &mut [T], g: &[T], m: &mut [T], s: &mut [T]) {
        let decay = T::from_f64(decay);
        // Chosen here, on the calling thread, for every part.
        let kernels = Kernels::current();
        // Each parameter's update is its own, so sharing them out changes no result.
        const CHUNK: usize = 1 << 14;
        if crate::kernels::threads() > 1 && w.len() > 2 * CHUNK {
            use crate::kernels::Parts;
            let (ws, ms, ss) = (Parts::new(w), Parts::new(m), Parts::new(s));
            let len = g.len();
            crate::kernels::for_each_part(len.div_ceil(CHUNK), &|p| {
                let run = p * CHUNK..((p + 1) * CHUNK).min(len);
                // SAFETY: every part takes its own run of parameters.
                let (w, m, s) = unsafe {
                    (
                        ws.range(run.clone()),
                        ms.range(run.clone()),
                        ss.range(run.clone()),
                    )
                };
                self.update(kernels, decay, w, &g[run], m, s);
            });
        } else {
            self.update(kernels, decay, w, g, m, s);
        }
    }

    /// The update of `step` for one run of parameters.
    fn update(&self, kernels: Kernels, decay: T, w: &mut [T], g: &[T], m: &mut [T], s: &mut [T]) {
        let adam = self;
        // Compiled for the kernels' instruction set: 8 or 16 square roots and divisions at a time.
        with_kernels!(
            kernels,
            fn update<T>(adam: &Adam<T>, decay: T, w: &mut [T], g: &[T], m: &mut [T], s: &mut [T]) {
                let (one_b1, one_b2) = (T::ONE - adam.beta1, T::ONE - adam.beta2);
                for (((w, &g), m), s) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(s.iter_mut()) {
                    let g = g + decay * *w;
                    *m = adam.beta1 * *m + one_b1 * g;
                    *s = adam.beta2 * *s + one_b2 * g * g;
                    *w -= adam.step_size * *m / (s.sqrt() * adam.inv_sqrt_bc2 + adam.epsilon);
                }
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Init};

    /// A 1-1 network with w = 0.5, b = −1, and a gradient ∂C/∂w = 0.2, ∂C/∂b = −0.4.
    fn setup() -> (Network<f64>, Gradient<f64>) {
        let arch = Architecture::sigmoid(vec![1, 1]);
        let mut net = Network::<f64>::new(&arch, Init::Normal, 0).unwrap();
        net.layers[0].weights[0] = 0.5;
        net.layers[0].biases[0] = -1.0;
        let mut grad = Gradient::zeros_like(&net);
        grad.layers[0].dc_dw[0] = 0.2;
        grad.layers[0].dc_db[0] = -0.4;
        (net, grad)
    }

    fn wb(net: &Network<f64>) -> (f64, f64) {
        (net.layers[0].weights[0], net.layers[0].biases[0])
    }

    fn close(got: (f64, f64), expected: (f64, f64)) {
        assert!(
            (got.0 - expected.0).abs() < 1e-12 && (got.1 - expected.1).abs() < 1e-12,
            "{got:?} vs {expected:?}"
        );
    }

    fn config(name: &str, eta: f64, l2: f64) -> OptimizerConfig {
        OptimizerConfig {
            rule: UpdateRule::with_defaults(name).unwrap(),
            learning_rate: eta,
            l2,
        }
    }

    #[test]
    fn one_sgd_step_by_hand() {
        // η = 1.5: w ← 0.5 − 1.5·0.2 = 0.2;  b ← −1 − 1.5·(−0.4) = −0.4.
        let (mut net, grad) = setup();
        let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
        sgd.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.2, -0.4));
    }

    #[test]
    fn sgd_with_l2_by_hand() {
        // Nielsen's rule with η = 0.5, λ = 5, n = 50: w ← (1 − 0.5·5/50)·0.5 − 0.5·0.2
        // = 0.95·0.5 − 0.1 = 0.375; the bias is not regularised: b ← −1 + 0.5·0.4 = −0.8.
        let (mut net, grad) = setup();
        let mut sgd = config("sgd", 0.5, 5.0).build(&net, 50).unwrap();
        sgd.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.375, -0.8));
    }

    #[test]
    fn momentum_two_steps_by_hand() {
        // μ = 0.9, η = 0.1, the same gradient twice.
        // step 1: v_w = −0.1·0.2 = −0.02,         w = 0.48;   v_b = 0.04,  b = −0.96
        // step 2: v_w = 0.9·(−0.02) − 0.02 = −0.038, w = 0.442; v_b = 0.076, b = −0.884
        let (mut net, grad) = setup();
        let mut opt = config("momentum", 0.1, 0.0).build(&net, 1).unwrap();
        opt.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.48, -0.96));
        opt.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.442, -0.884));
    }

    #[test]
    fn nesterov_two_steps_by_hand() {
        // μ = 0.9, η = 0.1; w ← w + μ·v − η·g after v ← μ·v − η·g.
        // step 1: v_w = −0.02, w = 0.5 + 0.9·(−0.02) − 0.02 = 0.462
        //         v_b = 0.04,  b = −1 + 0.036 + 0.04 = −0.924
        // step 2: v_w = −0.038, w = 0.462 − 0.0342 − 0.02 = 0.4078
        //         v_b = 0.076,  b = −0.924 + 0.0684 + 0.04 = −0.8156
        let (mut net, grad) = setup();
        let mut opt = config("nesterov", 0.1, 0.0).build(&net, 1).unwrap();
        opt.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.462, -0.924));
        opt.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.4078, -0.8156));
    }

    #[test]
    fn adam_two_steps_by_hand() {
        // β₁ = 0.9, β₂ = 0.999, ε = 1e-8, η = 0.01, g_w = 0.2 twice.
        // step 1: m = 0.02, s = 0.001·0.04 = 4e-5; m̂ = 0.02/0.1 = 0.2, ŝ = 4e-5/0.001 = 0.04,
        //         w = 0.5 − 0.01·0.2/(0.2 + 1e-8) ≈ 0.49 (Adam's first step is ±η).
        // step 2: m = 0.9·0.02 + 0.02 = 0.038, m̂ = 0.038/0.19 = 0.2;
        //         s = 0.999·4e-5 + 4e-5 = 7.996e-5, ŝ = 7.996e-5/0.001999 = 0.04;
        //         w = 0.49 − 0.01·0.2/(0.2 + 1e-8) ≈ 0.48.
        // The bias moves by +η each step, its gradient being negative.
        let eps_term = |x: f64| 0.01 * x / (x + 1e-8);
        let (mut net, grad) = setup();
        let mut opt = config("adam", 0.01, 0.0).build(&net, 1).unwrap();
        opt.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.5 - eps_term(0.2), -1.0 + eps_term(0.4)));
        opt.step(&mut net, &grad).unwrap();
        close(
            wb(&net),
            (0.5 - 2.0 * eps_term(0.2), -1.0 + 2.0 * eps_term(0.4)),
        );
        assert_eq!(opt.state().steps, 2);
    }

    #[test]
    fn adamw_decays_weights_not_biases() {
        // d = 0.01, η = 0.01: w ← (1 − 1e-4)·0.5 = 0.49995, then the Adam step −0.01.
        let (mut net, grad) = setup();
        let mut opt = config("adamw", 0.01, 0.0).build(&net, 1).unwrap();
        opt.step(&mut net, &grad).unwrap();
        let step = |x: f64| 0.01 * x / (x + 1e-8);
        close(wb(&net), (0.49995 - step(0.2), -1.0 + step(0.4)));
    }

    #[test]
    fn set_learning_rate_changes_the_next_step() {
        let (mut net, grad) = setup();
        let mut sgd = OptimizerConfig::default().build(&net, 1).unwrap();
        sgd.set_learning_rate(0.5).unwrap();
        assert_eq!(sgd.learning_rate(), 0.5);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1001.0] {
            let msg = sgd.set_learning_rate(bad).unwrap_err().to_string();
            assert!(msg.contains("the learning rate must be"), "{bad}: {msg}");
            assert_eq!(sgd.learning_rate(), 0.5, "unchanged after {bad}");
        }
        sgd.step(&mut net, &grad).unwrap();
        close(wb(&net), (0.4, -0.8));
    }

    #[test]
    fn bad_hyper_parameters_are_rejected() {
        for eta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = OptimizerConfig::sgd(eta).validate().unwrap_err();
            assert!(err.to_string().contains("learning rate"), "{err}");
        }
        let err = config("sgd", 0.1, -1.0).validate().unwrap_err();
        assert!(err.to_string().contains("λ"), "{err}");
        let mut c = config("momentum", 0.1, 0.0);
        c.rule = UpdateRule::Momentum { mu: 1.0 };
        assert!(c.validate().unwrap_err().to_string().contains("μ"));
        c.rule = UpdateRule::Adam {
            beta1: 0.9,
            beta2: 1.5,
            epsilon: 1e-8,
        };
        assert!(c.validate().unwrap_err().to_string().contains("β₂"));
        assert!(UpdateRule::with_defaults("rmsprop").is_none());
        for name in UpdateRule::NAMES {
            assert_eq!(UpdateRule::with_defaults(name).unwrap().name(), name);
        }
    }
}
