//! SASL security layer buffers (RFC 4422 3.7, RFC 4511 5.1 / RFC 4513 5.2.1.5): after a SASL bind
//! that negotiated integrity or privacy, every LDAP message travels in a buffer of a 4-byte
//! big-endian length and a mechanism token. For Kerberos (GSSAPI, RFC 4752; GSS-SPNEGO on
//! Windows) the token is a GSS-API Wrap token:
//!
//! - RFC 4121 4.2.6.2 (AES and newer, "CFX"): `05 04` TOK_ID, flags (0x01 SentByAcceptor,
//!   0x02 Sealed, 0x04 AcceptorSubkey), filler `ff`, EC u16, RRC u16, SND_SEQ u64, then the data
//!   rotated right by RRC. Without the Sealed flag the data is the plaintext followed by an EC-byte
//!   checksum: the LDAP message can be read.
//! - RFC 1964 / RFC 4757 (DES, RC4): `60` GSS framing with the Kerberos OID, TOK_ID `02 01`,
//!   SEAL_ALG `ff ff` meaning no encryption. Recognised, not unwrapped.
//! - NTLM (MS-NLMP 3.4.4): a 16-byte signature starting with version `01 00 00 00`, then the
//!   message, in clear when only signing.

use std::borrow::Cow;

/// Largest SASL buffer accepted, in bytes. RFC 4752 3.3 lets the server announce a maximum of up
/// to 2^24-1; Windows announces 10 MB. Larger lengths are not SASL buffers.
pub const MAX_BUFFER_LEN: usize = (1 << 24) - 1;

/// Size of the length prefix of a SASL buffer.
pub const LEN_PREFIX: usize = 4;

/// Size of an RFC 4121 token header (TOK_ID, flags, filler, EC, RRC, SND_SEQ).
const CFX_HEADER_LEN: usize = 16;
/// RFC 4121 4.2.2 flag: the data is encrypted.
const CFX_FLAG_SEALED: u8 = 0x02;
/// Size of an NTLM message signature (MS-NLMP 2.2.2.9).
const NTLM_SIGNATURE_LEN: usize = 16;
/// DER of the Kerberos v5 mechanism OID 1.2.840.113554.1.2.2 (RFC 1964 1.1), with tag/length.
const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];

/// What a SASL buffer's token protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Signed only: the message is readable.
    Integrity,
    /// Encrypted.
    Privacy,
    /// The token kind is known but not whether it is sealed.
    Unknown,
}

impl Protection {
    /// "integrity", "privacy" or "unknown".
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::Integrity => "integrity",
            Protection::Privacy => "privacy",
            Protection::Unknown => "unknown",
        }
    }
}

/// Which kind of token a buffer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// RFC 4121 Wrap token.
    Krb5Cfx,
    /// RFC 1964 / RFC 4757 Wrap token.
    Krb5Legacy,
    /// NTLM signature + message.
    Ntlm,
}

/// Recognises the token at the start of a buffer's content from its first bytes (at most 32)
/// and says what it protects when the header tells.
pub fn classify(token: &[u8]) -> Option<(TokenKind, Protection)> {
    match token {
        [0x05, 0x04, flags, 0xff, ..] if *flags & !0x07 == 0 => {
            let p = if flags & CFX_FLAG_SEALED != 0 {
                Protection::Privacy
            } else {
                Protection::Integrity
            };
            Some((TokenKind::Krb5Cfx, p))
        }
        [0x60, ..] => {
            // 60 len 06 09 <oid> 02 01 (wrap) SGN_ALG(2) SEAL_ALG(2) ff ff
            let hdr = super::ber::header(token).ok()?;
            let inner = token.get(hdr.header_len..)?;
            if !inner.starts_with(KRB5_OID) {
                return None;
            }
            let t = inner.get(KRB5_OID.len()..KRB5_OID.len() + 8)?;
            if t[0..2] != [0x02, 0x01] || t[6..8] != [0xff, 0xff] {
                return None;
            }
            let p = if t[4..6] == [0xff, 0xff] {
                Protection::Integrity
            } else {
                Protection::Privacy
            };
            Some((TokenKind::Krb5Legacy, p))
        }
        [0x01, 0x00, 0x00, 0x00, ..] if token.len() >= NTLM_SIGNATURE_LEN => {
            Some((TokenKind::Ntlm, Protection::Unknown))
        }
        _ => None,
    }
}

/// Where the cleartext of an integrity-only token lies.
enum Clear<'a> {
    /// In one piece inside the token.
    Slice(&'a [u8]),
    /// RFC 4121 4.2.5: `data` rotated right by `r` bytes with the first `keep` bytes of the
    /// un-rotated data wanted, and they wrap around the end of `data`.
    Rotated {
        data: &'a [u8],
        r: usize,
        keep: usize,
    },
}

fn locate(token: &[u8]) -> Option<Clear<'_>> {
    let (kind, prot) = classify(token)?;
    match (kind, prot) {
        (TokenKind::Krb5Cfx, Protection::Integrity) => {
            let ec = usize::from(u16::from_be_bytes([*token.get(4)?, *token.get(5)?]));
            let rrc = usize::from(u16::from_be_bytes([*token.get(6)?, *token.get(7)?]));
            let data = token.get(CFX_HEADER_LEN..)?;
            if ec > data.len() {
                return None;
            }
            let keep = data.len() - ec;
            if data.is_empty() {
                return Some(Clear::Slice(data));
            }
            let r = rrc % data.len();
            // Un-rotated, the data is `data[r..] ++ data[..r]`: when RRC does not exceed EC
            // (Windows sends RRC = EC) the cleartext is `data[r..r + keep]`, uncopied.
            match data.get(r..r + keep) {
                Some(c) => Some(Clear::Slice(c)),
                None => Some(Clear::Rotated { data, r, keep }),
            }
        }
        (TokenKind::Ntlm, _) => token.get(NTLM_SIGNATURE_LEN..).map(Clear::Slice),
        _ => None,
    }
}

/// The cleartext carried by an integrity-only token, if this kind can be unwrapped: for RFC 4121
/// tokens the data un-rotated by RRC (4.2.5) minus the EC-byte checksum; for NTLM what follows
/// the signature (it is the cleartext only if the session does not seal; the caller checks by
/// parsing it). `None` when sealed, legacy, or inconsistent.
pub fn plaintext(token: &[u8]) -> Option<Cow<'_, [u8]>> {
    Some(match locate(token)? {
        Clear::Slice(c) => Cow::Borrowed(c),
        Clear::Rotated { data, r, keep } => {
            let mut v = Vec::with_capacity(keep);
            unrotate(data, r, keep, &mut v);
            Cow::Owned(v)
        }
    })
}

/// [`plaintext`] without allocating: the cleartext is borrowed from `token` when it lies in one
/// piece (always for NTLM and for RFC 4121 tokens whose RRC does not exceed EC), else un-rotated
/// into `scratch` (cleared first), which the caller keeps for the next token.
pub fn plaintext_in<'a>(token: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    match locate(token)? {
        Clear::Slice(c) => Some(c),
        Clear::Rotated { data, r, keep } => {
            scratch.clear();
            unrotate(data, r, keep, scratch);
            Some(scratch)
        }
    }
}

/// Appends the first `keep` bytes of `data` rotated left by `r` (undoing RFC 4121's right
/// rotation by RRC): the first `r` bytes belong at the end. `r < data.len()`, `keep <= len`.
fn unrotate(data: &[u8], r: usize, keep: usize, out: &mut Vec<u8>) {
    let (front, back) = data.split_at(r.min(data.len()));
    let head = back.len().min(keep);
    out.extend_from_slice(&back[..head]);
    out.extend_from_slice(&front[..(keep - head).min(front.len())]);
}

/// The length announced by a SASL buffer's 4-byte prefix, if `data` has it.
pub fn buffer_len(data: &[u8]) -> Option<usize> {
    let p = data.get(..LEN_PREFIX)?;
    Some(u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize)
}

/// True if `data` starts like a SASL buffer carrying a recognised token (length within
/// [`MAX_BUFFER_LEN`] and at least a token header, token kind known). Needs 20 bytes.
pub fn looks_like_buffer(data: &[u8]) -> bool {
    let Some(len) = buffer_len(data) else {
        return false;
    };
    (CFX_HEADER_LEN..=MAX_BUFFER_LEN).contains(&len)
        && data
            .get(LEN_PREFIX..)
            .is_some_and(|t| classify(t).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ldap::parse::{self, Detail};
    use crate::proto::testutil::hex;

    /// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13, tcp.payload: SASL buffer (50 bytes),
    /// RFC 4121 wrap, flags 0x05 (SentByAcceptor|AcceptorSubkey), EC 12, RRC 12; tshark: LDAP
    /// modifyResponse(8) success inside.
    const F13_MODIFY_RESPONSE: &str = crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE;
    /// Same capture, frame 14: unbindRequest(9) in a wrap token with flags 0x04.
    const F14_UNBIND: &str =
        "00000027050404ff000c000c000000005cd0f0cae1822923a9546c4f6a3fb81b3084000000050201094200";
    /// ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng frame 16: sealed buffer (flags 0x06).
    const F16_SEALED: &str = "00000047050406ff0000001c000000003a8d97b0faf47426b0166fdb91195b7956cb80322a85a40831b4b186ab3dd458e4cbcc241e793c4cccb37ec56fbbfe2fe97865d896b9a626c4153f";

    #[test]
    fn integrity_tokens_unwrap_to_ldap() {
        let b = hex(F13_MODIFY_RESPONSE);
        assert!(looks_like_buffer(&b));
        assert_eq!(buffer_len(&b), Some(0x32));
        assert_eq!(
            classify(&b[4..]),
            Some((TokenKind::Krb5Cfx, Protection::Integrity))
        );
        let clear = plaintext(&b[4..]).unwrap();
        let m = parse::parse_message(&clear).unwrap();
        assert_eq!((m.id, m.op, m.detail), (8, 7, Detail::Result { code: 0 }));
        let b = hex(F14_UNBIND);
        let m = parse::parse_message(&plaintext(&b[4..]).unwrap()).unwrap();
        assert_eq!((m.id, parse::op_name(m.op)), (9, "unbindRequest"));
    }

    #[test]
    fn sealed_token_is_not_unwrapped() {
        let b = hex(F16_SEALED);
        assert!(looks_like_buffer(&b));
        assert_eq!(
            classify(&b[4..]),
            Some((TokenKind::Krb5Cfx, Protection::Privacy))
        );
        assert_eq!(plaintext(&b[4..]), None);
    }

    #[test]
    fn truncated_and_corrupted_tokens() {
        let b = hex(F13_MODIFY_RESPONSE);
        for n in 0..b.len() {
            let _ = looks_like_buffer(&b[..n]);
            let _ = classify(&b[4.min(n)..n]);
            let _ = plaintext(&b[4.min(n)..n]);
        }
        // EC larger than the data: inconsistent, not unwrapped.
        let mut t = b[4..].to_vec();
        t[4] = 0x7f;
        assert_eq!(plaintext(&t), None);
        // Unknown flag bits or a wrong filler: not a wrap token.
        let mut t = b[4..].to_vec();
        t[2] = 0x45;
        assert_eq!(classify(&t), None);
        let mut t = b[4..].to_vec();
        t[3] = 0x00;
        assert_eq!(classify(&t), None);
        // Length prefix beyond MAX_BUFFER_LEN.
        let mut t = b.clone();
        t[0] = 0x01;
        assert!(!looks_like_buffer(&t));
    }
}
