//! Every capture in /work/shared/captures read by `capture::read`, checked against tshark 4.0.17.
//!
//! The table below was produced by tshark/capinfos, not by certflow (generator kept at the end of
//! this file): per file, the packet count, first/last `frame.time_epoch` in ns, the sha256 of the
//! lines `frame.number \t time_epoch_ns \t frame.cap_len \t frame.len \n` for every frame (so every
//! frame's number, timestamp and both lengths are compared), link types from `frame.encap_type`
//! (1 Ethernet, 25 Linux SLL), capinfos' interface count, the file's sha256 (sha256sum), and for
//! the two files capinfos calls "cut short in the middle of a packet", the offset where the
//! unreadable record starts (24 + the sum of 16 + cap_len over the frames tshark read).

use std::path::{Path, PathBuf};

use certflow::capture::{self, Input};
use sha2::{Digest, Sha256};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures");

struct Truth {
    file: &'static str,
    sha256: &'static str,
    packets: u64,
    first_ns: i64,
    last_ns: i64,
    frames_sha256: &'static str,
    link_types: &'static str,
    interfaces: u64,
    damage_offset: Option<u64>,
}

#[rustfmt::skip]
const TRUTH: &[Truth] = &[
    Truth { file: "SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap", sha256: "2d70158591b17fa2c4feab3e3dc9a94b8186aea59d10ab33a696026a58c8a2f8", packets: 918, first_ns: 1700000100010000000, last_ns: 1700009300200000000, frames_sha256: "b7ede7aaaeec65b6defb96996e86a530f4f5204dfb6c23e92ba6c0843583ce09", link_types: "ethernet=918", interfaces: 1, damage_offset: None },
    Truth { file: "ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap", sha256: "999f071e499361b92356adce807d4c6ed6721ae60bb59f8f181b16bfbc80ac45", packets: 1121, first_ns: 1603355393138338000, last_ns: 1603355408683908000, frames_sha256: "b9283d5101d54d5fa992275bf2f80545c3e96be32ddfad69375b837988c8a2d6", link_types: "ethernet=1121", interfaces: 1, damage_offset: None },
    Truth { file: "adcs_ldap_enrollment_services_query_krb5_integrity.pcapng", sha256: "b6b588041e2951df939e5d75cc68ec1c66506aab85ab6553bd0752d30fd94faa", packets: 315, first_ns: 1707936854037888000, last_ns: 1707936917311391000, frames_sha256: "1dd93e3bca07ad957ad7be1c6f2dce7c8c2b949319ad1f118ccf5debf7d4ab1a", link_types: "ethernet=315", interfaces: 1, damage_offset: None },
    Truth { file: "dcom_activation_oxid_epm_kerberos_iertutil_ws5.pcap", sha256: "8cda8fe73fe363d652ff45b0904146ec3ba4558344630fe20169afd5ba9bf27d", packets: 657, first_ns: 1602282529119254000, last_ns: 1602282698366601000, frames_sha256: "804b256e737e80f605afc930ed36d97d2e1b0a5cce705db9fa688655a6e76df7", link_types: "ethernet=657", interfaces: 1, damage_offset: None },
    Truth { file: "dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap", sha256: "df7618e58cf6a40940bd68365343c27fc6fc9aeb9d2c93c36f690eae24e57983", packets: 647, first_ns: 1694504294755847000, last_ns: 1694504368876683000, frames_sha256: "561fadd403f06df398b61949ebb0b177a18ffb2ecd3814ee603e885121349293", link_types: "ethernet=647", interfaces: 1, damage_offset: None },
    Truth { file: "dcom_activation_shellwindows_cldap_kerberos_ws5.pcap", sha256: "3832f4865782bec5d2164cf948ca9f62e917b69bab89762c54b74e43ea381b4b", packets: 427, first_ns: 1600448823847715000, last_ns: 1600448993559117000, frames_sha256: "c924991d5a99214d7071f59556e0ef79d028d3fbab2f67782bd86269f3dac30f", link_types: "ethernet=427", interfaces: 1, damage_offset: None },
    Truth { file: "dcom_isystemactivator_kerberos_auth_tcp135.pcapng", sha256: "51c5a7794dedd39b0b1148bd888ca155f77a68783d05e0f414e6e17eefb8f400", packets: 17, first_ns: 1584356771466189000, last_ns: 1584356783458069000, frames_sha256: "0b67a7d46abf8845d51cdc9eff52ae0fc8d2824c60944751df503f36c990d928", link_types: "ethernet=17", interfaces: 1, damage_offset: None },
    Truth { file: "dcom_wmi_activation_oxid_smb_dns.pcap", sha256: "e14f105c66afa74b3f582cac7794fbff4b56dbbf66df06e19fbb9b0facd9d0b8", packets: 244, first_ns: 1596700565251126000, last_ns: 1596700678905274000, frames_sha256: "3253efd0a641f20798a4527e5508c4aec9bf249617c6e633499bc4e86066f25f", link_types: "ethernet=244", interfaces: 1, damage_offset: Some(162786) },
    Truth { file: "efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng", sha256: "c1e767aebe0af32645d23a4f33fb6576a4d61671e8247928e70457303165150e", packets: 3131, first_ns: 1630595026423905000, last_ns: 1630595055285671000, frames_sha256: "d6632f27ae9297cb70e02b823abb2ac781aa08118a6b06d0a3d8b07908ab6aea", link_types: "ethernet=3131", interfaces: 1, damage_offset: None },
    Truth { file: "efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng", sha256: "c3e63f439365781eefa0eeae4484de998f613220b1f4a05d4010f280ec74d0a5", packets: 3286, first_ns: 1630594339002905000, last_ns: 1630594430090256000, frames_sha256: "3e0b2d757f51fc6c37a883810a27a9f640b1067b8bd3bc1c2b920157658208ae", link_types: "ethernet=3286", interfaces: 1, damage_offset: None },
    Truth { file: "epm_drsuapi_kerberos_privacy_sealed.pcapng.gz", sha256: "35dd90f9bb2a1f94f6d33f755a78d703e80b22369e6d6b9ad191384722ac0e38", packets: 29, first_ns: 1710370252384223202, last_ns: 1710370252401646607, frames_sha256: "8530ad50275c7c280b4b90ed35cbf03d51d26c4dbe6e9f21ce9cc627519a9b15", link_types: "ethernet=29", interfaces: 1, damage_offset: None },
    Truth { file: "epm_map_drsuapi_dcsync_cldap_kerberos_dns.pcap", sha256: "338a83f12052fbe9f873708435ccbbad22d75fe097fdd2d0173a9328f0b554f0", packets: 377, first_ns: 1596607760717187000, last_ns: 1596607848015792000, frames_sha256: "5b056886d3657cbf372201185333c6f665526bd0cddf586ed240b51dca0062c1", link_types: "ethernet=377", interfaces: 1, damage_offset: Some(1931408) },
    Truth { file: "epm_map_exchange_mapi_dcerpc.pcap", sha256: "63586c45f28a8fe3bcd7653e05c35a8ee5a47cf9d5fa46fc3ebda43de7635424", packets: 800, first_ns: 1056991896686396000, last_ns: 1056991899707516000, frames_sha256: "8ae6761edcb822b5f97c541545b4665eec1565a2957882579ff026dec930147b", link_types: "ethernet=800", interfaces: 1, damage_offset: None },
    Truth { file: "epm_map_netlogon_drsuapi_smb_dns.pcap", sha256: "ec93d69e62284621d6216d3a6f9494eab9ccafb95f7d94ee83f0369f8256baa4", packets: 3035, first_ns: 1645806825650784000, last_ns: 1645806850304825000, frames_sha256: "ec7505a77ef9e7531851da6f5d9663d20ae21db71b9730516a29a08703c1bd82", link_types: "ethernet=3035", interfaces: 1, damage_offset: None },
    Truth { file: "epm_map_netlogon_zerologon_win2019.pcap", sha256: "a28a90770785c4e322e7c9f396c0a51ca4f656e72067de020dcf009fe7cf8df3", packets: 1012, first_ns: 1600193662481400000, last_ns: 1600194215587010000, frames_sha256: "bc3d972379fdf99acc48cb4c972f92e12d72ab69caeddb6346eb9f0b0513733e", link_types: "ethernet=1012", interfaces: 1, damage_offset: None },
    Truth { file: "epm_tsch_tls_schtask_create.pcapng", sha256: "2dada09fe4266ee86e4b20cc983cfe98845d791f15b979c373d8e44de9de3a61", packets: 2839, first_ns: 1608379203966137000, last_ns: 1608379236649691000, frames_sha256: "d6e75a997526f8c6e2e35a607379cc769c311dcff246c8a6d897a037d7ece7d3", link_types: "ethernet=2839", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap", sha256: "2f5b471dd093c05b8c713e6322a967f5e2b24db2476927caf49346e6d6005272", packets: 53, first_ns: 1741596888368804000, last_ns: 1741596888525786000, frames_sha256: "85e26a24e4b9223e6c003e41bbd2643539cc5d1ba3116805d6047f3efa4cb303", link_types: "ethernet=53", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_kerberoast_tgsreq_rc4.pcap", sha256: "6265b5de2a301fa01b25e845a551277d965858c57fda8696a13345483132279c", packets: 11, first_ns: 1534673004596879000, last_ns: 1534673004599917000, frames_sha256: "544974b4420d990251d99d2f7e9fecb3d75d769e3adb5f953a998f68393e6224", link_types: "ethernet=11", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_ldap_smb2_drsuapi_ndpi.pcap", sha256: "f4bd1dcc33201c1609d9e4e58cf9db9746c6f6bbbfdf646c67040f946e1299d5", packets: 77, first_ns: 1549337929790448000, last_ns: 1549337952283232000, frames_sha256: "af7851439707ee3a8d089a3d16d13eff90fab44cc2094e1bf0e0a7ff1fdb7e3f", link_types: "ethernet=77", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_msg_types_as_tgs_error.pcap", sha256: "adf6d92129ba8394f21d0b660eaa167cf71bc3e18ae20c03624f4cabcbc04e61", packets: 52, first_ns: 1624354045024539000, last_ns: 1624354067125820000, frames_sha256: "3477cf0485947650d9374a1fbb143cadff5a9313b42df2007a0af1feee15fcf0", link_types: "ethernet=52", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_rubeus_asktgt_ptt_smb2_dns.pcap", sha256: "a560c97172fd796b1a1bd6eed8acd8399e277e7fb8ee5bd340981bdc43ea5280", packets: 249, first_ns: 1600742262916545000, last_ns: 1600742409557337000, frames_sha256: "ace0908f7778f1b1f9aeeb093bb1e2fb48068571e3f9cfab1464539e969c0c55", link_types: "ethernet=249", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_smb2_dcerpc_tso_large_segments.pcapng", sha256: "8b54bbf5aa77f58c472c5606fd7b797a7d992fd3c3706bbe54f80e322a25618a", packets: 314, first_ns: 1634816944134711000, last_ns: 1634817344701013000, frames_sha256: "b823ee7a9f05ab424371ff91f4720db835c7368b2311803c2b27c9c302795ab2", link_types: "ethernet=314", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_tcp_vlan_optional_sname.pcap", sha256: "191384c1da1453e3263ccbb8da5188614a910fcbabb7098a8c88a4590745f1f0", packets: 4, first_ns: 1331918844980000000, last_ns: 1331918844990000000, frames_sha256: "d013e855883f03c6027175f375e6950962bfdb9df2c052a674ebcb8c19c8de7a", link_types: "ethernet=4", interfaces: 1, damage_offset: None },
    Truth { file: "kerberos_udp_vlan_krb_error.pcap", sha256: "a7cf677e50ade6ec40a9fb71fdaef9af259e5dc1ce6ecbac4e981bc106e4c4d7", packets: 2, first_ns: 1645515964250491000, last_ns: 1645515964609203000, frames_sha256: "2841e18d0503c097cc606c411dd40b09d052f942f7893e17640830cedc85f013", link_types: "ethernet=2", interfaces: 1, damage_offset: None },
    Truth { file: "ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng", sha256: "1dd2ad671e7ee4b7c4a96301492edd26213cdbda11da7797f6ee3fc660855a53", packets: 18, first_ns: 1725966494956327000, last_ns: 1725966495127166000, frames_sha256: "173e6c8c9d660748e3ec2e43b710133ed01e74b2c1cd8e19a35b0df193738d51", link_types: "ethernet=18", interfaces: 126, damage_offset: None },
    Truth { file: "ldap_gssapi_kerberos_integrity_matrix_local.pcapng", sha256: "6873939b121bdcdd1beb8b5b168f4440a6ad0175f6eee161ed1fb893becfc909", packets: 82, first_ns: 1715862863899090000, last_ns: 1715862863932494000, frames_sha256: "cb130ac4dcd7db2f6e9301a2e3d84d3a3c5d26fc8ed30bb7f53c52de1bc55797", link_types: "ethernet=82", interfaces: 1, damage_offset: None },
    Truth { file: "ldap_powerview_heavy_search_cldap_kerberos_epm.pcap", sha256: "a285a5c85756070a6e65f2711f7588914185f9097f45d02bb4ea1cf8ddf72053", packets: 3168, first_ns: 1600708183877903000, last_ns: 1600708413364348000, frames_sha256: "e26653a238edb89bc9b33e7cb1d40dd6a173efb6f28b07e6e546d22d79b02bf0", link_types: "ethernet=3168", interfaces: 1, damage_offset: None },
    Truth { file: "ldap_rootdse_bind_modify_vlan_ipv6.pcapng", sha256: "184087e42225c235ad52ba907c0b3600318a097a1028d94654de203891d3d43b", packets: 17, first_ns: 1725966551231155000, last_ns: 1725966551239887000, frames_sha256: "1f5c30be43cab21b66111f439998ea8facb59f8a1a3476979ea9aa7489d97871", link_types: "ethernet=17", interfaces: 126, damage_offset: None },
    Truth { file: "ldap_search_linux_cooked_sll.pcapng", sha256: "c31b457c98230b51605fb595b284a0f151f9f5820cc447832c4d356f5ff05bc6", packets: 6, first_ns: 1695728003815495640, last_ns: 1695728003823355668, frames_sha256: "712045898dad90ea5269d6a480f1f110f4224fc1dd1e0fc476fe5932a873818a", link_types: "linux_sll=6", interfaces: 1, damage_offset: None },
];

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn captures() -> Option<PathBuf> {
    let dir = Path::new(CAPTURES);
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        eprintln!("skipped: {CAPTURES} is absent");
        None
    }
}

#[test]
fn every_capture_agrees_with_tshark() {
    let Some(dir) = captures() else { return };
    let mut failures = Vec::new();
    for t in TRUTH {
        let mut sha = Sha256::new();
        let mut numbers_ok = true;
        let mut expected_number = 0u64;
        let result = capture::read(&Input::Path(dir.join(t.file)), &mut |f| {
            expected_number += 1;
            numbers_ok &= f.number == expected_number;
            sha.update(format!(
                "{}\t{}\t{}\t{}\n",
                f.number,
                f.ts_ns,
                f.data.len(),
                f.orig_len
            ));
        });
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                failures.push(format!("{}: {e}", t.file));
                continue;
            }
        };
        let links: Vec<String> = info
            .link_types
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let got = (
            info.packets,
            info.first_ts_ns,
            info.last_ts_ns,
            hex(&sha.finalize()),
            links.join(","),
            info.interfaces,
            info.damage.as_ref().map(|d| d.offset),
            info.sha256.as_str(),
            numbers_ok,
        );
        let want = (
            t.packets,
            Some(t.first_ns),
            Some(t.last_ns),
            t.frames_sha256.to_string(),
            t.link_types.to_string(),
            t.interfaces,
            t.damage_offset,
            t.sha256,
            true,
        );
        if got != want {
            failures.push(format!("{}:\n  got  {got:?}\n  want {want:?}", t.file));
        }
        let compressed = t.file.ends_with(".gz");
        if info.compression.as_deref() != compressed.then_some("gzip") {
            failures.push(format!("{}: compression {:?}", t.file, info.compression));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truncated_captures_say_where_and_why() {
    let Some(dir) = captures() else { return };
    for file in [
        "dcom_wmi_activation_oxid_smb_dns.pcap",
        "epm_map_drsuapi_dcsync_cldap_kerberos_dns.pcap",
    ] {
        let info = capture::read(&Input::Path(dir.join(file)), &mut |_| {});
        let damage = info.ok().and_then(|i| i.damage);
        let message = damage.map(|d| d.message).unwrap_or_default();
        assert!(message.starts_with("truncated"), "{file}: {message}");
    }
}

#[test]
fn sll_and_per_packet_encapsulation_files() {
    let Some(dir) = captures() else { return };
    let sll = capture::read(
        &Input::Path(dir.join("ldap_search_linux_cooked_sll.pcapng")),
        &mut |f| assert_eq!(f.link_type, 113),
    );
    let sll = sll.ok();
    assert_eq!(
        sll.as_ref().and_then(|i| i.link_types.get("linux_sll")),
        Some(&6)
    );
    for file in [
        "ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng",
        "ldap_rootdse_bind_modify_vlan_ipv6.pcapng",
    ] {
        let info = capture::read(&Input::Path(dir.join(file)), &mut |_| {}).ok();
        assert_eq!(
            info.map(|i| (i.interfaces, i.variant)),
            Some((126, "le sections=1".to_string()))
        );
    }
}

// Generator of TRUTH (python3; needs tshark and capinfos), in outline:
//
// for f in sorted(os.listdir(CAPTURES)):   # skipping *.tshark.txt and *.md
//     out = tshark -n -r f -T fields -e frame.number -e frame.time_epoch -e frame.cap_len
//           -e frame.len -e frame.encap_type
//     off = 24
//     for each line: ns = int(sec) * 10**9 + int(frac)   # tshark prints 9 decimals
//         sha.update(f"{num}\t{ns}\t{cap}\t{len}\n"); off += 16 + cap; count encap
//     damage_offset = off if "cut short" in (capinfos -c f).stderr else None
//     sha256 = sha256(file bytes); interfaces = capinfos "Number of interfaces in file"
