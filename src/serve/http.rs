//! HTTP/1.1 requests as `backprop serve` reads them, and the bytes of its answers: pure
//! functions over byte buffers, so the parsing is tested and fuzzed without sockets
//! (`server.rs` owns the sockets).
//!
//! ```text
//! request   = request-line *( header CRLF ) CRLF [ body ]      (RFC 9112)
//! head      ≤ MAX_HEAD bytes, ≤ MAX_HEADERS headers            else 431, then close
//! body      Content-Length: 1*DIGIT ≤ MAX_BODY                 else 413 (too big) or 400
//!           Transfer-Encoding: chunked, de-chunked ≤ MAX_BODY  else 413 or 400
//! ```
//!
//! Strict where leniency lets two readers disagree about where a request ends (request
//! smuggling): CRLF line ends only, no folded headers, no space before a header's colon, one
//! Content-Length (or several equal ones), never both a length and chunks.

use super::{Response, MAX_BODY};
use serde_json::json;

/// The request line and all headers together may take at most this many bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// A request may carry at most this many headers.
pub const MAX_HEADERS: usize = 100;
/// A chunk-size line (with its extensions) or a trailer line may take at most this many bytes.
const MAX_CHUNK_LINE: usize = 1024;

/// A whole request, as the routes see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query, as sent (`/api/weights/1/0?x`).
    pub target: String,
    /// Headers in the order sent, names in lower case, values without surrounding blanks.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked), at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes follow the head (0: no body).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request's line and headers, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    /// The method.
    pub method: String,
    /// The path and query.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Lower-case names, trimmed values.
    pub headers: Vec<(String, String)>,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending its body.
    pub expect_continue: bool,
}

impl Head {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// A request that is answered with an error and whose connection is then closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 408, 413, 417, 431, 501, 505, …
    pub status: u16,
    /// One line saying what was wrong.
    pub message: String,
}

fn refuse<T>(status: u16, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        status,
        message: message.into(),
    })
}

impl Refusal {
    /// The JSON error answer.
    pub fn response(&self) -> Response {
        error(self.status, &self.message)
    }
}

/// `{"error": message}` with `status`.
pub fn error(status: u16, message: &str) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: json!({ "error": message }).to_string().into_bytes(),
    }
}

/// Parses the head at the start of `buf`: `Ok(None)` while its blank line has not arrived
/// (and it is still under [`MAX_HEAD`]), else the head and how many bytes of `buf` it took.
///
/// # Errors
/// A [`Refusal`]: 431 for a head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] headers, 413 for a
/// Content-Length over [`MAX_BODY`], 505 for a version other than 1.0 and 1.1, 501 for a
/// transfer coding other than chunked, 417 for an unknown expectation, 400 for the rest.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Refusal> {
    // Empty lines before a request line are ignored (RFC 9112 §2.2); they count towards the cap.
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let start = 2 * window.chunks(2).take_while(|pair| *pair == b"\r\n").count();
    let Some(end) = window[start..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| start + i + 4)
    else {
        if window.len() >= MAX_HEAD {
            return refuse(
                431,
                format!("the request line and headers exceed {MAX_HEAD} bytes"),
            );
        }
        if window[start..].contains(&b'\n') && !window[start..].windows(2).any(|w| w == b"\r\n") {
            return refuse(400, "lines must end with CRLF");
        }
        return Ok(None);
    };
    // Every line, the last one's CRLF included; each must then end with CR.
    let text = &buf[start..end - 3];
    let mut lines = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r"));
    let line = lines.next().flatten().unwrap_or_default();
    let (method, target, minor) = request_line(line)?;
    let mut headers = Vec::new();
    for line in lines {
        let Some(line) = line else {
            return refuse(400, "lines must end with CRLF");
        };
        if headers.len() == MAX_HEADERS {
            return refuse(431, format!("more than {MAX_HEADERS} headers"));
        }
        headers.push(header_line(line)?);
    }
    let framing = framing(&headers)?;
    if minor == 1 && headers.iter().filter(|(n, _)| n == "host").count() != 1 {
        return refuse(400, "an HTTP/1.1 request needs exactly one Host header");
    }
    let connection = |token: &str| {
        headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let keep_alive = if minor == 1 {
        !connection("close")
    } else {
        connection("keep-alive")
    };
    let expect_continue = match header(&headers, "expect") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("100-continue") => true,
        Some(v) => return refuse(417, format!("unknown expectation: {v}")),
    };
    Ok(Some((
        Head {
            method,
            target,
            minor,
            headers,
            framing,
            keep_alive,
            expect_continue,
        },
        end,
    )))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn request_line(line: &[u8]) -> Result<(String, String, u8), Refusal> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return refuse(400, "the request line is not METHOD TARGET HTTP/1.1");
    };
    if method.is_empty() || method.len() > 32 || !method.iter().all(|&b| is_token(b)) {
        return refuse(400, "the request line is not METHOD TARGET HTTP/1.1");
    }
    if target.first() != Some(&b'/') || !target.iter().all(|b| (0x21..0x7f).contains(b)) {
        return refuse(400, "the request target must be a path starting with /");
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        v if v.starts_with(b"HTTP/") => {
            return refuse(505, "only HTTP/1.0 and HTTP/1.1 are spoken here")
        }
        _ => return refuse(400, "the request line is not METHOD TARGET HTTP/1.1"),
    };
    // Both checked to be ASCII above.
    let ascii = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((ascii(method), ascii(target), minor))
}

fn header_line(line: &[u8]) -> Result<(String, String), Refusal> {
    let colon = line.iter().position(|&b| b == b':');
    let Some(colon) = colon.filter(|&c| c > 0 && line[..c].iter().all(|&b| is_token(b))) else {
        return refuse(400, "a header line is not NAME: VALUE");
    };
    let value = &line[colon + 1..];
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return refuse(400, "a header value holds a control character");
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return refuse(400, "a header value is not UTF-8");
    };
    let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
    Ok((name, value.trim_matches([' ', '\t']).to_owned()))
}

fn framing(headers: &[(String, String)]) -> Result<Framing, Refusal> {
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for (name, value) in headers {
        match name.as_str() {
            "content-length" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return refuse(
                        400,
                        format!("Content-Length {value:?} is not a number of bytes"),
                    );
                }
                // Digits only: anything that does not fit is far over the limit.
                let n = value.parse::<usize>().unwrap_or(usize::MAX);
                if length.is_some_and(|l| l != n) {
                    return refuse(400, "two different Content-Length headers");
                }
                if n > MAX_BODY {
                    return refuse(
                        413,
                        format!(
                            "the request body is {value} bytes; at most {MAX_BODY} are accepted"
                        ),
                    );
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                if chunked || !value.eq_ignore_ascii_case("chunked") {
                    return refuse(501, format!("transfer encoding {value:?} is not supported; send chunked or a Content-Length"));
                }
                chunked = true;
            }
            _ => {}
        }
    }
    match (length, chunked) {
        (Some(_), true) => refuse(
            400,
            "a request cannot have both a Content-Length and chunks",
        ),
        (_, true) => Ok(Framing::Chunked),
        (n, false) => Ok(Framing::Length(n.unwrap_or(0))),
    }
}

/// Where a chunked body's decoder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailer(usize),
    Done,
}

/// An incremental decoder of `Transfer-Encoding: chunked`: bytes go in as they arrive, in any
/// pieces, and the body comes out, never longer than `max`.
#[derive(Clone, Debug)]
pub struct Chunked {
    state: Chunk,
    max: usize,
}

impl Chunked {
    /// A decoder for a body of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Chunked {
            state: Chunk::Size,
            max,
        }
    }

    /// Whether the last chunk and the trailers have been read.
    pub fn done(&self) -> bool {
        self.state == Chunk::Done
    }

    /// Decodes what it can of `input`, appending data to `body`; returns how many bytes of
    /// `input` it used (the rest, an unfinished line, must be offered again with more).
    ///
    /// # Errors
    /// 413 once `body` would pass `max`; 400 for a malformed size line, data not followed by
    /// CRLF, or an over-long line.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, Refusal> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.state {
                Chunk::Done => return Ok(at),
                Chunk::Data(n) => {
                    let take = n.min(rest.len());
                    body.extend_from_slice(&rest[..take]);
                    at += take;
                    if take < n {
                        self.state = Chunk::Data(n - take);
                        return Ok(at);
                    }
                    self.state = Chunk::DataEnd;
                }
                Chunk::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(at);
                    }
                    if &rest[..2] != b"\r\n" {
                        return refuse(400, "a chunk's data is not followed by CRLF");
                    }
                    at += 2;
                    self.state = Chunk::Size;
                }
                Chunk::Size | Chunk::Trailer(_) => {
                    let Some(line) = rest.windows(2).position(|w| w == b"\r\n") else {
                        // A line of MAX_CHUNK_LINE bytes may still be waiting for its LF.
                        if rest.len() > MAX_CHUNK_LINE + 1 {
                            return refuse(
                                400,
                                format!("a chunk line exceeds {MAX_CHUNK_LINE} bytes"),
                            );
                        }
                        return Ok(at);
                    };
                    if line > MAX_CHUNK_LINE {
                        return refuse(400, format!("a chunk line exceeds {MAX_CHUNK_LINE} bytes"));
                    }
                    at += line + 2;
                    self.state = match self.state {
                        Chunk::Size => match self.size(&rest[..line], body.len())? {
                            0 => Chunk::Trailer(0),
                            n => Chunk::Data(n),
                        },
                        Chunk::Trailer(_) if line == 0 => Chunk::Done,
                        Chunk::Trailer(seen) if seen + line > MAX_HEAD => {
                            return refuse(431, format!("the trailers exceed {MAX_HEAD} bytes"))
                        }
                        Chunk::Trailer(seen) => Chunk::Trailer(seen + line),
                        _ => unreachable!("matched above"),
                    };
                }
            }
        }
    }

    /// The size of a chunk from its line `1*HEXDIG [ ";" extensions ]`.
    fn size(&self, line: &[u8], so_far: usize) -> Result<usize, Refusal> {
        let digits = line
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .unwrap_or(line.len());
        let rest = &line[digits..];
        let ext_ok = rest.is_empty()
            || rest
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .is_some_and(|i| rest[i] == b';');
        if digits == 0 || !ext_ok {
            return refuse(
                400,
                format!(
                    "bad chunk size line {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(40)])
                ),
            );
        }
        let hex = std::str::from_utf8(&line[..digits]).unwrap_or_default();
        let n = usize::from_str_radix(hex, 16).unwrap_or(usize::MAX);
        if n > self.max.saturating_sub(so_far) {
            return refuse(
                413,
                format!("the chunked request body exceeds {} bytes", self.max),
            );
        }
        Ok(n)
    }
}

/// The standard reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// The bytes of an answer: status line, headers, and the body unless `head_only` (a HEAD
/// request, which still gets the body's Content-Length), and `Connection: close` or
/// `keep-alive` (which HTTP/1.0 clients need to hear).
pub fn encode(response: &Response, head_only: bool, close: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: {}\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len(),
        if close { "close" } else { "keep-alive" },
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Option<(Head, usize)>, Refusal> {
        parse_head(text.as_bytes())
    }

    fn status(text: &str) -> u16 {
        head(text).expect_err(text).status
    }

    #[test]
    fn a_request_head_parses_and_says_how_long_it_was() {
        let text = "\r\nPOST /api/predict?x HTTP/1.1\r\nHost: 127.0.0.1:80\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello";
        let (h, used) = head(text).unwrap().unwrap();
        assert_eq!(used, text.len() - 5);
        assert_eq!(h.method, "POST");
        assert_eq!(h.target, "/api/predict?x");
        assert_eq!(h.framing, Framing::Length(5));
        assert_eq!(h.header("x-a"), Some("b"));
        assert!(h.keep_alive && !h.expect_continue);
        // Not yet complete.
        assert_eq!(head("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let (h, _) = head("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive);
        let (h, _) = head("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
    }

    #[test]
    fn malformed_or_oversized_heads_are_refused_with_their_status() {
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(status(&long), 431);
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(status(&many), 431);
        assert_eq!(status("GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400, "no Host");
        assert_eq!(status("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\nHost: x\n\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n"), 400);
        let cl = |v: &str| {
            status(&format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {v}\r\n\r\n"
            ))
        };
        assert_eq!(cl("-1"), 400);
        assert_eq!(cl("+5"), 400);
        assert_eq!(cl("1e3"), 400);
        assert_eq!(cl(""), 400);
        assert_eq!(cl("1048577"), 413);
        assert_eq!(cl("99999999999999999999999999"), 413);
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
            501
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"),
            417
        );
    }

    fn dechunk(input: &[u8], piece: usize) -> Result<(Vec<u8>, usize), Refusal> {
        let mut d = Chunked::new(100);
        let mut body = Vec::new();
        let mut buf = Vec::new();
        let mut used = 0;
        for p in input.chunks(piece) {
            buf.extend_from_slice(p);
            let n = d.decode(&buf, &mut body)?;
            used += n;
            buf.drain(..n);
            if d.done() {
                return Ok((body, used));
            }
        }
        refuse(0, "unfinished")
    }

    #[test]
    fn chunked_bodies_decode_in_any_pieces_and_bad_ones_are_refused() {
        let input = b"5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for piece in 1..input.len() {
            assert_eq!(
                dechunk(input, piece),
                Ok((b"hello world".to_vec(), input.len() - 4)),
                "pieces of {piece}"
            );
        }
        let code = |b: &[u8]| dechunk(b, b.len()).unwrap_err().status;
        assert_eq!(code(b"zz\r\n"), 400);
        assert_eq!(code(b"-5\r\nhello\r\n0\r\n\r\n"), 400);
        assert_eq!(code(b"5\r\nhelloXX0\r\n\r\n"), 400);
        assert_eq!(code(b"65\r\n"), 413, "101 bytes, the limit is 100");
        assert_eq!(code(b"ffffffffffffffffffffffff\r\n"), 413);
        assert_eq!(code(&[b'1'; 2000]), 400);
        assert_eq!(dechunk(b"5\r\nhel", 3).unwrap_err().status, 0, "unfinished");
    }

    #[test]
    fn answers_carry_their_length_and_head_answers_no_body() {
        let r = error(404, "no");
        let full = String::from_utf8(encode(&r, false, false)).unwrap();
        assert!(full.starts_with("HTTP/1.1 404 Not Found\r\n"), "{full}");
        assert!(full.contains("Content-Length: 14\r\n"), "{full}");
        assert!(full.ends_with("\r\n\r\n{\"error\":\"no\"}"), "{full}");
        let head = String::from_utf8(encode(&r, true, true)).unwrap();
        assert!(head.ends_with("Connection: close\r\n\r\n"), "{head}");
    }
}
