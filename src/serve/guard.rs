//! Which requests are the page's own. A page on any other site can make a browser send requests
//! to 127.0.0.1, so before a request reaches the routes:
//!
//! ```text
//! Host          must name the address being served, with its port       else 403
//!               (a name the attacker controls that resolves to 127.0.0.1 is DNS rebinding)
//! Origin        if sent, must be this page's own: http://{Host}           else 403
//! POST, bodies  Content-Type: application/json (a plain form or a text/plain
//!               request is one a foreign page can send without asking)    else 415
//! ```

use super::http::{Framing, Head, Refusal};
use std::net::{IpAddr, SocketAddr};

/// The addresses a request may name, from what the server listens on.
#[derive(Clone, Debug)]
pub struct Guard {
    port: u16,
    /// Host names and IP literals (lower case, IPv6 without brackets) that are this server.
    names: Vec<String>,
    /// Listening on every address (0.0.0.0 or ::): any IP literal is this server.
    any_ip: bool,
}

impl Guard {
    /// A guard for a server listening on `addr`, asked for as `host` on the command line (an IP
    /// address or a name). `localhost` is accepted when the address is a loopback or every
    /// address.
    pub fn new(host: &str, addr: SocketAddr) -> Guard {
        let ip = addr.ip();
        let mut names = vec![
            ip.to_string(),
            host.trim_matches(['[', ']']).to_ascii_lowercase(),
        ];
        if ip.is_loopback() || ip.is_unspecified() {
            names.push("localhost".into());
        }
        Guard {
            port: addr.port(),
            names,
            any_ip: ip.is_unspecified(),
        }
    }

    /// Whether `head` may go on to the routes.
    ///
    /// # Errors
    /// 403 for a foreign Host or Origin (400 when Host is missing), 415 for a POST or a body
    /// that is not `application/json`.
    pub fn check(&self, head: &Head) -> Result<(), Refusal> {
        let refuse = |status, message: String| Err(Refusal { status, message });
        let Some(host) = head.header("host") else {
            return refuse(400, "the request has no Host header".into());
        };
        if !self.is_ours(host) {
            return refuse(
                403,
                format!("Host {host:?} is not this server (port {})", self.port),
            );
        }
        if let Some(origin) = head.header("origin") {
            let own = format!("http://{host}");
            if !origin.eq_ignore_ascii_case(&own) {
                return refuse(
                    403,
                    format!("requests from {origin:?} are refused; this page is {own}"),
                );
            }
        }
        let has_body = head.framing != Framing::Length(0);
        if head.method == "POST" || has_body {
            let media = head.header("content-type").unwrap_or("none");
            let essence = media.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/json") {
                return refuse(
                    415,
                    format!("request bodies must be Content-Type: application/json, not {media}"),
                );
            }
        }
        Ok(())
    }

    /// Whether a Host header's value names this server: one of its names or addresses, and its
    /// port (which may be left out only when it is 80).
    fn is_ours(&self, host: &str) -> bool {
        let (name, port) = match host.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((ip, rest)) => (ip, rest.strip_prefix(':')),
                None => return false,
            },
            None => match host.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            },
        };
        let port_ok = match port {
            Some(p) => p.parse::<u16>().ok() == Some(self.port) && !p.starts_with(['+', '0']),
            None => self.port == 80,
        };
        let name = name.to_ascii_lowercase();
        port_ok && (self.names.contains(&name) || (self.any_ip && name.parse::<IpAddr>().is_ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::http::parse_head;

    fn check(guard: &Guard, headers: &str) -> Result<(), u16> {
        let text = format!("POST /api/predict HTTP/1.1\r\n{headers}Content-Length: 2\r\n\r\n");
        let (head, _) = parse_head(text.as_bytes()).unwrap().unwrap();
        guard.check(&head).map_err(|r| r.status)
    }

    #[test]
    fn only_this_servers_host_and_origin_pass() {
        let g = Guard::new("127.0.0.1", "127.0.0.1:8080".parse().unwrap());
        let json = "Content-Type: application/json\r\n";
        let ok = |host: &str| check(&g, &format!("Host: {host}\r\n{json}"));
        assert_eq!(ok("127.0.0.1:8080"), Ok(()));
        assert_eq!(ok("LOCALHOST:8080"), Ok(()));
        assert_eq!(ok("evil.example:8080"), Err(403), "DNS rebinding");
        assert_eq!(ok("127.0.0.1:8081"), Err(403));
        assert_eq!(ok("127.0.0.1:+8080"), Err(403));
        assert_eq!(ok("127.0.0.1"), Err(403), "port 80 is not ours");
        assert_eq!(ok("10.0.0.1:8080"), Err(403));
        let origin = |o: &str| {
            check(
                &g,
                &format!("Host: 127.0.0.1:8080\r\nOrigin: {o}\r\n{json}"),
            )
        };
        assert_eq!(origin("http://127.0.0.1:8080"), Ok(()));
        assert_eq!(origin("http://evil.example"), Err(403));
        assert_eq!(origin("null"), Err(403));
        assert_eq!(
            origin("http://localhost:8080"),
            Err(403),
            "not the Host sent"
        );

        let any = Guard::new("0.0.0.0", "0.0.0.0:80".parse().unwrap());
        let host = |h: &str| check(&any, &format!("Host: {h}\r\n{json}"));
        assert_eq!(host("192.168.1.20"), Ok(()));
        assert_eq!(host("[fe80::1]"), Ok(()));
        assert_eq!(host("evil.example"), Err(403));
    }

    #[test]
    fn bodies_must_be_json() {
        let g = Guard::new("127.0.0.1", "127.0.0.1:8080".parse().unwrap());
        let ct = |c: &str| check(&g, &format!("Host: 127.0.0.1:8080\r\n{c}"));
        assert_eq!(
            ct("Content-Type: application/json; charset=utf-8\r\n"),
            Ok(())
        );
        assert_eq!(ct("Content-Type: text/plain\r\n"), Err(415));
        assert_eq!(
            ct("Content-Type: application/x-www-form-urlencoded\r\n"),
            Err(415)
        );
        assert_eq!(ct(""), Err(415));
    }
}
