//! A compact JSON writer into a byte buffer: what `serde_json::to_writer` writes, byte for byte,
//! at a fraction of the cost for the values certflow reports.
//!
//! A flow's evidence is a tree of many short strings and small numbers. serde_json escapes a
//! string byte by byte through a table and hands every piece to `io::Write`; here a string is
//! checked for a byte that needs escaping a word (eight bytes) at a time and, nearly always,
//! copied whole, a short one without a call to `memcpy`. The schema stays in one place: the
//! `Serialize` impls (derived, or written in `evidence.rs`) drive this writer exactly as they
//! drive serde_json.
//!
//! Only what the reports use is written here: strings, integers, booleans, options, sequences,
//! structs, maps with string keys. Anything else (floats, byte strings, 128-bit integers, enum
//! variants with fields, map keys that are not strings) makes the writer give up, and [`write()`]
//! writes the whole value again with serde_json: the output is serde_json's in every case.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

use super::text::{digit_word, push_decimal, push_two_digits, ASCII_ZEROS};

/// Appends `v` as compact JSON: the bytes `serde_json::to_writer` would write.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
    let start = out.len();
    match write_fast(out, v) {
        Ok(()) => Ok(()),
        Err(Unsupported) => {
            out.truncate(start);
            serde_json::to_writer(out, v)
        }
    }
}

/// Appends `v` with this writer alone; fails (leaving a partial value) on what it does not
/// write.
fn write_fast<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Unsupported> {
    v.serialize(Writer { out, key: false })
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
///
/// Most strings (field names, names, counters' keys) are at most 16 bytes: they are tested and
/// copied in at most two fixed-size pieces (see `load_short`) into a buffer of quotes,
/// appended whole and cut to length. A copy of a variable length would be a call to `memcpy`,
/// most of the cost of a short string.
#[inline]
pub fn string(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n > 16 {
        return long_string(out, s);
    }
    let mut buf = [b'"'; SHORT_BUF];
    if !load_short(s.as_bytes(), &mut buf, 1) {
        let start = out.len();
        out.extend_from_slice(&buf);
        out.truncate(start + n + 2);
    } else {
        escaped(out, s);
    }
}

/// Appends `lead` (the struct's opening brace before its first member, a comma before the
/// others) and `"name":`, the key of a struct member.
///
/// Always inlined, as is [`Compound`]'s `serialize_field` that calls it: a field name is a
/// constant of the `Serialize` impl that writes it (and whether it is the first member is
/// known there too), so once inlined the compiler folds the length test, the escape test and
/// the copy of the name into the buffer, and a key is written as a few stores of constants
/// (it was a push of the brace or comma, a call to [`string`] and a push of the colon).
#[inline(always)]
fn key(out: &mut Vec<u8>, lead: u8, name: &str) {
    let n = name.len();
    // `,"name":`: the lead, then a short string as `string` assembles it, then the colon.
    let mut buf = [b'"'; KEY_BUF];
    if n <= 16 && !load_short(name.as_bytes(), &mut buf, 2) {
        buf[0] = lead;
        if let Some(colon) = buf.get_mut(n + 3) {
            *colon = b':';
        }
        let start = out.len();
        out.extend_from_slice(&buf);
        out.truncate(start + n + 4);
    } else {
        out.push(lead);
        string(out, name);
        out.push(b':');
    }
}

/// Size of the buffer a short string is assembled in: its quotes and up to 16 bytes.
const SHORT_BUF: usize = 18;

/// Size of the buffer a key is assembled in: a comma, a short string and the colon after it.
const KEY_BUF: usize = SHORT_BUF + 2;

/// Copies `b` (at most 16 bytes) into `buf` at `at`, and tells whether `b` holds a byte JSON
/// escapes. No loop over the bytes: 8 to 16 bytes are read as two overlapping words, 4 to 7
/// as two overlapping halves, 1 to 3 as the first, middle and last byte (the rest of the word
/// being spaces); each piece is copied as read, a fixed-size move.
#[inline(always)]
fn load_short<const N: usize>(b: &[u8], buf: &mut [u8; N], at: usize) -> bool {
    let n = b.len();
    match n {
        0 => false,
        1..=3 => {
            let byte = |i: usize| b.get(i).copied().unwrap_or(b' ');
            let (first, mid, last) = (byte(0), byte(n / 2), byte(n - 1));
            put(buf, at, [first]);
            put(buf, at + n / 2, [mid]);
            put(buf, at + n - 1, [last]);
            let spaces = (ONES * u64::from(b' ')) & !0xff_ffff;
            let w = u64::from(first) | u64::from(mid) << 8 | u64::from(last) << 16;
            word_needs_escape(spaces | w)
        }
        4..=7 => {
            let (lo, hi) = (u32_at(b, 0), u32_at(b, n - 4));
            put(buf, at, lo.to_le_bytes());
            put(buf, at + n - 4, hi.to_le_bytes());
            word_needs_escape(u64::from(lo) | u64::from(hi) << 32)
        }
        _ => {
            let (lo, hi) = (u64_at(b, 0), u64_at(b, n - 8));
            put(buf, at, lo.to_le_bytes());
            put(buf, at + n - 8, hi.to_le_bytes());
            word_needs_escape(lo) | word_needs_escape(hi)
        }
    }
}

/// Copies `bytes` into `buf` at `at` (a fixed-size copy: a move or two).
#[inline]
fn put<const N: usize, const K: usize>(buf: &mut [u8; N], at: usize, bytes: [u8; K]) {
    if let Some(to) = buf.get_mut(at..at + K) {
        to.copy_from_slice(&bytes);
    }
}

/// [`string`] for more than 16 bytes.
#[inline(never)]
fn long_string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        escaped(out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Appends a string holding control characters, quotes or backslashes (rare): serde_json's own
/// escaping, so the escape table lives in one place.
#[cold]
#[inline(never)]
fn escaped(out: &mut Vec<u8>, s: &str) {
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, s);
}

/// 0x01 in every byte of a word.
const ONES: u64 = u64::MAX / 255;
/// 0x80 in every byte of a word.
const HIGH: u64 = ONES * 0x80;

/// True if a byte of the word `w` is one JSON escapes: a control character (below 0x20), `"`
/// or `\`. Word-at-a-time tests (S. E. Anderson, "Bit Twiddling Hacks": `hasless`, `haszero`),
/// exact for the word as a whole.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (below_space | quote | backslash) & HIGH != 0
}

/// The four bytes of `b` at `i` (0 past the end: not reached, see callers).
#[inline]
fn u32_at(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .and_then(|x| <[u8; 4]>::try_from(x).ok())
        .map_or(0, u32::from_le_bytes)
}

/// The word of the eight bytes of `b` at `i` (0 past the end: not reached, see callers).
#[inline]
fn u64_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8)
        .and_then(|x| <[u8; 8]>::try_from(x).ok())
        .map_or(0, u64::from_le_bytes)
}

/// True if `b` holds a byte JSON escapes (a control character, `"` or `\`).
fn needs_escape(b: &[u8]) -> bool {
    if b.len() <= 16 {
        load_short(b, &mut [0u8; SHORT_BUF], 1)
    } else {
        long_needs_escape(b)
    }
}

/// [`needs_escape`] for more than 16 bytes: eight at a time, the last eight overlapping the
/// ones before, stopping at the first hit. (Out of line, so the short cases keep few
/// registers; a plain loop, as the strings are not long enough to pay for a vector loop's
/// set-up.)
#[inline(never)]
fn long_needs_escape(b: &[u8]) -> bool {
    let n = b.len();
    let mut i = 0;
    while i + 8 < n {
        if word_needs_escape(u64_at(b, i)) {
            return true;
        }
        i += 8;
    }
    word_needs_escape(u64_at(b, n.saturating_sub(8)))
}

/// Appends `v` in decimal.
///
/// Inlined for one or two digits (most counts), which take a store or two; longer numbers
/// (frame numbers, byte counts) are written out of line by `long_unsigned`.
#[inline]
pub fn unsigned(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        push_two_digits(out, v);
    } else {
        long_unsigned(out, v);
    }
}

/// [`unsigned`] for three digits or more.
#[inline(never)]
fn long_unsigned(out: &mut Vec<u8>, v: u64) {
    match u32::try_from(v) {
        Ok(small @ ..100_000_000) => {
            // The eight digits at once; `v` is not 0, so its leading zeros are the word's
            // trailing zero bytes: shifted out, then the whole word is appended and cut to
            // length.
            let digits = digit_word(small);
            let zeros = (digits.trailing_zeros() / 8) as usize;
            let word = (digits | ASCII_ZEROS) >> (8 * zeros);
            let start = out.len();
            out.extend_from_slice(&word.to_le_bytes());
            out.truncate(start + 8 - zeros);
        }
        _ => huge_unsigned(out, v),
    }
}

/// [`unsigned`] for nine digits or more (rare: out of line, so the common case keeps few
/// registers).
#[cold]
#[inline(never)]
fn huge_unsigned(out: &mut Vec<u8>, v: u64) {
    push_decimal(out, v, 1);
}

/// Appends `v` in decimal, with its sign when negative.
fn signed(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    unsigned(out, v.unsigned_abs());
}

/// The writer met a value it does not write (see the module comment); [`write`] starts over
/// with serde_json.
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value not handled by the compact JSON writer")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// Writes one value. `key` when the value is a map key, which JSON wants as a string: then
/// only strings (and what serde_json writes as strings) are accepted.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    key: bool,
}

impl Writer<'_> {
    /// Fails for a value that is not a string, in key position.
    fn not_key(&self) -> Result<(), Unsupported> {
        if self.key {
            Err(Unsupported)
        } else {
            Ok(())
        }
    }

    fn int(self, v: i64) -> Result<(), Unsupported> {
        self.not_key()?;
        signed(self.out, v);
        Ok(())
    }

    fn uint(self, v: u64) -> Result<(), Unsupported> {
        self.not_key()?;
        unsigned(self.out, v);
        Ok(())
    }
}

/// An array or object being written: whether the next element needs a comma first.
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Compound<'a> {
    /// Opens an array or object with `bracket`.
    fn open(out: &'a mut Vec<u8>, bracket: u8) -> Self {
        out.push(bracket);
        Compound { out, first: true }
    }

    /// Writes the comma before every element but the first.
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.out.push(b',');
        }
    }

    /// Writes an element or a member's value.
    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        v.serialize(Writer {
            out: &mut *self.out,
            key: false,
        })
    }

    /// Closes the array or object with `bracket`.
    fn close(self, bracket: u8) -> Result<(), Unsupported> {
        self.out.push(bracket);
        Ok(())
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.not_key()?;
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.int(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.int(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.int(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.uint(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.uint(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.uint(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.uint(v)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        string(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Unsupported> {
        self.not_key()?;
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.not_key()?;
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        string(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.not_key()?;
        Ok(Compound::open(self.out, b'['))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.not_key()?;
        Ok(Compound::open(self.out, b'{'))
    }
    /// The opening brace is not written here but with the first member's key, in the same
    /// copy (see [`key`]), or by `end` when there is no member.
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unsupported> {
        self.not_key()?;
        Ok(Compound {
            out: self.out,
            first: true,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        self.comma();
        self.value(v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(b']')
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(b']')
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Unsupported> {
        self.comma();
        k.serialize(Writer {
            out: &mut *self.out,
            key: true,
        })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        self.value(v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    /// Always inlined, so that `name` is a constant for [`key`].
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        let lead = if std::mem::replace(&mut self.first, false) {
            b'{'
        } else {
            b','
        };
        key(self.out, lead, name);
        self.value(v)
    }
    fn end(self) -> Result<(), Unsupported> {
        if self.first {
            self.out.push(b'{');
        }
        self.close(b'}')
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;
    use crate::capture::{Input, ReadOptions};
    use crate::proto::testutil::all_captures;

    /// What this writer writes, by itself, without the serde_json fallback.
    fn fast<T: Serialize + ?Sized>(v: &T) -> Result<String, Unsupported> {
        let mut out = Vec::new();
        write_fast(&mut out, v)?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    /// What [`write`] writes (with the fallback).
    fn written<T: Serialize + ?Sized>(v: &T) -> String {
        let mut out = b"prefix ".to_vec();
        write(&mut out, v).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    /// `v` is written by this writer itself, as serde_json writes it.
    fn same<T: Serialize + ?Sized>(v: &T) {
        let want = serde_json::to_string(v).expect("serde_json");
        assert_eq!(fast(v).ok().as_deref(), Some(want.as_str()));
        assert_eq!(written(v), format!("prefix {want}"));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        // Every byte of ASCII alone, around plain text, and one string with all of them.
        let all: String = (0u8..=0x7f).map(char::from).collect();
        same(all.as_str());
        for c in (0u8..=0x7f).map(char::from) {
            same(&format!("{c}"));
            same(&format!("ab{c}cd"));
            same(&c);
        }
        for s in [
            "",
            "é",
            "日本語 \u{7f} \u{80} \u{ffff} 😀",
            "a\"b\\c\u{1}\u{1f}",
        ] {
            same(s);
            same(&s.to_string());
        }
    }

    /// A member's key is the brace or comma before it, the name written as a string and a
    /// colon, for names of every length up to 20 with and without characters to escape (a
    /// struct's field names are constants, each written by a copy of [`key`] the compiler
    /// specialised for it; this is the general case).
    #[test]
    fn keys_are_strings_and_a_colon() {
        for len in 0..=20usize {
            for special in [None, Some('"'), Some('\\'), Some('\n'), Some('é')] {
                let mut name: String = (0..len)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect();
                if let (Some(c), Some(at)) = (special, len.checked_sub(1)) {
                    name.replace_range(at.., &c.to_string());
                }
                let want = serde_json::to_string(&name).expect("serde_json");
                for lead in ['{', ','] {
                    let mut got = b"x".to_vec();
                    key(&mut got, lead as u8, &name);
                    let got = String::from_utf8(got).expect("UTF-8");
                    assert_eq!(got, format!("x{lead}{want}:"));
                }
            }
        }
    }

    /// The word-at-a-time test agrees with the byte-by-byte rule on every byte value at every
    /// position of strings of 0 to 40 bytes.
    #[test]
    fn escape_test_agrees_with_the_plain_rule() {
        let plain = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        let mut rng = crate::proto::testutil::Rng(0x4a53_4f4e);
        for len in 0..=40usize {
            for pos in 0..len.max(1) {
                for c in 0..=255u8 {
                    let mut b: Vec<u8> = (0..len).map(|_| b'a' + (rng.next() % 26) as u8).collect();
                    if let Some(x) = b.get_mut(pos) {
                        *x = c;
                    }
                    assert_eq!(needs_escape(&b), plain(&b), "{b:?}");
                }
            }
            // Random bytes, mostly above 0x7f and near the escaped ones.
            for _ in 0..2000 {
                let b: Vec<u8> = (0..len)
                    .map(|_| match rng.next() % 4 {
                        0 => (rng.next() % 0x30) as u8,
                        1 => 0x5a + (rng.next() % 5) as u8,
                        _ => rng.next() as u8,
                    })
                    .collect();
                assert_eq!(needs_escape(&b), plain(&b), "{b:?}");
            }
        }
    }

    /// Strings of every length up to 40, of random ASCII, control and multi-byte characters,
    /// with the characters to escape at every position.
    #[test]
    fn strings_of_every_length() {
        let mut rng = crate::proto::testutil::Rng(0x5354_5249);
        let pool = [
            'a', 'Z', ' ', '~', '\u{7f}', 'é', '€', '😀', '"', '\\', '\n', '\u{1}',
        ];
        for len in 0..=40usize {
            for _ in 0..300 {
                let plain = rng.next() % 2 == 0;
                let s: String = (0..len)
                    .map(|_| match plain {
                        true => pool[(rng.next() % 8) as usize],
                        false => pool[(rng.next() % pool.len() as u64) as usize],
                    })
                    .collect();
                same(s.as_str());
            }
        }
    }

    #[test]
    fn numbers_options_and_containers() {
        for v in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            same(&v);
        }
        // Every digit count, either side of each power of ten.
        for p in 0..20 {
            let t = 10u64.pow(p);
            for v in [t - 1, t, t + 1, t.saturating_mul(5) - 1] {
                same(&v);
            }
        }
        for v in [0i64, -1, 1, -10, 77, i64::MIN, i64::MAX] {
            same(&v);
        }
        same(&(i8::MIN, u8::MAX, i16::MIN, u16::MAX, i32::MIN, u32::MAX));
        same(&[true, false]);
        same(&(Some(3u16), None::<u16>, ()));
        same(&Vec::<u8>::new());
        same(&vec![vec!["a"], vec![], vec!["b", "c"]]);
        same(&BTreeMap::<String, u64>::new());
        same(&BTreeMap::from([("x\ty", 1u64), ("z", 2)]));
        same(&"10.0.0.1".parse::<std::net::IpAddr>().expect("address"));
        same(&"fe80::1".parse::<std::net::IpAddr>().expect("address"));

        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Wrapped(String);
        #[derive(Serialize)]
        enum Kind {
            Plain,
        }
        #[derive(Serialize)]
        struct Row {
            #[serde(rename = "a\"b")]
            name: Wrapped,
            #[serde(skip_serializing_if = "Option::is_none")]
            gone: Option<u8>,
            unit: Unit,
            kind: Kind,
            keyed: BTreeMap<Wrapped, Kind>,
            empty: BTreeMap<Kind, u8>,
        }
        impl PartialEq for Wrapped {
            fn eq(&self, o: &Self) -> bool {
                self.0 == o.0
            }
        }
        impl Eq for Wrapped {}
        impl PartialOrd for Wrapped {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Wrapped {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                self.0.cmp(&o.0)
            }
        }
        // Structs with no member written: the brace is written by `end`.
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct AllSkipped {
            #[serde(skip_serializing_if = "Option::is_none")]
            gone: Option<u8>,
        }
        same(&Empty {});
        same(&AllSkipped { gone: None });
        same(&vec![
            AllSkipped { gone: None },
            AllSkipped { gone: Some(1) },
        ]);
        same(&Row {
            name: Wrapped("n".into()),
            gone: None,
            unit: Unit,
            kind: Kind::Plain,
            keyed: BTreeMap::from([(Wrapped("k".into()), Kind::Plain)]),
            empty: BTreeMap::new(),
        });
    }

    /// What the writer does not write itself is written by serde_json, whole.
    #[test]
    fn the_rest_falls_back_to_serde_json() {
        #[derive(Serialize)]
        enum Shape {
            Newtype(u8),
            Tuple(u8, u8),
            Struct { x: u8 },
        }
        #[derive(Serialize)]
        struct Mixed {
            before: &'static str,
            after: Shape,
        }
        fn fallback<T: Serialize + ?Sized>(v: &T) {
            assert!(fast(v).is_err());
            let want = serde_json::to_string(v).expect("serde_json");
            assert_eq!(written(v), format!("prefix {want}"));
        }
        fallback(&1.5f64);
        fallback(&2.5f32);
        fallback(&u128::MAX);
        fallback(&i128::MIN);
        fallback(&serde_bytes_like());
        fallback(&Shape::Newtype(1));
        fallback(&Shape::Tuple(1, 2));
        fallback(&Shape::Struct { x: 3 });
        fallback(&Mixed {
            before: "x",
            after: Shape::Struct { x: 1 },
        });
        // Map keys serde_json writes its own way (numbers and booleans quoted, options).
        fallback(&BTreeMap::from([(7u16, "a"), (8, "b")]));
        fallback(&BTreeMap::from([(true, 1u8)]));
        fallback(&BTreeMap::from([(Some("k"), 1u8)]));
    }

    /// A value serialised with `serialize_bytes`.
    fn serde_bytes_like() -> impl Serialize {
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"ab")
            }
        }
        Bytes
    }

    /// The evidence, hosts and ICMP facts of every flow of every public capture are written by
    /// this writer itself (no fallback), byte for byte as serde_json writes them: the derived
    /// and hand-written `Serialize` impls are the one schema, and the two writers cannot drift.
    /// Each capture alone, then all of them as one set (facts then carry a capture index).
    #[test]
    fn real_evidence_is_written_as_serde_json_writes_it() {
        let Some(files) = all_captures() else {
            eprintln!("public captures absent: skipped");
            return;
        };
        let opts = ReadOptions { hash: false };
        let (mut flows, mut bytes, mut with_capture) = (0, 0, 0);
        let all: Vec<Input> = files.iter().map(|p| Input::Path(p.clone())).collect();
        let sets = files
            .iter()
            .map(|p| vec![Input::Path(p.clone())])
            .chain([all]);
        for set in sets {
            let an = crate::analysis::analyze_with(&set, &opts, true)
                .unwrap_or_else(|e| panic!("{set:?}: {e}"));
            let what = format!("{} file(s) from {:?}", set.len(), set.first());
            for f in &an.flows {
                let want = serde_json::to_string(&f.evidence).expect("serde_json");
                let got = fast(&f.evidence).expect("written without fallback");
                assert_eq!(got, want, "{what}: {:?}", f.key);
                assert_eq!(fast(&f.icmp).ok(), serde_json::to_string(&f.icmp).ok());
                flows += 1;
                bytes += got.len();
                with_capture += got.matches("\"capture\":").count();
            }
            let doc = super::super::json::FlowsDoc::new(&an);
            let want = serde_json::to_string(&doc.hosts).expect("serde_json");
            assert_eq!(fast(&doc.hosts).ok(), Some(want), "{what}: hosts");
            let want = serde_json::to_string(&doc.captures).expect("serde_json");
            assert_eq!(fast(&doc.captures).ok(), Some(want), "{what}: captures");
        }
        // When written: 784 flows, 402,761 bytes of evidence, 1,383 facts from a capture other
        // than the first; a sweep that reads nothing fails here.
        assert!(
            flows >= 750 && bytes > 400_000 && with_capture > 1000,
            "{flows} flows, {bytes} bytes, {with_capture} capture indexes"
        );
    }
}
