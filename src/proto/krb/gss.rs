//! The Kerberos messages inside GSS-API tokens: the AP-REQ (RFC 4120 5.5.1) of the Kerberos
//! mechanism's initial context token (RFC 4121 4.1) with the ticket a client presents, the
//! server's AP-REP or KRB-ERROR, and the user-to-user mechanism's KRB-TGT-REQ and KRB-TGT-REP
//! (draft-swift-win2k-krb-user2user 3, MS-KILE 3.1.5.10), bare or inside SPNEGO (RFC 4178).
//!
//! Application protocols carry these tokens: LDAP SASL binds and their responses (GSSAPI,
//! GSS-SPNEGO; RFC 4752), SMB2 SESSION_SETUP security buffers (MS-SMB2 2.2.5, 2.2.6), DCE/RPC
//! auth verifiers of types 9 and 16 (MS-RPCE 2.2.1.1.7), HTTP `Authorization` and
//! `WWW-Authenticate: Negotiate` (RFC 4559 4) and DNS TKEY key data (RFC 3645 3.1.1). The
//! ticket's service principal (`ldap/dc1.example.com`, `cifs/dc1.example.com`,
//! `HTTP/ces.example.com`, `DNS/dc1.example.com`) names the server the client meant, even when
//! everything after the handshake is sealed; an AP-REP says the server accepted it, a KRB-ERROR
//! why it did not.
//!
//! The token is walked, not searched: RFC 2743 3.1 framing (`[APPLICATION 0]`, the mechanism
//! OID, the inner token), SPNEGO's NegTokenInit `mechToken` or NegTokenResp `responseToken`,
//! the TOK_ID (RFC 4121 4.1: `01 00` AP-REQ, `02 00` AP-REP, `03 00` KRB-ERROR; user-to-user
//! `04 00` KRB-TGT-REQ, `04 01` KRB-TGT-REP). Windows and impacket also send the Kerberos
//! message without the framing, as the whole token or as SPNEGO's mechToken or responseToken
//! (tshark reads both); that is taken too. Another mechanism (NTLMSSP), a TOK_ID whose message
//! does not follow, or bytes that do not frame give `None`.

use crate::evidence::capped;
use crate::proto::ldap::ber;
#[cfg(test)]
use crate::proto::spnego;
use crate::proto::spnego::framed;

use super::parse::{parse_message, KrbMessage, MsgType};

/// Kerberos V5, 1.2.840.113554.1.2.2 (RFC 4121 1).
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The Kerberos OID with a wrong length that Windows 2000 sent, 1.2.840.48018.1.2.2, still
/// offered and accepted by Windows (RFC 4178 fn. 1, MS-SPNG 3.1.5.2).
const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Kerberos user-to-user, 1.2.840.113554.1.2.2.3 (draft-swift-win2k-krb-user2user 3;
/// DCOM's binds from Windows, `dcom_activation_shellwindows_cldap_kerberos_ws5.pcap` 167).
const OID_KRB5_U2U: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03];
/// TOK_ID of an initial context token carrying a KRB_AP_REQ (RFC 4121 4.1).
const TOK_ID_AP_REQ: [u8; 2] = [0x01, 0x00];
/// TOK_IDs of the other context tokens: KRB_AP_REP, KRB_ERROR (RFC 4121 4.1), and the
/// user-to-user KERB-TGT-REQUEST and KERB-TGT-REPLY (draft-swift-win2k-krb-user2user 3).
const TOK_ID_AP_REP: [u8; 2] = [0x02, 0x00];
const TOK_ID_ERROR: [u8; 2] = [0x03, 0x00];
const TOK_ID_TGT_REQ: [u8; 2] = [0x04, 0x00];
const TOK_ID_TGT_REP: [u8; 2] = [0x04, 0x01];
/// Message types of the user-to-user messages (tshark's `krb-tgt-req`, `krb-tgt-rep`).
const TGT_REQ: MsgType = MsgType(16);
const TGT_REP: MsgType = MsgType(17);
/// First bytes of the tokens [`read`] can find Kerberos in: a framed token `60`, a SPNEGO
/// NegTokenResp sent without the framing `a1`, a bare AP-REQ `6e`, AP-REP `6f` or KRB-ERROR
/// `7e`. Carriers that copy or decode a token first (LDAP, HTTP) skip any other.
pub const FIRST_BYTES: [u8; 5] = [0x60, 0xa1, 0x6e, 0x6f, 0x7e];
/// Longest service principal kept; a longer one is cut and marked with "...".
pub const MAX_SNAME_LEN: usize = 512;

/// A Kerberos message a GSS-API token carries.
#[derive(Debug)]
pub struct Carried<'a> {
    /// AP-REQ (14), AP-REP (15), KRB-TGT-REQ (16), KRB-TGT-REP (17) or KRB-ERROR (30).
    pub msg_type: MsgType,
    /// The AP-REQ, AP-REP or KRB-ERROR decoded as a KDC's messages are ([`parse_message`]);
    /// `None` for the user-to-user messages, whose type is read from their envelope.
    pub message: Option<KrbMessage<'a>>,
}

impl Carried<'_> {
    /// An AP-REQ's ticket service principal, components joined with "/" (at most
    /// [`MAX_SNAME_LEN`] bytes): the name the client used for the server.
    pub fn ticket_sname(&self) -> Option<String> {
        let m = self.message.as_ref()?;
        if self.msg_type != MsgType::AP_REQ {
            return None;
        }
        m.ticket_snames.first().map(|s| capped(s, MAX_SNAME_LEN))
    }
}

/// The Kerberos message that the GSS-API token `token` carries, if it carries one that decodes
/// (tests read whole tokens; the carriers go through [`crate::proto::auth::record_token`],
/// which unwraps SPNEGO once for both mechanisms).
#[cfg(test)]
pub fn read(token: &[u8]) -> Option<Carried<'_>> {
    read_mech(spnego::mech_token(token)?)
}

/// [`read`] of a mechanism token, SPNEGO already unwrapped ([`spnego::mech_token`]).
pub fn read_mech(mech: &[u8]) -> Option<Carried<'_>> {
    let (msg, want) = kerberos(mech)?;
    if let Some(t @ (TGT_REQ | TGT_REP)) = want {
        return (sequence_type(msg)? == t).then_some(Carried {
            msg_type: t,
            message: None,
        });
    }
    let m = parse_message(msg).ok()?;
    let t = m.msg_type?;
    (want.is_none_or(|w| w == t) && carried_type(t)).then_some(Carried {
        msg_type: t,
        message: Some(m),
    })
}

/// The message types a context token carries with an APPLICATION tag.
fn carried_type(t: MsgType) -> bool {
    matches!(t, MsgType::AP_REQ | MsgType::AP_REP | MsgType::ERROR)
}

/// The Kerberos message inside a mechanism token, with the type its TOK_ID announces (`None`: a
/// bare message, its own tag says): an initial context token (`60`, a Kerberos OID, a TOK_ID),
/// or the message itself (`6e` AP-REQ, `6f` AP-REP, `7e` KRB-ERROR), as DCE/RPC's auth type 16
/// carries it from Windows and impacket (`captures/lab_smb_rpc_variants.pcapng` frame 215) and
/// as some clients put it in SPNEGO's mechToken (`kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap`
/// frame 46); tshark reads both.
fn kerberos(token: &[u8]) -> Option<(&[u8], Option<MsgType>)> {
    if matches!(token.first(), Some(0x6e | 0x6f | 0x7e)) {
        return Some((token, None));
    }
    let (oid, inner) = framed(token)?;
    if oid != OID_KRB5 && oid != OID_MS_KRB5 && oid != OID_KRB5_U2U {
        return None;
    }
    let (tok_id, msg) = inner.split_first_chunk::<2>()?;
    let t = match *tok_id {
        TOK_ID_AP_REQ => MsgType::AP_REQ,
        TOK_ID_AP_REP => MsgType::AP_REP,
        TOK_ID_ERROR => MsgType::ERROR,
        TOK_ID_TGT_REQ if oid == OID_KRB5_U2U => TGT_REQ,
        TOK_ID_TGT_REP if oid == OID_KRB5_U2U => TGT_REP,
        _ => return None,
    };
    Some((msg, Some(t)))
}

/// The message type of the user-to-user KERB-TGT-REQUEST and KERB-TGT-REPLY
/// (draft-swift-win2k-krb-user2user 3), which have no APPLICATION tag: a SEQUENCE that starts
/// `pvno [0] INTEGER (5), msg-type [1] INTEGER`.
fn sequence_type(msg: &[u8]) -> Option<MsgType> {
    fn int(tag: u8, fields: &[u8]) -> Option<(u8, &[u8])> {
        let (t, v, rest) = ber::split(fields).ok()?;
        match ber::split(v).ok()? {
            (i, [n], []) if t.tag == tag && i.tag == 0x02 => Some((*n, rest)),
            _ => None,
        }
    }
    let (seq, fields, _) = ber::split(msg).ok()?;
    if seq.tag != 0x30 {
        return None;
    }
    let (pvno, rest) = int(0xa0, fields)?;
    let (mt, _) = int(0xa1, rest)?;
    (pvno == 5).then_some(MsgType(u32::from(mt)))
}

#[cfg(test)]
pub(crate) mod tests {
    //! On a real token: the GSS-TSIG TKEY query of `captures/lab_dns_dynamic_update_gss_tsig.pcapng`
    //! (frames 82-83, tcp 43565 -> 53: nsupdate -g against Samba's DNS; tshark shows SPNEGO
    //! NegTokenInit, mechToken a framed Kerberos token, ticket sname `DNS/dc1.certflow.lab`).
    use super::*;
    use crate::proto::dns::parse::{Message, RData};
    use crate::proto::spnego::OID_SPNEGO;

    /// The service principal of the ticket in the AP-REQ that `token` carries.
    fn ticket_sname(token: &[u8]) -> Option<String> {
        read(token)?.ticket_sname()
    }

    /// (type, a KRB-ERROR's code, an AP-REQ's ticket) of the message `token` carries.
    fn seen(token: &[u8]) -> Option<(MsgType, Option<i32>, Option<String>)> {
        let c = read(token)?;
        let error = c.message.as_ref().and_then(|m| m.error_code);
        Some((c.msg_type, error, c.ticket_sname()))
    }

    /// The TKEY key data (a GSS-API token) of the query.
    pub(crate) fn tkey_token() -> Vec<u8> {
        key_data(crate::proto::dns::tests::tkey_query())
    }

    /// The TKEY key data of the DNS message `msg`.
    fn key_data(msg: Vec<u8>) -> Vec<u8> {
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
        let ap = kerberos(spnego::mech_token(&t).unwrap())
            .unwrap()
            .0
            .to_vec();
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
        let ap = kerberos(spnego::mech_token(&t).unwrap())
            .unwrap()
            .0
            .to_vec();
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

    /// Samba's answer to the same TKEY (frame 86): SPNEGO NegTokenResp, its responseToken a
    /// framed Kerberos token with TOK_ID 02 00 and the AP-REP (tshark: kerberos.msg_type 15).
    #[test]
    fn a_server_token_carries_an_ap_rep() {
        let t = key_data(crate::proto::dns::tests::tkey_response());
        let c = seen(&t).expect("an AP-REP");
        assert_eq!(c, (MsgType::AP_REP, None, None));
        // Its AP-REP bare (DCE/RPC auth type 16 from Windows) reads the same.
        let (rep, want) = kerberos(spnego::mech_token(&t).unwrap()).unwrap();
        assert_eq!((rep[0], want), (0x6f, Some(MsgType::AP_REP)));
        assert_eq!(seen(rep), Some(c));
        // The AP-REP under TOK_ID 01 00 (an AP-REQ's) is refused: the types must agree.
        let lying = tlv(
            0x60,
            &[tlv(0x06, OID_KRB5), TOK_ID_AP_REQ.to_vec(), rep.to_vec()].concat(),
        );
        assert!(read(&lying).is_none());
        for n in 0..t.len() {
            assert!(read(&t[..n]).is_none(), "prefix of {n} bytes");
        }
    }

    /// A KRB-ERROR as the acceptor sends it (RFC 4121 4.1, TOK_ID 03 00), here the real
    /// KRB-ERROR 52 of `kerberos_udp_vlan_krb_error.pcap` frame 2 in that framing, bare, and in
    /// a NegTokenResp: its code is kept.
    #[test]
    fn a_krb_error_token_gives_its_code() {
        let e = crate::proto::testutil::hex(crate::proto::testutil::KRB_UDP_ERROR_52);
        let framed = tlv(
            0x60,
            &[tlv(0x06, OID_KRB5), TOK_ID_ERROR.to_vec(), e.clone()].concat(),
        );
        let resp = tlv(0xa1, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &framed))));
        for t in [&e, &framed, &resp] {
            assert_eq!(seen(t), Some((MsgType::ERROR, Some(52), None)));
        }
    }

    /// The user-to-user mechanism's KRB-TGT-REQ: the mechToken of the DCOM bind at
    /// `dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap` frame 57 (tshark: krb5_tok_id
    /// 0x0004, msg-type krb-tgt-req (16), server-name Administrator, realm PURP); the same with
    /// msg-type 17 under TOK_ID 04 01 is a KRB-TGT-REP.
    #[test]
    fn user_to_user_tgt_request_and_reply() {
        let h = "603e060a2a864886f712010202030400302ea003020105a103020110a21a3018a003020180\
                 a111300f1b0d41646d696e6973747261746f72a3061b0450555250";
        let req = crate::proto::testutil::hex(&h.replace(' ', ""));
        assert_eq!(seen(&req), Some((TGT_REQ, None, None)));
        let init = tlv(0xa0, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &req))));
        let spnego = tlv(0x60, &[tlv(0x06, OID_SPNEGO), init].concat());
        assert_eq!(read(&spnego).map(|c| c.msg_type), Some(TGT_REQ));
        let mut rep = req.clone();
        rep[15] = 0x01; // TOK_ID 04 01
        rep[27] = 17; // msg-type
        assert_eq!(read(&rep).map(|c| c.msg_type), Some(TGT_REP));
        // The type must match the TOK_ID, and only the user-to-user OID has these TOK_IDs.
        rep[27] = 16;
        assert!(read(&rep).is_none());
        let mut krb5 = req.clone();
        krb5[3] = 0x09; // OID length 9: 1.2.840.113554.1.2.2, then its last byte read as TOK_ID
        assert!(read(&krb5).is_none());
        for n in 0..req.len() {
            assert!(read(&req[..n]).is_none(), "prefix of {n} bytes");
        }
    }
}
