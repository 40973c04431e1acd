//! The mechanism token inside a GSS-API token: SPNEGO (RFC 4178) unwrapped, so that the
//! Kerberos ([`crate::proto::krb::gss`]) and NTLM ([`crate::proto::ntlm`]) readers see their own
//! mechanism's bytes whichever way a protocol sends them.
//!
//! A SPNEGO token comes framed (RFC 2743 3.1: `[APPLICATION 0]`, the SPNEGO OID
//! 1.3.6.1.5.5.2, then a NegotiationToken) on the first leg, and as a bare NegTokenResp `a1` on
//! later legs (RFC 4178 4.2). Its mechanism token is NegTokenInit's `mechToken [2]` or
//! NegTokenResp's `responseToken [2]`, an OCTET STRING.

use crate::proto::ldap::ber;

/// OID content octets (X.690 8.19) of SPNEGO, 1.3.6.1.5.5.2 (RFC 4178 3).
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/// The token a mechanism reads: `token` itself when it is not SPNEGO, the `mechToken` or
/// `responseToken` when it is; `None` for a SPNEGO token without one (a NegTokenResp that only
/// accepts, a NegTokenInit that only lists mechanisms) or one that does not decode.
pub fn mech_token(token: &[u8]) -> Option<&[u8]> {
    if token.first() == Some(&0xa1) {
        return negotiation_token(token);
    }
    match framed(token) {
        Some((oid, inner)) if oid == OID_SPNEGO => negotiation_token(inner),
        _ => Some(token),
    }
}

/// An initial context token (RFC 2743 3.1: `[APPLICATION 0]` holding the mechanism OID, then
/// the inner token): (OID content octets, inner token).
pub fn framed(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let (t, content, _) = ber::split(token).ok()?;
    if t.tag != 0x60 {
        return None;
    }
    let (oid, oid_octets, inner) = ber::split(content).ok()?;
    (oid.tag == 0x06).then_some((oid_octets, inner))
}

/// The mechanism token of a NegotiationToken (RFC 4178 4.2): `[0]` NegTokenInit's
/// `mechToken [2]`, or `[1]` NegTokenResp's `responseToken [2]`.
fn negotiation_token(token: &[u8]) -> Option<&[u8]> {
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
            return (os.tag == 0x04).then_some(mech_token);
        }
        fields = rest;
    }
    None
}
