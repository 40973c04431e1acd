//! Well-known ports: the guess made from a port number alone, before content proves otherwise.
//! The one table of ports in certflow.

use crate::proto::Transport;

/// (transport, port, service) for every port certflow names without looking at content.
/// Sources: IANA service names registry; DOMAIN.md section 1 and 7 for the AD CS set.
pub const WELL_KNOWN: &[(Transport, u16, &str)] = &[
    (Transport::Udp, 53, "dns"),
    (Transport::Tcp, 53, "dns"),
    (Transport::Tcp, 80, "http"),
    (Transport::Udp, 88, "kerberos"),
    (Transport::Tcp, 88, "kerberos"),
    (Transport::Udp, 123, "ntp"),
    (Transport::Tcp, 135, "epm"),
    (Transport::Tcp, 389, "ldap"),
    (Transport::Udp, 389, "cldap"),
    (Transport::Tcp, 443, "https"),
    (Transport::Tcp, 445, "smb"),
    (Transport::Udp, 464, "kpasswd"),
    (Transport::Tcp, 464, "kpasswd"),
    (Transport::Tcp, 636, "ldaps"),
    (Transport::Tcp, 3268, "gc"),
    (Transport::Tcp, 3269, "gc-ldaps"),
];

/// The service a port suggests, or "unknown".
pub fn well_known(transport: Transport, port: u16) -> &'static str {
    WELL_KNOWN
        .iter()
        .find(|&&(t, p, _)| t == transport && p == port)
        .map(|&(_, _, s)| s)
        .unwrap_or("unknown")
}

/// True if `port` is a well-known port for `transport` in [`WELL_KNOWN`].
pub fn is_well_known(transport: Transport, port: u16) -> bool {
    well_known(transport, port) != "unknown"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        assert_eq!(well_known(Transport::Udp, 389), "cldap");
        assert_eq!(well_known(Transport::Tcp, 389), "ldap");
        assert_eq!(well_known(Transport::Tcp, 49668), "unknown");
        assert_eq!(well_known(Transport::Udp, 464), "kpasswd");
    }
}
