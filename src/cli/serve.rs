//! `backprop serve`: the draw-a-digit page on a local web server. The routes and the JSON are
//! `backprop::serve::handle`; this file owns the socket and the size limit on reading bodies.

use anyhow::{anyhow, bail};
use backprop::inspect::preprocess::SIDE;
use backprop::serve::{handle, too_large, MAX_BODY};
use backprop::{model_io, Network};
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    writeln!(
        out,
        "serving {} at http://{host}:{}/",
        args.model.display(),
        addr.port()
    )?;
    writeln!(out, "draw a digit there; Ctrl-C stops the server")?;
    out.flush()?;
    drop(out);

    // One thread per request: a client that stalls halfway through its body holds only its own
    // thread, never the server (tiny_http already reads each connection's headers on its own).
    let net = Arc::new(net);
    for request in server.incoming_requests() {
        let net = Arc::clone(&net);
        // If no thread can be had, the request is dropped and its connection closed.
        let _ = std::thread::Builder::new().spawn(move || answer(&net, request));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads at most [`MAX_BODY`] bytes of the body, answers, and ignores a client that has gone.
fn answer(net: &Network<f32>, mut request: tiny_http::Request) {
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
                Ok(_) => handle(net, &method, &url, &body),
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
