//! The authentication tokens application protocols carry (SMB2 SESSION_SETUP, LDAP binds,
//! DCE/RPC auth verifiers, HTTP `Authorization` / `WWW-Authenticate`, DNS TKEY): each is read
//! for a Kerberos message ([`krb::gss::read_mech`]) and, failing that, an NTLM one
//! ([`ntlm::record_mech`]), SPNEGO unwrapped once ([`spnego::mech_token`]), and recorded in
//! the carrier's flow.

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{krb, ntlm, spnego};

/// Records the Kerberos or NTLM message of `token` in `ev`; returns the ticket's service
/// principal of a Kerberos AP-REQ (the carrier lists it too).
pub fn record_token(ev: &mut Evidence, token: &[u8], at: FrameRef) -> Option<String> {
    // SPNEGO is unwrapped once, for both mechanisms.
    let mech = spnego::mech_token(token)?;
    match krb::gss::read_mech(mech) {
        Some(c) => krb::record_carried(ev, &c, at),
        None => {
            ntlm::record_mech(ev, mech, at);
            None
        }
    }
}

/// The first bytes of every token [`record_token`] reads: Kerberos's
/// ([`krb::gss::FIRST_BYTES`], SPNEGO included) and NTLM's signature. Carriers that copy or
/// decode a token first (LDAP, HTTP) skip any other.
pub fn first_bytes() -> impl Iterator<Item = u8> {
    krb::gss::FIRST_BYTES
        .into_iter()
        .chain([ntlm::parse::SIGNATURE[0]])
}

/// True when `token` may be read by [`record_token`]: a Kerberos or SPNEGO start, or the whole
/// NTLM signature.
pub fn may_carry(token: &[u8]) -> bool {
    token
        .first()
        .is_some_and(|b| krb::gss::FIRST_BYTES.contains(b))
        || ntlm::parse::is_ntlm(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::{hex, NTLM_NEGOTIATE};

    #[test]
    fn kerberos_and_ntlm_tokens_go_to_their_entries() {
        let at = FrameRef::new(0, 1);
        // The GSS-TSIG TKEY query's SPNEGO token (Kerberos AP-REQ) of
        // `lab_dns_dynamic_update_gss_tsig.pcapng` frame 83: its ticket comes back.
        let krb = krb::gss::tests::tkey_token();
        let mut ev = Evidence::default();
        assert_eq!(
            record_token(&mut ev, &krb, at).as_deref(),
            Some("DNS/dc1.certflow.lab")
        );
        assert!(ev.kerberos.is_some() && ev.ntlm.is_none());
        // An NTLM NEGOTIATE: recorded as NTLM, no ticket.
        let mut ev = Evidence::default();
        let ntlm = hex(NTLM_NEGOTIATE);
        assert!(may_carry(&ntlm));
        assert_eq!(record_token(&mut ev, &ntlm, at), None);
        assert!(ev.kerberos.is_none() && ev.ntlm.is_some());
        // Other bytes: neither.
        let mut ev = Evidence::default();
        assert!(!may_carry(b"NTLM"));
        assert_eq!(record_token(&mut ev, b"\x05\x06", at), None);
        assert!(ev.is_empty());
        assert!(first_bytes().any(|b| b == b'N'));
    }
}
