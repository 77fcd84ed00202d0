//! `backprop serve`: the draw-a-digit page on a local web server. The routes and the JSON are
//! `backprop::serve::handle`, the sockets `backprop::serve::server`; this file binds the address
//! and says what happens on the terminal.

use anyhow::{anyhow, bail};
use backprop::inspect::preprocess::SIDE;
use backprop::model_io;
use backprop::serve::guard::Guard;
use backprop::serve::handle;
use backprop::serve::http::Request;
use backprop::serve::server::{self, Event, Limits};
use clap::Args;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model file written by `backprop train` (it must take 784 = 28×28 inputs)
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,

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
}

fn timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.05..=3600.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "{s:?} is not a number of seconds from 0.05 to 3600"
        )),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let net = model_io::load(&args.model)?;
    if net.n_inputs() != SIDE * SIDE {
        bail!(
            "{}: the model takes {} inputs, but the page feeds it 28×28 = 784 pixels",
            args.model.display(),
            net.n_inputs()
        );
    }
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|e| anyhow!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let host = if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "serving {} at http://{host}:{}/",
        args.model.display(),
        addr.port()
    )?;
    writeln!(out, "draw a digit there; Ctrl-C stops the server")?;
    out.flush()?;
    drop(out);

    let limits = Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        ..Limits::default()
    };
    let app = move |r: &Request| handle(&net, &r.method, &r.target, &r.body);
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
