//! The HTTP parsing of `backprop serve` on the `http` fuzz target's seeds and corpus, on
//! stable with every `cargo test`: each named seed parses (or is refused) as its name says, and
//! nothing in the corpus panics or escapes the caps.

use backprop::serve::guard::Guard;
use backprop::serve::http::{parse_head, Chunked, Framing, MAX_HEAD};
use std::path::Path;

fn seed(name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("fuzz/seeds/http").join(name)).unwrap();
    bytes[1..].to_vec() // the first byte is the fuzz target's piece size
}

fn dechunk(bytes: &[u8]) -> Result<Vec<u8>, u16> {
    let mut d = Chunked::new(1 << 12);
    let mut body = Vec::new();
    d.decode(bytes, &mut body).map_err(|r| r.status)?;
    if d.done() {
        Ok(body)
    } else {
        Err(0)
    }
}

#[test]
fn the_named_seeds_parse_as_their_names_say() {
    let guard = Guard::new("127.0.0.1", "127.0.0.1:8080".parse().unwrap());
    let bytes = seed("chunked");
    let (head, used) = parse_head(&bytes).unwrap().unwrap();
    assert_eq!(head.framing, Framing::Chunked);
    assert!(guard.check(&head).is_ok());
    assert_eq!(dechunk(&bytes[used..]), Ok(b"hello world".to_vec()));

    let (head, _) = parse_head(&seed("get")).unwrap().unwrap();
    assert!(guard.check(&head).is_ok());
    let (head, _) = parse_head(&seed("foreign")).unwrap().unwrap();
    assert_eq!(guard.check(&head).unwrap_err().status, 403);
    assert_eq!(parse_head(&seed("two-lengths")).unwrap_err().status, 400);
    let (head, _) = parse_head(&seed("http10")).unwrap().unwrap();
    assert_eq!((head.minor, head.keep_alive), (0, false));
    assert_eq!(dechunk(&seed("bad-chunk")), Err(400));
}

#[test]
fn the_fuzz_corpus_parses_within_the_caps() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["fuzz/seeds/http", "fuzz/corpus/http"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let rest = bytes.get(1..).unwrap_or_default();
            let body = match parse_head(rest) {
                Ok(Some((_, used))) => {
                    assert!(used <= MAX_HEAD);
                    &rest[used..]
                }
                Ok(None) => rest,
                Err(r) => {
                    assert!((400..600).contains(&r.status) && !r.message.contains('\n'));
                    rest
                }
            };
            if let Ok(b) = dechunk(body) {
                assert!(b.len() <= 1 << 12);
            }
            n += 1;
        }
    }
    assert!(n >= 6, "{n} inputs");
}
