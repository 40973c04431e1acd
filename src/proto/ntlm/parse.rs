//! One NTLM message (MS-NLMP 2.2.1), pure: NEGOTIATE, CHALLENGE and AUTHENTICATE, with the
//! names they carry.
//!
//! Every message starts with the 8-byte signature `NTLMSSP\0` and a 4-byte little-endian
//! MessageType. Strings and blobs are not inline: a fixed header holds their fields (MS-NLMP
//! 2.2.1: `Len` u16, `MaxLen` u16, `BufferOffset` u32, the offset counted from the start of the
//! message), and the payload after the header holds the bytes. Strings are UTF-16LE when the
//! flags carry NTLMSSP_NEGOTIATE_UNICODE, else OEM (read as UTF-8, invalid bytes replaced).
//! The AV_PAIR list (2.2.2.1) of a CHALLENGE's TargetInfo and of an NTLMv2 response (2.2.2.7)
//! is always UTF-16LE.

use std::fmt;

/// The signature every NTLM message starts with (MS-NLMP 2.2.1.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NTLMSSP_NEGOTIATE_UNICODE (MS-NLMP 2.2.2.5, flag A): strings are UTF-16LE.
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED (flag K): a NEGOTIATE's DomainName is filled.
const OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
/// NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED (flag L): a NEGOTIATE's Workstation is filled.
const OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
/// NTLMSSP_NEGOTIATE_VERSION (flag T): the Version field is filled (else it is zeros or
/// absent).
const NEGOTIATE_VERSION: u32 = 0x0200_0000;

/// AV_PAIR AvIds (MS-NLMP 2.2.2.1).
const AV_EOL: u16 = 0;
const AV_NB_COMPUTER_NAME: u16 = 1;
const AV_DNS_COMPUTER_NAME: u16 = 3;
const AV_DNS_DOMAIN_NAME: u16 = 4;
const AV_TARGET_NAME: u16 = 9;

/// Where an NTLMv2 response's AV pairs start: NTProofStr (16 bytes), then the
/// NTLMv2_CLIENT_CHALLENGE (2.2.2.7) RespType, HiRespType, Reserved1 (2), Reserved2 (4),
/// TimeStamp (8), ChallengeFromClient (8), Reserved3 (4).
const NTLMV2_AV_PAIRS_AT: usize = 16 + 28;
/// An NT response longer than this is NTLMv2 (an NTLMv1 response is exactly 24 bytes,
/// MS-NLMP 3.3.1).
const NTLMV1_RESPONSE_LEN: usize = 24;

/// Message types (MS-NLMP 2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgType(pub u32);

impl MsgType {
    /// NEGOTIATE_MESSAGE (2.2.1.1), client to server.
    pub const NEGOTIATE: MsgType = MsgType(1);
    /// CHALLENGE_MESSAGE (2.2.1.2), server to client.
    pub const CHALLENGE: MsgType = MsgType(2);
    /// AUTHENTICATE_MESSAGE (2.2.1.3), client to server.
    pub const AUTHENTICATE: MsgType = MsgType(3);

    /// tshark's name of the type (`NTLMSSP_NEGOTIATE`, ...), or "unknown".
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "NTLMSSP_NEGOTIATE",
            2 => "NTLMSSP_CHALLENGE",
            3 => "NTLMSSP_AUTHENTICATE",
            _ => "unknown",
        }
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmError {
    /// No `NTLMSSP\0` signature and type: not an NTLM message.
    NotNtlm,
    /// The header is cut short, or a field points outside the message.
    Truncated,
}

/// A string field as on the wire, decoded only when written ([`Text::write_to`]): no
/// allocation per message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Text<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// UTF-16LE (else OEM, read as UTF-8 with invalid bytes replaced).
    pub unicode: bool,
}

impl Text<'_> {
    /// True when the field is empty (or absent).
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < if self.unicode { 2 } else { 1 }
    }

    /// Appends the decoded text to `out` (UTF-16: an odd last byte is dropped, unpaired
    /// surrogates become U+FFFD).
    pub fn write_to(&self, out: &mut String) {
        if self.unicode {
            let pairs = self.bytes.chunks_exact(2);
            out.reserve(pairs.len());
            // Names are nearly always ASCII: each unit's low byte is the character.
            if pairs.clone().all(|c| c[1] == 0 && c[0] < 0x80) {
                out.extend(pairs.map(|c| char::from(c[0])));
                return;
            }
            let units = pairs.map(|c| u16::from_le_bytes([c[0], c[1]]));
            out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        } else {
            // An OEM string ends at a NUL, as tshark reads it (a sender that wrote UTF-16
            // without the Unicode flag gives its first character).
            let end = memchr::memchr(0, self.bytes).unwrap_or(self.bytes.len());
            out.push_str(&String::from_utf8_lossy(&self.bytes[..end]));
        }
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// The Version field (MS-NLMP 2.2.2.10): the sender's OS version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
}

impl Version {
    /// Appends "major.minor.build" (e.g. "10.0.20348") to `out`, digit by digit (no
    /// formatting machinery: one a message).
    pub fn write_to(&self, out: &mut String) {
        fn number(out: &mut String, mut n: u16) {
            let mut digits = [0u8; 5];
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            out.extend(digits[i..].iter().map(|&d| char::from(d)));
        }
        number(out, u16::from(self.major));
        out.push('.');
        number(out, u16::from(self.minor));
        out.push('.');
        number(out, self.build);
    }
}

impl fmt::Display for Version {
    /// "major.minor.build", e.g. "10.0.20348".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// What one NTLM message says, borrowed from it. Strings are as on the wire (empty when
/// absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message<'a> {
    /// MessageType.
    pub msg_type: Option<MsgType>,
    /// The Version field when the flags say it is filled (a CHALLENGE's is the server's, the
    /// others the client's).
    pub version: Option<Version>,
    /// NEGOTIATE: DomainName (OEM, when supplied). AUTHENTICATE: DomainName.
    pub domain: Text<'a>,
    /// AUTHENTICATE: UserName.
    pub user: Text<'a>,
    /// NEGOTIATE: Workstation (OEM, when supplied). AUTHENTICATE: Workstation.
    pub workstation: Text<'a>,
    /// CHALLENGE: TargetName (the server's domain or its own name).
    pub target_name: Text<'a>,
    /// CHALLENGE TargetInfo MsvAvDnsComputerName: the server's DNS name.
    pub dns_computer_name: Text<'a>,
    /// CHALLENGE TargetInfo MsvAvNbComputerName: the server's NetBIOS name.
    pub nb_computer_name: Text<'a>,
    /// CHALLENGE TargetInfo MsvAvDnsDomainName.
    pub dns_domain_name: Text<'a>,
    /// AUTHENTICATE, NTLMv2 response MsvAvTargetName: the service principal the client meant
    /// (`cifs/ca1`, `ldap/dc1.example.com`).
    pub target_spn: Text<'a>,
}

/// A little-endian u16 at `at`.
fn u16_at(m: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(*m.get(at..)?.first_chunk::<2>()?))
}

/// A little-endian u32 at `at`.
fn u32_at(m: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*m.get(at..)?.first_chunk::<4>()?))
}

/// The bytes a `Len, MaxLen, BufferOffset` field at `at` points to. A zero length gives an
/// empty slice whatever the offset (senders leave it 0 or anywhere).
fn field(m: &[u8], at: usize) -> Result<&[u8], NtlmError> {
    let (offset, len) = span(m, at)?;
    if len == 0 {
        return Ok(&[]);
    }
    m.get(offset..)
        .and_then(|r| r.get(..len))
        .ok_or(NtlmError::Truncated)
}

/// (BufferOffset, Len) of the field at `at`.
fn span(m: &[u8], at: usize) -> Result<(usize, usize), NtlmError> {
    let len = usize::from(u16_at(m, at).ok_or(NtlmError::Truncated)?);
    let offset = u32_at(m, at + 4).ok_or(NtlmError::Truncated)? as usize;
    Ok((offset, len))
}

/// Where the payload starts: the lowest BufferOffset of the fields at `fields` that hold
/// bytes (the header ends there at the latest). Optional header fields (Version, MIC) are
/// read only before it: clients such as curl set NTLMSSP_NEGOTIATE_VERSION, echoed from the
/// CHALLENGE, yet start the payload where the Version would be (tshark reads them the same
/// way).
fn payload_start(m: &[u8], fields: &[usize]) -> usize {
    fields
        .iter()
        .filter_map(|&at| span(m, at).ok())
        .filter(|&(_, len)| len > 0)
        .map(|(offset, _)| offset)
        .min()
        .unwrap_or(m.len())
}

/// A string field in the message's character set.
fn text(bytes: &[u8], unicode: bool) -> Text<'_> {
    Text { bytes, unicode }
}

/// An AV pair's value: always UTF-16LE.
fn utf16(bytes: &[u8]) -> Text<'_> {
    text(bytes, true)
}

/// The Version field (2.2.2.10) at `at`: ProductMajorVersion, ProductMinorVersion,
/// ProductBuild (u16), then reserved bytes and the NTLM revision. Read when the flags say it
/// is filled and it lies before the payload, which starts at `data`.
fn version(m: &[u8], at: usize, flags: u32, data: usize) -> Option<Version> {
    if flags & NEGOTIATE_VERSION == 0 || at + 8 > data {
        return None;
    }
    let v = m.get(at..at + 8)?;
    Some(Version {
        major: v[0],
        minor: v[1],
        build: u16::from_le_bytes([v[2], v[3]]),
    })
}

/// Calls `each(AvId, value)` for the AV pairs of `list` (2.2.2.1) up to MsvAvEOL; pairs that
/// run past the end stop the walk.
fn av_pairs<'a>(mut list: &'a [u8], mut each: impl FnMut(u16, &'a [u8])) {
    while let (Some(id), Some(len)) = (u16_at(list, 0), u16_at(list, 2)) {
        if id == AV_EOL {
            return;
        }
        let Some(value) = list.get(4..4 + usize::from(len)) else {
            return;
        };
        each(id, value);
        list = &list[4 + usize::from(len)..];
    }
}

/// True if `data` starts with an NTLM message's signature.
pub fn is_ntlm(data: &[u8]) -> bool {
    data.starts_with(SIGNATURE)
}

/// Reads the NTLM message at the start of `m` (the whole security token: field offsets count
/// from its start). A message type other than 1, 2 or 3 is returned with its type only.
pub fn parse_message(m: &[u8]) -> Result<Message<'_>, NtlmError> {
    if !is_ntlm(m) {
        return Err(NtlmError::NotNtlm);
    }
    let t = MsgType(u32_at(m, 8).ok_or(NtlmError::NotNtlm)?);
    let mut out = Message {
        msg_type: Some(t),
        ..Message::default()
    };
    match t {
        // Signature, MessageType, NegotiateFlags, DomainNameFields, WorkstationFields, Version.
        // Old clients send only the first 16 bytes (MS-NLMP 2.2.1.1: the fields that follow
        // NegotiateFlags are there when the flags say so).
        MsgType::NEGOTIATE => {
            let flags = u32_at(m, 12).ok_or(NtlmError::Truncated)?;
            if flags & OEM_DOMAIN_SUPPLIED != 0 {
                out.domain = text(field(m, 16)?, false);
            }
            if flags & OEM_WORKSTATION_SUPPLIED != 0 {
                out.workstation = text(field(m, 24)?, false);
            }
            out.version = version(m, 32, flags, payload_start(m, &[16, 24]));
        }
        // Signature, MessageType, TargetNameFields (12), NegotiateFlags (20), ServerChallenge
        // (24), Reserved (32), TargetInfoFields (40), Version (48). A CHALLENGE of 32 bytes
        // (no TargetInfo) is what NTLMv1-era servers sent.
        MsgType::CHALLENGE => {
            let flags = u32_at(m, 20).ok_or(NtlmError::Truncated)?;
            m.get(..32).ok_or(NtlmError::Truncated)?;
            out.target_name = text(field(m, 12)?, flags & NEGOTIATE_UNICODE != 0);
            // TargetInfoFields exist when the header reaches byte 48 before the payload
            // starts (a server of the NTLMv1 era put its TargetName at 32 or 40).
            let info = m.len() >= 48 && payload_start(m, &[12]) >= 48;
            if info {
                av_pairs(field(m, 40)?, |id, v| match id {
                    AV_NB_COMPUTER_NAME => out.nb_computer_name = utf16(v),
                    AV_DNS_COMPUTER_NAME => out.dns_computer_name = utf16(v),
                    AV_DNS_DOMAIN_NAME => out.dns_domain_name = utf16(v),
                    _ => {}
                });
            }
            let data = payload_start(m, if info { &[12, 40] } else { &[12] });
            out.version = version(m, 48, flags, data);
        }
        // Signature, MessageType, LmChallengeResponseFields (12), NtChallengeResponseFields
        // (20), DomainNameFields (28), UserNameFields (36), WorkstationFields (44),
        // EncryptedRandomSessionKeyFields (52), NegotiateFlags (60), Version (64), MIC (72).
        MsgType::AUTHENTICATE => {
            let flags = u32_at(m, 60).ok_or(NtlmError::Truncated)?;
            let unicode = flags & NEGOTIATE_UNICODE != 0;
            out.domain = text(field(m, 28)?, unicode);
            out.user = text(field(m, 36)?, unicode);
            out.workstation = text(field(m, 44)?, unicode);
            let nt = field(m, 20)?;
            if nt.len() > NTLMV1_RESPONSE_LEN {
                if let Some(pairs) = nt.get(NTLMV2_AV_PAIRS_AT..) {
                    av_pairs(pairs, |id, v| {
                        if id == AV_TARGET_NAME {
                            out.target_spn = utf16(v);
                        }
                    });
                }
            }
            let data = payload_start(m, &[12, 20, 28, 36, 44, 52]);
            out.version = version(m, 64, flags, data);
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Real messages: the SMB2 SESSION_SETUP exchange of `captures/lab_enroll_icpr_named_pipe.pcap`
    //! (frames 50-52: impacket's client against the lab's CA stand-in, an impacket SMB server;
    //! tshark shows the CHALLENGE's target name `CERTFLOW`, DNS computer name `CA1`, and the
    //! AUTHENTICATE's user `ALICE`, domain `CERTFLOW.LAB`, NTLMv2 target name `cifs/CA1`).
    use super::*;
    use crate::proto::testutil::{hex, NTLM_AUTHENTICATE as AUTHENTICATE};
    use crate::proto::testutil::{NTLM_CHALLENGE as CHALLENGE, NTLM_NEGOTIATE as NEGOTIATE};

    #[test]
    fn negotiate_of_a_real_exchange() {
        let b = hex(NEGOTIATE);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.msg_type, Some(MsgType::NEGOTIATE));
        assert_eq!(m.msg_type.unwrap().name(), "NTLMSSP_NEGOTIATE");
        // Flags 0xa0880205: no OEM domain or workstation supplied, no Version.
        assert!(m.domain.is_empty() && m.workstation.is_empty() && m.version.is_none());
    }

    #[test]
    fn challenge_names_the_server() {
        let b = hex(CHALLENGE);
        assert_eq!(b.len(), 148);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.msg_type, Some(MsgType::CHALLENGE));
        assert_eq!(m.target_name.to_string(), "CERTFLOW");
        assert_eq!(m.dns_computer_name.to_string(), "CA1");
        assert_eq!(m.nb_computer_name.to_string(), "CA1");
        assert_eq!(m.dns_domain_name.to_string(), "CERTFLOW");
        // tshark: "Version 255.255 (Build 65535)".
        assert_eq!(
            m.version.map(|v| v.to_string()).as_deref(),
            Some("255.255.65535")
        );
    }

    #[test]
    fn authenticate_names_the_user_and_the_spn_meant() {
        let b = hex(AUTHENTICATE);
        assert_eq!(b.len(), 262);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.msg_type, Some(MsgType::AUTHENTICATE));
        assert_eq!(
            (
                m.domain.to_string(),
                m.user.to_string(),
                m.workstation.is_empty()
            ),
            ("CERTFLOW.LAB".to_string(), "ALICE".to_string(), true)
        );
        assert_eq!(m.target_spn.to_string(), "cifs/CA1");
        assert_eq!(m.version, None);
    }

    #[test]
    fn every_prefix_is_an_error_or_fewer_facts_never_a_panic() {
        for msg in [NEGOTIATE, CHALLENGE, AUTHENTICATE] {
            let b = hex(msg);
            for n in 0..b.len() {
                let _ = parse_message(&b[..n]);
            }
            // The header cut: an error, or (not an NTLM message) before the type.
            assert_eq!(parse_message(&b[..11]), Err(NtlmError::NotNtlm));
            assert_eq!(parse_message(&b[..15]), Err(NtlmError::Truncated));
        }
        // A CHALLENGE cut inside its payload: the target name's field points past the end.
        let b = hex(CHALLENGE);
        assert_eq!(parse_message(&b[..60]), Err(NtlmError::Truncated));
        // An AUTHENTICATE cut inside its NTLMv2 response.
        let b = hex(AUTHENTICATE);
        assert_eq!(parse_message(&b[..200]), Err(NtlmError::Truncated));
    }

    #[test]
    fn corrupted_lengths_and_offsets_are_errors() {
        // The CHALLENGE's TargetName length (bytes 12-13) made 0xffff.
        let mut b = hex(CHALLENGE);
        b[12] = 0xff;
        b[13] = 0xff;
        assert_eq!(parse_message(&b), Err(NtlmError::Truncated));
        // The AUTHENTICATE's UserName offset (bytes 40-43) past the end.
        let mut b = hex(AUTHENTICATE);
        b[40..44].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert_eq!(parse_message(&b), Err(NtlmError::Truncated));
        // An AV pair whose length runs past its list ends the walk: the names before it stay.
        let mut b = hex(CHALLENGE);
        // The first pair (NetBIOS domain name, at 72) keeps its value; the second (DNS domain
        // name at 72 + 4 + 16) gets a length of 0xffff.
        b[72 + 20 + 2] = 0xff;
        b[72 + 20 + 3] = 0xff;
        let m = parse_message(&b).unwrap();
        assert_eq!(
            (m.dns_domain_name.is_empty(), m.dns_computer_name.is_empty()),
            (true, true)
        );
        assert_eq!(m.target_name.to_string(), "CERTFLOW");
    }

    #[test]
    fn curl_writes_oem_strings_and_no_version_despite_the_flag() {
        // `captures/lab_http_ntlm_certsrv.pcapng` frame 16, the `Authorization: NTLM` token of
        // curl 7.88 (base64-decoded): OEM strings (no NTLMSSP_NEGOTIATE_UNICODE), flags
        // 0x02898204 with NTLMSSP_NEGOTIATE_VERSION echoed from the CHALLENGE, yet the
        // LmChallengeResponse starts at 64, where the Version would be. tshark shows domain
        // `certflow`, user `alice`, host `WORKSTATION` and no version.
        let b = crate::proto::http::parse::base64(concat!(
            "TlRMTVNTUAADAAAAGAAYAEAAAACeAJ4AWAAAAAgACAD2AAAABQAFAP4AAAALAAsAAwEAAAAAAAAAAAAABIKJAmBj",
            "JKIR5MjPp9ElQaPJbajV+BOoWNcG2lF2EaYbdiV84yTMh7/gIYMBAQAAAAAAAIDYflyOfN0B1fgTqFjXBtoAAAAA",
            "AQAGAEMAQQAxAAIAEABDAEUAUgBUAEYATABPAFcAAwAgAGMAYQAxAC4AYwBlAHIAdABmAGwAbwB3AC4AbABhAGIA",
            "BAAYAGMAZQByAHQAZgBsAG8AdwAuAGwAYQBiAAcACACA2H5cjnzdAQAAAAAAAAAAY2VydGZsb3dhbGljZVdPUktT",
            "VEFUSU9O",
        ).as_bytes())
        .unwrap();
        let m = parse_message(&b).unwrap();
        assert_eq!(
            (
                m.domain.to_string(),
                m.user.to_string(),
                m.workstation.to_string()
            ),
            ("certflow".into(), "alice".into(), "WORKSTATION".into())
        );
        assert_eq!(m.version, None);
        // curl's NTLMv2 response carries no MsvAvTargetName.
        assert!(m.target_spn.is_empty());
        // The same message with its payload moved 8 bytes on would leave room for a Version:
        // the header bytes there are then read.
        let mut moved = b[..64].to_vec();
        moved.extend_from_slice(&[10, 0, 0x7c, 0x4f, 0, 0, 0, 15]);
        moved.extend_from_slice(&b[64..]);
        for at in [16, 24, 32, 40, 48, 56] {
            let o = u32::from_le_bytes(moved[at..at + 4].try_into().unwrap()) + 8;
            moved[at..at + 4].copy_from_slice(&o.to_le_bytes());
        }
        let m = parse_message(&moved).unwrap();
        assert_eq!(
            m.version.map(|v| v.to_string()).as_deref(),
            Some("10.0.20348")
        );
        assert_eq!(m.user.to_string(), "alice");
        // A CHALLENGE of the NTLMv1 era: 40 bytes of header, the TargetName "CERTFLOW" (OEM)
        // at 40. Its bytes are no TargetInfo fields.
        let mut old =
            hex("4e544c4d53535000020000000800080028000000068202a2aaaaaaaaaaaaaaaa0000000000000000");
        old.extend_from_slice(b"CERTFLOW");
        let m = parse_message(&old).unwrap();
        assert_eq!(m.target_name.to_string(), "CERTFLOW");
        assert!(m.dns_computer_name.is_empty() && m.version.is_none());
        // An OEM string ends at a NUL, as tshark reads it.
        let mut s = String::new();
        text(b"C\0E\0R\0", false).write_to(&mut s);
        assert_eq!(s, "C");
    }

    #[test]
    fn text_and_version_are_written_as_tshark_shows_them() {
        let mut s = String::new();
        // "Ré" in UTF-16LE, an unpaired surrogate, and an odd last byte.
        text(&[0x52, 0, 0xe9, 0, 0x00, 0xd8, 0x41], true).write_to(&mut s);
        assert_eq!(s, "Ré\u{fffd}");
        assert!(text(&[0x41], true).is_empty() && !text(&[0x41], false).is_empty());
        let v = |major, minor, build| {
            Version {
                major,
                minor,
                build,
            }
            .to_string()
        };
        assert_eq!(v(10, 0, 20348), "10.0.20348");
        assert_eq!(v(0, 0, 0), "0.0.0");
        assert_eq!(v(255, 255, 65535), "255.255.65535");
    }

    #[test]
    fn other_bytes_are_not_ntlm() {
        assert_eq!(parse_message(b""), Err(NtlmError::NotNtlm));
        assert_eq!(parse_message(b"NTLMSSP\0"), Err(NtlmError::NotNtlm));
        let m = parse_message(b"NTLMSSP\0\x07\0\0\0").unwrap();
        assert_eq!(m.msg_type.map(|t| t.name()), Some("unknown"));
        assert!(!is_ntlm(b"\x60\x82"));
    }
}
