//! Reading one BER/DER TLV header (ITU-T X.690 8.1.2 identifier octets, 8.1.3 length octets).
//!
//! Enough to frame LDAP messages on a TCP stream and to check the shape of Kerberos and GSS-API
//! tokens in probes; the full decoding is left to `ldap-parser` and `kerberos-parser`. Shared by
//! the LDAP and Kerberos dissectors (both speak BER).

/// Most length octets accepted in the long form. Four octets describe up to 4 GiB, far above any
/// cap used by the dissectors; more is not produced by any LDAP or Kerberos implementation.
const MAX_LENGTH_OCTETS: usize = 4;

/// One TLV header: the identifier octet, the header size and the content size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv {
    /// The first identifier octet (class, constructed bit and tag number < 31).
    pub tag: u8,
    /// Bytes taken by the identifier and length octets.
    pub header_len: usize,
    /// Bytes of content announced by the length octets.
    pub content_len: usize,
}

impl Tlv {
    /// Header plus content: the size of the whole element.
    pub fn total_len(&self) -> usize {
        self.header_len.saturating_add(self.content_len)
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BerError {
    /// More bytes are needed to read the header.
    Incomplete,
    /// The bytes cannot start a BER element certflow reads: high tag numbers, the indefinite form
    /// (forbidden by RFC 4511 5.1 and by DER), or more than [`MAX_LENGTH_OCTETS`] length octets.
    Invalid,
}

/// Reads the TLV header at the start of `data` (X.690 8.1.2.2 low tag number form only).
#[inline(always)]
pub(crate) fn header(data: &[u8]) -> Result<Tlv, BerError> {
    let (&tag, rest) = data.split_first().ok_or(BerError::Incomplete)?;
    if tag & 0x1f == 0x1f {
        return Err(BerError::Invalid);
    }
    let (&first, rest) = rest.split_first().ok_or(BerError::Incomplete)?;
    if first < 0x80 {
        return Ok(Tlv {
            tag,
            header_len: 2,
            content_len: usize::from(first),
        });
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > MAX_LENGTH_OCTETS {
        return Err(BerError::Invalid);
    }
    // Big-endian, 1 to MAX_LENGTH_OCTETS octets; Windows always sends 4 (`84 00 00 xx xx`).
    let len = match *rest.get(..n).ok_or(BerError::Incomplete)? {
        [a] => u32::from(a),
        [a, b] => u32::from(u16::from_be_bytes([a, b])),
        [a, b, c] => u32::from_be_bytes([0, a, b, c]),
        [a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
        _ => return Err(BerError::Invalid),
    };
    let len = usize::try_from(len).map_err(|_| BerError::Invalid)?;
    Ok(Tlv {
        tag,
        header_len: 2 + n,
        content_len: len,
    })
}

/// The content of the element at the start of `data` and what follows it, if all of it is there.
#[inline]
pub(crate) fn split(data: &[u8]) -> Result<(Tlv, &[u8], &[u8]), BerError> {
    let tlv = header(data)?;
    let content = data
        .get(tlv.header_len..tlv.total_len())
        .ok_or(BerError::Incomplete)?;
    let rest = data.get(tlv.total_len()..).unwrap_or(&[]);
    Ok((tlv, content, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        // ldap_rootdse_bind_modify_vlan_ipv6.pcapng: LDAP messages from Windows use the 4-octet
        // long form ("30 84 00 00 00 2e"), OpenLDAP the short form.
        let t = header(&[0x30, 0x84, 0, 0, 0, 0x2e, 0x02]).unwrap();
        assert_eq!((t.tag, t.header_len, t.content_len), (0x30, 6, 0x2e));
        let t = header(&[0x30, 0x0c]).unwrap();
        assert_eq!((t.header_len, t.content_len, t.total_len()), (2, 12, 14));
        let t = header(&[0x6c, 0x82, 0x04, 0xd1]).unwrap();
        assert_eq!(t.content_len, 0x4d1);
    }

    #[test]
    fn truncated_and_invalid() {
        assert_eq!(header(&[]), Err(BerError::Incomplete));
        assert_eq!(header(&[0x30]), Err(BerError::Incomplete));
        assert_eq!(header(&[0x30, 0x84, 0, 0]), Err(BerError::Incomplete));
        assert_eq!(header(&[0x30, 0x80]), Err(BerError::Invalid));
        assert_eq!(header(&[0x30, 0x85, 1, 2, 3, 4, 5]), Err(BerError::Invalid));
        assert_eq!(header(&[0x1f, 0x01]), Err(BerError::Invalid));
        assert_eq!(split(&[0x04, 0x03, b'a']), Err(BerError::Incomplete));
        let (t, c, r) = split(&[0x04, 0x01, b'a', 0xff]).unwrap();
        assert_eq!((t.tag, c, r), (0x04, &b"a"[..], &[0xff][..]));
    }
}
