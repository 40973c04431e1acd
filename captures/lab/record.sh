#!/usr/bin/env bash
# Record certflow's own AD CS enrollment captures in a namespace lab (run as root on Debian 12).
#
#   captures/lab/record.sh [SCENARIO...]     default: all scenarios, in priority order
#
# Scenarios (file names under captures/):
#   story      lab_enroll_story_icpr_dynamic.pcapng         DNS, CLDAP, Kerberos, LDAP discovery,
#                                                            EPM, ICPR on the dynamic port, CRL, SMB
#   pinned     lab_enroll_icpr_pinned_port.pcap             CA pinned to TCP 50100
#   dynamic    lab_enroll_icpr_dynamic_port.pcap            same client steps, CA on a random port
#   blocked    lab_enroll_icpr_blocked_dynamic.pcap         nft drops the dynamic port on the CA
#   pipe       lab_enroll_icpr_named_pipe.pcap              ICPR over SMB \PIPE\cert (impacket smbserver)
#   regress    lab_enroll_regress_a.pcap / _b.pcap          the story twice, two dynamic ports
#   https      lab_enroll_https_cep_ces_only.pcapng         client -> CEP/CES on 443 only
#   ipv6       lab_enroll_story_ipv6.pcapng                 the story over IPv6 (fd77::/64)
#   vlan       lab_enroll_story_vlan77.pcap                 the story with 802.1Q tags (tc/eBPF)
#   smallmss   lab_enroll_small_segments.pcap               story, LDAP variants, SMB and HTTPS
#                                                            with a TCP MSS of 128 bytes
#   lossy      lab_enroll_lossy_network.pcap                the same with 1 TCP segment in 20
#                                                            dropped at each end, MSS 256
#   captureloss lab_enroll_capture_loss.pcap                about 1 TCP segment in 8 missing
#                                                            from the capture (a BPF filter)
#   rotated    lab_enroll_rotated_whole.pcap and           the story, whole and in a dumpcap
#              lab_enroll_rotated_partN.pcapng              ring of 16 kB files
#   kpasswdudp lab_kpasswd_udp_heimdal.pcap                 Heimdal kpasswd over UDP 464
#   web        lab_enroll_web_certsrv.pcapng                curl --ntlm to certsrv over HTTP
#   snaplen    lab_enroll_snaplen_200.pcap                  the story, tcpdump -s 200
#   variants   lab_enroll_variants.pcapng                   PKINIT (certipy auth), Kerberos over
#                                                            UDP in IPv4 fragments, SMB3
#                                                            encryption, DNS over TCP, LDAP Who am I?
#   rejected   lab_enroll_icpr_rejected_icmp.pcap           the CA rejects the dynamic port with ICMP
#                                                            admin-prohibited, the DC CLDAP with
#                                                            port unreachable
#   ldapntlm   lab_ldap_ntlm_binds.pcapng                   LDAP NTLM binds: SASL GSS-SPNEGO
#                                                            (impacket), Sicily (certipy find)
#   krbvariants lab_kerberos_variants.pcapng                impacket's Kerberos (TGT, service
#                                                            ticket, S4U2Self, U2U); MIT renewal
#                                                            and FAST (kinit -R, kinit -T)
#   dnsvariants lab_dns_variants.pcapng                     dig/host/nslookup: CNAME chains, PTR,
#                                                            DNSSEC OK, TCP, ANY, NXDOMAIN, TXT
#   smbrpc     lab_smb_rpc_variants.pcapng                 smbclient on SYSVOL, rpcclient over
#                                                            pipes and over TCP [seal], SMB1 only
#   tlsvariants lab_tls_variants.pcapng                     OpenSSL: TLS 1.2 client certificate,
#                                                            TLS 1.3 HelloRetryRequest, resumption,
#                                                            no SNI, TLS 1.0
#   httpvariants lab_http_variants.pcapng                  OpenSSL OCSP client and responder,
#                                                            keep-alive, HTTP/1.0, wget, chunked
#   sambaldap  lab_samba_ldap_client.pcapng                Samba's client: net ads lookup/info
#                                                            (CLDAP), ldbsearch with Kerberos
#   impacketrpc lab_impacket_rpc_dcom.pcapng                impacket: lookupsid (SMB lsarpc),
#                                                            GetUserSPNs -request, wmiexec (DCOM)
#   starttls   lab_ldap_starttls_openssl.pcapng            openssl s_client -starttls ldap
#                                                            (TLS 1.3 and TLS 1.2)
#   ldapops    lab_ldap_operations.pcapng                   every LDAP operation: add, modify,
#                                                            compare, modify DN, delete, paged and
#                                                            referral searches, abandon (ldap3)
#   hostview   lab_enroll_host_client_any.pcap and          the story recorded on the client
#              lab_enroll_host_ca_any.pcapng                (tcpdump -i any, Linux cooked v2) and
#                                                            on the CA (dumpcap -i any, cooked v1)
#                                                            with offloads on: 64 kB TSO segments
#   adjoin     lab_adjoin_adcli_msktutil.pcapng             domain joins: adcli join / testjoin /
#                                                            update (kpasswd set and change) and
#                                                            msktutil --create
#   dnsupdate  lab_dns_dynamic_update_gss_tsig.pcapng       DNS UPDATE unsigned (REFUSED) and with
#                                                            GSS-TSIG (nsupdate -g: TKEY over TCP),
#                                                            samba-tool dns query (DnsServer RPC)
#   mitkrb     lab_kerberos_mit_names_errors.pcapng         MIT kinit -E (enterprise), -C, -S;
#                                                            kvno -S; unknown service, unknown
#                                                            client, wrong password
#   tunnel     lab_vxlan_overlay_two_interfaces.pcapng      client -> DC through a VXLAN overlay,
#                                                            recorded on eth0 and vx0 at once
#   tlsbigcert lab_tls_certificate_900_sans.pcapng         TLS 1.2 server certificate with 900
#                                                            SANs (Certificate over two records)
#   smbbulk    lab_smb_bulk_transfer.pcapng                 smbclient put and get of a 400 kB file
#                                                            (SMB 3.1.1, one WRITE, one READ)
#   krbskew    lab_kerberos_skew_in_gss_tokens.pcapng       impacket's SMB2, LDAP and DCE/RPC
#                                                            Kerberos logons from a clock an hour
#                                                            ahead: KRB_AP_ERR_SKEW in each token
#   webntlm   lab_http_ntlm_certsrv.pcapng                 curl --ntlm to certsrv over HTTP, the CA
#                                                            stand-in answering NTLM as IIS does
#   ntlmfallback lab_ntlm_fallback_kdc_blocked.pcapng       the DC's firewall rejects Kerberos (UDP
#                                                            and TCP 88); Samba's smbclient,
#                                                            rpcclient and ldbsearch, told to
#                                                            prefer Kerberos, log on with NTLM
#   smb1 / smb1nbt / smb1legacy                             SMB1 (captures/README.md 41-43)
#   ldapfilters lab_ldap_search_filters.pcapng              ldapsearch with 27 filters of every
#                                                            kind, (&) and (|) included
#   ldapsasl   lab_ldap_gssapi_security_layers.pcapng       ldapsearch GSSAPI: no layer, integrity,
#                                                            confidentiality
#   rpcfrag    lab_dcerpc_fragmented_calls.pcapng           impacket LsarLookupNames in 19
#                                                            fragments (TCP and an SMB 2.1 pipe)
#   tls13early lab_tls13_resumption_early_data.pcapng      OpenSSL TLS 1.3: a full handshake, then
#                                                            a resumption with 0-RTT early data
#
# (captures/lab/record_fragments.sh records the two DNS-in-fragments captures.) The lossy and
# captureloss scenarios drop packets at random: recording them again changes their frames.
#
# The lab: namespaces cf-dc (10.77.0.10, dc1, Samba AD DC), cf-ca (10.77.0.20, ca1 + pki, the
# impacket CA stand-in and the CRL/AIA web server), cf-ces (10.77.0.30, ces, CEP/CES over HTTPS),
# cf-cli (10.77.0.100, cli, the client) on bridge br0 in namespace cf-br, where tcpdump/dumpcap
# record. Nothing is routed out. Cleanup (namespaces, processes) runs on exit.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(cd "$HERE/.." && pwd)}
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || { echo "record.sh must run as root" >&2; exit 1; }

CAP_PID=""
CAP_FILE=""
ICPR_PORT=""
CA_PID=""
CES_PID=""

cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
    [ -n "$CA_PID" ] && kill "$CA_PID" 2>/dev/null
    [ -n "$CES_PID" ] && kill "$CES_PID" 2>/dev/null
    net_down
    log "cleaned up namespaces"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- capture
# capture_start FILE [SNAPLEN [FILTER]]  (.pcap -> tcpdump, .pcapng -> dumpcap) on br0 inside
# cf-br; SNAPLEN 0 (the default) keeps whole frames; FILTER is a capture filter (BPF).
capture_start() {
    local file=$1 snap=${2:-0} filter=${3:-}
    rm -f "$file"
    if [[ $file == *.pcapng ]]; then
        ip netns exec cf-br dumpcap -q -i br0 -s "$snap" ${filter:+-f "$filter"} -w "$file" \
            >"$WORK/capture.log" 2>&1 &
    else
        ip netns exec cf-br tcpdump -q -i br0 -s "$snap" -U -w "$file" $filter \
            >"$WORK/capture.log" 2>&1 &
    fi
    CAP_PID=$!
    CAP_FILE=$file
    sleep 2
    log "recording $(basename "$file") (pid $CAP_PID)"
}

capture_stop() {
    sleep 1
    kill -INT "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=""
    chmod 644 "$CAP_FILE"
    log "stopped: $(tr '\n' ' ' <"$WORK/capture.log")"
    # Ground truth for the README: the flows and key frames as tshark dissects them.
    python3 "$LAB_DIR/summarize.py" "$CAP_FILE" "${ICPR_PORT:-}" >"$CAP_FILE.summary.md"
}

# ---------------------------------------------------------------- CA and CES
# ca_start [PORT]  (0 or empty: dynamic). Also serves CRL/AIA on TCP 80.
ca_start() {
    local port=${1:-0} extra=${2:-} bind="--bind $CA_IP" tower=$CA_IP
    ca_stop
    [ "${LAB_V6:-0}" = 1 ] && tower=0.0.0.0  # floor 5 of a TCP tower holds IPv4 only
    rm -f "$WORK/ca.port"
    # shellcheck disable=SC2086
    ip netns exec cf-ca "$VENV/bin/python" "$LAB_DIR/ca_server.py" $bind --tower-ip "$tower" \
        --icpr-port "$port" --pki "$WORK/pki" --http --port-file "$WORK/ca.port" \
        --account "alice:$ALICE_PASS" --account "alice:$ALICE_NEWPASS" \
        --account "svc-ces:Svc-Ces-Pass-1!" $extra >>"$WORK/ca.log" 2>&1 &
    CA_PID=$!
    local i
    for i in $(seq 1 30); do [ -s "$WORK/ca.port" ] && break; sleep 0.3; done
    ICPR_PORT=$(cat "$WORK/ca.port")
    log "CA stand-in up, ICertPassage on TCP $ICPR_PORT"
}

ca_stop() {
    if [ -n "$CA_PID" ]; then
        kill "$CA_PID" 2>/dev/null
        wait "$CA_PID" 2>/dev/null
        CA_PID=""
    fi
}

ces_start() {
    [ -n "$CES_PID" ] && return 0
    local bind="--bind $CES_IP"
    # shellcheck disable=SC2086
    ip netns exec cf-ces "$VENV/bin/python" "$LAB_DIR/ces_server.py" $bind --pki "$WORK/pki" \
        --account "alice:$ALICE_PASS" >>"$WORK/ces.log" 2>&1 &
    CES_PID=$!
    sleep 1
}

# ---------------------------------------------------------------- lab bring-up
# lab_up 0|1: 0 = IPv4 only, 1 = IPv6 only (fd77::/64; no IPv4 addresses at all).
lab_up() {
    LAB_V6=$1
    if [ "$LAB_V6" = 1 ]; then
        DC_IP=fd77::10 CA_IP=fd77::20 CES_IP=fd77::30
    else
        DC_IP=10.77.0.10 CA_IP=10.77.0.20 CES_IP=10.77.0.30
    fi
    rm -rf "$WORK"
    mkdir -p "$WORK"
    net_down
    net_up "$LAB_V6"
    "$VENV/bin/python" "$LAB_DIR/pki.py" init "$WORK/pki"
    chmod 600 "$WORK/pki/"*.key
    dc_provision "$LAB_V6" || exit 1
    dc_start "$LAB_V6"
    local conf="$WORK/dc/etc/smb.conf"
    # Keys for the computer accounts (samba-tool computer create leaves them without keys),
    # and a password policy that lets kpasswd change alice's password twice in a row.
    nsx dc samba-tool user setpassword 'CA1$' --newpassword='Machine-Ca1-Pass-77!' -s "$conf" >/dev/null
    nsx dc samba-tool user setpassword 'CES$' --newpassword='Machine-Ces-Pass-77!' -s "$conf" >/dev/null
    nsx dc samba-tool domain passwordsettings set --min-pwd-age=0 --history-length=0 \
        --complexity=off -s "$conf" >/dev/null
    cli_config
    log "lab up"
}

cli_reset() {
    cli kdestroy -q 2>/dev/null
    rm -f "$WORK/cli/"*.pfx "$WORK/cli/"*.crl "$WORK/cli/"*.crt
}

# ---------------------------------------------------------------- client steps
step_locate_dc() {
    cli host -t SRV _ldap._tcp.dc._msdcs.$DOMAIN >/dev/null
    cli samba-tool domain info "$DC_IP" >/dev/null 2>&1          # CLDAP netlogon ping, UDP 389
}

step_kerberos() {
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    cli kvno ldap/dc1.$DOMAIN HOST/ca1.$DOMAIN RPCSS/ca1.$DOMAIN >/dev/null
}

step_ldap_discovery() {
    local pks="CN=Public Key Services,CN=Services,CN=Configuration,$BASEDN"
    # Simple bind (readable on the wire): the enrollment services and the templates.
    cli ldapsearch -LLL -x -H ldap://dc1.$DOMAIN -D "alice@$DOMAIN" -w "$ALICE_PASS" \
        -b "CN=Enrollment Services,$pks" "(objectClass=pKIEnrollmentService)" \
        cn dNSHostName certificateTemplates msPKI-Enrollment-Servers >/dev/null
    cli ldapsearch -LLL -x -H ldap://dc1.$DOMAIN -D "alice@$DOMAIN" -w "$ALICE_PASS" \
        -b "CN=Certificate Templates,$pks" "(objectClass=pKICertificateTemplate)" \
        cn displayName msPKI-Cert-Template-OID pKIExtendedKeyUsage >/dev/null
    # SASL GSSAPI (sealed after the bind).
    cli ldapsearch -LLL -Y GSSAPI -N -H ldap://dc1.$DOMAIN -b "CN=Enrollment Services,$pks" \
        "(objectClass=pKIEnrollmentService)" dNSHostName >/dev/null 2>&1
}

step_ldap_variants() {
    # StartTLS (-ZZ), LDAPS and the global catalog on 3268.
    cli ldapsearch -LLL -x -ZZ -H ldap://dc1.$DOMAIN -D "alice@$DOMAIN" -w "$ALICE_PASS" \
        -b "$BASEDN" -s base dn >/dev/null
    cli ldapsearch -LLL -x -H ldaps://dc1.$DOMAIN -D "alice@$DOMAIN" -w "$ALICE_PASS" \
        -b "$BASEDN" -s base dn >/dev/null
    cli ldapsearch -LLL -Y GSSAPI -N -H ldap://dc1.$DOMAIN:3268 -b "" "(sAMAccountName=CA1\$)" \
        dNSHostName servicePrincipalName >/dev/null 2>&1
}

step_epm() {
    cli "$VENV/bin/python" "$LAB_DIR/epm_probe.py" map ca1.$DOMAIN >"$WORK/epm.out" 2>&1
}

# impacket rpcdump (ept_lookup, opnum 2) against the DC's Samba EPM and the CA's EPM.
step_rpcdump() {
    cli rpcdump.py -port 135 "$DC_IP" >"$WORK/rpcdump-dc.out" 2>&1
    cli rpcdump.py -port 135 "$CA_IP" >"$WORK/rpcdump-ca.out" 2>&1
}

# ICertPassage at auth levels connect (2) and integrity (5): the PKCS#10 and the issued
# certificate are readable on the wire (privacy, level 6, is what certipy uses).
step_icpr_levels() {
    local lvl
    for lvl in 2 5; do
        cli "$VENV/bin/python" "$LAB_DIR/epm_probe.py" icpr "$CA_IP" "$ICPR_PORT" $lvl alice \
            "$ALICE_PASS" "$DOMAIN" >>"$WORK/icpr-levels.out" 2>&1
    done
    log "icpr levels: $(tr '\n' ' ' <"$WORK/icpr-levels.out")"
}

step_certipy() {
    local extra=${1:-}
    # shellcheck disable=SC2086
    (cd "$WORK/cli" && cli timeout 60 certipy req -u "alice@$DOMAIN" -p "$ALICE_PASS" \
        -dc-ip "$DC_IP" -target ca1.$DOMAIN -target-ip "$CA_IP" \
        -ca "$CA_NAME" -template User $extra -timeout 5 -out alice) >"$WORK/certipy.out" 2>&1
    log "certipy: $(grep -E 'Successfully|Got certificate|rror|Failed' "$WORK/certipy.out" | tr '\n' ' ')"
}

step_crl() {
    (cd "$WORK/cli" && cli curl -sS -o ca.crl "http://pki.$DOMAIN/CertEnroll/$CA_NAME.crl" \
        && cli curl -sS -o ca.crt "http://pki.$DOMAIN/CertEnroll/ca1.${DOMAIN}_$CA_NAME.crt")
}

step_smb() {
    cli smbclient -L //dc1.$DOMAIN --use-kerberos=required -s "$WORK/cli/smb.conf" </dev/null \
        >/dev/null 2>&1
}

step_kpasswd() {
    printf '%s\n%s\n%s\n' "$ALICE_PASS" "$ALICE_NEWPASS" "$ALICE_NEWPASS" | cli kpasswd alice >/dev/null 2>&1
    nsx dc samba-tool user setpassword alice --newpassword="$ALICE_PASS" \
        -s "$WORK/dc/etc/smb.conf" >/dev/null 2>&1
}

# The CA host reads its own enrollment-service object from the DC (CA -> DC LDAP 389).
step_ca_reads_config() {
    nsx ca env LDAPCONF="$WORK/cli/ldap.conf" ldapsearch -LLL -x -H "ldap://dc1.$DOMAIN" \
        -D "CA1\$@$DOMAIN" -w 'Machine-Ca1-Pass-77!' \
        -b "CN=$CA_NAME,CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,$BASEDN" \
        -s base certificateTemplates >/dev/null
}

# ---------------------------------------------------------------- scenarios
scn_story_steps() {
    step_ca_reads_config
    step_locate_dc
    step_kerberos
    step_ldap_discovery
    step_epm
    step_certipy -dynamic-endpoint
    step_crl
}

# The story steps plus the LDAP variants, SMB and the HTTPS enrollment: every protocol once, for
# the scenarios that change the network under them.
scn_wide_steps() {
    scn_story_steps
    step_ldap_variants
    step_smb
    step_https
}

scn_story() {
    cli_reset
    ca_start 0
    local f="$OUT/lab_enroll_story_icpr_dynamic.pcapng"
    capture_start "$f"
    scn_story_steps
    step_icpr_levels
    step_rpcdump
    step_ldap_variants
    cli kvno HTTP/ces.$DOMAIN >/dev/null   # the CES host's SPN, as a web-enrolling member would
    step_smb
    step_kpasswd
    capture_stop
    echo "$ICPR_PORT" >"$WORK/story.port"
}

scn_pinned() {
    cli_reset
    ca_start 50100
    capture_start "$OUT/lab_enroll_icpr_pinned_port.pcap"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_certipy -dynamic-endpoint
    capture_stop
}

scn_dynamic() {
    cli_reset
    ca_start 0
    capture_start "$OUT/lab_enroll_icpr_dynamic_port.pcap"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_certipy -dynamic-endpoint
    capture_stop
}

# ICPR over SMB: the CA also runs impacket's SMB server with \PIPE\cert; certipy without
# -dynamic-endpoint tries the pipe first (SMB2 NEGOTIATE, SESSION_SETUP NTLM, TREE_CONNECT IPC$,
# CREATE cert, then the DCE/RPC bind and request inside SMB2 WRITE/READ or IOCTL).
scn_pipe() {
    cli_reset
    ca_start 0 --smb
    capture_start "$OUT/lab_enroll_icpr_named_pipe.pcap"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_certipy
    capture_stop
    ca_stop
}

scn_blocked() {
    cli_reset
    ca_start 0
    nsx ca nft add table inet lab
    nsx ca nft add chain inet lab input '{ type filter hook input priority 0; policy accept; }'
    nsx ca nft add rule inet lab input tcp dport "$ICPR_PORT" drop
    capture_start "$OUT/lab_enroll_icpr_blocked_dynamic.pcap"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_epm
    step_certipy -dynamic-endpoint
    capture_stop
    nsx ca nft delete table inet lab
}

# A firewall that rejects instead of dropping: nftables on the CA answers the dynamic ICPR port
# with ICMP administratively prohibited (the way firewalld and Windows Firewall's "block" with
# reject behave), and the DC's firewall answers the CLDAP ping with ICMP port unreachable.
scn_rejected() {
    cli_reset
    ca_start 0
    nsx ca nft add table inet lab
    nsx ca nft add chain inet lab input '{ type filter hook input priority 0; policy accept; }'
    nsx ca nft add rule inet lab input tcp dport "$ICPR_PORT" reject with icmpx type admin-prohibited
    nsx dc nft add table inet lab
    nsx dc nft add chain inet lab input '{ type filter hook input priority 0; policy accept; }'
    nsx dc nft add rule inet lab input udp dport 389 reject with icmpx type port-unreachable
    capture_start "$OUT/lab_enroll_icpr_rejected_icmp.pcap"
    step_locate_dc
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_certipy -dynamic-endpoint
    capture_stop
    nsx ca nft delete table inet lab
    nsx dc nft delete table inet lab
}

scn_regress() {
    local tag
    for tag in a b; do
        cli_reset
        ca_start 0
        capture_start "$OUT/lab_enroll_regress_$tag.pcap"
        scn_story_steps
        capture_stop
        echo "$ICPR_PORT" >"$WORK/regress_$tag.port"
    done
}

# CEP GetPolicies and CES enrollment over HTTPS (ces_client.py), then curl to the CEP URL.
step_https() {
    cli "$VENV/bin/python" "$LAB_DIR/ces_client.py" --host ces.$DOMAIN --ip "$CES_IP" \
        --cacert "$WORK/pki/ca.crt" --user alice --password "$ALICE_PASS" --out "$WORK/cli" \
        >"$WORK/ces_client.out" 2>&1
    (cd "$WORK/cli" && cli curl -sS --cacert "$WORK/pki/ca.crt" \
        --resolve "ces.$DOMAIN:443:$CES_IP" -o cep.xml \
        "https://ces.$DOMAIN/ADPolicyProvider_CEP_Kerberos/service.svc/CEP")
    log "ces client: $(tail -2 "$WORK/ces_client.out" | tr '\n' ' ')"
}

scn_https() {
    cli_reset
    ces_start
    capture_start "$OUT/lab_enroll_https_cep_ces_only.pcapng"
    step_https
    capture_stop
}

# mss_all N: every host advertises a TCP MSS of N on the lab subnet (0: the default again).
mss_all() {
    local h name v4 mss=()
    [ "$1" != 0 ] && mss=(advmss "$1")
    for h in $HOSTS; do
        IFS=: read -r name v4 _ <<<"$h"
        nsx "$name" ip route replace 10.77.0.0/24 dev eth0 proto kernel scope link src "$v4" "${mss[@]}"
    done
}

# The story, the LDAP variants, SMB and the HTTPS enrollment with every host advertising a TCP
# MSS of 128 bytes: every message longer than that is cut across TCP segments (Kerberos over
# TCP, LDAP, TLS hellos and certificates, DCE/RPC PDUs, SMB2, HTTP), as on a small-MTU link.
scn_smallmss() {
    mss_all 128
    cli_reset
    ca_start 0
    ces_start
    capture_start "$OUT/lab_enroll_small_segments.pcap"
    scn_wide_steps
    capture_stop
    mss_all 0
}

# The story over IPv6 only (the lab is brought up again without IPv4 addresses).
scn_ipv6() {
    cli_reset
    ca_start 0
    capture_start "$OUT/lab_enroll_story_ipv6.pcapng"
    scn_story_steps
    capture_stop
}

# The story with real 802.1Q tags: a tc/eBPF program on every host's eth0 pushes VLAN 77 on
# egress and pops it on ingress (no 8021q module in this kernel), so every frame on br0 is tagged.
scn_vlan() {
    local h name
    clang -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c "$LAB_DIR/vlan_tag.bpf.c" \
        -o "$WORK/vlan_tag.bpf.o" || { log "vlan: clang failed, scenario skipped"; return 1; }
    for h in $HOSTS; do
        IFS=: read -r name _ _ <<<"$h"
        nsx "$name" tc qdisc add dev eth0 clsact
        nsx "$name" tc filter add dev eth0 egress bpf da obj "$WORK/vlan_tag.bpf.o" sec egress
        nsx "$name" tc filter add dev eth0 ingress bpf da obj "$WORK/vlan_tag.bpf.o" sec ingress
    done
    cli_reset
    ca_start 0
    capture_start "$OUT/lab_enroll_story_vlan77.pcap"
    scn_story_steps
    capture_stop
    for h in $HOSTS; do
        IFS=: read -r name _ _ <<<"$h"
        nsx "$name" tc qdisc del dev eth0 clsact
    done
}

# What real clients also do that the story does not: certipy authenticates with the certificate
# it was just issued (PKINIT, RFC 4556; Samba's KDC is not set up for it and answers with an
# error), MIT tools keep Kerberos on UDP whatever the size (udp_preference_limit raised), so
# requests carrying a ticket leave in IPv4 fragments; smbclient insists on SMB3
# encryption; host asks over TCP; ldapwhoami sends the Who am I? extended operation (RFC 4532).
scn_variants() {
    cli_reset
    ca_start 0
    sed 's/^\[libdefaults\]$/[libdefaults]\n    udp_preference_limit = 65535/' \
        "$WORK/cli/krb5.conf" >"$WORK/cli/krb5-udp.conf"
    capture_start "$OUT/lab_enroll_variants.pcapng"
    cli host -T -t SRV _kerberos._tcp.$DOMAIN >/dev/null
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    step_certipy -dynamic-endpoint
    (cd "$WORK/cli" && cli timeout 60 certipy auth -pfx alice.pfx -dc-ip "$DC_IP" \
        -domain "$DOMAIN" -username alice) >"$WORK/certipy-auth.out" 2>&1
    log "certipy auth: $(tr '\n' ' ' <"$WORK/certipy-auth.out" | cut -c1-300)"
    # Over UDP only: the TGS-REQ carries the TGT and leaves in two IPv4 fragments; the new
    # kinit's AS-REQ with PA-ENC-TIMESTAMP is answered RESPONSE_TOO_BIG, and MIT goes to TCP.
    cli env KRB5_CONFIG="$WORK/cli/krb5-udp.conf" kvno cifs/dc1.$DOMAIN >/dev/null
    echo "$ALICE_PASS" | cli env KRB5_CONFIG="$WORK/cli/krb5-udp.conf" kinit alice@$REALM >/dev/null
    cli smbclient -L //dc1.$DOMAIN --use-kerberos=required --client-protection=encrypt \
        -s "$WORK/cli/smb.conf" </dev/null >"$WORK/smb-encrypt.out" 2>&1
    log "smbclient encrypt: $(head -3 "$WORK/smb-encrypt.out" | tr '\n' ' ')"
    cli ldapwhoami -x -H ldap://dc1.$DOMAIN -D "alice@$DOMAIN" -w "$ALICE_PASS" >/dev/null
    capture_stop
}

# LDAP with NTLM, the way Windows tools and the Python AD tools bind: impacket's GetADUsers
# (its own LDAP client: a sicilyNegotiate / sicilyResponse bind, MS-ADTS 5.1.1.1.3) and
# certipy find (ldap3: NTLM over SASL-less "sicily" as well) over LDAP and LDAPS.
scn_ldapntlm() {
    cli_reset
    capture_start "$OUT/lab_ldap_ntlm_binds.pcapng"
    cli GetADUsers.py -all -dc-ip "$DC_IP" "$DOMAIN/alice:$ALICE_PASS" >"$WORK/getadusers.out" 2>&1
    log "GetADUsers: $(tail -3 "$WORK/getadusers.out" | tr '\n' ' ')"
    local scheme
    for scheme in ldap ldaps; do
        (cd "$WORK/cli" && cli timeout 60 certipy find -u "alice@$DOMAIN" -p "$ALICE_PASS" \
            -dc-ip "$DC_IP" -scheme "$scheme" -stdout) >"$WORK/certipy-find-$scheme.out" 2>&1
        log "certipy find ($scheme): $(grep -E 'rror|Found|Got|Trying' "$WORK/certipy-find-$scheme.out" | head -4 | tr '\n' ' ')"
    done
    capture_stop
}

# Every LDAP operation ldap-utils sends (RFC 4511 4.2-4.14), with simple binds Samba accepts in
# clear: add (then again: entryAlreadyExists), modify, compare (true, then false), modify DN,
# delete, a paged search (RFC 2696, 3 entries a page), a subtree search from the domain root
# (Samba answers with continuation references, searchResRef), a search with a size limit of 2
# (which Samba does not apply to Administrator), and ldap3 (the Python AD tools' client)
# abandoning a search.
scn_ldapops() {
    cli_reset
    local dn="CN=cf-probe,CN=Users,$BASEDN"
    local auth=(-x -H "ldap://dc1.$DOMAIN" -D "Administrator@$DOMAIN" -w "$ADMIN_PASS")
    printf 'dn: %s\nobjectClass: contact\ncn: cf-probe\ndescription: certflow lab\n' "$dn" \
        >"$WORK/cli/add.ldif"
    printf 'dn: %s\nchangetype: modify\nreplace: description\ndescription: changed\n' "$dn" \
        >"$WORK/cli/modify.ldif"
    capture_start "$OUT/lab_ldap_operations.pcapng"
    cli ldapadd "${auth[@]}" -f "$WORK/cli/add.ldif" >/dev/null 2>&1
    cli ldapadd "${auth[@]}" -f "$WORK/cli/add.ldif" >/dev/null 2>&1
    cli ldapmodify "${auth[@]}" -f "$WORK/cli/modify.ldif" >/dev/null 2>&1
    cli ldapcompare "${auth[@]}" "$dn" "description:changed" >/dev/null 2>&1
    cli ldapcompare "${auth[@]}" "$dn" "description:other" >/dev/null 2>&1
    cli ldapmodrdn "${auth[@]}" -r "$dn" "CN=cf-probe2" >/dev/null 2>&1
    cli ldapdelete "${auth[@]}" "CN=cf-probe2,CN=Users,$BASEDN" >/dev/null 2>&1
    cli ldapsearch -LLL "${auth[@]}" -E pr=3/noprompt -b "CN=Users,$BASEDN" "(objectClass=user)" \
        dn >/dev/null 2>&1
    cli ldapsearch -LLL "${auth[@]}" -b "$BASEDN" "(objectClass=domain)" dn >/dev/null 2>&1
    cli ldapsearch -LLL "${auth[@]}" -z 2 -b "CN=Users,$BASEDN" "(objectClass=*)" dn >/dev/null 2>&1
    cli "$VENV/bin/python" - "$DC_IP" "Administrator@$DOMAIN" "$ADMIN_PASS" "$BASEDN" \
        >"$WORK/ldap3-abandon.out" 2>&1 <<'PY'
import sys
import ldap3
host, user, password, base = sys.argv[1:5]
c = ldap3.Connection(ldap3.Server(host, get_info=ldap3.NONE), user=user, password=password,
                     client_strategy=ldap3.ASYNC, auto_bind=True)
mid = c.search("CN=Users," + base, "(objectClass=user)", attributes=["cn"])
c.abandon(mid)
c.unbind()
print("abandoned message", mid)
PY
    log "ldap3: $(tr '\n' ' ' <"$WORK/ldap3-abandon.out" | cut -c1-200)"
    capture_stop
}

# Kerberos as other clients write it: impacket's own encoder (pyasn1) asking for a TGT
# (getTGT), a service ticket with that TGT (getST -k), S4U2Self for alice by the CA's machine
# account (getST -self -impersonate: PA-FOR-USER) and a user-to-user ticket (getST -u2u:
# enc-tkt-in-skey with the TGT as additional ticket); then MIT kinit with a renewable TGT
# renewed (kinit -R: TGS-REQ for krbtgt) and a FAST-armored AS exchange (kinit -T, RFC 6113).
scn_krbvariants() {
    cli_reset
    local machine="$DOMAIN/CA1\$:Machine-Ca1-Pass-77!"
    capture_start "$OUT/lab_kerberos_variants.pcapng"
    # impacket reads KRB5CCNAME whenever it is set, and cannot save tickets in this venv
    # (pyasn1): every request starts from the password.
    cli env -u KRB5CCNAME getTGT.py -dc-ip "$DC_IP" "$DOMAIN/alice:$ALICE_PASS" \
        >"$WORK/gettgt.out" 2>&1
    cli env -u KRB5CCNAME getST.py -dc-ip "$DC_IP" -spn "cifs/dc1.$DOMAIN" \
        "$DOMAIN/alice:$ALICE_PASS" >"$WORK/getst.out" 2>&1
    cli env -u KRB5CCNAME getST.py -self -impersonate alice -dc-ip "$DC_IP" "$machine" \
        >"$WORK/getst-s4u.out" 2>&1
    cli env -u KRB5CCNAME getST.py -u2u -spn "alice" -dc-ip "$DC_IP" \
        "$DOMAIN/alice:$ALICE_PASS" >"$WORK/getst-u2u.out" 2>&1
    log "impacket: $(cat "$WORK"/gettgt.out "$WORK"/getst*.out | grep -vE '^Impacket|^$' | tr '\n' ' ' | cut -c1-600)"
    echo "$ALICE_PASS" | cli kinit -r 1d alice@$REALM >/dev/null
    cli kinit -R >"$WORK/kinit-renew.out" 2>&1
    cp "$WORK/cli/ccache" "$WORK/cli/armor.ccache"
    echo "$ALICE_PASS" | cli kinit -T "FILE:$WORK/cli/armor.ccache" alice@$REALM \
        >"$WORK/kinit-fast.out" 2>&1
    log "kinit -R / -T: $(cat "$WORK/kinit-renew.out" "$WORK/kinit-fast.out" | tr '\n' ' ')"
    capture_stop
}

# DNS as admins and tools query Samba's DNS server: CNAME chains (enroll -> ca1, crl -> pki),
# reverse lookups (PTR in a reverse zone created here), DNSSEC OK, TCP, ANY, NXDOMAIN, an
# empty answer (AAAA of an IPv4-only host), TXT, and nslookup.
scn_dnsvariants() {
    cli_reset
    local conf="$WORK/dc/etc/smb.conf" ua=(-U "Administrator%$ADMIN_PASS") rz="0.77.10.in-addr.arpa"
    local rec
    for rec in "$DOMAIN enroll CNAME ca1.$DOMAIN" "$DOMAIN crl CNAME pki.$DOMAIN" \
        "$rz 20 PTR ca1.$DOMAIN" "$rz 100 PTR cli.$DOMAIN"; do
        [ "${rec%% *}" = "$rz" ] && nsx dc samba-tool dns zonecreate 127.0.0.1 "$rz" -s "$conf" \
            "${ua[@]}" >/dev/null 2>&1
        # shellcheck disable=SC2086
        nsx dc samba-tool dns add 127.0.0.1 $rec -s "$conf" "${ua[@]}" >/dev/null 2>&1
    done
    capture_start "$OUT/lab_dns_variants.pcapng"
    cli dig enroll.$DOMAIN @"$DC_IP" >/dev/null
    cli dig -x 10.77.0.20 @"$DC_IP" >/dev/null
    cli dig -x 10.77.0.100 @"$DC_IP" >/dev/null
    cli dig +dnssec SRV _ldap._tcp.$DOMAIN @"$DC_IP" >/dev/null
    cli dig +tcp SRV _kerberos._tcp.$DOMAIN @"$DC_IP" >/dev/null
    cli dig ANY $DOMAIN @"$DC_IP" >/dev/null
    cli dig nothere.$DOMAIN @"$DC_IP" >/dev/null
    cli dig +norecurse AAAA ca1.$DOMAIN @"$DC_IP" >/dev/null
    cli host -t TXT $DOMAIN "$DC_IP" >/dev/null
    cli nslookup crl.$DOMAIN "$DC_IP" >/dev/null
    capture_stop
}

# SMB and DCE/RPC as Samba's own client tools use them, with Kerberos: smbclient listing and
# downloading from the SYSVOL disk share (CREATE of files, READ), rpcclient over the lsarpc and
# samr named pipes, rpcclient over TCP through the endpoint mapper with sealing
# (ncacn_ip_tcp:[seal]), and an SMB1-only negotiate (-m NT1), which Samba refuses.
scn_smbrpc() {
    cli_reset
    local conf="$WORK/cli/smb.conf" krb=(--use-kerberos=required)
    local gpo='certflow.lab\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}'
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    capture_start "$OUT/lab_smb_rpc_variants.pcapng"
    (cd "$WORK/cli" && cli smbclient "//dc1.$DOMAIN/sysvol" "${krb[@]}" -s "$conf" \
        -c "cd $gpo; ls; get GPT.INI gpt.ini") >"$WORK/smb-sysvol.out" 2>&1
    cli rpcclient "${krb[@]}" -s "$conf" -c "lsaquery; enumdomusers" "dc1.$DOMAIN" \
        >"$WORK/rpc-pipe.out" 2>&1
    cli rpcclient "${krb[@]}" -s "$conf" -c "lsaquery" "ncacn_ip_tcp:dc1.$DOMAIN[seal]" \
        >"$WORK/rpc-tcp.out" 2>&1
    cli smbclient -L "//dc1.$DOMAIN" -m NT1 --option="client min protocol=NT1" "${krb[@]}" -s "$conf" </dev/null \
        >"$WORK/smb-nt1.out" 2>&1
    log "smbrpc: $(cat "$WORK"/smb-sysvol.out "$WORK"/rpc-*.out "$WORK"/smb-nt1.out | tr '\n' ' ' | cut -c1-600)"
    capture_stop
}

# OpenSSL s_server (`-www`) in the CES namespace on TCP 4433 and one s_client handshake per
# client option set: tls_pair "SERVER OPTIONS" "CLIENT OPTIONS" ["CLIENT OPTIONS" ...]. The
# clients connect to ces one after the other and close after the handshake.
tls_pair() {
    local pki="$WORK/pki" server=$1 c
    shift
    # shellcheck disable=SC2086
    nsx ces openssl s_server -accept 4433 -naccept $# -cert "${TLS_CERT:-$pki/ces.crt}" \
        -key "${TLS_KEY:-$pki/ces.key}" \
        -CAfile "$pki/ca.crt" -www $server </dev/null >>"$WORK/tls-server.out" 2>&1 &
    local pid=$!
    sleep 0.5
    for c in "$@"; do
        # shellcheck disable=SC2086
        cli openssl s_client -connect "ces.$DOMAIN:4433" -CAfile "$pki/ca.crt" $c </dev/null \
            >>"$WORK/tls-client.out" 2>&1
    done
    sleep 0.2
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# TLS as OpenSSL's s_client and s_server speak it: TLS 1.2 with a client certificate (both
# certificates in clear), TLS 1.3 with a HelloRetryRequest (the server accepts P-256 only; the
# client's key share is X25519), a TLS 1.2 session resumed from a saved session (no
# certificate), a ClientHello without SNI, and TLS 1.0 (allowed at security level 0).
scn_tlsvariants() {
    cli_reset
    local pki="$WORK/pki"
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=alice/O=certflow lab" \
        -keyout "$pki/alice.key" -out "$pki/alice.csr" 2>/dev/null
    openssl x509 -req -in "$pki/alice.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
        -CAcreateserial -days 2 -out "$pki/alice.crt" 2>/dev/null
    : >"$WORK/tls-server.out"
    : >"$WORK/tls-client.out"
    capture_start "$OUT/lab_tls_variants.pcapng"
    tls_pair "-tls1_2 -Verify 1" \
        "-tls1_2 -servername ces.$DOMAIN -alpn http/1.1 -cert $pki/alice.crt -key $pki/alice.key"
    tls_pair "-tls1_3 -groups P-256" "-tls1_3 -servername ces.$DOMAIN -groups X25519:P-256"
    tls_pair "-tls1_2" "-tls1_2 -servername ces.$DOMAIN -sess_out $WORK/tls.sess" \
        "-tls1_2 -servername ces.$DOMAIN -sess_in $WORK/tls.sess"
    tls_pair "-tls1_3" "-noservername"
    tls_pair "-tls1 -cipher DEFAULT:@SECLEVEL=0" \
        "-tls1 -cipher DEFAULT:@SECLEVEL=0 -servername ces.$DOMAIN"
    capture_stop
    log "tls: $(grep -E '^(Protocol|New|Reused|Verification|Cipher is)' "$WORK/tls-client.out" | tr '\n' ' ' | cut -c1-600)"
}

# HTTP as PKI clients use it against the CA host: OpenSSL's OCSP client against OpenSSL's OCSP
# responder on TCP 8888 (POST application/ocsp-request to / and to /ocsp), and a Python HTTP/1.1
# server on TCP 8080 serving the CRL and AIA files: curl fetching both over one kept-alive
# connection, curl with HTTP/1.0, wget, and a chunked POST (answered 501 by that server).
scn_httpvariants() {
    cli_reset
    local pki="$WORK/pki" www="$WORK/pki/www/CertEnroll" serial end subj
    serial=$(openssl x509 -in "$pki/ces.crt" -noout -serial | cut -d= -f2)
    end=$(date -u -d "$(openssl x509 -in "$pki/ces.crt" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
    subj=$(openssl x509 -in "$pki/ces.crt" -noout -subject -nameopt compat | sed 's/^subject=//')
    printf 'V\t%s\t\t%s\tunknown\t%s\n' "$end" "$serial" "$subj" >"$pki/ocsp-index.txt"
    nsx ca openssl ocsp -index "$pki/ocsp-index.txt" -port 8888 -rsigner "$pki/ca.crt" \
        -rkey "$pki/ca.key" -CA "$pki/ca.crt" -nrequest 2 >"$WORK/ocsp-server.out" 2>&1 &
    local ocsp_pid=$!
    nsx ca python3 -m http.server 8080 --protocol HTTP/1.1 --bind "$CA_IP" --directory \
        "$pki/www" >"$WORK/http-server.out" 2>&1 &
    local http_pid=$!
    sleep 1
    capture_start "$OUT/lab_http_variants.pcapng"
    local o=(-issuer "$pki/ca.crt" -cert "$pki/ces.crt" -CAfile "$pki/ca.crt")
    cli openssl ocsp "${o[@]}" -url "http://pki.$DOMAIN:8888" >"$WORK/ocsp-client.out" 2>&1
    cli openssl ocsp "${o[@]}" -url "http://pki.$DOMAIN:8888/ocsp" >>"$WORK/ocsp-client.out" 2>&1
    local base="http://pki.$DOMAIN:8080/CertEnroll"
    cli curl -s -o /dev/null -o /dev/null "$base/certflow-CA1-CA.crl" \
        "$base/ca1.${DOMAIN}_certflow-CA1-CA.crt"
    cli curl -s -0 -o /dev/null "$base/certflow-CA1-CA.crl"
    cli wget -q -O /dev/null "$base/ca1.${DOMAIN}_certflow-CA1-CA.crt"
    cli curl -s -o /dev/null -H "Transfer-Encoding: chunked" --data-binary @"$pki/ca.crt" \
        "http://pki.$DOMAIN:8080/certsrv/certfnsh.asp" 2>/dev/null || true
    capture_stop
    kill "$ocsp_pid" "$http_pid" 2>/dev/null
    wait "$ocsp_pid" "$http_pid" 2>/dev/null
    log "ocsp: $(tr '\n' ' ' <"$WORK/ocsp-client.out" | cut -c1-300)"
}

# Web enrollment pages behind Windows integrated authentication, as curl (MIT GSS-API) reaches
# them: curl fetches a ticket for HTTP/ces (the CES host's SPN) and sends it in `Authorization:
# Negotiate` with its first request (a GET to /certsrv/, then a POST to certfnsh.asp), without
# waiting for a 401. Substitution, said plainly: the responder on the CES host (TCP 80) answers
# 401 `WWW-Authenticate: Negotiate` to a request without a token and 200 to any token, without
# checking it or sending a mutual-authentication token back, where IIS would verify the ticket.
scn_webnegotiate() {
    cli_reset
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    nsx ces python3 - "$CES_IP" >"$WORK/negotiate-server.out" 2>&1 <<'PY' &
import http.server
import sys


class Negotiate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        ok = self.headers.get("Authorization", "").startswith("Negotiate ")
        body = b"<html>certsrv</html>\n" if ok else b"<html>401</html>\n"
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("WWW-Authenticate", "Negotiate")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer


http.server.HTTPServer((sys.argv[1], 80), Negotiate).serve_forever()
PY
    local srv=$!
    sleep 1
    capture_start "$OUT/lab_http_negotiate_certsrv.pcapng"
    cli curl -sS -o /dev/null --negotiate -u : "http://ces.$DOMAIN/certsrv/" \
        >"$WORK/curl-negotiate.out" 2>&1
    cli curl -sS -o /dev/null --negotiate -u : --data-urlencode "CertRequest@$WORK/pki/ca.crt" \
        -d "Mode=newreq" "http://ces.$DOMAIN/certsrv/certfnsh.asp" >>"$WORK/curl-negotiate.out" 2>&1
    capture_stop
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    log "webnegotiate: $(tr '\n' ' ' <"$WORK/curl-negotiate.out" | cut -c1-300) $(cli klist 2>&1 | grep -c HTTP/) HTTP ticket(s)"
}

# LDAP and CLDAP as Samba's own client library speaks them (not OpenLDAP's): net ads lookup
# and net ads info (CLDAP netlogon pings, an anonymous rootDSE search), then ldbsearch with
# Kerberos (SASL GSS-SPNEGO, sealed) for the enrollment services, over LDAP and LDAPS.
scn_sambaldap() {
    cli_reset
    local conf="$WORK/cli/smb.conf" pks="CN=Public Key Services,CN=Services,CN=Configuration,$BASEDN"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    capture_start "$OUT/lab_samba_ldap_client.pcapng"
    cli net ads lookup -S "dc1.$DOMAIN" -s "$conf" >"$WORK/net-ads.out" 2>&1
    cli net ads info -S "dc1.$DOMAIN" -s "$conf" >>"$WORK/net-ads.out" 2>&1
    local scheme
    for scheme in ldap ldaps; do
        cli ldbsearch -H "$scheme://dc1.$DOMAIN" --use-kerberos=required --configfile="$conf" \
            --option="tls cafile=$WORK/pki/ca.crt" --option="tls verify peer=ca_and_name" \
            -b "CN=Enrollment Services,$pks" "(objectClass=pKIEnrollmentService)" dNSHostName \
            >>"$WORK/net-ads.out" 2>&1
    done
    capture_stop
    log "samba ldap: $(grep -E 'returned|dNSHostName|LDAP server:|rror' "$WORK/net-ads.out" | tr '\n' ' ' | cut -c1-400)"
}

# impacket's own SMB, DCE/RPC and DCOM clients against the DC with alice's password (NTLM):
# lookupsid (SMB2, the lsarpc pipe), GetUserSPNs -request (LDAP, then TGS-REQs for the
# accounts with SPNs), and wmiexec (DCOM: IRemoteSCMActivator on TCP 135, which Samba's endpoint
# mapper does not offer).
scn_impacketrpc() {
    cli_reset
    local id="$DOMAIN/alice:$ALICE_PASS"
    capture_start "$OUT/lab_impacket_rpc_dcom.pcapng"
    cli env -u KRB5CCNAME timeout 60 lookupsid.py "$id@$DC_IP" 520 >"$WORK/lookupsid.out" 2>&1
    cli env -u KRB5CCNAME timeout 60 GetUserSPNs.py -dc-ip "$DC_IP" -request "$id" \
        >"$WORK/getuserspns.out" 2>&1
    cli env -u KRB5CCNAME timeout 60 wmiexec.py -nooutput "$id@$DC_IP" whoami \
        >"$WORK/wmiexec.out" 2>&1
    capture_stop
    log "impacket rpc: $(cat "$WORK"/lookupsid.out "$WORK"/getuserspns.out "$WORK"/wmiexec.out | grep -vE '^Impacket|^$' | tr '\n' ' ' | cut -c1-600)"
}

# LDAP StartTLS as OpenSSL's s_client does it (its own extendedReq, then TLS 1.3 and TLS 1.2
# with SNI), against the DC.
scn_starttls() {
    cli_reset
    local v
    capture_start "$OUT/lab_ldap_starttls_openssl.pcapng"
    for v in -tls1_3 -tls1_2; do
        cli openssl s_client -starttls ldap -connect "dc1.$DOMAIN:389" -servername "dc1.$DOMAIN" \
            -CAfile "$WORK/pki/ca.crt" "$v" </dev/null >>"$WORK/starttls.out" 2>&1
    done
    capture_stop
    log "starttls: $(grep -E '^(New|Verification)' "$WORK/starttls.out" | tr '\n' ' ')"
}

# certipy requesting a certificate over ICPR with Kerberos (-k -no-pass), from alice's MIT
# ccache that already holds a ticket for host/ca1 (kvno: impacket's own TGS-REQs are refused by
# Samba's KDC). The bind to the CA's dynamic port carries a SPNEGO token with that ticket; the
# CA stand-in accepts NTLM only and answers with a bind_nak, as a CA refusing the client's
# Kerberos would leave certipy without a certificate.
scn_icprkrb() {
    cli_reset
    ca_start 0
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    cli kvno "host/ca1.$DOMAIN" >"$WORK/kvno-ca1.out" 2>&1
    capture_start "$OUT/lab_enroll_icpr_kerberos_bind.pcapng"
    # impacket opens KRB5CCNAME as a path: without the "FILE:" prefix the lab sets for MIT.
    (cd "$WORK/cli" && cli env KRB5CCNAME="$WORK/cli/ccache" timeout 60 certipy req -k -no-pass \
        -u "alice@$DOMAIN" \
        -dc-ip "$DC_IP" -target "ca1.$DOMAIN" -target-ip "$CA_IP" -ca "$CA_NAME" \
        -template User -dynamic-endpoint -timeout 5 -out alice-krb) >"$WORK/certipy-k.out" 2>&1
    capture_stop
    log "icprkrb: $(cat "$WORK/kvno-ca1.out") $(grep -vE '^Certipy|^$' "$WORK/certipy-k.out" | tr '\n' ' ' | cut -c1-500)"
}

# A client whose clock is an hour ahead of the DC's presents valid tickets that the servers
# refuse: impacket's SMB2, LDAP and DCE/RPC clients (their Kerberos authenticators dated one
# hour late: the script shifts Python's clock, nothing else), with tickets MIT kvno fetched at
# the right time. Samba's acceptor (Heimdal GSS-API) answers KRB_AP_ERR_SKEW (37) inside the
# protocol's own token, where a firewall team would otherwise see only a failed logon.
scn_krbskew() {
    cli_reset
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    local spn
    for spn in cifs ldap host; do
        cli kvno "$spn/dc1.$DOMAIN" >>"$WORK/kvno-skew.out" 2>&1
    done
    capture_start "$OUT/lab_kerberos_skew_in_gss_tokens.pcapng"
    cli env KRB5CCNAME="$WORK/cli/ccache" timeout 60 python3 - "$DC_IP" "$DOMAIN" "$REALM" \
        "$BASEDN" >"$WORK/krbskew.out" 2>&1 <<'PY'
import datetime
import sys

dc_ip, domain, realm, base = sys.argv[1:5]


REAL = datetime.datetime


class Late(REAL):
    """Python's clock, one hour ahead (every authenticator impacket writes reads it)."""

    @classmethod
    def now(cls, tz=None):
        return REAL.now(tz) + datetime.timedelta(hours=1)


datetime.datetime = Late

from impacket.dcerpc.v5 import epm, lsat, transport  # noqa: E402
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_GSS_NEGOTIATE, RPC_C_AUTHN_LEVEL_PKT_PRIVACY  # noqa: E402
from impacket.ldap import ldap  # noqa: E402
from impacket.smbconnection import SMBConnection  # noqa: E402

host = "dc1." + domain
for name, attempt in [
    ("smb", lambda: SMBConnection(host, dc_ip).kerberosLogin(
        "alice", "", realm, useCache=True, kdcHost=dc_ip)),
    ("ldap", lambda: ldap.LDAPConnection("ldap://" + host, base, dc_ip).kerberosLogin(
        "alice", "", realm, useCache=True, kdcHost=dc_ip)),
]:
    try:
        attempt()
        print(name, "accepted")
    except Exception as e:  # the refusal is what is recorded
        print(name, "refused:", str(e)[:200])
try:
    binding = epm.hept_map(dc_ip, lsat.MSRPC_UUID_LSAT, protocol="ncacn_ip_tcp")
    t = transport.DCERPCTransportFactory(binding.replace(dc_ip, host))
    t.setRemoteHost(dc_ip)
    t.set_credentials("alice", "", realm)
    t.set_kerberos(True, dc_ip)
    dce = t.get_dce_rpc()
    dce.set_auth_type(RPC_C_AUTHN_GSS_NEGOTIATE)
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    dce.bind(lsat.MSRPC_UUID_LSAT)
    print("dcerpc accepted")
except Exception as e:
    print("dcerpc refused:", str(e)[:200])
PY
    capture_stop
    log "krbskew: $(grep -c 'kvno =' "$WORK/kvno-skew.out") service ticket(s); $(tr '\n' ' ' <"$WORK/krbskew.out" | cut -c1-600)"
}

# LDAP administration from Linux in the variants a firewall rule must know apart: the global
# catalog over LDAPS (3269) and over StartTLS on 3268, a GSS-SPNEGO bind (sealed after it), a
# wrong password (invalidCredentials), the Who am I? (RFC 4532) and password modify (RFC 3062)
# extended operations, and searches with the server-side sort (RFC 2891) and show-deleted
# (MS-ADTS 3.1.1.3.4.1.14) controls. Each command has a timeout: Samba leaves a request with
# an unknown critical control unanswered (so none is sent here).
# A firewall that blocks Kerberos between the client and the DC (nftables on the DC rejects UDP
# 88 with ICMP port unreachable and TCP 88 with a reset) while SMB, LDAP and the endpoint mapper
# stay open: Samba's clients with `--use-kerberos=desired` and alice's password try the KDC,
# are refused, and log on with NTLM instead (SMB2 SESSION_SETUP, DCE/RPC over TCP via the
# endpoint mapper, LDAP SASL GSS-SPNEGO). The firewall story of "port 88 was forgotten":
# everything works, by NTLM.
scn_ntlmfallback() {
    cli_reset
    local conf="$WORK/cli/smb.conf" id=(-U "alice%$ALICE_PASS" --use-kerberos=desired)
    nsx dc nft add table inet lab
    nsx dc nft add chain inet lab input '{ type filter hook input priority 0; policy accept; }'
    nsx dc nft add rule inet lab input udp dport 88 reject with icmpx type port-unreachable
    nsx dc nft add rule inet lab input tcp dport 88 reject with tcp reset
    capture_start "$OUT/lab_ntlm_fallback_kdc_blocked.pcapng"
    cli smbclient "//dc1.$DOMAIN/sysvol" "${id[@]}" -s "$conf" -c "ls" \
        >"$WORK/ntlmfb-smb.out" 2>&1 </dev/null
    cli rpcclient "${id[@]}" -s "$conf" -c "lsaquery" "ncacn_ip_tcp:dc1.$DOMAIN[seal]" \
        >"$WORK/ntlmfb-rpc.out" 2>&1
    cli ldbsearch -H "ldap://dc1.$DOMAIN" "${id[@]}" --configfile="$conf" -b "$BASEDN" -s base \
        dn >"$WORK/ntlmfb-ldap.out" 2>&1
    capture_stop
    nsx dc nft delete table inet lab
    log "ntlmfallback: $(cat "$WORK"/ntlmfb-*.out | tr '\n' ' ' | cut -c1-600)"
}

# SMB1 (NT LM 0.12), as old Windows clients and clients held to it speak it. The DC allows it
# for this scenario only (`server min protocol = NT1`, the configuration reloaded, and put back
# at the end). Samba's smbclient with Kerberos (the AP-REQ for cifs/dc1 in SESSION_SETUP_ANDX),
# its rpcclient over the lsarpc pipe (TRANSACTION with TRANS_TRANSACT_NMPIPE), smbclient -L
# with NTLM (srvsvc over the pipe), and impacket's SMB1 client (smb1_client.py: NTLM, lsarpc
# with WRITE_ANDX and READ_ANDX).
scn_smb1() {
    cli_reset
    local dconf="$WORK/dc/etc/smb.conf" conf="$WORK/cli/smb.conf"
    local nt1=(-m NT1 --option="client min protocol=NT1") krb=(--use-kerberos=required)
    sed -i 's/^\[global\]$/[global]\n\tserver min protocol = NT1/' "$dconf"
    nsx dc smbcontrol -s "$dconf" all reload-config >/dev/null 2>&1
    sleep 2
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    capture_start "$OUT/lab_smb1_kerberos_ntlm_pipes.pcapng"
    cli smbclient "//dc1.$DOMAIN/sysvol" "${nt1[@]}" "${krb[@]}" -s "$conf" -c "ls" \
        >"$WORK/smb1-krb.out" 2>&1 </dev/null
    cli rpcclient "${nt1[@]}" "${krb[@]}" -s "$conf" -c "lsaquery" "dc1.$DOMAIN" \
        >"$WORK/smb1-rpc.out" 2>&1
    cli smbclient -L "//dc1.$DOMAIN" "${nt1[@]}" -U "alice%$ALICE_PASS" --use-kerberos=disabled \
        -s "$conf" >"$WORK/smb1-ntlm.out" 2>&1 </dev/null
    cli env -u KRB5CCNAME "$VENV/bin/python" "$LAB_DIR/smb1_client.py" "dc1.$DOMAIN" "$DOMAIN" \
        alice "$ALICE_PASS" >"$WORK/smb1-impacket.out" 2>&1
    capture_stop
    sed -i '/^\tserver min protocol = NT1$/d' "$dconf"
    nsx dc smbcontrol -s "$dconf" all reload-config >/dev/null 2>&1
    log "smb1: $(cat "$WORK"/smb1-*.out | tr '\n' ' ' | cut -c1-800)"
}

# SMB1 over NetBIOS session service (TCP 139), as clients without direct hosting reach a
# server: a session request naming the server and the client (RFC 1002 4.3.2), answered with a
# positive session response, then SMB1 over the same 4-byte framing. The DC allows SMB1 for this
# scenario only, as in scn_smb1. Samba's smbclient -p 139 held to NT1 with alice's Kerberos
# ticket lists the shares (srvsvc over the pipe).
scn_smb1nbt() {
    cli_reset
    local dconf="$WORK/dc/etc/smb.conf" conf="$WORK/cli/smb.conf"
    # NetBIOS is off in the lab (provision's `disable netbios = yes`); port 139 opens only when
    # samba starts with it on, so the DC is restarted, and again at the end.
    sed -i -e 's/^\[global\]$/[global]\n\tserver min protocol = NT1/' \
        -e 's/disable netbios = yes/disable netbios = no/' "$dconf"
    dc_restart
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    capture_start "$OUT/lab_smb1_netbios_139.pcapng"
    cli smbclient -L "//dc1.$DOMAIN" -p 139 -m NT1 --option="client min protocol=NT1" \
        --option="disable netbios=no" --use-kerberos=required -s "$conf" \
        >"$WORK/smb1nbt.out" 2>&1 </dev/null
    capture_stop
    sed -i -e '/^\tserver min protocol = NT1$/d' \
        -e 's/disable netbios = no/disable netbios = yes/' "$dconf"
    dc_restart
    log "smb1nbt: $(tr '\n' ' ' <"$WORK/smb1nbt.out" | cut -c1-600)"
}

# SMB1 logons without extended security, as pre-Windows-2000 clients and clients told not to use
# SPNEGO make them: the LM/NTLM responses, account and domain travel in SESSION_SETUP_ANDX's own
# fields (WordCount 13), with no NTLMSSP. The DC allows SMB1 and raw NTLMv2 for this scenario
# only (reloaded, put back at the end). smbclient as alice (NTLMv2 response), then with a wrong
# password, then anonymously.
scn_smb1legacy() {
    cli_reset
    local dconf="$WORK/dc/etc/smb.conf" conf="$WORK/cli/smb.conf"
    local old=(-m NT1 --option="client min protocol=NT1" --option="client use spnego=no"
        --use-kerberos=disabled -s "$conf")
    sed -i 's/^\[global\]$/[global]\n\tserver min protocol = NT1\n\traw NTLMv2 auth = yes/' "$dconf"
    nsx dc smbcontrol -s "$dconf" all reload-config >/dev/null 2>&1
    sleep 2
    capture_start "$OUT/lab_smb1_legacy_session_setup.pcapng"
    {
        cli smbclient "//dc1.$DOMAIN/sysvol" "${old[@]}" -U "$NETBIOS\\alice%$ALICE_PASS" -c ls
        cli smbclient "//dc1.$DOMAIN/sysvol" "${old[@]}" -U "$NETBIOS\\alice%not-her-password" -c ls
        cli smbclient -L "//dc1.$DOMAIN" "${old[@]}" -N
    } >"$WORK/smb1legacy.out" 2>&1 </dev/null
    capture_stop
    sed -i -e '/^\tserver min protocol = NT1$/d' -e '/^\traw NTLMv2 auth = yes$/d' "$dconf"
    nsx dc smbcontrol -s "$dconf" all reload-config >/dev/null 2>&1
    log "smb1legacy: $(tr '\n' ' ' <"$WORK/smb1legacy.out" | cut -c1-600)"
}

# Search filters of every RFC 4511 4.5.1.7 kind from OpenLDAP's ldapsearch, one search per line
# of a file over one connection (`ldapsearch -f`, the filter "(%s)" filled from each line, which
# holds a filter without its outer parentheses): equality,
# substrings (initial, any, final, all three), approx, >=, <=, presence, NOT, nested AND/OR,
# one-element and empty AND/OR (RFC 4526 absolute true/false), extensible matches with and
# without :dn and a matching rule (AD's bit-and and in-chain rules), escaped *()\ , UTF-8 raw
# and escaped, a binary SID, and a certipy-style template filter.
scn_ldapfilters() {
    cli_reset
    local auth=(-x -H "ldap://dc1.$DOMAIN" -D "alice@$DOMAIN" -w "$ALICE_PASS")
    cat >"$WORK/cli/filters.txt" <<'FILTERS'
cn=alice
cn=ali*
cn=*lic*
cn=*ice
cn=a*i*c*e
cn~=alise
uSNChanged>=1
uSNChanged<=100000
cn=*
!(cn=alice)
&(objectClass=user)(|(cn=alice)(cn=bob))(!(cn=krbtgt))
&(objectClass=user)
|(cn=alice)
&
|
userAccountControl:1.2.840.113556.1.4.803:=512
memberOf:1.2.840.113556.1.4.1941:=CN=Domain Users,CN=Users,DC=certflow,DC=lab
cn:dn:=Users
cn:dn:2.5.13.5:=alice
:dn:2.5.13.5:=alice
description=a\2ab\28c\29d\5ce
cn=\2a
description=caf\c3\a9
description=café
objectSid=\01\05\00\00\00\00\00\05\15\00\00\00
&(objectclass=pkicertificatetemplate)(!(mspki-enrollment-flag:1.2.840.113556.1.4.804:=2))(|(mspki-ra-signature=0)(!(mspki-ra-signature=*)))
objectCategory=pKIEnrollmentService
FILTERS
    capture_start "$OUT/lab_ldap_search_filters.pcapng"
    cli ldapsearch -LLL "${auth[@]}" -b "CN=Users,$BASEDN" -s one -z 3 -c -f "$WORK/cli/filters.txt" "(%s)" dn \
        >"$WORK/ldapfilters.out" 2>&1
    capture_stop
    log "ldapfilters: $(grep -c '^dn:' "$WORK/ldapfilters.out") entries; $(grep -v '^dn:' "$WORK/ldapfilters.out" | sort -u | tr '\n' ' ' | cut -c1-300)"
}

# SASL GSSAPI (RFC 4752) from OpenLDAP's ldapsearch with MIT Kerberos, at the three security
# layers the client may choose in the bind's last step: none (-O maxssf=0: plain LDAP after the
# bind), integrity only (-O minssf=1,maxssf=1: RFC 4121 wrap tokens without sealing, whose LDAP
# can be read) and confidentiality (the default: sealed). One search each.
scn_ldapsasl() {
    cli_reset
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    capture_start "$OUT/lab_ldap_gssapi_security_layers.pcapng"
    {
        for o in "maxssf=0" "minssf=1,maxssf=1" "minssf=56"; do
            cli ldapsearch -LLL -Y GSSAPI -N -O "$o" -H "ldap://dc1.$DOMAIN" \
                -b "CN=Users,$BASEDN" -s one "(sAMAccountName=alice)" dn
        done
    } >"$WORK/ldapsasl.out" 2>&1
    capture_stop
    log "ldapsasl: $(tr '\n' ' ' <"$WORK/ldapsasl.out" | cut -c1-400)"
}

# DCE/RPC requests cut into many fragments, each with its own auth verifier (impacket's
# rpc_fragments.py: LsarLookupNames for 120 names in fragments of at most 256 bytes of stub),
# and answers Samba fragments: over TCP after ept_map at privacy and at integrity, and over the
# SMB2 pipe lsarpc at integrity; NTLM.
scn_rpcfrag() {
    cli_reset
    capture_start "$OUT/lab_dcerpc_fragmented_calls.pcapng"
    cli env -u KRB5CCNAME "$VENV/bin/python" "$LAB_DIR/rpc_fragments.py" "dc1.$DOMAIN" "$DOMAIN" \
        alice "$ALICE_PASS" 256 >"$WORK/rpcfrag.out" 2>&1
    capture_stop
    log "rpcfrag: $(tr '\n' ' ' <"$WORK/rpcfrag.out" | cut -c1-400)"
}

# TLS 1.3 session resumption with early data (RFC 8446 2.2, 2.3): OpenSSL's s_server with
# `-early_data` (without `-www`, which refuses it) and two s_client runs: a full handshake that
# saves the session (NewSessionTicket, encrypted), then a resumption (pre_shared_key, no
# Certificate) sending a line as 0-RTT data right after its ClientHello.
scn_tls13early() {
    cli_reset
    local pki="$WORK/pki"
    printf 'hello early\n' >"$WORK/cli/early.txt"
    : >"$WORK/tls-server.out"
    : >"$WORK/tls-client.out"
    capture_start "$OUT/lab_tls13_resumption_early_data.pcapng"
    (sleep 6 | nsx ces openssl s_server -accept 4433 -naccept 2 -cert "$pki/ces.crt" \
        -key "$pki/ces.key" -CAfile "$pki/ca.crt" -tls1_3 -early_data \
        >>"$WORK/tls-server.out" 2>&1) &
    local pid=$!
    sleep 0.5
    (printf 'hi\n'; sleep 1) | cli openssl s_client -connect "ces.$DOMAIN:4433" \
        -CAfile "$pki/ca.crt" -tls1_3 -servername "ces.$DOMAIN" -sess_out "$WORK/cli/s13" \
        >>"$WORK/tls-client.out" 2>&1
    sleep 1 | cli openssl s_client -connect "ces.$DOMAIN:4433" -CAfile "$pki/ca.crt" -tls1_3 \
        -servername "ces.$DOMAIN" -sess_in "$WORK/cli/s13" -early_data "$WORK/cli/early.txt" \
        >>"$WORK/tls-client.out" 2>&1
    wait "$pid" 2>/dev/null
    capture_stop
    log "tls13early: $(grep -E '^(New|Reused|Early data)' "$WORK/tls-client.out" | tr '\n' ' ' | cut -c1-400)"
}

scn_ldapadmin() {
    cli_reset
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    local simple=(-x -D "alice@$DOMAIN" -w "$ALICE_PASS") dc="dc1.$DOMAIN"
    capture_start "$OUT/lab_ldap_gc_tls_admin_ops.pcapng"
    {
        cli timeout 20 ldapsearch -LLL "${simple[@]}" -H "ldaps://$dc:3269" -b "" \
            "(sAMAccountName=alice)" dn
        cli timeout 20 ldapsearch -LLL "${simple[@]}" -ZZ -H "ldap://$dc:3268" -b "" \
            "(sAMAccountName=alice)" dn
        cli timeout 20 ldapsearch -LLL -Y GSS-SPNEGO -N -H "ldap://$dc" -b "$BASEDN" -s base dn
        cli timeout 20 ldapsearch -LLL -x -D "alice@$DOMAIN" -w not-her-password -H "ldap://$dc" \
            -b "$BASEDN" -s base dn
        cli timeout 20 ldapwhoami "${simple[@]}" -H "ldap://$dc"
        cli timeout 20 ldappasswd "${simple[@]}" -H "ldap://$dc" -s "$ALICE_PASS"
        cli timeout 20 ldapsearch -LLL "${simple[@]}" -H "ldap://$dc" -E sss=cn \
            -b "CN=Users,$BASEDN" "(objectClass=user)" cn
        cli timeout 20 ldapsearch -LLL "${simple[@]}" -H "ldap://$dc" \
            -E '!1.2.840.113556.1.4.417' -b "CN=Deleted Objects,$BASEDN" "(isDeleted=TRUE)" dn
    } >"$WORK/ldapadmin.out" 2>&1
    capture_stop
    log "ldapadmin: $(grep -vE '^(dn:|$| )' "$WORK/ldapadmin.out" | tr '\n' ' ' | cut -c1-600)"
}

# Joining the client to the domain, as a Linux machine does before it enrolls for a machine
# certificate, by two implementations. adcli: discovery (DNS SRV, CLDAP), the computer object
# created over LDAP with a GSSAPI bind (sealed), its password set over kpasswd (set-password,
# RFC 3244 version 0xff80) and a ticket as the machine; then `adcli testjoin`, and
# `adcli update` forcing a machine password change (kpasswd change-password, version 1).
# msktutil: the same join with its own LDAP code, from an Administrator ticket.
scn_adjoin() {
    cli_reset
    local kt="$WORK/cli/host.keytab" out="$WORK/adjoin.out"
    rm -f "$kt" "$WORK/cli/msk.keytab"
    capture_start "$OUT/lab_adjoin_adcli_msktutil.pcapng"
    {
        cli adcli info "$DOMAIN"
        echo "$ADMIN_PASS" | cli adcli join --domain "$DOMAIN" --domain-controller "dc1.$DOMAIN" \
            -U Administrator --stdin-password --host-fqdn "cli.$DOMAIN" --computer-name CLI \
            --host-keytab "$kt" --verbose
        cli adcli testjoin --domain "$DOMAIN" --domain-controller "dc1.$DOMAIN" --host-keytab "$kt"
        cli adcli update --domain "$DOMAIN" --domain-controller "dc1.$DOMAIN" --host-keytab "$kt" \
            --host-fqdn "cli.$DOMAIN" --computer-name CLI --computer-password-lifetime=0 --verbose
        echo "$ADMIN_PASS" | cli kinit "Administrator@$REALM"
        cli msktutil --create --computer-name MSK --hostname "msk.$DOMAIN" --server "dc1.$DOMAIN" \
            --realm "$REALM" --keytab "$WORK/cli/msk.keytab" --no-reverse-lookups --verbose
    } >"$out" 2>&1
    capture_stop
    log "adjoin: $(grep -Ei 'success|joined|error|fail|refus' "$out" | head -8 | tr '\n' ' ' | cut -c1-400)"
}

# Dynamic DNS registration, as domain members register their own A record: an unsigned
# update first (the DC's zone accepts secure updates only: REFUSED), then GSS-TSIG (RFC 3645)
# with nsupdate -g: a TKEY query over TCP carrying a Kerberos AP-REQ for DNS/dc1, then the
# update signed with TSIG. dig reads the new record back; `samba-tool dns query` reads the zone
# over the DnsServer RPC interface (MS-DNSP), found through the DC's endpoint mapper.
scn_dnsupdate() {
    cli_reset
    local out="$WORK/dnsupdate.out"
    capture_start "$OUT/lab_dns_dynamic_update_gss_tsig.pcapng"
    {
        printf 'server %s\nzone %s\nupdate add cli.%s 3600 A 10.77.0.100\nsend\n' \
            "$DC_IP" "$DOMAIN" "$DOMAIN" | cli nsupdate -v
        echo "$ALICE_PASS" | cli kinit "alice@$REALM"
        printf 'server dc1.%s\nzone %s\nupdate add cli.%s 3600 A 10.77.0.100\nsend\n' \
            "$DOMAIN" "$DOMAIN" "$DOMAIN" | cli nsupdate -g
        cli dig +short "cli.$DOMAIN" A
        cli samba-tool dns query "dc1.$DOMAIN" "$DOMAIN" cli A -U "alice%$ALICE_PASS"
    } >"$out" 2>&1
    capture_stop
    log "dnsupdate: $(tr '\n' ' ' <"$out" | cut -c1-400)"
}

# What MIT's kinit and kvno send that the other scenarios do not: an enterprise principal
# (kinit -E, RFC 6806 5: NT-ENTERPRISE, one component "alice@certflow.lab"), a canonicalize
# request (kinit -C), an initial ticket for a service other than krbtgt (kinit -S), a service
# principal built from service and host (kvno -S), and the errors an administrator meets: an
# unknown service (KDC_ERR_S_PRINCIPAL_UNKNOWN), an unknown client (C_PRINCIPAL_UNKNOWN) and a
# wrong password (PREAUTH_FAILED).
scn_mitkrb() {
    cli_reset
    local out="$WORK/mitkrb.out"
    capture_start "$OUT/lab_kerberos_mit_names_errors.pcapng"
    {
        echo "$ALICE_PASS" | cli kinit -E "alice@$DOMAIN"
        cli klist
        echo "$ALICE_PASS" | cli kinit -C alice
        cli kvno -S host "dc1.$DOMAIN"
        cli kvno "nosuch/service.$DOMAIN"
        echo "$ALICE_PASS" | cli kinit -S kadmin/changepw alice
        echo "Wrong-Pass-1!" | cli kinit alice
        echo "$ALICE_PASS" | cli kinit nosuchuser
    } >"$out" 2>&1
    capture_stop
    log "mitkrb: $(tr '\n' ' ' <"$out" | cut -c1-400)"
}

# A client whose traffic to the DC goes through an overlay, recorded on the client on two
# interfaces at once (dumpcap -i eth0 -i vx0). The client and the CA share a VXLAN segment
# (RFC 7348, UDP 4789; this kernel has no IP-in-IP or GRE); the client routes the DC through
# it, the CA forwards to the DC, and the DC answers directly. Every client packet is in the
# capture twice: as the inner Ethernet frame on vx0 and encapsulated in UDP on eth0.
scn_tunnel() {
    cli_reset
    nsx ca sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    nsx ca ip link add vx0 type vxlan id 42 local "$CA_IP" remote 10.77.0.100 dstport 4789
    nsx ca ip addr add 10.99.0.20/24 dev vx0
    nsx ca ip link set vx0 up
    nsx ca sysctl -qw net.ipv4.conf.vx0.rp_filter=0
    nsx cli ip link add vx0 type vxlan id 42 local 10.77.0.100 remote "$CA_IP" dstport 4789
    nsx cli ip addr add 10.99.0.100/24 dev vx0
    nsx cli ip link set vx0 up
    nsx cli ip route add "$DC_IP/32" via 10.99.0.20 dev vx0 src 10.77.0.100
    local f="$OUT/lab_vxlan_overlay_two_interfaces.pcapng"
    rm -f "$f"
    ip netns exec cf-cli dumpcap -q -i eth0 -i vx0 -w "$f" >"$WORK/capture.log" 2>&1 &
    CAP_PID=$!
    CAP_FILE=$f
    sleep 2
    step_locate_dc
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    cli kvno "ldap/dc1.$DOMAIN" >/dev/null
    step_ldap_discovery
    capture_stop
    nsx cli ip route del "$DC_IP/32"
    nsx cli ip link del vx0
    nsx ca ip link del vx0
}

# A server certificate with 900 subject alternative names (about 21 kB, as multi-domain
# certificates grow): in TLS 1.2 its Certificate message spans two TLS records and several TCP
# segments. More names than certflow keeps in one fact list (256): the JSON says how many it
# dropped (`facts_dropped`).
scn_tlsbigcert() {
    cli_reset
    local pki="$WORK/pki" i sans="DNS:ces.$DOMAIN"
    for i in $(seq -w 1 899); do sans="$sans,DNS:host$i.$DOMAIN"; done
    printf '[ext]\nsubjectAltName=%s\n' "$sans" >"$pki/big.ext"
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=ces.$DOMAIN" \
        -keyout "$pki/big.key" -out "$pki/big.csr" 2>/dev/null
    openssl x509 -req -in "$pki/big.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
        -CAcreateserial -days 2 -extfile "$pki/big.ext" -extensions ext -out "$pki/big.crt" 2>/dev/null
    : >"$WORK/tls-server.out"
    : >"$WORK/tls-client.out"
    capture_start "$OUT/lab_tls_certificate_900_sans.pcapng"
    TLS_CERT="$pki/big.crt" TLS_KEY="$pki/big.key" tls_pair "-tls1_2" "-tls1_2 -servername ces.$DOMAIN"
    capture_stop
    log "tls big certificate: $(grep -E '^(Protocol|Verification|Cipher is)' "$WORK/tls-client.out" | tr '\n' ' ')"
}

# Bulk SMB: smbclient (SMB 3.1.1) puts a 400 kB file on the DC's netlogon share
# and gets it back. The WRITE request and the READ response (one message each, multi-credit) span
# hundreds of TCP segments; certflow skips their data unread and reads the messages between.
scn_smbbulk() {
    cli_reset
    local conf="$WORK/cli/smb.conf" krb=(--use-kerberos=required)
    head -c 400000 /dev/urandom >"$WORK/cli/bulk.bin"
    echo "$ALICE_PASS" | cli kinit alice@$REALM >/dev/null
    # alice may not write to netlogon: the DC's administrator account puts the file, alice
    # gets it.
    capture_start "$OUT/lab_smb_bulk_transfer.pcapng"
    (cd "$WORK/cli" && cli smbclient "//dc1.$DOMAIN/netlogon" -U "Administrator%$ADMIN_PASS" \
        -s "$conf" -c "put bulk.bin; ls") >"$WORK/smb-bulk.out" 2>&1
    (cd "$WORK/cli" && cli smbclient "//dc1.$DOMAIN/netlogon" "${krb[@]}" -s "$conf" \
        -c "get bulk.bin bulk.back") >>"$WORK/smb-bulk.out" 2>&1
    capture_stop
    log "smbbulk: $(tr '\n' ' ' <"$WORK/smb-bulk.out" | cut -c1-400); $(cmp "$WORK/cli/bulk.bin" "$WORK/cli/bulk.back" && echo same bytes back)"
}

# offload NAME on|off: the host's own TCP segmentation, checksum and receive offloads.
offload() {
    nsx "$1" ethtool -K eth0 tso "$2" gso "$2" gro "$2" tx "$2" >/dev/null 2>&1 || true
}

# What an administrator records on the machines themselves rather than on a span port, at the
# same time: `tcpdump -i any` on the client (Linux cooked capture v2, pcap) and
# `dumpcap -i any -y LINUX_SLL` on the CA (Linux cooked capture v1, pcapng). The two hosts'
# offloads are on, as on real servers: their outgoing TCP segments are captured before the
# (virtual) NIC splits them, up to 64 kB like Windows' large send offload, with checksums left
# for the NIC to fill in.
scn_hostview() {
    cli_reset
    ca_start 0
    offload cli on
    offload ca on
    local fc="$OUT/lab_enroll_host_client_any.pcap" fa="$OUT/lab_enroll_host_ca_any.pcapng" p1 p2
    rm -f "$fc" "$fa"
    ip netns exec cf-cli tcpdump -q -i any -U -w "$fc" >"$WORK/capture-cli.log" 2>&1 &
    p1=$!
    ip netns exec cf-ca dumpcap -q -i any -y LINUX_SLL -w "$fa" >"$WORK/capture-ca.log" 2>&1 &
    p2=$!
    sleep 2
    scn_story_steps
    step_smb
    sleep 1
    kill -INT "$p1" "$p2" 2>/dev/null
    wait "$p1" "$p2" 2>/dev/null
    chmod 644 "$fc" "$fa"
    log "stopped: $(cat "$WORK/capture-cli.log" "$WORK/capture-ca.log" | tr '\n' ' ')"
    python3 "$LAB_DIR/summarize.py" "$fc" "$ICPR_PORT" >"$fc.summary.md"
    python3 "$LAB_DIR/summarize.py" "$fa" "$ICPR_PORT" >"$fa.summary.md"
    offload cli off
    offload ca off
}

# The story recorded with a snap length of 200 bytes (tcpdump -s 200), as appliances and
# cautious admins capture: every longer frame keeps only its first 200 bytes.
scn_snaplen() {
    cli_reset
    ca_start 0
    capture_start "$OUT/lab_enroll_snaplen_200.pcap" 200
    scn_story_steps
    capture_stop
}

# The story, LDAP variants, SMB and HTTPS with an MSS of 256, recorded through a capture filter
# that leaves out the TCP segments with payload whose IPv4 identification ends in 3 zero bits
# (about 1 in 8): the hosts see everything, the capture misses them, as when a busy capture
# point drops packets. Holes in the capture that no retransmission fills.
scn_captureloss() {
    mss_all 256
    cli_reset
    ca_start 0
    ces_start
    capture_start "$OUT/lab_enroll_capture_loss.pcap" 0 \
        'not (tcp and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0 and (ip[4:2] & 0x7) = 0)'
    scn_wide_steps
    capture_stop
    mss_all 0
}

# The story recorded twice at once: whole by tcpdump, and by dumpcap into a ring of 16 kB files
# (`-b filesize:16`), as long-running captures are kept. Connections run from one file into the
# next; certflow given the ring's files in order must find what it finds in the whole capture.
scn_rotated() {
    cli_reset
    ca_start 0
    local ring="$WORK/ring"
    rm -rf "$ring"
    mkdir -p "$ring"
    ip netns exec cf-br dumpcap -q -i br0 -s 0 -b filesize:16 -w "$ring/ring.pcapng" \
        >"$WORK/ring.log" 2>&1 &
    local ring_pid=$!
    capture_start "$OUT/lab_enroll_rotated_whole.pcap"
    scn_story_steps
    capture_stop
    kill -INT "$ring_pid" 2>/dev/null
    wait "$ring_pid" 2>/dev/null
    local n=0 f
    for f in $(ls "$ring"/ring_*.pcapng | sort); do
        n=$((n + 1))
        cp "$f" "$OUT/lab_enroll_rotated_part$n.pcapng"
        chmod 644 "$OUT/lab_enroll_rotated_part$n.pcapng"
    done
    log "ring: $n files"
}

# Web enrollment as a client tries it: curl with NTLM asks for the certsrv pages (GET /certsrv/,
# POST /certsrv/certfnsh.asp with a PKCS#10 form) on the CA host's web server, which has no
# certsrv application (it serves only CRL and AIA files) and answers 404. (certipy's own
# `req -web` fails in this venv before sending anything: a urllib3/requests mismatch.)
scn_web() {
    cli_reset
    ca_start 0
    capture_start "$OUT/lab_enroll_web_certsrv.pcapng"
    cli curl -sS -o /dev/null --ntlm -u "alice:$ALICE_PASS" "http://ca1.$DOMAIN/certsrv/"
    cli curl -sS -o /dev/null --ntlm -u "alice:$ALICE_PASS" \
        --data-urlencode "CertRequest@$WORK/pki/ca.crt" -d "Mode=newreq" -d "TargetStoreFlags=0" \
        "http://ca1.$DOMAIN/certsrv/certfnsh.asp"
    capture_stop
}

# Web enrollment with NTLM over HTTP, the whole exchange: the CA stand-in's /certsrv/ asks
# for NTLM as IIS's Windows authentication does (401 Negotiate/NTLM, 401 with the CHALLENGE,
# 200), and curl --ntlm answers on one keep-alive connection per request: GET /certsrv/ as
# certflow\alice, the POST of a request to certfnsh.asp as alice, and a GET with a wrong
# password (the AUTHENTICATE is refused with a last 401).
scn_webntlm() {
    cli_reset
    ca_start 0 --certsrv
    capture_start "$OUT/lab_http_ntlm_certsrv.pcapng"
    local w=(-sS -o /dev/null -w "%{http_code} " --ntlm)
    cli curl "${w[@]}" -u "certflow\\alice:$ALICE_PASS" "http://ca1.$DOMAIN/certsrv/" \
        >"$WORK/webntlm.out" 2>&1
    cli curl "${w[@]}" -u "alice:$ALICE_PASS" \
        --data-urlencode "CertRequest@$WORK/pki/ca.crt" -d "Mode=newreq" -d "TargetStoreFlags=0" \
        "http://ca1.$DOMAIN/certsrv/certfnsh.asp" >>"$WORK/webntlm.out" 2>&1
    cli curl "${w[@]}" -u "alice:wrong-password" "http://ca1.$DOMAIN/certsrv/" \
        >>"$WORK/webntlm.out" 2>&1
    capture_stop
    ca_stop
    log "webntlm: $(tr '\n' ' ' <"$WORK/webntlm.out" | cut -c1-300)"
}

# A password change over UDP (RFC 3244): MIT's kpasswd always goes over TCP here, Heimdal's
# (Debian's heimdal-clients 7.8, unpacked under $WORK, not installed, so MIT stays the
# system's Kerberos) tries UDP first. It asks the KDC for a kadmin/changepw ticket, then sends
# the change request to UDP 464; the password is set back afterwards.
scn_kpasswdudp() {
    local hd="$WORK/heimdal" p
    mkdir -p "$hd"
    (cd "$hd" && for p in heimdal-clients libkrb5-26-heimdal libhcrypto5-heimdal \
        libroken19-heimdal libkafs0-heimdal libheimntlm0-heimdal libasn1-8-heimdal \
        libhx509-5-heimdal libheimbase1-heimdal libwind0-heimdal libgssapi3-heimdal; do
        apt-get download "$p" >/dev/null 2>&1 || log "apt-get download $p failed"
    done; for p in *.deb; do dpkg -x "$p" root; done)
    cli_reset
    capture_start "$OUT/lab_kpasswd_udp_heimdal.pcap"
    cli env LD_LIBRARY_PATH="$hd/root/usr/lib/x86_64-linux-gnu" python3 "$LAB_DIR/tty_answer.py" \
        "$ALICE_PASS" "$ALICE_NEWPASS" "$ALICE_NEWPASS" -- \
        "$hd/root/usr/bin/kpasswd.heimdal" "alice@$REALM" >"$WORK/kpasswd-heimdal.out" 2>&1
    log "heimdal kpasswd: $(tr '\r\n' '  ' <"$WORK/kpasswd-heimdal.out" | cut -c1-200)"
    capture_stop
    nsx dc samba-tool user setpassword alice --newpassword="$ALICE_PASS" \
        -s "$WORK/dc/etc/smb.conf" >/dev/null 2>&1
}

# lossy_all on|off: every host drops about 1 in 20 TCP segments it sends and 1 in 20 it receives
# (nftables `numgen random`; this kernel has no netem). A segment dropped on the way out never
# reaches the bridge: the capture sees a hole, the later segments, then the retransmission (out
# of order). One dropped on the way in was already seen: the capture holds it twice.
lossy_all() {
    local h name
    for h in $HOSTS; do
        IFS=: read -r name _ _ <<<"$h"
        if [ "$1" = off ]; then
            nsx "$name" nft delete table inet lossy 2>/dev/null
            continue
        fi
        nsx "$name" nft add table inet lossy
        nsx "$name" nft add chain inet lossy out '{ type filter hook output priority 0; policy accept; }'
        nsx "$name" nft add chain inet lossy in '{ type filter hook input priority 0; policy accept; }'
        nsx "$name" nft add rule inet lossy out meta l4proto tcp numgen random mod 20 == 0 drop
        nsx "$name" nft add rule inet lossy in meta l4proto tcp numgen random mod 20 == 0 drop
    done
}

# The story, the LDAP variants, SMB and the HTTPS enrollment on a lossy network (lossy_all),
# with an MSS of 256 so that messages span several segments: the bridge sees what the hosts'
# real TCP stacks do about the losses (retransmissions, out-of-order and duplicate segments).
scn_lossy() {
    mss_all 256
    lossy_all on
    cli_reset
    ca_start 0
    ces_start
    capture_start "$OUT/lab_enroll_lossy_network.pcap"
    scn_wide_steps
    capture_stop
    lossy_all off
    mss_all 0
}

run() {
    local s
    for s in "$@"; do
        log "=== scenario $s"
        "scn_$s"
    done
}

main() {
    install_deps
    local scenarios=("$@") set4=() set6=() s
    [ ${#scenarios[@]} = 0 ] && scenarios=(story pinned dynamic blocked regress https pipe vlan variants smallmss
        lossy captureloss snaplen rotated web kpasswdudp ldapntlm rejected ldapops krbvariants
        dnsvariants smbrpc tlsvariants httpvariants sambaldap impacketrpc starttls hostview adjoin dnsupdate mitkrb tunnel tlsbigcert smbbulk ldapadmin icprkrb webnegotiate krbskew ntlmfallback webntlm smb1 smb1nbt smb1legacy ldapfilters ldapsasl rpcfrag tls13early ipv6)
    for s in "${scenarios[@]}"; do
        case $s in
            ipv6) set6+=("$s") ;;
            *) set4+=("$s") ;;
        esac
    done
    if [ ${#set4[@]} -gt 0 ]; then
        lab_up 0
        versions >"$OUT/lab_versions.txt"
        run "${set4[@]}"
    fi
    if [ ${#set6[@]} -gt 0 ]; then
        ca_stop
        [ -n "$CES_PID" ] && kill "$CES_PID" 2>/dev/null
        CES_PID=""
        lab_up 1
        versions >"$OUT/lab_versions.txt"
        run "${set6[@]}"
    fi
    log "done: $(ls "$OUT"/lab_*.pcap* | tr '\n' ' ')"
}

main "$@"
