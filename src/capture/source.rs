//! Capture bytes -> a sniffed, decompressed stream ready for the pcap/pcapng readers.
//!
//! Opening and hashing are done by the caller ([`super::read`]); this module looks at the first
//! bytes (compression magic, then capture magic), chains them back in front of the stream, and
//! wraps the result in a [`FillReader`] that fills the parser's buffer in as few reads as possible
//! and keeps the text of any I/O error (pcap-parser reports only "ReadError").

use std::cell::RefCell;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use super::decompress::Compression;
use super::CaptureError;

/// Bytes looked at to recognise the capture format (all magics are 4 bytes).
const MAGIC_LEN: usize = 4;

/// The capture formats, with their variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// Classic pcap (draft-ietf-opsawg-pcap section 4).
    Pcap {
        /// Header and records are big-endian.
        big_endian: bool,
        /// Fractions are nanoseconds (magic a1b23c4d) instead of microseconds (a1b2c3d4).
        nanos: bool,
    },
    /// pcapng (draft-ietf-opsawg-pcapng), first block a Section Header Block.
    PcapNg,
}

impl Format {
    /// Recognises the format from the first 4 bytes.
    pub(super) fn sniff(head: &[u8]) -> Option<Format> {
        let pcap = |big_endian, nanos| Some(Format::Pcap { big_endian, nanos });
        match head.get(..MAGIC_LEN)? {
            [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => pcap(true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => pcap(false, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true),
            [0x0a, 0x0d, 0x0d, 0x0a] => Some(Format::PcapNg),
            _ => None,
        }
    }
}

/// The text of the last I/O error seen by a [`FillReader`], shared with the code that reports it.
#[derive(Debug, Clone, Default)]
pub(super) struct ErrorSlot(Rc<RefCell<Option<String>>>);

impl ErrorSlot {
    fn set(&self, e: &io::Error) {
        *self.0.borrow_mut() = Some(e.to_string());
    }

    /// Takes the last error text, or a generic one.
    pub(super) fn take(&self) -> String {
        self.0
            .borrow_mut()
            .take()
            .unwrap_or_else(|| "unknown read error".to_string())
    }
}

/// Fills the whole destination buffer unless the stream ends (or fails) first.
///
/// pcap-parser's readers call `read` once per refill and take a short read of 0 as end of
/// stream; pipes and decompressors return small pieces, so this loops until the buffer is full.
pub(super) struct FillReader<'a> {
    inner: Box<dyn Read + 'a>,
    slot: ErrorSlot,
    pending: Option<io::Error>,
}

impl<'a> FillReader<'a> {
    /// Wraps `inner`, recording I/O errors in `slot`.
    pub(super) fn new(inner: Box<dyn Read + 'a>, slot: ErrorSlot) -> Self {
        FillReader {
            inner,
            slot,
            pending: None,
        }
    }
}

impl Read for FillReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            self.slot.set(&e);
            return Err(e);
        }
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..) {
            if rest.is_empty() {
                break;
            }
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if filled > 0 => {
                    // Hand over what was read; report the error on the next call.
                    self.pending = Some(e);
                    break;
                }
                Err(e) => {
                    self.slot.set(&e);
                    return Err(e);
                }
            }
        }
        Ok(filled)
    }
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
fn read_head(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// `00 01 02` for the first bytes of a stream, for messages.
fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A capture stream whose format is known.
pub(super) struct Opened<'a> {
    /// The capture format.
    pub(super) format: Format,
    /// The compression that was removed.
    pub(super) compression: Compression,
    /// The uncompressed capture bytes from offset 0.
    pub(super) reader: FillReader<'a>,
    /// Where the reader's I/O errors are recorded.
    pub(super) errors: ErrorSlot,
}

/// Sniffs compression and capture format at the start of `raw`.
///
/// Errors (offset 0) when the stream cannot be read, is empty, or is neither pcap nor pcapng.
pub(super) fn open<'a>(
    name: &str,
    mut raw: Box<dyn Read + 'a>,
) -> Result<Opened<'a>, CaptureError> {
    let fail = |message: String| CaptureError {
        path: name.to_string(),
        offset: 0,
        message,
    };
    let head = read_head(&mut raw, MAGIC_LEN).map_err(|e| fail(format!("cannot read: {e}")))?;
    let compression = Compression::sniff(&head);
    let chained: Box<dyn Read + 'a> = Box::new(Cursor::new(head).chain(raw));
    let mut stream = compression.wrap(chained);
    let inside = match compression.name() {
        Some(c) => format!(" (inside {c} compression)"),
        None => String::new(),
    };
    let head =
        read_head(&mut stream, MAGIC_LEN).map_err(|e| fail(format!("cannot read{inside}: {e}")))?;
    let format = match Format::sniff(&head) {
        Some(f) => f,
        None if matches!(
            head.as_slice(),
            [0x34, 0xcd, 0xb2, 0xa1] | [0xa1, 0xb2, 0xcd, 0x34]
        ) =>
        {
            return Err(fail(format!(
                "unsupported pcap variant{inside}: Kuznetzov's modified pcap (magic a1b2cd34), \
                 expected a standard pcap or pcapng file"
            )))
        }
        None if head.is_empty() => {
            return Err(fail(format!(
                "empty{inside}: expected a pcap or pcapng header"
            )))
        }
        None => {
            return Err(fail(format!(
                "not a pcap or pcapng file{inside}: first bytes {}",
                hex_bytes(&head)
            )))
        }
    };
    let errors = ErrorSlot::default();
    let reader = FillReader::new(Box::new(Cursor::new(head).chain(stream)), errors.clone());
    Ok(Opened {
        format,
        compression,
        reader,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_bytes(bytes: &[u8]) -> Result<Format, CaptureError> {
        open("t", Box::new(Cursor::new(bytes.to_vec()))).map(|o| o.format)
    }

    #[test]
    fn sniffs_every_magic() {
        let pcap = |big_endian, nanos| Ok(Format::Pcap { big_endian, nanos });
        assert_eq!(
            open_bytes(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            pcap(false, false)
        );
        assert_eq!(
            open_bytes(&[0xa1, 0xb2, 0xc3, 0xd4, 0, 2]),
            pcap(true, false)
        );
        assert_eq!(open_bytes(&[0x4d, 0x3c, 0xb2, 0xa1]), pcap(false, true));
        assert_eq!(open_bytes(&[0xa1, 0xb2, 0x3c, 0x4d]), pcap(true, true));
        assert_eq!(open_bytes(&[0x0a, 0x0d, 0x0d, 0x0a]), Ok(Format::PcapNg));
    }

    #[test]
    fn html_is_named_with_its_first_bytes() {
        let err = open_bytes(b"<html><body>404</body></html>").err();
        assert_eq!(
            err.map(|e| (e.offset, e.message)),
            Some((
                0,
                "not a pcap or pcapng file: first bytes 3c 68 74 6d".to_string()
            ))
        );
    }

    #[test]
    fn modified_pcap_is_named() {
        let msg = open_bytes(&[0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0])
            .err()
            .map(|e| e.message);
        assert!(msg.is_some_and(|m| m.contains("modified pcap")));
    }

    #[test]
    fn empty_and_short_inputs_are_errors() {
        assert_eq!(
            open_bytes(&[]).err().map(|e| e.message),
            Some("empty: expected a pcap or pcapng header".to_string())
        );
        assert_eq!(
            open_bytes(&[0xd4, 0xc3]).err().map(|e| e.message),
            Some("not a pcap or pcapng file: first bytes d4 c3".to_string())
        );
    }

    #[test]
    fn fill_reader_keeps_the_error_text() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::InvalidData, "bad deflate"))
            }
        }
        let slot = ErrorSlot::default();
        let inner: Box<dyn Read> = Box::new(Cursor::new(vec![1u8, 2, 3]).chain(Broken));
        let mut r = FillReader::new(inner, slot.clone());
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).ok(), Some(3));
        assert!(r.read(&mut buf).is_err());
        assert_eq!(slot.take(), "bad deflate");
    }
}
