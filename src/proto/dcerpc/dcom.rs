//! DCOM activation and OXID resolution stubs (MS-DCOM), decoded structurally:
//!
//! - IRemoteSCMActivator RemoteGetClassObject (3) / RemoteCreateInstance (4) (MS-DCOM
//!   3.1.2.5.2.3): the stub carries an `MInterfacePointer` whose OBJREF_CUSTOM (2.2.18.6) holds
//!   an activation properties blob (2.2.22): a `CustomHeader` listing property class ids and
//!   sizes, then the properties. Requests: `InstantiationInfoData` (2.2.22.2.1) gives the CLSID
//!   and requested IIDs. Replies: `PropsOutInfo` (2.2.22.2.9) gives the IIDs and
//!   `ScmReplyInfoData` (2.2.22.2.8) the `pdsaOxidBindings` DUALSTRINGARRAY of the object
//!   exporter, i.e. the `host[port]` the client connects to next.
//! - IObjectExporter ResolveOxid (0) / ResolveOxid2 (4): `ppdsaOxidBindings` first in the
//!   reply; ServerAlive2 (5): COMVERSION then `ppdsaOrBindings` (MS-DCOM 3.1.2.5.1).
//!
//! The OBJREF is located by its `MEOW` signature and then validated field by field (the
//! `MInterfacePointer` `ulCntData` must equal the byte array's conformance, the flags must say
//! OBJREF_CUSTOM and the IID must be IActivationPropertiesIn/Out); from there the walk is
//! structural. Everything inside an OBJREF is little-endian (MS-DCOM 2.2.18).

use super::pdu::{Error, Reader, Uuid};

/// Most entries (u16 units) of one DUALSTRINGARRAY read. Windows sends 40-200 (every address
/// and every security package); 4096 bounds the loop with room to spare.
pub const MAX_DSA_ENTRIES: usize = 4096;
/// Most activation properties read from one blob (MS-DCOM 2.2.22.1 defines 10 kinds).
pub const MAX_PROPERTIES: usize = 16;
/// Most IIDs read from one activation (MS-DCOM caps `cIIDs` at MAX_REQUESTED_INTERFACES, 0x8000;
/// real activations ask one or two).
pub const MAX_IIDS: usize = 64;

/// OBJREF signature 'MEOW' (MS-DCOM 2.2.18.1).
const OBJREF_SIGNATURE: [u8; 4] = *b"MEOW";
/// OBJREF flags value for OBJREF_CUSTOM.
const OBJREF_CUSTOM: u32 = 4;

/// IActivationPropertiesIn 000001a2-0000-0000-c000-000000000046.
pub const IID_ACTIVATION_PROPERTIES_IN: Uuid = com_uuid(0x01a2);
/// IActivationPropertiesOut 000001a3-0000-0000-c000-000000000046.
pub const IID_ACTIVATION_PROPERTIES_OUT: Uuid = com_uuid(0x01a3);
/// CLSID_InstantiationInfo 000001ab-... (MS-DCOM 1.9).
pub const CLSID_INSTANTIATION_INFO: Uuid = com_uuid(0x01ab);
/// CLSID_ScmReplyInfo 000001b6-...
pub const CLSID_SCM_REPLY_INFO: Uuid = com_uuid(0x01b6);
/// CLSID_PropsOutInfo 00000339-...
pub const CLSID_PROPS_OUT_INFO: Uuid = com_uuid(0x0339);

/// `0000xxxx-0000-0000-c000-000000000046`, the COM base UUID family.
const fn com_uuid(n: u16) -> Uuid {
    let [hi, lo] = n.to_be_bytes();
    Uuid([0, 0, hi, lo, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46])
}

/// Tower id of ncacn_ip_tcp in a STRINGBINDING (MS-DCOM 2.2.19.3).
pub const TOWER_NCACN_IP_TCP: u16 = 0x0007;

/// One STRINGBINDING (MS-DCOM 2.2.19.3): a tower id and `host` or `host[endpoint]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StringBinding {
    /// wTowerId (0x0007 ncacn_ip_tcp, 0x0008 ncadg_ip_udp, 0x000f ncacn_np ...).
    pub tower_id: u16,
    /// The network address (host name or IP text).
    pub host: String,
    /// The port in `[port]`, when present and numeric. Absent: the OXID resolver's well-known
    /// endpoint (135) is meant.
    pub port: Option<u16>,
    /// The binding as sent.
    pub raw: String,
}

/// Reads a DUALSTRINGARRAY preceded by its NDR conformance (`max_count u32`, then
/// `wNumEntries u16`, `wSecurityOffset u16`, `aStringArray[wNumEntries]`, MS-DCOM 2.2.19.1) and
/// returns the string bindings. Security bindings are checked for bounds, not kept.
pub fn read_dual_string_array(r: &mut Reader<'_>) -> Result<Vec<StringBinding>, Error> {
    let max = r.u32("dsa max_count")? as usize;
    let n = r.u16("wNumEntries")? as usize;
    let sec = r.u16("wSecurityOffset")? as usize;
    if n != max || n > MAX_DSA_ENTRIES || sec > n {
        return Err(Error::Malformed("wNumEntries"));
    }
    let raw = r.bytes(n * 2, "aStringArray")?;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < sec {
        let tower_id = *units.get(i).ok_or(Error::Malformed("string binding"))?;
        if tower_id == 0 {
            break;
        }
        let start = i + 1;
        let len = units
            .get(start..sec)
            .and_then(|s| s.iter().position(|&u| u == 0))
            .ok_or(Error::Malformed("string binding terminator"))?;
        let text = String::from_utf16_lossy(units.get(start..start + len).unwrap_or(&[]));
        // Not capped here (MAX_DSA_ENTRIES bounds the array): where the bindings are kept
        // (fact lists, endpoint maps) counts what it cannot keep.
        out.push(split_binding(tower_id, text));
        i = start + len + 1;
    }
    Ok(out)
}

/// `host[port]` -> (host, Some(port)); anything else -> (text, None).
fn split_binding(tower_id: u16, raw: String) -> StringBinding {
    let printable: String = raw
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if let (Some(open), true) = (printable.find('['), printable.ends_with(']')) {
        let inner = printable.get(open + 1..printable.len() - 1).unwrap_or("");
        if let Ok(port) = inner.parse::<u16>() {
            return StringBinding {
                tower_id,
                host: printable.get(..open).unwrap_or("").to_string(),
                port: Some(port),
                raw: printable,
            };
        }
    }
    StringBinding {
        tower_id,
        host: printable.clone(),
        port: None,
        raw: printable,
    }
}

/// The activation properties of one OBJREF_CUSTOM: (property class id, property bytes).
fn activation_properties(obj: &[u8]) -> Result<Vec<(Uuid, &[u8])>, Error> {
    let mut r = Reader::new(obj, true);
    if r.bytes(4, "OBJREF signature")? != OBJREF_SIGNATURE {
        return Err(Error::Malformed("OBJREF signature"));
    }
    if r.u32("OBJREF flags")? != OBJREF_CUSTOM {
        return Err(Error::Malformed("OBJREF flags"));
    }
    let iid = r.uuid("OBJREF iid")?;
    if iid != IID_ACTIVATION_PROPERTIES_IN && iid != IID_ACTIVATION_PROPERTIES_OUT {
        return Err(Error::Malformed("OBJREF iid"));
    }
    let _clsid = r.uuid("OBJREF_CUSTOM clsid")?;
    let _cb_extension = r.u32("cbExtension")?;
    let _size = r.u32("reserved size")?;
    // ActivationPropertiesBlob (2.2.22): dwSize, dwReserved, CustomHeader, properties.
    let _total = r.u32("dwSize")?;
    let _reserved = r.u32("dwReserved")?;
    let header_start = r.pos();
    type_serialization_headers(&mut r)?;
    let _total_size = r.u32("totalSize")?;
    let header_size = r.u32("headerSize")? as usize;
    let _res = r.u32("dwReserved")?;
    let _dest = r.u32("destCtx")?;
    let n = r.u32("cIfs")? as usize;
    if n > MAX_PROPERTIES {
        return Err(Error::Malformed("cIfs"));
    }
    let _class_info = r.uuid("classInfoClsid")?;
    let p_clsid = r.u32("pclsid")?;
    let p_sizes = r.u32("pSizes")?;
    let _p_reserved = r.u32("pdwReserved")?;
    if p_clsid == 0 || p_sizes == 0 {
        return Err(Error::Malformed("CustomHeader pointers"));
    }
    if r.u32("pclsid max_count")? as usize != n {
        return Err(Error::Malformed("pclsid max_count"));
    }
    let mut clsids = Vec::with_capacity(n);
    for _ in 0..n {
        clsids.push(r.uuid("property clsid")?);
    }
    if r.u32("pSizes max_count")? as usize != n {
        return Err(Error::Malformed("pSizes max_count"));
    }
    let mut sizes = Vec::with_capacity(n);
    for _ in 0..n {
        sizes.push(r.u32("property size")? as usize);
    }
    let mut off = header_start
        .checked_add(header_size)
        .ok_or(Error::Malformed("headerSize"))?;
    let mut out = Vec::with_capacity(n);
    for (clsid, size) in clsids.into_iter().zip(sizes) {
        let end = off.checked_add(size).ok_or(Error::Malformed("size"))?;
        let p = obj.get(off..end).ok_or(Error::Malformed("property size"))?;
        out.push((clsid, p));
        off = end;
    }
    Ok(out)
}

/// The 16-byte type serialization version 1 headers (MS-RPCE 2.2.6.1 common header: version 1,
/// endianness 0x10, length 8, filler; 2.2.6.2 private header: object buffer length, filler).
fn type_serialization_headers(r: &mut Reader<'_>) -> Result<(), Error> {
    let h = r.bytes(4, "common type header")?;
    if h != [0x01, 0x10, 0x08, 0x00] {
        return Err(Error::Malformed("common type header"));
    }
    r.skip(4, "common type header filler")?;
    r.skip(8, "private type header")?;
    Ok(())
}

/// Finds the activation OBJREF in a RemoteGetClassObject/RemoteCreateInstance stub: the `MEOW`
/// of an `MInterfacePointer` whose `ulCntData` equals the array conformance before it.
fn find_activation_objref(stub: &[u8]) -> Result<&[u8], Error> {
    let mut i = 8;
    while i + 4 <= stub.len() {
        if stub.get(i..i + 4) == Some(&OBJREF_SIGNATURE[..]) {
            let mut r = Reader::new(stub, true);
            r.seek(i - 8, "MInterfacePointer")?;
            let cnt = r.u32("ulCntData")? as usize;
            let max = r.u32("abData max_count")? as usize;
            if cnt == max {
                if let Some(obj) = stub.get(i..i.saturating_add(cnt)) {
                    if activation_properties(obj).is_ok() {
                        return Ok(obj);
                    }
                }
            }
        }
        i += 1;
    }
    Err(Error::Malformed("no activation OBJREF"))
}

/// What an activation request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationRequest {
    /// The class to activate (InstantiationInfoData.classId).
    pub clsid: Option<Uuid>,
    /// The interfaces requested (pIID).
    pub iids: Vec<Uuid>,
}

/// Decodes a RemoteGetClassObject / RemoteCreateInstance request stub.
pub fn parse_activation_request(stub: &[u8]) -> Result<ActivationRequest, Error> {
    let obj = find_activation_objref(stub)?;
    let mut out = ActivationRequest::default();
    for (clsid, p) in activation_properties(obj)? {
        if clsid != CLSID_INSTANTIATION_INFO {
            continue;
        }
        // InstantiationInfoData (2.2.22.2.1): classId, classCtx, actvflags, fIsSurrogate,
        // cIID, instFlag, pIID, thisSize, clientCOMVersion, then pIID's array.
        let mut r = Reader::new(p, true);
        type_serialization_headers(&mut r)?;
        out.clsid = Some(r.uuid("classId")?);
        r.skip(12, "classCtx actvflags fIsSurrogate")?;
        let c_iid = r.u32("cIID")? as usize;
        let _inst_flag = r.u32("instFlag")?;
        let p_iid = r.u32("pIID")?;
        r.skip(8, "thisSize clientCOMVersion")?;
        if p_iid != 0 {
            let max = r.u32("pIID max_count")? as usize;
            if max != c_iid || max > MAX_IIDS {
                return Err(Error::Malformed("cIID"));
            }
            for _ in 0..max {
                out.iids.push(r.uuid("IID")?);
            }
        }
    }
    Ok(out)
}

/// What an activation reply returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationReply {
    /// The interfaces returned (PropsOutInfo piid).
    pub iids: Vec<Uuid>,
    /// The object exporter's string bindings (ScmReplyInfo pdsaOxidBindings).
    pub bindings: Vec<StringBinding>,
    /// The call's HRESULT (last 4 bytes of the stub).
    pub hresult: u32,
}

/// Decodes a RemoteGetClassObject / RemoteCreateInstance reply stub.
pub fn parse_activation_reply(stub: &[u8]) -> Result<ActivationReply, Error> {
    let hresult = stub
        .len()
        .checked_sub(4)
        .and_then(|n| stub.get(n..))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(Error::Malformed("hresult"))?;
    let obj = find_activation_objref(stub)?;
    let mut out = ActivationReply {
        hresult,
        ..Default::default()
    };
    for (clsid, p) in activation_properties(obj)? {
        let mut r = Reader::new(p, true);
        type_serialization_headers(&mut r)?;
        if clsid == CLSID_PROPS_OUT_INFO {
            // PropsOutInfo: cIfs, piid, phresults, ppIntfData, then piid's array.
            let n = r.u32("cIfs")? as usize;
            let piid = r.u32("piid")?;
            r.skip(8, "phresults ppIntfData")?;
            if piid != 0 {
                let max = r.u32("piid max_count")? as usize;
                if max != n || max > MAX_IIDS {
                    return Err(Error::Malformed("PropsOutInfo cIfs"));
                }
                for _ in 0..max {
                    out.iids.push(r.uuid("IID")?);
                }
            }
        } else if clsid == CLSID_SCM_REPLY_INFO {
            // ScmReplyInfoData: pvReserved, remoteReply -> customREMOTE_REPLY_SCM_INFO {OXID
            // (8-aligned), pdsaOxidBindings, ipidRemUnknown, authnHint, serverVersion}, then
            // the DUALSTRINGARRAY. Alignment is relative to the data after the headers.
            let base = r.pos();
            let _pv = r.u32("pvReserved")?;
            let remote = r.u32("remoteReply")?;
            if remote == 0 {
                continue;
            }
            let rel = r.pos() - base;
            if rel % 8 != 0 {
                r.skip(8 - rel % 8, "OXID alignment")?;
            }
            r.skip(8, "oxid")?;
            let dsa = r.u32("pdsaOxidBindings")?;
            r.skip(16 + 4 + 4, "ipidRemUnknown authnHint serverVersion")?;
            if dsa != 0 {
                out.bindings = read_dual_string_array(&mut r)?;
            }
        }
    }
    Ok(out)
}

/// Decodes an IObjectExporter ResolveOxid (0) or ResolveOxid2 (4) reply: the object exporter's
/// string bindings.
pub fn parse_resolve_oxid_reply(stub: &[u8], le: bool) -> Result<Vec<StringBinding>, Error> {
    let mut r = Reader::new(stub, le);
    if r.u32("ppdsaOxidBindings")? == 0 {
        return Ok(Vec::new());
    }
    read_dual_string_array(&mut r)
}

/// Decodes an IObjectExporter ServerAlive2 (5) reply: the OXID resolver's own bindings.
pub fn parse_server_alive2_reply(stub: &[u8], le: bool) -> Result<Vec<StringBinding>, Error> {
    let mut r = Reader::new(stub, le);
    r.skip(4, "COMVERSION")?;
    if r.u32("ppdsaOrBindings")? == 0 {
        return Ok(Vec::new());
    }
    read_dual_string_array(&mut r)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::dcerpc::pdu::{parse_pdu, Body};
    use crate::proto::testutil::{hex, Rng};

    // dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap frame 17: RemoteGetClassObject
    // reply (integrity level, NTLM). tshark: iid IClassFactory, retval 0, network_addr
    // "DC1,192.168.56.101,DC1[49724],192.168.56.101[49724]".
    pub(crate) const CTX_F17_GCO_REPLY: &str = include_str!("testdata/ctxids_f17.hex");
    // Same capture frame 14: the RemoteGetClassObject request, CLSID 49b2791a-b1ae-4c90-9b8e-
    // e860ba07f889, IID 00000001-0000-0000-c000-000000000046.
    pub(crate) const CTX_F14_GCO_REQ: &str = include_str!("testdata/ctxids_f14.hex");
    // Same capture frame 7: ServerAlive2 reply, bindings "DC1", "192.168.56.101" (no port).
    const CTX_F7_ALIVE2: &str = "05000203100000008800000002000000700000000000000005000700000002002c0000002c0016000700440043003100000007003100390032002e003100360038002e00350036002e00310030003100000000000900ffff00001e00ffff00001000ffff00000a00ffff00001600ffff00001f00ffff00000e00ffff000000000000000000000000";
    // dcom_activation_shellwindows_cldap_kerberos_ws5.pcap frame 226: ResolveOxid2 reply,
    // bindings "WORKSTATION6[49913]", "172.18.39.6[49913]".
    const SW_F226_RESOLVE2: &str = "0500020310000000880100000f000000700100000100000000000200a3000000a3002a00070057004f0052004b00530054004100540049004f004e0036005b00340039003900310033005d00000007003100370032002e00310038002e00330039002e0036005b00340039003900310033005d00000000000a00ffff540048004500530048004900520045005c007300620065006100760065007200730000001e00ffff540048004500530048004900520045005c007300620065006100760065007200730000001000ffff540048004500530048004900520045005c007300620065006100760065007200730000000900ffff540048004500530048004900520045005c007300620065006100760065007200730000001600ffff540048004500530048004900520045005c007300620065006100760065007200730000001f00ffff540048004500530048004900520045005c0073006200650061007600650072007300000000000000026000000820f8154d0a0687aa5e37dc050000000500070000000000";

    pub(crate) fn stub_of(h: &str) -> Vec<u8> {
        let b = hex(h);
        match parse_pdu(&b).unwrap().body {
            Body::Request { stub, .. } | Body::Response { stub, .. } => stub.to_vec(),
            other => panic!("no stub: {other:?}"),
        }
    }

    fn raws(b: &[StringBinding]) -> Vec<String> {
        b.iter().map(|s| s.raw.clone()).collect()
    }

    #[test]
    fn get_class_object_reply_real() {
        let r = parse_activation_reply(&stub_of(CTX_F17_GCO_REPLY)).unwrap();
        assert_eq!(r.hresult, 0);
        assert_eq!(
            r.iids,
            vec![Uuid::parse("00000001-0000-0000-c000-000000000046").unwrap()]
        );
        assert_eq!(raws(&r.bindings), ["DC1[49724]", "192.168.56.101[49724]"]);
        assert_eq!(r.bindings[1].host, "192.168.56.101");
        assert_eq!(r.bindings[1].port, Some(49724));
        assert_eq!(r.bindings[1].tower_id, TOWER_NCACN_IP_TCP);
    }

    #[test]
    fn get_class_object_request_real() {
        let q = parse_activation_request(&stub_of(CTX_F14_GCO_REQ)).unwrap();
        assert_eq!(
            q.clsid.unwrap().to_string(),
            "49b2791a-b1ae-4c90-9b8e-e860ba07f889"
        );
        assert_eq!(
            q.iids,
            vec![Uuid::parse("00000001-0000-0000-c000-000000000046").unwrap()]
        );
    }

    // dcom_wmi_activation_oxid_smb_dns.pcap frames 59/60: RemoteCreateInstance request for
    // CLSID 8bc3f05e-d86b-11d0-a075-00c04fb68820 asking IWbemLevel1Login f309ad18-..., and its
    // reply (tshark: retval 0, bindings WORKSTATION6[52419], 172.18.39.6[52419]).
    const WMI_F59_CREATE_REQ: &str = include_str!("testdata/wmi_f59.hex");
    const WMI_F60_CREATE_REPLY: &str = include_str!("testdata/wmi_f60.hex");

    #[test]
    fn create_instance_real() {
        let q = parse_activation_request(&stub_of(WMI_F59_CREATE_REQ)).unwrap();
        assert_eq!(
            q.clsid.unwrap().to_string(),
            "8bc3f05e-d86b-11d0-a075-00c04fb68820"
        );
        let iwbem = Uuid::parse("f309ad18-d86a-11d0-a075-00c04fb68820").unwrap();
        assert_eq!(q.iids, vec![iwbem]);
        let r = parse_activation_reply(&stub_of(WMI_F60_CREATE_REPLY)).unwrap();
        assert_eq!(r.hresult, 0);
        assert_eq!(r.iids, vec![iwbem]);
        assert_eq!(
            raws(&r.bindings),
            ["WORKSTATION6[52419]", "172.18.39.6[52419]"]
        );
        assert!(r.bindings.iter().all(|b| b.port == Some(52419)));
    }

    #[test]
    fn oxid_resolver_replies_real() {
        let b = parse_server_alive2_reply(&stub_of(CTX_F7_ALIVE2), true).unwrap();
        assert_eq!(raws(&b), ["DC1", "192.168.56.101"]);
        assert_eq!(b[0].port, None);
        let b = parse_resolve_oxid_reply(&stub_of(SW_F226_RESOLVE2), true).unwrap();
        assert_eq!(raws(&b), ["WORKSTATION6[49913]", "172.18.39.6[49913]"]);
        assert_eq!(b[0].port, Some(49913));
    }

    #[test]
    fn prefixes_and_corruption_are_errors() {
        let s = stub_of(CTX_F17_GCO_REPLY);
        // Every prefix that cuts the ScmReplyInfo bindings must fail (the blob ends at 840+16).
        for n in 0..s.len() - 40 {
            assert!(parse_activation_reply(&s[..n]).is_err(), "prefix {n}");
        }
        let s = stub_of(SW_F226_RESOLVE2);
        for n in 0..(4 + 4 + 4 + 0xa3 * 2) {
            assert!(
                parse_resolve_oxid_reply(&s[..n], true).is_err(),
                "prefix {n}"
            );
        }
        // wNumEntries different from the conformance.
        let mut c = s.clone();
        c[8] = 0xa4;
        assert!(parse_resolve_oxid_reply(&c, true).is_err());
        // wSecurityOffset past the end.
        let mut c = s;
        c[10] = 0xff;
        c[11] = 0xff;
        assert!(parse_resolve_oxid_reply(&c, true).is_err());
    }

    #[test]
    fn mutations_never_panic() {
        let base = [
            stub_of(CTX_F17_GCO_REPLY),
            stub_of(CTX_F14_GCO_REQ),
            stub_of(SW_F226_RESOLVE2),
            stub_of(WMI_F60_CREATE_REPLY),
        ];
        let mut rng = Rng(0x5eed_0002);
        for i in 0..3000 {
            let mut b = base[i % 4].clone();
            rng.mutate(&mut b);
            let _ = parse_activation_reply(&b);
            let _ = parse_activation_request(&b);
            let _ = parse_resolve_oxid_reply(&b, true);
            let _ = parse_server_alive2_reply(&b, true);
        }
    }
}
