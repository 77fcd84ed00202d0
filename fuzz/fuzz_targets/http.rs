//! The HTTP request parsing of `backprop serve` (`backprop::serve::http`) on arbitrary bytes.
//!
//! The input is a request head followed by a chunked body. Whatever arrives: no panic; a head
//! that parses took at most MAX_HEAD bytes, has at most MAX_HEADERS headers and a length of at
//! most MAX_BODY, every prefix of it is "not yet complete", and the guard can judge it; the
//! chunked decoder gives the same body (or the same refusal) whether the bytes come at once or
//! in pieces (the first byte of the input says how large), never more than its limit.
#![no_main]

use backprop::serve::guard::Guard;
use backprop::serve::http::{encode, parse_head, Chunked, Framing, MAX_HEAD, MAX_HEADERS};
use backprop::serve::MAX_BODY;
use libfuzzer_sys::fuzz_target;

fn dechunk(bytes: &[u8], piece: usize, max: usize) -> Result<(Vec<u8>, usize), u16> {
    let mut decoder = Chunked::new(max);
    let mut body = Vec::new();
    let mut pending = Vec::new();
    let mut used = 0;
    for p in bytes.chunks(piece.max(1)) {
        pending.extend_from_slice(p);
        let n = decoder.decode(&pending, &mut body).map_err(|r| r.status)?;
        assert!(n <= pending.len());
        assert!(body.len() <= max, "{} > {max}", body.len());
        pending.drain(..n);
        used += n;
        if decoder.done() {
            return Ok((body, used));
        }
    }
    Err(0)
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&piece, bytes)) = bytes.split_first() else {
        return;
    };
    let guard = Guard::new("127.0.0.1", "127.0.0.1:8080".parse().unwrap());
    let rest = match parse_head(bytes) {
        Ok(Some((head, used))) => {
            assert!(used <= bytes.len() && used <= MAX_HEAD);
            assert!(head.headers.len() <= MAX_HEADERS);
            if let Framing::Length(n) = head.framing {
                assert!(n <= MAX_BODY);
            }
            for cut in [used / 2, used.saturating_sub(1)] {
                assert_eq!(parse_head(&bytes[..cut]), Ok(None), "prefix of {cut} bytes");
            }
            if let Err(refusal) = guard.check(&head) {
                assert!((400..500).contains(&refusal.status));
                let answer = encode(&refusal.response(), false, true);
                assert!(answer.starts_with(b"HTTP/1.1 4"));
            }
            &bytes[used..]
        }
        Ok(None) => bytes,
        Err(refusal) => {
            assert!((400..600).contains(&refusal.status), "{refusal:?}");
            bytes
        }
    };
    let max = 1 << 12;
    let whole = dechunk(rest, rest.len(), max);
    let pieces = dechunk(rest, piece as usize % 64 + 1, max);
    match (&whole, &pieces) {
        // Unfinished at once may be unfinished or refused in pieces only if refused at once too.
        (Ok(_), _) | (Err(0), _) => assert_eq!(whole, pieces),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (Err(_), Ok(_)) => panic!("refused at once, accepted in pieces"),
    }
});
