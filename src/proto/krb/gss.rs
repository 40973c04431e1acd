//! The Kerberos ticket a client presents to a server inside a GSS-API token: the AP-REQ (RFC
//! 4120 5.5.1) of the Kerberos mechanism's initial context token (RFC 4121 4.1), bare or inside
//! SPNEGO (RFC 4178).
//!
//! Application protocols carry these tokens: LDAP SASL binds (GSSAPI, GSS-SPNEGO; RFC 4752),
//! SMB2 SESSION_SETUP security buffers (MS-SMB2 2.2.5), DCE/RPC auth verifiers of types 9 and
//! 16 (MS-RPCE 2.2.1.1.7), HTTP `Authorization: Negotiate` (RFC 4559 4) and DNS TKEY key data
//! (RFC 3645 3.1.1). The ticket's service principal (`ldap/dc1.example.com`,
//! `cifs/dc1.example.com`, `HTTP/ces.example.com`, `DNS/dc1.example.com`) names the server the
//! client meant, even when everything after the handshake is sealed.
//!
//! The token is walked, not searched: RFC 2743 3.1 framing (`[APPLICATION 0]`, the mechanism
//! OID, the inner token), SPNEGO's NegTokenInit `mechToken` or NegTokenResp `responseToken`,
//! the Kerberos TOK_ID `01 00`. Windows and impacket also send the AP-REQ without the framing,
//! as the whole token or as SPNEGO's mechToken (tshark reads both); that is taken too. Another
//! mechanism (NTLMSSP), another token (AP-REP, KRB-ERROR) or bytes that do not frame give
//! `None`.

use crate::evidence::capped;
use crate::proto::ldap::ber;

use super::parse::{parse_message, MsgType};

/// OID content octets (X.690 8.19) of SPNEGO, 1.3.6.1.5.5.2 (RFC 4178 3).
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// Kerberos V5, 1.2.840.113554.1.2.2 (RFC 4121 1).
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The Kerberos OID with a wrong length that Windows 2000 sent, 1.2.840.48018.1.2.2, still
/// offered and accepted by Windows (RFC 4178 fn. 1, MS-SPNG 3.1.5.2).
const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// TOK_ID of an initial context token carrying a KRB_AP_REQ (RFC 4121 4.1).
const TOK_ID_AP_REQ: [u8; 2] = [0x01, 0x00];
/// Longest service principal kept; a longer one is cut and marked with "...".
pub const MAX_SNAME_LEN: usize = 512;

/// The service principal (components joined with "/") of the ticket in the AP-REQ that the
/// GSS-API token `token` carries; `None` when it carries none.
pub fn ticket_sname(token: &[u8]) -> Option<String> {
    let ap_req = ap_req(token)?;
    let m = parse_message(ap_req).ok()?;
    if m.msg_type != Some(MsgType::AP_REQ) {
        return None;
    }
    m.ticket_snames.first().map(|s| capped(s, MAX_SNAME_LEN))
}

/// The AP-REQ bytes inside `token`: a SPNEGO token (framed, or a NegTokenResp `a1` sent
/// without the framing after the first leg, RFC 4178 4.2), else a Kerberos one
/// ([`kerberos`]).
fn ap_req(token: &[u8]) -> Option<&[u8]> {
    if token.first() == Some(&0xa1) {
        return spnego(token);
    }
    match framed(token) {
        Some((oid, inner)) if oid == OID_SPNEGO => spnego(inner),
        _ => kerberos(token),
    }
}

/// The AP-REQ of a Kerberos token: an initial context token (`60`, the Kerberos OID, TOK_ID
/// `01 00`), or the AP-REQ itself (`6e`), as DCE/RPC's auth type 16 carries it from Windows
/// and impacket (`captures/lab_smb_rpc_variants.pcapng` frame 215) and as some clients put it
/// in SPNEGO's mechToken (`kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap` frame 46); tshark
/// reads both.
fn kerberos(token: &[u8]) -> Option<&[u8]> {
    if token.first() == Some(&0x6e) {
        return Some(token);
    }
    let (oid, inner) = framed(token)?;
    if oid == OID_KRB5 || oid == OID_MS_KRB5 {
        inner.strip_prefix(&TOK_ID_AP_REQ)
    } else {
        None
    }
}

/// An initial context token (RFC 2743 3.1: `[APPLICATION 0]` holding the mechanism OID, then
/// the inner token): (OID content octets, inner token).
fn framed(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let (t, content, _) = ber::split(token).ok()?;
    if t.tag != 0x60 {
        return None;
    }
    let (oid, oid_octets, inner) = ber::split(content).ok()?;
    (oid.tag == 0x06).then_some((oid_octets, inner))
}

/// The Kerberos AP-REQ of a SPNEGO NegotiationToken (RFC 4178 4.2): `[0]` NegTokenInit's
/// `mechToken [2]`, or `[1]` NegTokenResp's `responseToken [2]`, each an OCTET STRING holding
/// a Kerberos token.
fn spnego(token: &[u8]) -> Option<&[u8]> {
    let (t, choice, _) = ber::split(token).ok()?;
    if t.tag != 0xa0 && t.tag != 0xa1 {
        return None;
    }
    let (seq, mut fields, _) = ber::split(choice).ok()?;
    if seq.tag != 0x30 {
        return None;
    }
    while !fields.is_empty() {
        let (f, value, rest) = ber::split(fields).ok()?;
        if f.tag == 0xa2 {
            let (os, mech_token, _) = ber::split(value).ok()?;
            if os.tag != 0x04 {
                return None;
            }
            return kerberos(mech_token);
        }
        fields = rest;
    }
    None
}

#[cfg(test)]
mod tests {
    //! On a real token: the GSS-TSIG TKEY query of `captures/lab_dns_dynamic_update_gss_tsig.pcapng`
    //! (frames 82-83, tcp 43565 -> 53: nsupdate -g against Samba's DNS; tshark shows SPNEGO
    //! NegTokenInit, mechToken a framed Kerberos token, ticket sname `DNS/dc1.certflow.lab`).
    use super::*;
    use crate::proto::dns::parse::{Message, RData};

    /// The TKEY key data (a GSS-API token) of the query.
    fn tkey_token() -> Vec<u8> {
        let msg = crate::proto::dns::tests::tkey_query();
        let mut m = Message::default();
        m.read(&msg).unwrap();
        let (start, len) = m
            .records
            .iter()
            .find_map(|r| match r.data {
                RData::Tkey { key_start, key_len } => Some((key_start, key_len)),
                _ => None,
            })
            .expect("a TKEY record");
        msg[start..start + len].to_vec()
    }

    /// DER TLV with a definite length (test construction only).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        if n < 0x80 {
            v.push(n as u8);
        } else {
            let b = (n as u32).to_be_bytes();
            let skip = b.iter().take_while(|&&x| x == 0).count();
            v.push(0x80 | (4 - skip) as u8);
            v.extend_from_slice(&b[skip..]);
        }
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn spnego_token_names_its_ticket() {
        let t = tkey_token();
        assert_eq!(t[0], 0x60);
        assert_eq!(ticket_sname(&t).as_deref(), Some("DNS/dc1.certflow.lab"));
    }

    #[test]
    fn every_carrier_form_of_the_same_ap_req() {
        let t = tkey_token();
        let ap = ap_req(&t).unwrap().to_vec();
        assert_eq!(ap[0], 0x6e);
        let want = Some("DNS/dc1.certflow.lab".to_string());
        // The bare AP-REQ (DCE/RPC auth type 16).
        assert_eq!(ticket_sname(&ap), want);
        // The Kerberos mechanism's own framing (LDAP GSSAPI, RFC 4121 4.1), both OIDs.
        for oid in [OID_KRB5, OID_MS_KRB5] {
            let framed = tlv(
                0x60,
                &[tlv(0x06, oid), TOK_ID_AP_REQ.to_vec(), ap.clone()].concat(),
            );
            assert_eq!(ticket_sname(&framed), want);
            // SPNEGO NegTokenResp carrying it as responseToken (RFC 4178 4.2.2).
            let resp = tlv(0xa1, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &framed))));
            assert_eq!(ticket_sname(&resp), want);
            // Another TOK_ID (an AP-REP token, 02 00) carries no ticket.
            let rep = tlv(
                0x60,
                &[tlv(0x06, oid), vec![0x02, 0x00], ap.clone()].concat(),
            );
            assert_eq!(ticket_sname(&rep), None);
        }
        // SPNEGO whose mechToken is the bare AP-REQ (`kerberos_asreq_tgsreq_ldap_smb2_aduser1`
        // frame 46, Windows DCE/RPC binds).
        let init = tlv(0xa0, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &ap))));
        let spnego = tlv(0x60, &[tlv(0x06, OID_SPNEGO), init].concat());
        assert_eq!(ticket_sname(&spnego), want);
    }

    #[test]
    fn other_mechanisms_and_other_bytes_carry_no_ticket() {
        // NTLMSSP NEGOTIATE inside SPNEGO (mechToken starts "NTLMSSP\0").
        let ntlm = b"NTLMSSP\0\x01\0\0\0\x97\x82\x08\xe2".to_vec();
        let init = tlv(0xa0, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &ntlm))));
        let spnego = tlv(0x60, &[tlv(0x06, OID_SPNEGO), init].concat());
        assert_eq!(ticket_sname(&spnego), None);
        // A bare NTLMSSP token, an unknown mechanism, nothing.
        assert_eq!(ticket_sname(&ntlm), None);
        let t = tkey_token();
        let ap = ap_req(&t).unwrap().to_vec();
        let other = tlv(
            0x60,
            &[tlv(0x06, &[0x2b, 0x06, 0x01]), TOK_ID_AP_REQ.to_vec(), ap].concat(),
        );
        assert_eq!(ticket_sname(&other), None);
        assert_eq!(ticket_sname(&[]), None);
    }

    /// Every prefix of the real token is refused (no panic); so is the token with any one of
    /// its first 64 bytes changed, unless the change leaves the same ticket readable.
    #[test]
    fn truncated_and_corrupted_tokens_never_panic() {
        let t = tkey_token();
        for n in 0..t.len() {
            assert_eq!(ticket_sname(&t[..n]), None, "prefix of {n} bytes");
        }
        for i in 0..64 {
            for v in [0x00, 0x7f, 0x80, 0x84, 0xff] {
                let mut b = t.clone();
                b[i] = v;
                let got = ticket_sname(&b);
                assert!(
                    got.is_none() || got.as_deref() == Some("DNS/dc1.certflow.lab"),
                    "byte {i} = {v:#x}: {got:?}"
                );
            }
        }
        // The outer length made longer than the token: cut short, refused.
        let mut b = t.clone();
        b[3] = b[3].wrapping_add(1);
        assert_eq!(ticket_sname(&b), None);
    }
}
