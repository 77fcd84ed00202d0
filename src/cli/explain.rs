//! `backprop explain`: the notes' worked example, step by step, every number computed by the
//! library (`backprop::inspect::explain`).

use backprop::inspect::explain::{self, ChainConfig, ChainTrace, LayerConfig, LayerTrace};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// The notes give a^(L) = 0.66 and y = 1 for their chain of single neurons, so C₀ = 0.1156, but
/// not the weights that lead there: the defaults below are chosen so that the chain gives those
/// figures to the four digits printed (a^(L) = 0.659993, C₀ = 0.115605). The layer example's
/// defaults are ours too.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Chain: the input a^(L−3) = x
    #[arg(
        long,
        default_value_t = 0.5,
        allow_negative_numbers = true,
        value_name = "X"
    )]
    pub input: f64,

    /// Chain: the weights w of the layers L−2, L−1, L (one per layer; give more or fewer for a
    /// longer or shorter chain)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.8,1.2,1.61",
        allow_hyphen_values = true,
        value_name = "W,..."
    )]
    pub weights: Vec<f64>,

    /// Chain: the biases b of the layers, one per weight
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.1,-0.4,-0.28",
        allow_hyphen_values = true,
        value_name = "B,..."
    )]
    pub biases: Vec<f64>,

    /// Chain: the expected output y
    #[arg(
        long,
        default_value_t = 1.0,
        allow_negative_numbers = true,
        value_name = "Y"
    )]
    pub target: f64,

    /// η of the gradient-descent step θ ← θ − η∇C₀ (the `train` default)
    #[arg(
        long,
        default_value_t = 1.5,
        allow_negative_numbers = true,
        value_name = "ETA"
    )]
    pub learning_rate: f64,

    /// Layer example: the activations a_k^(L−1) of the previous layer
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.6,0.3",
        allow_hyphen_values = true,
        value_name = "A,..."
    )]
    pub layer_input: Vec<f64>,

    /// Layer example: the weights w_jk^(L), row by row (neuron j = 0 first)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.5,-0.3,0.8,0.2,-0.6,0.9",
        allow_hyphen_values = true,
        value_name = "W,..."
    )]
    pub layer_weights: Vec<f64>,

    /// Layer example: the biases b_j^(L)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.1,-0.2,0",
        allow_hyphen_values = true,
        value_name = "B,..."
    )]
    pub layer_biases: Vec<f64>,

    /// Layer example: the expected outputs y_j
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,0,0",
        allow_hyphen_values = true,
        value_name = "Y,..."
    )]
    pub layer_target: Vec<f64>,

    /// Print the two traces as one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

impl ExplainArgs {
    fn chain(&self) -> ChainConfig {
        ChainConfig {
            input: self.input,
            weights: self.weights.clone(),
            biases: self.biases.clone(),
            target: self.target,
            learning_rate: self.learning_rate,
        }
    }

    fn layer(&self) -> LayerConfig {
        LayerConfig {
            a_prev: self.layer_input.clone(),
            weights: self.layer_weights.clone(),
            biases: self.layer_biases.clone(),
            target: self.layer_target.clone(),
        }
    }
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let chain = explain::chain(&args.chain())?;
    let layer = explain::layer(&args.layer())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", json!({"chain": chain, "layer": layer}))?;
    } else {
        write!(
            out,
            "{}",
            chain_text(&chain, args.chain() == ChainConfig::default())
        )?;
        writeln!(out)?;
        write!(out, "{}", layer_text(&layer))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The notes' name of layer l of n: L, L−1, L−2, …
fn sup(l: usize, n: usize) -> String {
    if l == n {
        "L".into()
    } else {
        format!("L−{}", n - l)
    }
}

/// A number with four decimals, and a minus sign that lines up.
fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.replace('-', "−")
}

/// A factor inside a product: negative numbers in parentheses.
fn factor(v: f64) -> String {
    if v < 0.0 {
        format!("({})", num(v))
    } else {
        num(v)
    }
}

/// `notes`: the chain is the notes' example (the defaults), which the text then says.
fn chain_text(t: &ChainTrace, notes: bool) -> String {
    let n = t.steps.len();
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "1. A chain of single neurons, input → {} → output (sigmoid σ, the notes' quadratic cost)",
        if n > 2 {
            format!("{} hidden", n - 1)
        } else if n == 2 {
            "1 hidden".into()
        } else {
            "no hidden".into()
        }
    ));
    line(String::new());
    line("Forward pass, (2) z = w a + b and (3) a = σ(z):".into());
    line(format!("  a^({}) = x = {}", sup(0, n), num(t.input)));
    for (i, st) in t.steps.iter().enumerate() {
        let (l, p) = (sup(i + 1, n), sup(i, n));
        line(format!(
            "  z^({l}) = w^({l}) a^({p}) + b^({l}) = {} × {} + {} = {}     a^({l}) = σ({}) = {}",
            num(st.w),
            factor(st.a_prev),
            factor(st.b),
            num(st.z),
            num(st.z),
            num(st.a)
        ));
    }
    let out = t.steps[n - 1].a;
    line(format!(
        "  cost (1): C₀ = (a^(L) − y)² = ({} − {})² = {}",
        num(out),
        num(t.target),
        num(t.cost)
    ));
    if notes {
        line(
            "  these are the notes' figures, a^(L) = 0.66 and C₀ = (0.66 − 1)² = 0.1156: the default weights and biases are chosen to give them"
                .into(),
        );
    }
    line(String::new());
    line("Backward pass, the chain rule from the output back:".into());
    for (i, st) in t.steps.iter().enumerate().rev() {
        let (l, p) = (sup(i + 1, n), sup(i, n));
        if i + 1 == n {
            line(format!("  layer {l}:"));
            line(format!(
                "    {:<17} = 2(a^({l}) − y) = 2 × ({} − {}) = {}",
                format!("∂C₀/∂a^({l})"),
                num(st.a),
                num(t.target),
                num(st.dc_da)
            ));
        } else {
            line(format!(
                "  layer {l}: keep going backwards with ∂C₀/∂a^({l}) in place of 2(a − y)"
            ));
            line(format!(
                "    {:<17} = {} (from layer {})",
                format!("∂C₀/∂a^({l})"),
                num(st.dc_da),
                sup(i + 2, n)
            ));
        }
        line(format!(
            "    {:<17} = σ'(z^({l})) = a^({l})(1 − a^({l})) = {} × {} = {}",
            format!("∂a^({l})/∂z^({l})"),
            num(st.a),
            num(1.0 - st.a),
            num(st.sigma_prime)
        ));
        line(format!(
            "    {:<17} = a^({p}) = {}",
            format!("∂z^({l})/∂w^({l})"),
            num(st.a_prev)
        ));
        line(format!(
            "    {:<17} = a^({p}) σ'(z^({l})) ∂C₀/∂a^({l}) = {} × {} × {} = {}",
            format!("∂C₀/∂w^({l})"),
            factor(st.a_prev),
            factor(st.sigma_prime),
            factor(st.dc_da),
            num(st.dc_dw)
        ));
        line(format!(
            "    {:<17} = 1 × σ'(z^({l})) ∂C₀/∂a^({l}) = {} × {} = {}",
            format!("∂C₀/∂b^({l})"),
            factor(st.sigma_prime),
            factor(st.dc_da),
            num(st.dc_db)
        ));
        line(format!(
            "    {:<17} = w^({l}) σ'(z^({l})) ∂C₀/∂a^({l}) = {} × {} × {} = {}",
            format!("∂C₀/∂a^({p})"),
            factor(st.w),
            factor(st.sigma_prime),
            factor(st.dc_da),
            num(st.dc_da_prev)
        ));
    }
    line(String::new());
    line(format!(
        "Gradient descent, θ ← θ − η ∇C₀ with η = {}:",
        num(t.learning_rate)
    ));
    for (i, st) in t.steps.iter().enumerate() {
        let l = sup(i + 1, n);
        line(format!(
            "  w^({l}) = {} − {} × {} = {}     b^({l}) = {} − {} × {} = {}",
            num(st.w),
            num(t.learning_rate),
            factor(st.dc_dw),
            num(st.new_w),
            num(st.b),
            num(t.learning_rate),
            factor(st.dc_db),
            num(st.new_b)
        ));
    }
    line(format!(
        "  the same input again: a^(L) = {} (was {}), C₀ = {} (was {})",
        num(t.new_output),
        num(out),
        num(t.new_cost),
        num(t.cost)
    ));
    s
}

fn layer_text(t: &LayerTrace) -> String {
    let (n_in, n_out) = (t.a_prev.len(), t.a.len());
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "2. A layer L of {n_out} neurons fed by {n_in} in L−1: a neuron k of L−1 feeds every neuron j of L, so"
    ));
    line("   its sensitivity sums over them: ∂C₀/∂a_k^(L−1) = Σ_j w_jk σ'(z_j) ∂C₀/∂a_j".into());
    line(String::new());
    let a_prev: Vec<String> = t.a_prev.iter().map(|&v| num(v)).collect();
    line(format!("  a^(L−1) = ({})", a_prev.join(", ")));
    for j in 0..n_out {
        let terms: Vec<String> = (0..n_in)
            .map(|k| {
                format!(
                    "{} × {}",
                    factor(t.weights[j * n_in + k]),
                    factor(t.a_prev[k])
                )
            })
            .collect();
        line(format!(
            "  z_{j} = {} + {} = {}     a_{j} = σ(z_{j}) = {}     y_{j} = {}",
            terms.join(" + "),
            factor(t.biases[j]),
            num(t.z[j]),
            num(t.a[j]),
            num(t.target[j])
        ));
    }
    let squares: Vec<String> = (0..n_out)
        .map(|j| format!("({} − {})²", num(t.a[j]), num(t.target[j])))
        .collect();
    line(format!(
        "  C₀ = Σ_j (a_j − y_j)² = {} = {}",
        squares.join(" + "),
        num(t.cost)
    ));
    line(String::new());
    for j in 0..n_out {
        line(format!(
            "  neuron {j}: ∂C₀/∂a_{j} = 2(a_{j} − y_{j}) = {}   σ'(z_{j}) = {}   ∂C₀/∂b_{j} = σ'(z_{j}) ∂C₀/∂a_{j} = {}",
            num(t.dc_da[j]),
            num(t.sigma_prime[j]),
            num(t.dc_db[j])
        ));
        let dw: Vec<String> = (0..n_in)
            .map(|k| {
                format!(
                    "∂C₀/∂w_{j}{k} = {} × {} = {}",
                    factor(t.a_prev[k]),
                    factor(t.dc_db[j]),
                    num(t.dc_dw[j * n_in + k])
                )
            })
            .collect();
        line(format!("            {}", dw.join("   ")));
    }
    line(String::new());
    for k in 0..n_in {
        let terms: Vec<String> = (0..n_out)
            .map(|j| {
                format!(
                    "{} × {} × {}",
                    factor(t.weights[j * n_in + k]),
                    factor(t.sigma_prime[j]),
                    factor(t.dc_da[j])
                )
            })
            .collect();
        let values: Vec<String> = t.terms[k].iter().map(|&v| factor(v)).collect();
        line(format!("  ∂C₀/∂a_{k}^(L−1) = Σ_j w_j{k} σ'(z_j) ∂C₀/∂a_j"));
        line(format!("               = {}", terms.join(" + ")));
        line(format!(
            "               = {} = {}",
            values.join(" + "),
            num(t.dc_da_prev[k])
        ));
    }
    line(
        "  and so on backwards: these ∂C₀/∂a^(L−1) play the part of 2(a − y) for layer L−1.".into(),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: ExplainArgs,
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let w = Wrap::try_parse_from(["explain"]).unwrap();
        assert_eq!(w.args.chain(), ChainConfig::default());
        assert_eq!(w.args.layer(), LayerConfig::default());
        let w =
            Wrap::try_parse_from(["explain", "--weights", "-1,2", "--biases", "0,-0.5"]).unwrap();
        assert_eq!(w.args.weights, vec![-1.0, 2.0]);
    }

    #[test]
    fn sup_uses_the_notes_names() {
        assert_eq!(sup(3, 3), "L");
        assert_eq!(sup(0, 3), "L−3");
        assert_eq!(num(-0.5), "−0.5000");
        assert_eq!(factor(-0.5), "(−0.5000)");
    }
}
