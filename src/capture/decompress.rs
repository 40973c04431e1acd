//! Transparent decompression, chosen by magic bytes (never by file name).
//!
//! - gzip (RFC 1952, magic `1f 8b`): flate2's `MultiGzDecoder`, so concatenated members
//!   (`cat a.gz b.gz`) read as one stream, as gzip(1) does.
//! - zstd (RFC 8878, magic `28 b5 2f fd`): ruzstd's frame decoder driven frame after frame, so
//!   multi-frame files (pzstd, `cat a.zst b.zst`) and skippable frames (RFC 8878 section 3.1.2)
//!   are read whole.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// Size of the buffer between the raw bytes and a decompressor.
const COMPRESSED_BUF: usize = 256 * 1024;

/// How the capture bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    /// Not compressed.
    None,
    /// gzip, RFC 1952.
    Gzip,
    /// Zstandard, RFC 8878.
    Zstd,
}

impl Compression {
    /// Recognises the compression from the first bytes of the stream.
    pub(super) fn sniff(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The name stored in `CaptureInfo::compression`.
    pub(super) fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }

    /// Wraps `raw` in the matching decompressor.
    pub(super) fn wrap<'a>(self, raw: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
        match self {
            Compression::None => raw,
            Compression::Gzip => Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                COMPRESSED_BUF,
                raw,
            ))),
            Compression::Zstd => Box::new(ZstdFrames::new(BufReader::with_capacity(
                COMPRESSED_BUF,
                raw,
            ))),
        }
    }
}

/// Decodes consecutive zstd frames from `source` as one stream.
struct ZstdFrames<R: BufRead> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(source: R) -> Self {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next frame; false at the clean end of the stream.
    fn start_frame(&mut self) -> io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "zstd: stream ends inside a skippable frame",
                        ));
                    }
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("zstd: {e}"),
                    ))
                }
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.start_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let wanted = buf.len() - self.decoder.can_collect();
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
                    })?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() && self.decoder.can_collect() == 0 {
                self.in_frame = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    #[test]
    fn sniffs_by_magic_only() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 0x08, 0x00]),
            Compression::Gzip
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(
            Compression::sniff(&[0xd4, 0xc3, 0xb2, 0xa1]),
            Compression::None
        );
        assert_eq!(Compression::sniff(&[0x1f]), Compression::None);
        assert_eq!(Compression::sniff(&[]), Compression::None);
    }

    #[test]
    fn zstd_two_frames_and_a_skippable_frame_read_as_one_stream() {
        let a: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let b: Vec<u8> = (0..5_000u32).map(|i| (i % 13) as u8).collect();
        let mut stream = compress_to_vec(&a[..], CompressionLevel::Fastest);
        // Skippable frame (RFC 8878 section 3.1.2): magic 0x184D2A50, length 3, 3 bytes.
        stream.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        stream.extend_from_slice(&compress_to_vec(&b[..], CompressionLevel::Fastest));
        let mut out = Vec::new();
        let raw: Box<dyn Read> = Box::new(io::Cursor::new(stream));
        assert!(Compression::Zstd.wrap(raw).read_to_end(&mut out).is_ok());
        let mut expected = a;
        expected.extend_from_slice(&b);
        assert_eq!(out, expected);
    }

    #[test]
    fn zstd_garbage_is_an_error_not_a_panic() {
        let raw: Box<dyn Read> =
            Box::new(io::Cursor::new(vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff]));
        let mut out = Vec::new();
        assert!(Compression::Zstd.wrap(raw).read_to_end(&mut out).is_err());
    }
}
