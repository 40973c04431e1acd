//! Endpoint mapper (EPM): ept_map request/response and ept_lookup response stubs, decoded down
//! to the protocol towers. C706 appendix L (tower encoding) and appendix O (ept interface),
//! MS-RPCE 2.2.1.2 (towers) and 3.1.3.5 (ept_map), DOMAIN.md section 4.
//!
//! A tower (`twr_t`) on the wire is a conformant struct: `max_count u32, tower_length u32,
//! octets[tower_length]`. Its octets (always little-endian lengths, C706 L.2):
//!
//! ```text
//! floor_count u16
//! floor: lhs_len u16 | lhs (protocol id u8, data) | rhs_len u16 | rhs
//!   0x0d + GUID + major u16 | minor u16     interface, then transfer syntax
//!   0x0b                    | minor u16     connection-oriented RPC (0x0a connectionless)
//!   0x07 TCP | port u16 BIG-endian          0x08 UDP | port u16 big-endian
//!   0x09 IP  | IPv4 address big-endian      0x0f named pipe | NUL-terminated name
//!   0x10 local (ncalrpc) | name             0x11 NetBIOS | NUL-terminated name
//!   0x1f HTTP | port u16 big-endian
//! ```

use std::net::Ipv4Addr;

use super::pdu::{Error, Reader, SyntaxId, Uuid};

/// Most floors read from one tower. A TCP tower has 5, an HTTP tower 6; 32 leaves room for
/// anything real while bounding the loop.
pub const MAX_FLOORS: usize = 32;
/// Largest tower accepted. Real towers are 75-120 bytes; a named pipe or HTTP tower with long
/// names stays far below 1 KiB.
pub const MAX_TOWER_LEN: usize = 1024;
/// Most towers or entries read from one response. `ept_lookup` answers carry at most the
/// client's `max_ents` (Windows rpcdump asks 500); `ept_map` usually 1-4.
pub const MAX_TOWERS: usize = 512;
/// Longest name (pipe, NetBIOS, local endpoint) kept from a floor.
pub const MAX_NAME_LEN: usize = 256;
/// `ept_map`/`ept_lookup` status: the interface is not registered (EPT_S_NOT_REGISTERED,
/// C706 appendix O; MS-RPCE 3.1.3.5.3).
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

/// Protocol identifiers of tower floors (C706 appendix I, MS-RPCE 2.2.1.2).
pub mod proto_id {
    /// DCE/RPC connection-oriented protocol (ncacn).
    pub const RPC_CO: u8 = 0x0b;
    /// DCE/RPC connectionless protocol (ncadg).
    pub const RPC_CL: u8 = 0x0a;
    /// UUID floor (interface or transfer syntax).
    pub const UUID: u8 = 0x0d;
    /// TCP port.
    pub const TCP: u8 = 0x07;
    /// UDP port.
    pub const UDP: u8 = 0x08;
    /// IPv4 address.
    pub const IP: u8 = 0x09;
    /// SMB named pipe.
    pub const NAMED_PIPE: u8 = 0x0f;
    /// Local (ncalrpc) endpoint.
    pub const LOCAL: u8 = 0x10;
    /// NetBIOS name.
    pub const NETBIOS: u8 = 0x11;
    /// HTTP port (ncacn_http).
    pub const HTTP: u8 = 0x1f;
}

/// What one tower says: which interface, reachable how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tower {
    /// Floor 1: the interface.
    pub interface: Option<SyntaxId>,
    /// Floor 2: the transfer syntax.
    pub transfer: Option<SyntaxId>,
    /// Floor 3: RPC protocol id (0x0b connection-oriented, 0x0a connectionless).
    pub rpc_protocol: Option<u8>,
    /// TCP port (protocol id 0x07).
    pub tcp_port: Option<u16>,
    /// UDP port (0x08).
    pub udp_port: Option<u16>,
    /// HTTP port (0x1f).
    pub http_port: Option<u16>,
    /// IPv4 address (0x09); MS-RPCE: clients ignore it.
    pub ip: Option<Ipv4Addr>,
    /// Named pipe (0x0f).
    pub pipe: Option<String>,
    /// NetBIOS name (0x11).
    pub netbios: Option<String>,
    /// Local endpoint name (0x10).
    pub local: Option<String>,
    /// Protocol ids of floors not understood, kept as evidence.
    pub unknown_floors: Vec<u8>,
}

/// Parses tower octets (the `tower_octet_string`, C706 appendix L).
pub fn parse_tower(oct: &[u8]) -> Result<Tower, Error> {
    tower_floors(oct, false)
}

/// [`parse_tower`], or with `cut` (octets a snap length cut short) the floors that are whole,
/// in order: an error only when the floor count is cut.
fn tower_floors(oct: &[u8], cut: bool) -> Result<Tower, Error> {
    if oct.len() > MAX_TOWER_LEN {
        return Err(Error::Malformed("tower_length"));
    }
    let mut r = Reader::new(oct, true);
    let n = r.u16("floor_count")? as usize;
    if n == 0 || n > MAX_FLOORS {
        return Err(Error::Malformed("floor_count"));
    }
    let mut t = Tower::default();
    let mut uuid_floors = 0;
    for _ in 0..n {
        let floor = (|| {
            let lhs_len = r.u16("lhs_length")? as usize;
            let lhs = r.bytes(lhs_len, "lhs")?;
            let rhs_len = r.u16("rhs_length")? as usize;
            Ok((lhs, r.bytes(rhs_len, "rhs")?))
        })();
        let (lhs, rhs) = match floor {
            Ok(f) => f,
            Err(_) if cut => break,
            Err(e) => return Err(e),
        };
        let (&id, lhs_data) = lhs.split_first().ok_or(Error::Malformed("lhs_length"))?;
        let port = || -> Result<u16, Error> {
            match rhs {
                [a, b] => Ok(u16::from_be_bytes([*a, *b])),
                _ => Err(Error::Malformed("port floor")),
            }
        };
        match id {
            proto_id::UUID => {
                let mut lr = Reader::new(lhs_data, true);
                let uuid = lr.uuid("floor uuid")?;
                let major = lr.u16("floor major")?;
                let minor = match rhs {
                    [a, b] => u16::from_le_bytes([*a, *b]),
                    _ => return Err(Error::Malformed("floor minor")),
                };
                let s = SyntaxId { uuid, major, minor };
                match uuid_floors {
                    0 => t.interface = Some(s),
                    1 => t.transfer = Some(s),
                    _ => t.unknown_floors.push(id),
                }
                uuid_floors += 1;
            }
            proto_id::RPC_CO | proto_id::RPC_CL => t.rpc_protocol = Some(id),
            proto_id::TCP => t.tcp_port = Some(port()?),
            proto_id::UDP => t.udp_port = Some(port()?),
            proto_id::HTTP => t.http_port = Some(port()?),
            proto_id::IP => match rhs {
                [a, b, c, d] => t.ip = Some(Ipv4Addr::new(*a, *b, *c, *d)),
                _ => return Err(Error::Malformed("ip floor")),
            },
            proto_id::NAMED_PIPE => t.pipe = Some(floor_name(rhs)),
            proto_id::NETBIOS => t.netbios = Some(floor_name(rhs)),
            proto_id::LOCAL => t.local = Some(floor_name(rhs)),
            other => t.unknown_floors.push(other),
        }
    }
    Ok(t)
}

/// A NUL-terminated name from a floor, non-printable bytes shown as '?', capped.
fn floor_name(b: &[u8]) -> String {
    b.iter()
        .take_while(|&&c| c != 0)
        .take(MAX_NAME_LEN)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Reads one `twr_t` (conformant struct: max_count, tower_length, octets), then aligns to 4.
/// In NDR64 the conformance is a u64 aligned to 8 (MS-RPCE 2.2.5.3.4.1).
fn read_twr(r: &mut Reader<'_>, ndr64: bool) -> Result<Tower, Error> {
    let len = twr_length(r, ndr64)?;
    let oct = r.bytes(len, "tower_octet_string")?;
    r.align(4, "tower padding")?;
    parse_tower(oct)
}

/// The length of the `twr_t` at `r` (its conformance and `tower_length`, which must agree).
fn twr_length(r: &mut Reader<'_>, ndr64: bool) -> Result<usize, Error> {
    let max = r.ndr_count(ndr64, "tower max_count")?;
    let len = r.u32("tower_length")? as usize;
    if len > MAX_TOWER_LEN || max != len {
        return Err(Error::Malformed("tower_length"));
    }
    Ok(len)
}

/// ept_map request (opnum 3, C706 appendix O): the object and the tower naming the wanted
/// interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRequest {
    /// The object UUID asked for (nil when none).
    pub object: Option<Uuid>,
    /// The map tower: floor 1 names the interface looked up.
    pub tower: Option<Tower>,
}

/// Parses an ept_map request stub (byte order `le`; NDR, or NDR64 when `ndr64`).
pub fn parse_map_request(stub: &[u8], le: bool, ndr64: bool) -> Result<MapRequest, Error> {
    let mut r = Reader::new(stub, le);
    let obj_ref = r.ndr_ptr(ndr64, "object pointer")?;
    let object = if obj_ref != 0 {
        Some(r.uuid("object")?)
    } else {
        None
    };
    let tower_ref = r.ndr_ptr(ndr64, "map_tower pointer")?;
    let tower = if tower_ref != 0 {
        Some(read_twr(&mut r, ndr64)?)
    } else {
        None
    };
    // entry_handle (20 bytes) and max_towers follow; certflow does not need them.
    Ok(MapRequest { object, tower })
}

/// The interface an ept_map request stub cut by the snap length asks for: floor 1 of its map
/// tower, when the capture holds it whole (the object, the tower's length and the floor count
/// come first, about 40 bytes into the stub).
pub fn map_request_interface_cut(stub: &[u8], le: bool, ndr64: bool) -> Option<SyntaxId> {
    let mut r = Reader::new(stub, le);
    if r.ndr_ptr(ndr64, "object pointer").ok()? != 0 {
        r.uuid("object").ok()?;
    }
    if r.ndr_ptr(ndr64, "map_tower pointer").ok()? == 0 {
        return None;
    }
    let len = twr_length(&mut r, ndr64).ok()?;
    let oct = r.bytes(len.min(r.remaining()), "tower_octet_string").ok()?;
    tower_floors(oct, true).ok()?.interface
}

/// ept_map response (C706 appendix O): towers and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapResponse {
    /// num_towers as sent.
    pub num_towers: u32,
    /// The towers decoded.
    pub towers: Vec<Tower>,
    /// Status (0 ok, [`EPT_S_NOT_REGISTERED`] ...).
    pub status: u32,
}

/// Parses an ept_map response stub (NDR, or NDR64 when `ndr64`).
pub fn parse_map_response(stub: &[u8], le: bool, ndr64: bool) -> Result<MapResponse, Error> {
    let mut r = Reader::new(stub, le);
    r.skip(20, "entry_handle")?;
    let num_towers = r.u32("num_towers")?;
    let max = r.ndr_count(ndr64, "towers max_count")?;
    let _offset = r.ndr_count(ndr64, "towers offset")?;
    let actual = r.ndr_count(ndr64, "towers actual_count")?;
    if actual > MAX_TOWERS || actual > max {
        return Err(Error::Malformed("towers actual_count"));
    }
    let mut refs = Vec::with_capacity(actual.min(r.remaining() / 4));
    for _ in 0..actual {
        refs.push(r.ndr_ptr(ndr64, "tower pointer")?);
    }
    let mut towers = Vec::with_capacity(refs.len());
    for &p in &refs {
        if p != 0 {
            towers.push(read_twr(&mut r, ndr64)?);
        }
    }
    let status = r.u32("status")?;
    Ok(MapResponse {
        num_towers,
        towers,
        status,
    })
}

/// One entry of an ept_lookup response (C706 appendix O `ept_entry_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEntry {
    /// The object UUID.
    pub object: Uuid,
    /// The tower, when present.
    pub tower: Option<Tower>,
    /// The annotation (service description), printable ASCII.
    pub annotation: String,
}

/// ept_lookup response (C706 appendix O).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupResponse {
    /// The entries decoded.
    pub entries: Vec<LookupEntry>,
    /// Status (0 ok, `0x16c9a0d6` no more entries).
    pub status: u32,
}

/// Longest annotation (`ept_max_annotation_size`, C706 appendix O: 64).
pub const MAX_ANNOTATION: usize = 64;

/// Parses an ept_lookup response stub: entry_handle, num_ents, conformant-varying array of
/// `ept_entry_t {object, tower pointer, annotation varying string}`, the deferred towers, status.
/// NDR64 when `ndr64` (pointers and counts 8 bytes, aligned to 8).
pub fn parse_lookup_response(stub: &[u8], le: bool, ndr64: bool) -> Result<LookupResponse, Error> {
    let mut r = Reader::new(stub, le);
    r.skip(20, "entry_handle")?;
    let num = r.u32("num_ents")? as usize;
    let max = r.ndr_count(ndr64, "entries max_count")?;
    let _offset = r.ndr_count(ndr64, "entries offset")?;
    let actual = r.ndr_count(ndr64, "entries actual_count")?;
    if actual > MAX_TOWERS || actual > max || actual > num {
        return Err(Error::Malformed("entries actual_count"));
    }
    let mut entries = Vec::with_capacity(actual.min(r.remaining() / 28));
    let mut refs = Vec::with_capacity(actual.min(r.remaining() / 28));
    for _ in 0..actual {
        if ndr64 {
            r.align(8, "entry alignment")?;
        }
        let object = r.uuid("entry object")?;
        let tower_ref = r.ndr_ptr(ndr64, "entry tower pointer")?;
        let _a_off = r.ndr_count(ndr64, "annotation offset")?;
        let a_len = r.ndr_count(ndr64, "annotation actual_count")?;
        if a_len > MAX_ANNOTATION {
            return Err(Error::Malformed("annotation length"));
        }
        let a = r.bytes(a_len, "annotation")?;
        r.align(4, "annotation padding")?;
        entries.push(LookupEntry {
            object,
            tower: None,
            annotation: floor_name(a),
        });
        refs.push(tower_ref);
    }
    for (e, &p) in entries.iter_mut().zip(refs.iter()) {
        if p != 0 {
            e.tower = Some(read_twr(&mut r, ndr64)?);
        }
    }
    let status = r.u32("status")?;
    Ok(LookupResponse { entries, status })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::dcerpc::pdu::{parse_pdu, Body, NDR};
    use crate::proto::testutil::{hex, Rng};

    // epm_map_netlogon_zerologon_win2019.pcap frame 7: ept_map request for NETLOGON (tshark:
    // "Map request, RPC_NETLOGON, 32bit NDR", epm.proto.ip 0.0.0.0, tcp_port 0).
    pub(crate) const ZL_F7_MAP_REQ: &str = "05000003100000009c0000000100000084000000000003000100000000000000000000000000000000000000020000004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b0200000001000702000000010009040000000000ab000000000000000000000000000000000000000001000000";
    // Same capture frame 8: ept_map response, one tower, NETLOGON -> tcp 49668, ip
    // 172.16.5.58, status 0 (tshark epm.proto.tcp_port 49668, epm.rc 0x00000000).
    pub(crate) const ZL_F8_MAP_RESP: &str = "0500020310000000980000000100000080000000000000000000000048450468443dad43ad06e9e13075aaf101000000010000000000000001000000030000004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2040100090400ac10053a0000000000";

    fn stub_of(h: &str) -> Vec<u8> {
        let b = hex(h);
        match parse_pdu(&b).unwrap().body {
            Body::Request { stub, .. } | Body::Response { stub, .. } => stub.to_vec(),
            other => panic!("no stub: {other:?}"),
        }
    }

    #[test]
    fn map_request_real() {
        let m = parse_map_request(&stub_of(ZL_F7_MAP_REQ), true, false).unwrap();
        assert_eq!(m.object, Some(Uuid::NIL));
        let t = m.tower.unwrap();
        let i = t.interface.unwrap();
        assert_eq!(i.uuid.to_string(), "12345678-1234-abcd-ef00-01234567cffb");
        assert_eq!((i.major, i.minor), (1, 0));
        assert_eq!(t.transfer.unwrap().uuid, NDR);
        assert_eq!(t.rpc_protocol, Some(proto_id::RPC_CO));
        assert_eq!(t.tcp_port, Some(0));
        assert_eq!(t.ip, Some(Ipv4Addr::new(0, 0, 0, 0)));
    }

    /// Every prefix of the ept_map request stubs (NDR and NDR64): the interface floor 1 names,
    /// once the prefix holds it whole, the same as the whole stub gives; None before.
    #[test]
    fn cut_map_request_names_its_interface_once_floor_1_is_whole() {
        for (h, ndr64) in [(ZL_F7_MAP_REQ, false), (PRIV_F6_MAP_REQ_NDR64, true)] {
            let stub = stub_of(h);
            let want = parse_map_request(&stub, true, ndr64)
                .unwrap()
                .tower
                .unwrap()
                .interface
                .unwrap();
            let got: Vec<Option<SyntaxId>> = (0..=stub.len())
                .map(|n| map_request_interface_cut(&stub[..n], true, ndr64))
                .collect();
            let first = got.iter().position(Option::is_some).unwrap();
            assert!(got[first..].iter().all(|g| *g == Some(want)), "{h}");
            // The tower octets follow the object (pointer and UUID), the tower pointer, its
            // max_count and tower_length; floor 1 ends with its rhs: floor count 2, lhs length
            // 2 + 19, rhs length 2 + 2.
            let tower_at = if ndr64 {
                8 + 16 + 8 + 8 + 4
            } else {
                4 + 16 + 4 + 4 + 4
            };
            assert_eq!(first, tower_at + 2 + 21 + 4, "{h}");
        }
    }

    #[test]
    fn map_response_real() {
        let m = parse_map_response(&stub_of(ZL_F8_MAP_RESP), true, false).unwrap();
        assert_eq!(m.status, 0);
        assert_eq!(m.num_towers, 1);
        assert_eq!(m.towers.len(), 1);
        let t = &m.towers[0];
        assert_eq!(
            t.interface.unwrap().uuid.to_string(),
            "12345678-1234-abcd-ef00-01234567cffb"
        );
        assert_eq!(t.tcp_port, Some(49668));
        assert_eq!(t.ip, Some(Ipv4Addr::new(172, 16, 5, 58)));
        assert!(t.unknown_floors.is_empty());
    }

    // epm_drsuapi_kerberos_privacy_sealed.pcapng.gz frame 7: ept_map response in NDR64 (context
    // 1 accepted 71710533-... in the bind_ack of frame 5), DRSUAPI -> tcp 49667, ip
    // 192.168.0.100 (tshark epm.proto.tcp_port 49667).
    const PRIV_F7_MAP_RESP_NDR64: &str = "0500020310000000ac00000002000000940000000100000000000000000000000000000000000000000000000100000004000000000000000000000000000000010000000000000003000000000000004b000000000000004b000000050013000d354251e3064bd111ab0400c04fc2dcd204000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2030100090400c0a800640000000000";
    // Same capture frame 6: the NDR64 request for DRSUAPI.
    const PRIV_F6_MAP_REQ_NDR64: &str = "0500000310000000a800000002000000900000000100030001000000000000000000000000000000000000000000000002000000000000004b000000000000004b000000050013000d354251e3064bd111ab0400c04fc2dcd204000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200008701000904000000000000000000000000000000000000000000000000000004000000";

    // epm_map_exchange_mapi_dcerpc.pcap frame 505: ept_lookup response, one entry, annotation
    // "MS Exchange Directory NSP Interface", NSPI v56.0, ncacn_http port 5000, floor 5 protocol
    // 0x20 (tshark: "RightHandSide not decoded yet for proto_id 0x20").
    const MAPI_F505_LOOKUP_RESP: &str = "0500020310000000d400000001000000bc00000000000000000000007cfc5f3b92b07544a3e3e4d53df481df01000000010000000000000001000000000000000000000000000000000000000300000000000000240000004d532045786368616e6765204469726563746f7279204e535020496e74657266616365004b0000004b000000050013000d185accf564421a108c5908002b2f842638000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b0200000001001f020013880100200400c0a800020000000000";

    #[test]
    fn lookup_response_real() {
        let s = stub_of(MAPI_F505_LOOKUP_RESP);
        let l = parse_lookup_response(&s, true, false).unwrap();
        assert_eq!(l.status, 0);
        assert_eq!(l.entries.len(), 1);
        let e = &l.entries[0];
        assert_eq!(e.object, Uuid::NIL);
        assert_eq!(e.annotation, "MS Exchange Directory NSP Interface");
        let t = e.tower.as_ref().unwrap();
        let i = t.interface.unwrap();
        assert_eq!(i.uuid.to_string(), "f5cc5a18-4264-101a-8c59-08002b2f8426");
        assert_eq!((i.major, i.minor), (56, 0));
        assert_eq!(t.http_port, Some(5000));
        assert_eq!(t.tcp_port, None);
        assert_eq!(t.unknown_floors, vec![0x20]);
        for n in 0..s.len() {
            assert!(
                parse_lookup_response(&s[..n], true, false).is_err(),
                "prefix {n}"
            );
        }
        // annotation length 0xff > 64.
        let mut c = s.clone();
        c[60] = 0xff;
        assert_eq!(
            parse_lookup_response(&c, true, false),
            Err(Error::Malformed("annotation length"))
        );
    }

    #[test]
    fn ndr64_map_real() {
        let m = parse_map_response(&stub_of(PRIV_F7_MAP_RESP_NDR64), true, true).unwrap();
        assert_eq!(m.status, 0);
        assert_eq!(m.towers.len(), 1);
        let t = &m.towers[0];
        let i = t.interface.unwrap();
        assert_eq!(i.uuid.to_string(), "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
        assert_eq!((i.major, i.minor), (4, 0));
        assert_eq!(t.tcp_port, Some(49667));
        assert_eq!(t.ip, Some(Ipv4Addr::new(192, 168, 0, 100)));
        // Read as NDR it must not invent a port (it reads actual_count 0 or fails).
        assert!(
            parse_map_response(&stub_of(PRIV_F7_MAP_RESP_NDR64), true, false)
                .map(|m| m.towers.is_empty())
                .unwrap_or(true)
        );
        let q = parse_map_request(&stub_of(PRIV_F6_MAP_REQ_NDR64), true, true).unwrap();
        assert_eq!(
            q.tower.unwrap().interface.unwrap().uuid.to_string(),
            "e3514235-4b06-11d1-ab04-00c04fc2dcd2"
        );
    }

    #[test]
    fn prefixes_and_corrupt_lengths_are_errors() {
        let s = stub_of(ZL_F8_MAP_RESP);
        for n in 0..s.len() {
            assert!(
                parse_map_response(&s[..n], true, false).is_err(),
                "prefix {n}"
            );
        }
        let q = stub_of(ZL_F7_MAP_REQ);
        // The request parser stops after the tower: every prefix cutting the tower fails.
        for n in 0..(4 + 16 + 4 + 8 + 75) {
            assert!(
                parse_map_request(&q[..n], true, false).is_err(),
                "prefix {n}"
            );
        }
        // tower_length (at stub offset 40) claims more than is there.
        let mut c = s.clone();
        c[44] = 0xff;
        assert!(parse_map_response(&c, true, false).is_err());
        // floor_count 0x7fff.
        let mut c = s.clone();
        c[48] = 0xff;
        c[49] = 0x7f;
        assert_eq!(
            parse_map_response(&c, true, false),
            Err(Error::Malformed("floor_count"))
        );
        // first floor's lhs_len 0xffff.
        let mut c = s.clone();
        c[50] = 0xff;
        c[51] = 0xff;
        assert!(parse_map_response(&c, true, false).is_err());
        // actual_count huge.
        let mut c = s;
        c[32] = 0xff;
        c[33] = 0xff;
        assert!(parse_map_response(&c, true, false).is_err());
    }

    #[test]
    fn mutations_never_panic() {
        let base = [
            stub_of(ZL_F8_MAP_RESP),
            stub_of(ZL_F7_MAP_REQ),
            stub_of(MAPI_F505_LOOKUP_RESP),
        ];
        let mut rng = Rng(0x5eed_0001);
        for i in 0..4000 {
            let mut b = base[i % 3].clone();
            rng.mutate(&mut b);
            let n64 = i % 3 == 0;
            let _ = parse_map_response(&b, true, n64);
            let _ = parse_map_request(&b, true, n64);
            let _ = parse_lookup_response(&b, true, n64);
            if let Some(t) = b.get(44..) {
                let _ = parse_tower(t);
            }
        }
    }
}
