//! Names of DCE/RPC interfaces, DCOM classes and operations, from the one data table
//! `interfaces.tsv` (embedded with `include_str!`, parsed once into a `OnceLock`).
//!
//! An unknown UUID has no name here; callers print the UUID itself and never drop it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::pdu::Uuid;

/// The table text, one entry a line (format described at its top).
const TABLE: &str = include_str!("interfaces.tsv");

/// What the table says about one interface or class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Short name ("EPM", "ICertRequestD2", ...).
    pub name: &'static str,
    /// Role in AD CS: "enrollment", "ca-admin", or None.
    pub role: Option<&'static str>,
    /// True for a DCOM class id rather than an interface.
    pub is_class: bool,
    /// The specification section the entry comes from.
    pub source: &'static str,
    /// Operation names by opnum.
    pub ops: BTreeMap<u16, &'static str>,
}

/// The parsed table and the count of lines it could not read (a test keeps that at zero).
struct Table {
    entries: BTreeMap<Uuid, Entry>,
    bad_lines: usize,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse_table(TABLE))
}

fn parse_table(text: &'static str) -> Table {
    let mut entries: BTreeMap<Uuid, Entry> = BTreeMap::new();
    let mut bad_lines = 0;
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // At most 6 fields are looked at (a longer line matches no pattern: bad): no Vec per line.
        let mut fields = [""; 6];
        let mut n = 0;
        for (slot, field) in fields.iter_mut().zip(line.split('\t')) {
            *slot = field;
            n += 1;
        }
        let too_many = n == fields.len();
        let ok = match fields.get(..n).unwrap_or_default() {
            _ if too_many => false,
            [kind @ ("if" | "class"), uuid, name, role, source] => match Uuid::parse(uuid) {
                Some(u) if !entries.contains_key(&u) => {
                    entries.insert(
                        u,
                        Entry {
                            name,
                            role: (*role != "-").then_some(*role),
                            is_class: *kind == "class",
                            source,
                            ops: BTreeMap::new(),
                        },
                    );
                    true
                }
                _ => false,
            },
            ["op", uuid, opnum, name] => match (Uuid::parse(uuid), opnum.parse::<u16>()) {
                (Some(u), Ok(n)) => match entries.get_mut(&u) {
                    Some(e) => e.ops.insert(n, name).is_none(),
                    None => false,
                },
                _ => false,
            },
            _ => false,
        };
        if !ok {
            bad_lines += 1;
        }
    }
    Table { entries, bad_lines }
}

/// The table entry of an interface or class UUID.
pub fn lookup(uuid: &Uuid) -> Option<&'static Entry> {
    table().entries.get(uuid)
}

/// The interface's (or class's) name, or its UUID as text when unknown.
pub fn interface_name(uuid: &Uuid) -> String {
    match lookup(uuid) {
        Some(e) => e.name.to_string(),
        None => uuid.to_string(),
    }
}

/// The AD CS role of an interface or class ("enrollment", "ca-admin"), if any.
pub fn interface_role(uuid: &Uuid) -> Option<&'static str> {
    lookup(uuid).and_then(|e| e.role)
}

/// The operation's name, or None when the table does not list it.
pub fn opnum_name(uuid: &Uuid, opnum: u16) -> Option<&'static str> {
    lookup(uuid).and_then(|e| e.ops.get(&opnum).copied())
}

/// Lines of `interfaces.tsv` that could not be read (kept at zero by a test; a non-zero value
/// means an entry is silently missing).
pub fn bad_lines() -> usize {
    table().bad_lines
}

/// Every UUID of the table with its entry, in UUID order.
pub fn all() -> impl Iterator<Item = (&'static Uuid, &'static Entry)> {
    table().entries.iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uuid {
        Uuid::parse(s).unwrap()
    }

    #[test]
    fn table_reads_cleanly() {
        assert_eq!(table().bad_lines, 0, "interfaces.tsv has unreadable lines");
        assert!(all().count() > 40);
    }

    #[test]
    fn domain_md_interfaces() {
        let epm = u("e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(interface_name(&epm), "EPM");
        assert_eq!(opnum_name(&epm, 3), Some("ept_map"));
        assert_eq!(opnum_name(&epm, 2), Some("ept_lookup"));
        let r2 = u("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90");
        assert_eq!(interface_name(&r2), "ICertRequestD2");
        assert_eq!(interface_role(&r2), Some("enrollment"));
        assert_eq!(opnum_name(&r2, 6), Some("Request2"));
        assert_eq!(opnum_name(&r2, 9), Some("Ping2"));
        let admin = u("7fe0d935-dda6-443f-85d0-1cfb58fe41dd");
        assert_eq!(interface_role(&admin), Some("ca-admin"));
        let icpr = u("91ae6020-9e3c-11cf-8d7c-00aa00c091be");
        assert_eq!(opnum_name(&icpr, 0), Some("CertServerRequest"));
        let scm = u("000001a0-0000-0000-c000-000000000046");
        assert_eq!(opnum_name(&scm, 4), Some("RemoteCreateInstance"));
        let class = lookup(&u("d99e6e74-fc88-11d0-b498-00a0c90312f3")).unwrap();
        assert!(class.is_class);
        // Names checked against tshark's column for epm_map_netlogon_zerologon_win2019.pcap
        // frames 19, 22, 581: NetrServerReqChallenge (4), NetrServerAuthenticate3 (26),
        // NetrServerPasswordSet2 (30).
        let nl = u("12345678-1234-abcd-ef00-01234567cffb");
        assert_eq!(opnum_name(&nl, 4), Some("NetrServerReqChallenge"));
        assert_eq!(opnum_name(&nl, 26), Some("NetrServerAuthenticate3"));
        assert_eq!(opnum_name(&nl, 30), Some("NetrServerPasswordSet2"));
    }

    #[test]
    fn unknown_uuid_prints_itself() {
        let x = u("01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(interface_name(&x), "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(opnum_name(&x, 0), None);
    }

    #[test]
    fn bad_lines_are_counted() {
        let t = parse_table(
            "if\tnot-a-uuid\tX\t-\ts\nop\te1af8308-5d1f-11c9-91a4-08002b14a0fa\t1\tx\n",
        );
        assert_eq!(t.bad_lines, 2);
    }
}
