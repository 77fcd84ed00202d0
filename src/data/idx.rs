//! The IDX file format of MNIST, gzipped or raw.
//!
//! ```text
//! magic   u32 big-endian: 0x00 0x00 <type> <rank>     type 0x08 = unsigned byte
//! dims    rank × u32 big-endian
//! data    product(dims) values, row-major
//! ```
//!
//! Nothing in the header is trusted: the magic, the type, the rank and the dimensions are
//! checked, and the data must be exactly `product(dims)` bytes long, before anything of that
//! size is allocated. A gzipped file (recognised by its first two bytes, 0x1f 0x8b, not by its
//! name) is decompressed as a stream and stops one byte past what the header promises.

use crate::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The largest rank accepted: images are rank 3, labels rank 1.
const MAX_RANK: u8 = 4;
/// Type code of unsigned bytes, the only element type MNIST-like datasets use.
const UNSIGNED_BYTE: u8 = 0x08;

/// The contents of an IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions from the header, outermost first: `[60000, 28, 28]` for MNIST images.
    pub dims: Vec<usize>,
    /// `product(dims)` values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gzipped or raw.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Idx`] naming `path` if it is malformed.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    parse_idx(path, std::io::BufReader::new(file), Some(len))
}

/// Parses IDX bytes (gzipped or raw) that came from `path` (used in error messages only).
///
/// # Errors
/// [`Error::Idx`] if the bytes are malformed.
pub fn parse_idx_bytes(path: &Path, bytes: &[u8]) -> Result<Idx> {
    parse_idx(path, bytes, Some(bytes.len() as u64))
}

/// Parses IDX from a reader. `len`, if known, is the length of the raw (possibly gzipped)
/// stream.
fn parse_idx(path: &Path, mut reader: impl Read, len: Option<u64>) -> Result<Idx> {
    let err = |reason: String| Error::Idx {
        path: path.to_path_buf(),
        reason,
    };
    let mut first = [0u8; 2];
    let got = read_up_to(&mut reader, &mut first).map_err(|e| Error::io(path, e))?;
    if got == 0 {
        return Err(err("empty file, expected an IDX header".into()));
    }
    let prefix = &first[..got];
    if prefix == [0x1f, 0x8b] {
        let decoder = GzDecoder::new(prefix.chain(reader));
        // Deflate expands at most 1032-fold: reserve no more than the compressed size allows.
        let reserve = len.map_or(usize::MAX, |l| l.saturating_mul(1032) as usize);
        parse_raw(path, decoder, None, reserve)
    } else {
        parse_raw(path, prefix.chain(reader), len, usize::MAX)
    }
}

/// Parses an uncompressed IDX stream; `len` is its total length when known, `reserve` the most
/// the data buffer may reserve before the data arrives.
fn parse_raw(path: &Path, mut reader: impl Read, len: Option<u64>, reserve: usize) -> Result<Idx> {
    let err = |reason: String| Error::Idx {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| {
        use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        if matches!(e.kind(), InvalidInput | InvalidData | UnexpectedEof) {
            err(format!("corrupt or truncated gzip stream: {e}"))
        } else {
            Error::io(path, e)
        }
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic).map_err(io)?;
    if got < 4 {
        return Err(err(format!(
            "file too short for an IDX header: {got} bytes, expected at least 4"
        )));
    }
    let found = u32::from_be_bytes(magic);
    let (type_code, rank) = (magic[2], magic[3]);
    if magic[0] != 0 || magic[1] != 0 {
        return Err(err(format!(
            "bad IDX magic 0x{found:08x}, expected 0x0000080N (0x00000803 for images, 0x00000801 for labels)"
        )));
    }
    if type_code != UNSIGNED_BYTE {
        return Err(err(format!(
            "IDX element type 0x{type_code:02x} is not supported, expected 0x08 (unsigned byte)"
        )));
    }
    if rank == 0 || rank > MAX_RANK {
        return Err(err(format!(
            "IDX rank {rank} is not supported, expected 1 to {MAX_RANK}"
        )));
    }
    let mut header = vec![0u8; 4 * rank as usize];
    let got = read_up_to(&mut reader, &mut header).map_err(io)?;
    if got < header.len() {
        return Err(err(format!(
            "truncated IDX header: {} dimension bytes, expected {}",
            got,
            header.len()
        )));
    }
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("IDX dimensions {dims:?} overflow")))?;
    let header_len = 4 + header.len() as u64;
    if let Some(len) = len {
        let data_len = len - header_len.min(len);
        if data_len != expected as u64 {
            return Err(err(format!(
                "header {dims:?} promises {expected} bytes of data, the file has {data_len}"
            )));
        }
    }
    // Read at most one byte more than promised; the buffer grows with what really arrives, so
    // a header that lies about its size costs no more memory than the data that is there.
    let mut data = Vec::with_capacity(expected.min(64 << 20).min(reserve));
    reader
        .take(expected as u64 + 1)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() != expected {
        let more = if data.len() > expected {
            " or more"
        } else {
            ""
        };
        return Err(err(format!(
            "header {dims:?} promises {expected} bytes of data, the file has {}{more}",
            data.len()
        )));
    }
    Ok(Idx { dims, data })
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(rank_dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, rank_dims.len() as u8];
        for d in rank_dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn parse(bytes: &[u8]) -> Result<Idx> {
        parse_idx_bytes(Path::new("f.idx"), bytes)
    }

    #[test]
    fn raw_and_gzipped_parse_the_same() {
        let raw = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse(&raw).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data, (1..=12).collect::<Vec<u8>>());
        assert_eq!(parse(&gz(&raw)).unwrap(), a);
    }

    #[test]
    fn malformed_headers_name_the_problem() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty file"),
            (vec![0, 0, 8], "too short"),
            (vec![1, 2, 8, 1, 0, 0, 0, 0], "bad IDX magic 0x01020801"),
            (
                vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0],
                "element type 0x0d",
            ),
            (vec![0, 0, 8, 0], "rank 0"),
            (vec![0, 0, 8, 9], "rank 9"),
            (vec![0, 0, 8, 3, 0, 0, 0, 1], "truncated IDX header"),
            (
                idx(&[3], &[1, 2]),
                "promises 3 bytes of data, the file has 2",
            ),
            (
                idx(&[3], &[1, 2, 3, 4]),
                "promises 3 bytes of data, the file has 4",
            ),
            (
                idx(&[u32::MAX, u32::MAX, u32::MAX], &[0; 16]),
                "dimensions [4294967295, 4294967295, 4294967295] overflow",
            ),
            (
                idx(&[1 << 31, 1 << 31], &[0; 16]),
                "promises 4611686018427387904 bytes of data, the file has 16",
            ),
        ];
        for (bytes, expected) in cases {
            let msg = parse(&bytes).unwrap_err().to_string();
            assert!(msg.starts_with("f.idx: "), "{msg}");
            assert!(
                msg.contains(expected),
                "{msg:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn gzipped_lies_are_caught_without_allocating_the_claim() {
        // 4 billion images of 28×28 claimed, 10 bytes present.
        let bytes = gz(&idx(&[4_000_000_000, 28, 28], &[0; 10]));
        let msg = parse(&bytes).unwrap_err().to_string();
        assert!(
            msg.contains("promises 3136000000000 bytes of data, the file has 10"),
            "{msg}"
        );
        let bytes = gz(&idx(&[2], &[0; 5]));
        let msg = parse(&bytes).unwrap_err().to_string();
        assert!(msg.contains("the file has 3 or more"), "{msg}");
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut bytes = gz(&idx(&[100], &[7; 100]));
        let n = bytes.len();
        bytes.truncate(n - 12);
        let msg = parse(&bytes).unwrap_err().to_string();
        assert!(msg.starts_with("f.idx: "), "{msg}");
    }
}
