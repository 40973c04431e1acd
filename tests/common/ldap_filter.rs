//! LDAP search filters (RFC 4511 4.5.1.7) as certflow writes them (RFC 4515 strings) and as
//! tshark 4.0 shows them (its "Filter: " line), brought to one canonical form so that the two
//! can be compared. Only `tests/tshark_evidence.rs` uses it (`#[path]`), so that its unit test
//! runs once, not in every test that shares `common`.
//!
//! How tshark's rendering differs, and what the canonical form does about it:
//! - tshark nests an `and`/`or` of n elements pairwise, `(&(&(a)(b))(c))`, and writes a
//!   one-element one as its element; certflow writes what the wire holds, `(&(a)(b)(c))`. The
//!   canonical form flattens nested sets of the same kind and drops one-element sets, both of
//!   which leave a filter's meaning unchanged (associativity).
//! - tshark writes RFC 4526's empty `and`/`or` (absolute true/false) as nothing at all; so
//!   does the canonical form.
//! - tshark writes values raw (`(description=a*b(c)d\e)`), or as colon-separated hex when a
//!   byte is not printable (`63:61:66:c3:a9`); certflow escapes `*()\`, NUL and every byte
//!   that is not printable ASCII as `\xx`. Both are decoded to bytes and escaped again as
//!   certflow does. (A `*` is a substring separator or a value byte: both sides lose the
//!   difference alike.)
//! - tshark writes an extensible match as `attr:rule:dn:=value`, RFC 4515 as
//!   `attr:dn:rule:=value`; the canonical form puts `dn` first.
//! - For the DC locator's attributes (MS-ADTS 6.3.3.2) tshark decodes the value: `NtVer` as
//!   `0x` and the little-endian u32, `DomainGuid` as a GUID, `DomainSid` as `S-1-...` followed
//!   by a note in parentheses. They are turned back into the bytes.

/// One filter, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// `&` or `|` and the elements.
    Set(u8, Vec<Filter>),
    Not(Box<Filter>),
    /// Attribute with the operator (`cn=`, `uSNChanged>=`, `cn:dn:2.5.13.5:=`), value bytes.
    Leaf(String, Vec<u8>),
}

/// Which rendering a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Certflow,
    Tshark,
}

/// The canonical form of `text`, or `None` when it does not parse.
pub fn canonical(text: &str, src: Source) -> Option<String> {
    if text.is_empty() && src == Source::Tshark {
        return Some(String::new());
    }
    let (f, rest) = parse(text.as_bytes(), src)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = String::new();
    write(&mut out, &flatten(f));
    Some(out)
}

fn parse(s: &[u8], src: Source) -> Option<(Filter, &[u8])> {
    let s = s.strip_prefix(b"(")?;
    match *s.first()? {
        op @ (b'&' | b'|') => {
            let mut rest = &s[1..];
            let mut v = Vec::new();
            while *rest.first()? != b')' {
                let (f, r) = parse(rest, src)?;
                v.push(f);
                rest = r;
            }
            Some((Filter::Set(op, v), &rest[1..]))
        }
        b'!' => {
            let (f, r) = parse(&s[1..], src)?;
            Some((Filter::Not(Box::new(f)), r.strip_prefix(b")")?))
        }
        _ => {
            // The leaf ends at its `)`: certflow escapes parentheses in values; tshark writes
            // them raw, balanced in any value this test meets.
            let mut depth = 0usize;
            let mut end = None;
            for (i, &b) in s.iter().enumerate() {
                match b {
                    b'(' if src == Source::Tshark => depth += 1,
                    b')' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    b')' => depth -= 1,
                    _ => {}
                }
            }
            let end = end?;
            Some((
                leaf(std::str::from_utf8(&s[..end]).ok()?, src)?,
                &s[end + 1..],
            ))
        }
    }
}

/// `attr op value` of one leaf.
fn leaf(text: &str, src: Source) -> Option<Filter> {
    let eq = text.find('=')?;
    let (op_start, op) = match text[..eq].chars().last() {
        Some(c @ ('~' | '>' | '<' | ':')) => (eq - 1, format!("{c}=")),
        _ => (eq, "=".to_string()),
    };
    let attr = &text[..op_start];
    let value = &text[eq + 1..];
    let attr = if op == ":=" {
        // attr [":dn"] [":" rule], in either order after the attribute.
        let mut parts = attr.split(':');
        let name = parts.next().unwrap_or_default();
        let mut rest: Vec<&str> = parts.collect();
        rest.sort_by_key(|p| !p.eq_ignore_ascii_case("dn"));
        std::iter::once(name)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(":")
    } else {
        attr.to_string()
    };
    let bytes = match src {
        Source::Certflow => unescape(value)?,
        Source::Tshark => tshark_value(&attr, value),
    };
    Some(Filter::Leaf(format!("{attr}{op}"), bytes))
}

/// RFC 4515 3: `\xx` escapes decoded.
fn unescape(v: &str) -> Option<Vec<u8>> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The bytes of a value as tshark shows it.
fn tshark_value(attr: &str, v: &str) -> Vec<u8> {
    let hex = |s: &str| u8::from_str_radix(s, 16).ok();
    match attr.to_ascii_lowercase().as_str() {
        "ntver" => {
            if let Some(n) = v
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
            {
                return n.to_le_bytes().to_vec();
            }
        }
        "domainguid" => {
            let h: String = v.chars().filter(|c| *c != '-').collect();
            let b: Option<Vec<u8>> = (0..h.len() / 2)
                .map(|i| h.get(2 * i..2 * i + 2).and_then(hex))
                .collect();
            if let Some(mut b) = b.filter(|b| b.len() == 16 && h.len() == 32) {
                // Data1, Data2 and Data3 are little-endian on the wire.
                b[0..4].reverse();
                b[4..6].reverse();
                b[6..8].reverse();
                return b;
            }
        }
        "domainsid" => {
            if let Some(b) = sid_bytes(v.split(" (").next().unwrap_or_default().trim()) {
                return b;
            }
        }
        _ => {}
    }
    // Colon-separated hex: a value with a byte tshark cannot print.
    let pairs: Vec<&str> = v.split(':').collect();
    if pairs.len() > 1 && pairs.iter().all(|p| p.len() == 2) {
        if let Some(b) = pairs.iter().map(|p| hex(p)).collect::<Option<Vec<u8>>>() {
            return b;
        }
    }
    v.as_bytes().to_vec()
}

/// `S-1-5-21-a-b-c` as the bytes of a SID (MS-DTYP 2.4.2.2).
fn sid_bytes(s: &str) -> Option<Vec<u8>> {
    let mut it = s.strip_prefix("S-")?.split('-');
    let rev: u8 = it.next()?.parse().ok()?;
    let auth: u64 = it.next()?.parse().ok()?;
    let subs: Vec<u32> = it.map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let mut b = vec![rev, u8::try_from(subs.len()).ok()?];
    b.extend_from_slice(&auth.to_be_bytes()[2..]);
    for x in subs {
        b.extend_from_slice(&x.to_le_bytes());
    }
    Some(b)
}

/// Nested sets of the same kind merged, one-element sets replaced by their element.
fn flatten(f: Filter) -> Filter {
    match f {
        Filter::Set(op, v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(flatten) {
                match x {
                    Filter::Set(o, inner) if o == op => out.extend(inner),
                    x => out.push(x),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap()
            } else {
                Filter::Set(op, out)
            }
        }
        Filter::Not(x) => Filter::Not(Box::new(flatten(*x))),
        leaf => leaf,
    }
}

fn write(out: &mut String, f: &Filter) {
    match f {
        // RFC 4526's absolute true/false: tshark writes nothing.
        Filter::Set(_, v) if v.is_empty() => {}
        Filter::Set(op, v) => {
            out.push('(');
            out.push(char::from(*op));
            for x in v {
                write(out, x);
            }
            out.push(')');
        }
        Filter::Not(x) => {
            out.push_str("(!");
            write(out, x);
            out.push(')');
        }
        Filter::Leaf(a, v) => {
            out.push('(');
            out.push_str(a);
            for &b in v {
                let keep = b.is_ascii_graphic() && !b"*()\\".contains(&b) || b == b' ';
                if keep {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("\\{b:02x}"));
                }
            }
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_of_the_lab_filters_meet() {
        // certflow's JSON and tshark's "Filter: " line for the same frames of
        // captures/lab_ldap_search_filters.pcapng, and a DC locator ping.
        for (ours, theirs) in [
            (
                "(&(objectClass=user)(|(cn=alice)(cn=bob))(!(cn=krbtgt)))",
                "(&(&(objectClass=user)(|(cn=alice)(cn=bob)))(!(cn=krbtgt)))",
            ),
            ("(&(objectClass=user))", "(objectClass=user)"),
            ("(&)", ""),
            ("(cn:dn:2.5.13.5:=alice)", "(cn:2.5.13.5:dn:=alice)"),
            ("(description=a\\2ab\\28c\\29d\\5ce)", "(description=a*b(c)d\\e)"),
            ("(description=caf\\c3\\a9)", "(description=63:61:66:c3:a9)"),
            (
                "(&(NtVer=\\06\\00\\00\\00)(AAC=\\00\\00\\00\\00))",
                "(&(NtVer=0x00000006)(AAC=00:00:00:00))",
            ),
            (
                "(DomainGuid=\\a5\\d8\\13\\d6\\8bAzK\\83\\b8\\ae\\15\\11\\c5\\02\\c4)",
                "(DomainGuid=d613d8a5-418b-4b7a-83b8-ae1511c502c4)",
            ),
            (
                "(DomainSid=\\01\\04\\00\\00\\00\\00\\00\\05\\15\\00\\00\\00\\12ky\\8a\\8d\\a6\\8b\\f1\\cc\\97lj)",
                "(DomainSid=S-1-5-21-2323213074-4052461197-1785501644  (Domain SID))",
            ),
        ] {
            let a = canonical(ours, Source::Certflow);
            assert!(a.is_some(), "{ours}");
            assert_eq!(a, canonical(theirs, Source::Tshark), "{ours} / {theirs}");
        }
        // Different filters stay different.
        assert_ne!(
            canonical("(&(a=1)(|(b=2)(c=3)))", Source::Certflow),
            canonical("(&(&(a=1)(b=2))(c=3))", Source::Tshark)
        );
        assert_ne!(
            canonical("(cn=alice)", Source::Certflow),
            canonical("(cn=alicf)", Source::Tshark)
        );
        assert_eq!(canonical("(cn=alice", Source::Certflow), None);
    }
}
