//! `backprop serve`: the draw-a-digit page on a local web server. The routes and the JSON are
//! `backprop::serve::App`; this file owns the socket and the size limit on reading bodies.

use super::data;
use super::train::{setup, Setup, TrainArgs};
use anyhow::{anyhow, bail, Context};
use backprop::inspect::preprocess::SIDE;
use backprop::serve::{too_large, App, LiveRun, MAX_BODY};
use backprop::{check_fits, model_io};
use clap::{Args, FromArgMatches};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
        let (mnist, _) = data::load(args.run.data.as_deref())?;
        return Ok((App::new(net, Some(mnist.test)), path.display().to_string()));
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
    let server = tiny_http::Server::http((args.host.as_str(), args.port))
        .map_err(|e| anyhow!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow!("the server has no IP address"))?;
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

    // One thread per request: a client that stalls halfway through its body holds only its own
    // thread, never the server (tiny_http already reads each connection's headers on its own).
    let app = Arc::new(app);
    for request in server.incoming_requests() {
        let app = Arc::clone(&app);
        // If no thread can be had, the request is dropped and its connection closed.
        let _ = std::thread::Builder::new().spawn(move || answer(&app, request));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads at most [`MAX_BODY`] bytes of the body, answers, and ignores a client that has gone.
fn answer(app: &App, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let response = match request.body_length() {
        Some(len) if len > MAX_BODY => too_large(len),
        _ => {
            let mut body = Vec::new();
            match request
                .as_reader()
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut body)
            {
                Ok(_) if body.len() > MAX_BODY => too_large(body.len()),
                Ok(_) => app.handle(&method, &url, &body),
                Err(_) => return, // the client hung up or sent a broken chunked body
            }
        }
    };
    let close = response.status == 413;
    let mut reply = tiny_http::Response::from_data(response.body)
        .with_status_code(response.status)
        .with_header(header("Content-Type", response.content_type))
        .with_header(header("Cache-Control", "no-store"));
    if close {
        // The rest of an oversized body is not read: end the connection instead.
        reply = reply.with_header(header("Connection", "close"));
    }
    let _ = request.respond(reply);
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values are ASCII")
}
