//! Host names from evidence, checked against tshark's dissection of the same frames.

mod common;

use common::host_names as names;

#[test]
fn names_from_kerberos_tickets_smb_trees_dcom_bindings_and_ntlm() {
    let Some(p) = common::shared_capture("dcom_activation_oxid_epm_kerberos_iertutil_ws5.pcap")
    else {
        return;
    };
    let (v, _) = common::flows_json(&p);
    // tshark: frame 78 SESSION_SETUP presents a ticket for cifs/MORDORDC.theshire.local,
    // frame 81 smb2.tree = \\MORDORDC.theshire.local\IPC$ (to 172.18.38.5).
    assert_eq!(
        names(&v, "172.18.38.5"),
        vec![
            (
                "mordordc.theshire.local".into(),
                "kerberos-ticket".into(),
                78
            ),
            ("mordordc.theshire.local".into(), "smb-tree".into(), 81)
        ]
    );
    // tshark: frame 521 RemoteGetClassObject reply bindings 172.18.39.6[65077],WORKSTATION6[65077];
    // frame 384 tree \\WORKSTATION6\C$; frame 379 a ticket for cifs/WORKSTATION6 (and 571
    // RPCSS/WORKSTATION6, later).
    let n = names(&v, "172.18.39.6");
    assert_eq!(n[0], ("workstation6".into(), "kerberos-ticket".into(), 379));
    assert!(
        n.contains(&("WORKSTATION6".into(), "dcom-binding".into(), 521)),
        "{n:?}"
    );
    assert!(
        n.contains(&("workstation6".into(), "smb-tree".into(), 384)),
        "{n:?}"
    );
    let flow = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["port"] == 65077)
        .unwrap();
    assert_eq!(flow["server_name"], "workstation6");
    // tshark: frame 517, the NTLM CHALLENGE of the EPM bind (172.18.39.6 -> .5) gives
    // ntlmssp.challenge.target_info.dns_computer_name WORKSTATION6.theshire.local; frame 518,
    // the AUTHENTICATE, ntlmssp.auth.hostname WORKSTATION5: the only name of the client.
    assert!(
        n.contains(&(
            "workstation6.theshire.local".into(),
            "ntlm-challenge".into(),
            517
        )),
        "{n:?}"
    );
    assert_eq!(
        names(&v, "172.18.39.5"),
        vec![("WORKSTATION5".into(), "ntlm-workstation".into(), 518)]
    );
}

#[test]
fn dns_names_prefer_the_queried_name_over_cname_targets() {
    let Some(p) = common::shared_capture("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng")
    else {
        return;
    };
    let (v, _) = common::flows_json(&p);
    // tshark: frame 2859 answers ec.razer.com (CNAME ...elb.amazonaws.com) A 34.225.181.229;
    // the TLS certificate at frame 2870 lists razer.com and www.razer.com.
    let n = names(&v, "34.225.181.229");
    assert_eq!(n[0], ("ec.razer.com".into(), "dns".into(), 2859));
    assert!(
        n.contains(&("razer.com".into(), "tls-certificate".into(), 2870)),
        "{n:?}"
    );
    let flow = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["server"] == "34.225.181.229")
        .unwrap();
    assert_eq!(flow["server_name"], "ec.razer.com");
}
