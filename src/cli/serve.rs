//! `backprop serve`: the draw-a-digit page on a local web server. The routes and the JSON are
//! `backprop::serve::App`, the sockets `backprop::serve::server`; this file builds the app (a
//! model to look into, or a run to train live), binds the address and says what happens on the
//! terminal.

use super::data;
use super::train::{setup, Setup, TrainArgs};
use anyhow::{anyhow, bail, Context};

use backprop::inspect::preprocess::SIDE;
use backprop::serve::guard::Guard;
use backprop::serve::http::Request;
use backprop::serve::server::{self, Event, Limits};
use backprop::serve::{App, LiveRun, Response, TableApp};
use backprop::{check_fits, model_io, Model};
use clap::{Args, FromArgMatches};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model file written by `backprop train`: a digit model (784 = 28×28 inputs) for the
    /// drawing page, or a model trained on a table (`train --data FILE.csv`) for a form with one
    /// number per feature; with --train, the digit model to continue training from
    #[arg(long, value_name = "PATH", required_unless_present = "train")]
    pub model: Option<PathBuf>,

    /// Port to listen on; 0 picks a free one (the URL printed says which)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on. The default serves this machine only; 0.0.0.0 serves the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Seconds a client has to send each whole request (from connecting or from the previous
    /// answer); idle connections are closed after it, half-sent requests get 408
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = timeout)]
    pub timeout: f64,

    /// Train live in the page: a fresh network (or --model's) with every flag of `backprop
    /// train`, starting paused; the page's Save writes it to --out
    #[arg(long)]
    pub train: bool,

    #[command(
        flatten,
        next_help_heading = "Live training (with --train, as for `backprop train`)"
    )]
    pub run: TrainArgs,
}

fn timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.05..=3600.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "{s:?} is not a number of seconds from 0.05 to 3600"
        )),
    }
}

/// What answers the requests: the page for a model trained on a table, or the digit page's app.
type Handler = Box<dyn Fn(&str, &str, &[u8]) -> Response + Send + Sync>;

/// The page's state: a table model's form, a digit model to look into, or a run to train live.
/// Returns it with what is served and what to do there.
fn app(args: &ServeArgs) -> anyhow::Result<(Handler, String, &'static str)> {
    if !args.train {
        // --data may name where the test set comes from; every other flag of train needs --train.
        let mut plain = default_train_args();
        plain.data = args.run.data.clone();
        if format!("{:?}", args.run) != format!("{:?}", plain) {
            bail!("the training flags need --train (backprop serve --train ...)");
        }
        let path = args
            .model
            .as_ref()
            .expect("clap requires --model without --train");
        let (net, info) = model_io::load_with_info(path)?;
        if super::predict_table::is_table_model(&info) {
            if let Some(data) = &args.run.data {
                bail!(
                    "--data {}: a table model's page needs no data (the form asks for one row)",
                    data.display()
                );
            }
            let page = TableApp::new(Model { net, info });
            let handler: Handler = Box::new(move |m, p, b| page.handle(m, p, b));
            return Ok((handler, path.display().to_string(), "fill in a row there"));
        }
        if net.n_inputs() != SIDE * SIDE {
            bail!(
                "{}: the model takes {} inputs, but the page feeds it 28×28 = 784 pixels",
                path.display(),
                net.n_inputs()
            );
        }
        let (test, _) = data::load_test(args.run.data.as_deref())?;
        let app = digits(App::new(net, Some(test)));
        return Ok((app, path.display().to_string(), DRAW));
    }
    if args.run.resume.is_some() || args.run.json {
        bail!("--resume and --json are for `backprop train`; serve --train saves with the page's Save");
    }
    let Setup {
        train_set,
        validation,
        test_set,
        mut net,
        mut optimizer,
        config,
        state,
        description,
        ..
    } = setup(&args.run)?;
    let mut what = description;
    if let Some(path) = &args.model {
        net = model_io::load(path)?;
        check_fits(&net, &train_set).with_context(|| format!("{}", path.display()))?;
        let lr = optimizer.learning_rate();
        optimizer = args.run.recipe()?.optimizer.build(&net, train_set.len())?;
        optimizer.set_learning_rate(lr)?;
        what = format!("{what}, continuing from {}", path.display());
    }
    if net.n_inputs() != SIDE * SIDE {
        bail!(
            "the network takes {} inputs, but the page feeds it 28×28 = 784 pixels",
            net.n_inputs()
        );
    }
    eprintln!("{what}");
    let log = args
        .run
        .log
        .clone()
        .unwrap_or_else(|| args.run.out.with_extension("log.jsonl"));
    let run = LiveRun {
        net,
        optimizer,
        train: train_set,
        validation,
        test: Some(test_set),
        config,
        state,
        out: args.run.out.clone(),
        log: Some(log),
    };
    Ok((
        digits(App::live(run)),
        format!("live training (Save writes {})", args.run.out.display()),
        DRAW,
    ))
}

const DRAW: &str = "draw a digit there";

fn digits(app: App) -> Handler {
    Box::new(move |m, p, b| app.handle(m, p, b))
}

/// `TrainArgs` as parsed from no flags at all.
fn default_train_args() -> TrainArgs {
    let cmd = <TrainArgs as Args>::augment_args(clap::Command::new("serve"));
    TrainArgs::from_arg_matches(&cmd.get_matches_from(["serve"])).expect("defaults parse")
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (app, what, hint) = app(&args)?;
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|e| anyhow!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let host = if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "serving {what} at http://{host}:{}/", addr.port())?;
    writeln!(out, "{hint}; Ctrl-C stops the server")?;
    out.flush()?;
    drop(out);

    let limits = Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        ..Limits::default()
    };
    let app = move |r: &Request| app(&r.method, &r.target, &r.body);
    server::serve(
        listener,
        Guard::new(&args.host, addr),
        limits,
        app,
        |event| {
            match event {
        Event::AcceptFailing(e) => eprintln!(
            "serve: cannot accept connections ({e}); closing idle ones and retrying, still serving (said once)"
        ),
    }
        },
    )
}
