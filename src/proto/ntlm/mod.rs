//! NTLM (MS-NLMP) messages inside other protocols' authentication tokens.
//!
//! NTLM has no port of its own: SMB2 SESSION_SETUP security buffers, LDAP SASL (GSS-SPNEGO)
//! and Sicily binds (MS-ADTS 5.1.1.1.3), DCE/RPC auth verifiers of types 9 and 10 (MS-RPCE
//! 2.2.1.1.7) and HTTP `NTLM` / `Negotiate` headers (MS-NTHT 2) carry its three messages, bare
//! or inside SPNEGO. They name both ends: the CHALLENGE the server's DNS and NetBIOS names and
//! domain, the AUTHENTICATE the user, the client's workstation and (NTLMv2) the service
//! principal the client meant. A logon by NTLM where Kerberos was expected is itself a
//! finding: the client could not reach a KDC, or had no SPN for the server.
//!
//! - [`parse`]: one message, pure;
//! - [`evidence`]: what the messages prove ([`NtlmEvidence`]), recorded in the carrier's flow.

pub mod evidence;
pub mod parse;

pub use evidence::{ntlm_of, NtlmEvidence};

use crate::evidence::{Evidence, FrameRef};

/// Records the NTLM message of a mechanism token (SPNEGO already unwrapped by
/// [`crate::proto::auth::record_token`]) in `ev`'s NTLM entry; returns false when it is none.
pub fn record_mech(ev: &mut Evidence, inner: &[u8], at: FrameRef) -> bool {
    if !parse::is_ntlm(inner) {
        return false;
    }
    let n = ntlm_of(ev);
    match parse::parse_message(inner) {
        Ok(m) => n.record(&m, at),
        Err(_) => {
            n.messages += 1;
            n.malformed += 1;
            if let Some(t) = inner.get(8..12) {
                let t = parse::MsgType(u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
                n.msg_types.add_ref(&*evidence::msg_type_code(t), at);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::spnego;

    /// A whole token, bare or SPNEGO, as the carriers hand it over.
    fn record_token(ev: &mut Evidence, token: &[u8], at: FrameRef) -> bool {
        spnego::mech_token(token).is_some_and(|mech| record_mech(ev, mech, at))
    }
    use crate::proto::testutil::{frames, hex, NTLM_AUTHENTICATE, NTLM_CHALLENGE};

    #[test]
    fn bare_and_spnego_wrapped_messages_are_recorded_alike() {
        let challenge = hex(NTLM_CHALLENGE);
        // The whole SPNEGO NegTokenResp of `lab_enroll_icpr_named_pipe.pcap` frame 51
        // (smb2.security_blob): negState accept-incomplete, supportedMech NTLMSSP
        // (1.3.6.1.4.1.311.2.2.10), responseToken the CHALLENGE.
        let resp = hex(concat!(
            "a181b03081ada0030a0101a10c060a2b06010401823702020aa281970481944e",
            "544c4d5353500002000000100010003800000005028aa2aaaaaaaaaaaaaaaa00",
            "000000000000004c004c0048000000ffffffffffffffff430045005200540046",
            "004c004f00570002001000430045005200540046004c004f0057000400100043",
            "0045005200540046004c004f0057000100060043004100310003000600430041",
            "0031000700080000d33104c97bdd0100000000",
        ));
        assert!(resp.ends_with(&challenge));
        for (i, token) in [challenge.clone(), resp].iter().enumerate() {
            let mut ev = Evidence::default();
            assert!(
                record_token(&mut ev, token, FrameRef::new(0, 51)),
                "form {i}"
            );
            let n = ev.ntlm.expect("ntlm entry");
            assert_eq!((n.messages, n.malformed), (1, 0));
            assert_eq!(frames(&n.server_dns_names), vec![("CA1".to_string(), 51)]);
            assert_eq!(frames(&n.target_names), vec![("CERTFLOW".to_string(), 51)]);
            assert_eq!(
                frames(&n.server_versions),
                vec![("255.255.65535".to_string(), 51)]
            );
        }
    }

    #[test]
    fn authenticate_names_user_and_spn_and_a_cut_one_is_counted_malformed() {
        let auth = hex(NTLM_AUTHENTICATE);
        let mut ev = Evidence::default();
        let at = FrameRef::new(0, 52);
        assert!(record_token(&mut ev, &auth, at));
        // Cut inside its NTLMv2 response: counted, its type still listed.
        assert!(record_token(&mut ev, &auth[..200], FrameRef::new(0, 60)));
        let n = ev.ntlm.expect("ntlm entry");
        assert_eq!((n.messages, n.malformed), (2, 1));
        assert_eq!(
            frames(&n.users),
            vec![("CERTFLOW.LAB\\ALICE".to_string(), 52)]
        );
        assert_eq!(frames(&n.target_spns), vec![("cifs/CA1".to_string(), 52)]);
        let types: Vec<(String, u64)> = n
            .msg_types
            .iter()
            .map(|f| (f.value.name.clone(), f.count))
            .collect();
        assert_eq!(types, vec![("NTLMSSP_AUTHENTICATE".to_string(), 2)]);
        // The same AUTHENTICATE with UserName's length (bytes 36-37) made 0: an anonymous
        // logon, counted, naming no user.
        let mut anon = auth.clone();
        anon[36..38].copy_from_slice(&[0, 0]);
        let mut ev = Evidence::default();
        assert!(record_token(&mut ev, &anon, at));
        let n = ev.ntlm.expect("ntlm entry");
        assert_eq!((n.anonymous, n.users.len()), (1, 0));
        // No signature, or a SPNEGO token with no mechanism token: nothing recorded.
        let mut ev = Evidence::default();
        assert!(!record_token(&mut ev, b"NTLMSSX\0\x01\0\0\0", at));
        assert!(!record_token(&mut ev, &hex("a1053003 0a0100"), at));
        assert!(ev.ntlm.is_none());
    }

    #[test]
    fn mutated_messages_never_panic() {
        // Bytes overwritten (random, 0xff, 0x00) or the message cut, in the header's length
        // and offset fields as anywhere else; bare and inside the real SPNEGO token.
        let rounds: usize = std::env::var("FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let mut r = crate::proto::testutil::Rng(0x4e54_4c4d_5353_5000);
        let (mut read, mut malformed) = (0u64, 0u64);
        for msg in [
            crate::proto::testutil::NTLM_NEGOTIATE,
            NTLM_CHALLENGE,
            NTLM_AUTHENTICATE,
        ] {
            for _ in 0..rounds {
                let mut b = hex(msg);
                r.mutate(&mut b);
                let mut ev = Evidence::default();
                if record_token(&mut ev, &b, FrameRef::new(0, 1)) {
                    let n = ev.ntlm.unwrap();
                    read += n.messages;
                    malformed += n.malformed;
                }
            }
        }
        // Most mutations keep the signature; some of them break a field.
        assert!(
            read > 0 && malformed > 0 && malformed < read,
            "{malformed} of {read}"
        );
    }
}
