//! The protocol buffers wire format, as much of it as an ONNX file needs: a message is a
//! sequence of fields, each a key followed by a value.
//!
//! ```text
//! key      = varint( field_number << 3 | wire_type )
//! varint   = 7 bits a byte, least significant group first, high bit set on all but the last
//!            (a negative int64 is its two's complement as u64: ten bytes)
//! wire type 0  varint          int32, int64, enum
//! wire type 2  length-delimited varint(byte length) then the bytes: string, bytes, a message,
//!                               a packed repeated field
//! wire type 5  fixed32         float, 4 bytes little-endian
//! ```
//!
//! Fields may come in any order and a repeated field is the same key written again, so a
//! message is built by appending; a nested message is encoded first and written as bytes.
//! (<https://protobuf.dev/programming-guides/encoding/>)

/// Wire type of varint fields.
const VARINT: u32 = 0;
/// Wire type of length-delimited fields.
const LEN: u32 = 2;
/// Wire type of 32-bit fields.
const FIXED32: u32 = 5;

/// One message being encoded: append its fields, then take the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Message {
    bytes: Vec<u8>,
}

impl Message {
    pub(crate) fn new() -> Message {
        Message::default()
    }

    /// An integer field (int64, int32 or enum; wire type 0). Negative values take ten bytes,
    /// as protobuf's int64 does.
    pub(crate) fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, VARINT);
        put_varint(&mut self.bytes, value as u64);
        self
    }

    /// A float field (wire type 5).
    pub(crate) fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.bytes.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A bytes field (wire type 2).
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.key(field, LEN);
        put_varint(&mut self.bytes, value.len() as u64);
        self.bytes.extend_from_slice(value);
        self
    }

    /// A string field: its UTF-8 bytes.
    pub(crate) fn string(&mut self, field: u32, value: &str) -> &mut Self {
        self.bytes(field, value.as_bytes())
    }

    /// A nested message field.
    pub(crate) fn message(&mut self, field: u32, value: &Message) -> &mut Self {
        self.bytes(field, &value.bytes)
    }

    /// The encoded message.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn key(&mut self, field: u32, wire_type: u32) {
        put_varint(&mut self.bytes, u64::from(field << 3 | wire_type));
    }
}

/// Appends `v` as a varint: seven bits a byte, low bits first, the high bit meaning "more".
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_at_the_edges_of_each_byte_count() {
        // Worked by hand from the rule above; 300 = 0b10_0101100 is the protobuf guide's example.
        assert_eq!(varint(0), [0x00]);
        assert_eq!(varint(1), [0x01]);
        assert_eq!(varint(127), [0x7f]);
        assert_eq!(varint(128), [0x80, 0x01]);
        assert_eq!(varint(300), [0xac, 0x02]);
        assert_eq!(varint(16_383), [0xff, 0x7f]);
        assert_eq!(varint(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(varint(u32::MAX as u64), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(varint(u64::MAX), max);
    }

    #[test]
    fn fields_are_a_key_then_the_value() {
        let mut m = Message::new();
        // field 1 varint 150: the guide's first example, 08 96 01.
        m.int(1, 150);
        // field 2 string "testing": 12 07 74 65 73 74 69 6e 67.
        m.string(2, "testing");
        // field 1 int64 −1: ten bytes, the last 0x01.
        m.int(1, -1);
        // field 2 float 1.0: key 0x15, then 00 00 80 3f.
        m.float(2, 1.0);
        // field 16 needs a two-byte key: 16 << 3 | 2 = 130 = 82 01.
        m.bytes(16, &[]);
        let mut want = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        want.extend_from_slice(b"testing");
        want.push(0x08);
        want.extend_from_slice(&[0xff; 9]);
        want.push(0x01);
        want.extend_from_slice(&[0x15, 0x00, 0x00, 0x80, 0x3f]);
        want.extend_from_slice(&[0x82, 0x01, 0x00]);
        assert_eq!(m.into_bytes(), want);
    }

    #[test]
    fn a_nested_message_is_its_bytes_with_their_length() {
        // The guide's example: message Test3 { Test1 c = 3; } with c.a = 150 is 1a 03 08 96 01.
        let mut inner = Message::new();
        inner.int(1, 150);
        let mut outer = Message::new();
        outer.message(3, &inner);
        assert_eq!(outer.into_bytes(), [0x1a, 0x03, 0x08, 0x96, 0x01]);
    }

    #[test]
    fn a_long_field_has_a_multi_byte_length() {
        let mut m = Message::new();
        m.bytes(9, &[7; 200]);
        let bytes = m.into_bytes();
        assert_eq!(bytes[..3], [0x4a, 0xc8, 0x01]);
        assert_eq!(bytes.len(), 3 + 200);
    }
}
