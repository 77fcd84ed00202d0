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
use backprop::serve::{App, LiveRun};
use backprop::{check_fits, model_io};
use clap::{Args, FromArgMatches};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model file written by `backprop train` (it must take 784 = 28×28 inputs); with
    /// --train, the model to continue training from
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

/// The page's state: a model to look into, or a run to train live.
fn app(args: &ServeArgs) -> anyhow::Result<(App, String)> {
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
        let net = model_io::load(path)?;
        if net.n_inputs() != SIDE * SIDE {
            bail!(
                "{}: the model takes {} inputs, but the page feeds it 28×28 = 784 pixels",
                path.display(),
                net.n_inputs()
            );
        }
        let (test, _) = data::load_test(args.run.data.as_deref())?;
        return Ok((App::new(net, Some(test)), path.display().to_string()));
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
        optimizer.set_learning_rate(lr);
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
        App::live(run),
        format!("live training (Save writes {})", args.run.out.display()),
    ))
}

/// `TrainArgs` as parsed from no flags at all.
fn default_train_args() -> TrainArgs {
    let cmd = <TrainArgs as Args>::augment_args(clap::Command::new("serve"));
    TrainArgs::from_arg_matches(&cmd.get_matches_from(["serve"])).expect("defaults parse")
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (app, what) = app(&args)?;
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
    writeln!(out, "draw a digit there; Ctrl-C stops the server")?;
    out.flush()?;
    drop(out);

    let limits = Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        ..Limits::default()
    };
    let app = move |r: &Request| app.handle(&r.method, &r.target, &r.body);
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
