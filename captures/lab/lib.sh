# shellcheck shell=bash
# Shared functions for captures/lab/record.sh: network namespaces, Samba AD DC, CA stand-in,
# CES/CEP host, client configuration. Sourced, not executed. Everything stays inside namespaces
# named cf-*; the only addresses used are 10.77.0.0/24 and fd77::/64 on a bridge that lives in
# its own namespace (cf-br). Nothing is routed out of the lab.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${VENV:-/opt/certflow-lab-venv}
WORK=${WORK:-/tmp/certflow-lab}
REALM=CERTFLOW.LAB
DOMAIN=certflow.lab
NETBIOS=CERTFLOW
BASEDN="DC=certflow,DC=lab"
CA_NAME=certflow-CA1-CA
ADMIN_PASS='Lab-Admin-Pass1!'
ALICE_PASS='Alice-Pass-2024!'
ALICE_NEWPASS='Alice-Pass-2025!'
NS_BR=cf-br
# name:ipv4:ipv6 for every host; the bridge side veth is v-<name>.
HOSTS="dc:10.77.0.10:fd77::10 ca:10.77.0.20:fd77::20 ces:10.77.0.30:fd77::30 cli:10.77.0.100:fd77::100"

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "cf-$ns" "$@"; }

install_deps() {
    export DEBIAN_FRONTEND=noninteractive
    local pkgs="samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind krb5-user
        ldap-utils ldb-tools smbclient bind9-host tcpdump tshark nftables ethtool iproute2
        openssl curl libsasl2-modules-gssapi-mit adcli msktutil python3-venv clang llvm libbpf-dev"
    local missing=""
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        log "apt-get install$missing"
        apt-get update -q
        apt-get install -y -q --no-install-recommends $missing
    fi
    if [ ! -x "$VENV/bin/certipy" ]; then
        log "creating $VENV with impacket, certipy-ad, cryptography"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q impacket certipy-ad cryptography
    fi
}

versions() {
    {
        echo "kernel: $(uname -r)"
        echo "samba: $(samba --version)"
        echo "mit-krb5: $(dpkg-query -W -f '${Version}' krb5-user)"
        echo "ldap-utils: $(dpkg-query -W -f '${Version}' ldap-utils)"
        echo "smbclient: $(dpkg-query -W -f '${Version}' smbclient)"
        echo "tcpdump: $(tcpdump --version 2>&1 | head -1)"
        echo "dumpcap: $(dumpcap --version 2>&1 | head -1)"
        echo "openssl: $(openssl version)"
        echo "curl: $(curl --version | head -1)"
        echo "adcli: $(dpkg-query -W -f '${Version}' adcli)"
        echo "msktutil: $(dpkg-query -W -f '${Version}' msktutil)"
        echo "nsupdate (bind9-dnsutils): $(dpkg-query -W -f '${Version}' bind9-dnsutils)"
        echo "python: $("$VENV/bin/python" --version)"
        "$VENV/bin/pip" list 2>/dev/null | grep -iE '^(impacket|certipy-ad|cryptography|ldap3) '
    }
}

# Namespaces: cf-br holds bridge br0; each host namespace has eth0 (veth) whose peer v-<name>
# sits on br0. Offloads off on both ends so every frame fits the 1500-byte MTU.
net_up() {
    local h name v4 v6
    local want_v6=${1:-0}
    ip netns add $NS_BR
    nsx br ip link add br0 type bridge
    nsx br ip link set lo up
    nsx br sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    for h in $HOSTS; do
        IFS=: read -r name v4 v6 <<<"$h"
        ip netns add "cf-$name"
        nsx "$name" ip link set lo up
        ip link add "v-$name" netns $NS_BR type veth peer name eth0 netns "cf-$name"
        nsx br ip link set "v-$name" master br0
        nsx br ethtool -K "v-$name" tso off gso off gro off tx off >/dev/null 2>&1 || true
        nsx "$name" ethtool -K eth0 tso off gso off gro off tx off >/dev/null 2>&1 || true
        nsx "$name" sysctl -qw net.ipv6.conf.eth0.accept_ra=0 net.ipv6.conf.eth0.dad_transmits=0 \
            net.ipv6.conf.eth0.router_solicitations=0
        if [ "$want_v6" = 0 ]; then
            nsx "$name" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
        fi
        if [ "$want_v6" = 1 ]; then
            nsx "$name" ip -6 addr add "$v6/64" dev eth0 nodad
        else
            nsx "$name" ip addr add "$v4/24" dev eth0
        fi
        nsx "$name" ip link set eth0 up
        nsx br ip link set "v-$name" up
        # ip netns exec bind-mounts /etc/netns/<ns>/* over /etc: the client resolves through the DC.
        mkdir -p "/etc/netns/cf-$name"
        local ns_ip=10.77.0.10
        [ "$want_v6" = 1 ] && ns_ip=fd77::10
        printf 'search %s\nnameserver %s\n' "$DOMAIN" "$ns_ip" >"/etc/netns/cf-$name/resolv.conf"
        # The namespaces share the machine's UTS name; resolve it locally so that tools asking
        # for their own host name do not send that query to the lab DNS.
        printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost\n' "$(hostname)" \
            >"/etc/netns/cf-$name/hosts"
    done
    nsx br ethtool -K br0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    nsx br ip link set br0 up
}

net_down() {
    local h name
    for h in $HOSTS; do
        IFS=: read -r name _ _ <<<"$h"
        ip netns pids "cf-$name" 2>/dev/null | while read -r p; do kill "$p" 2>/dev/null; done
    done
    sleep 1
    for h in $HOSTS; do
        IFS=: read -r name _ _ <<<"$h"
        ip netns pids "cf-$name" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
        ip netns del "cf-$name" 2>/dev/null
        rm -rf "/etc/netns/cf-$name"
    done
    ip netns pids $NS_BR 2>/dev/null | while read -r p; do kill "$p" 2>/dev/null; done
    ip netns del $NS_BR 2>/dev/null
    true
}

# ---------------------------------------------------------------- domain controller (Samba AD DC)
dc_provision() {
    local v6=${1:-0}
    rm -rf "$WORK/dc"
    mkdir -p "$WORK/dc"
    local hostip="--host-ip=10.77.0.10"
    [ "$v6" = 1 ] && hostip="--host-ip6=fd77::10"
    log "provisioning Samba AD DC $REALM"
    # shellcheck disable=SC2086
    nsx dc samba-tool domain provision --server-role=dc --dns-backend=SAMBA_INTERNAL \
        --use-rfc2307 --realm=$REALM --domain=$NETBIOS --host-name=dc1 $hostip \
        --adminpass="$ADMIN_PASS" --targetdir="$WORK/dc" \
        --option="interfaces=lo eth0" --option="bind interfaces only=yes" \
        --option="disable netbios=yes" --option="dns forwarder=127.0.0.53" --option="log file=$WORK/dc/log.%m" \
        --option="tls certfile=$WORK/pki/dc1.crt" --option="tls keyfile=$WORK/pki/dc1.key" \
        --option="tls cafile=$WORK/pki/ca.crt" --option="ldap server require strong auth=no" \
        >"$WORK/dc-provision.log" 2>&1 \
        || { tail -20 "$WORK/dc-provision.log"; return 1; }
    local conf="$WORK/dc/etc/smb.conf"
    # provision drops this one; the lab wants readable simple binds on 389 as well.
    sed -i 's/^\[global\]$/[global]\n\tldap server require strong auth = no/' "$conf"
    # AD CS objects and accounts, written straight into sam.ldb before the DC starts.
    nsx dc samba-tool user create alice "$ALICE_PASS" -s "$conf" >/dev/null
    nsx dc samba-tool user create svc-ces 'Svc-Ces-Pass-1!' -s "$conf" >/dev/null
    nsx dc samba-tool computer create CA1 -s "$conf" \
        --service-principal-name=HOST/ca1 --service-principal-name=HOST/ca1.$DOMAIN \
        --service-principal-name=RPCSS/ca1 --service-principal-name=RPCSS/ca1.$DOMAIN >/dev/null
    nsx dc samba-tool computer create CES -s "$conf" \
        --service-principal-name=HOST/ces.$DOMAIN --service-principal-name=HTTP/ces \
        --service-principal-name=HTTP/ces.$DOMAIN >/dev/null
    sed -e "s/@BASEDN@/$BASEDN/g" -e "s/@CA_NAME@/$CA_NAME/g" -e "s/@DOMAIN@/$DOMAIN/g" \
        "$LAB_DIR/adcs.ldif.in" >"$WORK/adcs.ldif"
    "$VENV/bin/python" "$LAB_DIR/pki.py" ldif-certs "$WORK/pki" >>"$WORK/adcs.ldif"
    nsx dc ldbadd -H "$WORK/dc/private/sam.ldb" "$WORK/adcs.ldif" >"$WORK/ldbadd.log" 2>&1 \
        || { cat "$WORK/ldbadd.log"; return 1; }
}

dc_start() {
    local v6=${1:-0}
    log "starting samba"
    ip netns exec cf-dc samba -s "$WORK/dc/etc/smb.conf" -F --no-process-group >"$WORK/samba.log" 2>&1 &
    local i ip=10.77.0.10
    [ "$v6" = 1 ] && ip=fd77::10
    for i in $(seq 1 60); do
        if nsx dc bash -c "exec 3<>/dev/tcp/$ip/389" 2>/dev/null \
            && nsx dc bash -c "exec 3<>/dev/tcp/$ip/88" 2>/dev/null \
            && nsx dc bash -c "exec 3<>/dev/tcp/$ip/53" 2>/dev/null; then
            break
        fi
        sleep 1
    done
    sleep 2
    local conf="$WORK/dc/etc/smb.conf" ua="-U Administrator%$ADMIN_PASS"
    # DNS records for the other hosts (done over RPC to the DC itself, inside the DC namespace).
    if [ "$v6" = 0 ]; then
        for rec in "ca1 A 10.77.0.20" "ces A 10.77.0.30" "cli A 10.77.0.100" "pki A 10.77.0.20"; do
            # shellcheck disable=SC2086
            nsx dc samba-tool dns add 127.0.0.1 $DOMAIN $rec -s "$conf" $ua >/dev/null 2>&1
        done
    else
        for rec in "ca1 AAAA fd77::20" "ces AAAA fd77::30" "cli AAAA fd77::100" "pki AAAA fd77::20"; do
            # shellcheck disable=SC2086
            nsx dc samba-tool dns add 127.0.0.1 $DOMAIN $rec -s "$conf" $ua >/dev/null 2>&1
        done
    fi
    nsx dc host ca1.$DOMAIN 127.0.0.1 >/dev/null 2>&1 || true
}

# Stops the DC's samba and starts it again with its (edited) smb.conf: settings that open or
# close listening sockets are not taken by a reload.
dc_restart() {
    pkill -f "samba -s $WORK/dc/etc/smb.conf" 2>/dev/null
    local i
    for i in $(seq 1 30); do
        pgrep -f "samba -s $WORK/dc/etc/smb.conf" >/dev/null || break
        sleep 1
    done
    dc_start "${1:-0}"
}

# ---------------------------------------------------------------- client configuration
cli_config() {
    local v6=${1:-0}
    mkdir -p "$WORK/cli"
    cat >"$WORK/cli/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = true
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    dns_uri_lookup = false
    default_ccache_name = FILE:$WORK/cli/ccache
[realms]
    $REALM = {
        kpasswd_server = dc1.$DOMAIN
        admin_server = dc1.$DOMAIN
    }
[domain_realm]
    .$DOMAIN = $REALM
    $DOMAIN = $REALM
EOF
    cat >"$WORK/cli/ldap.conf" <<EOF
TLS_REQCERT allow
SASL_NOCANON on
EOF
    cat >"$WORK/cli/smb.conf" <<EOF
[global]
    workgroup = $NETBIOS
    realm = $REALM
    client min protocol = SMB2
    disable netbios = yes
EOF
}

# Run a command in the client namespace with the lab's Kerberos/LDAP configuration.
cli() {
    ip netns exec cf-cli env KRB5_CONFIG="$WORK/cli/krb5.conf" KRB5CCNAME="FILE:$WORK/cli/ccache" \
        LDAPCONF="$WORK/cli/ldap.conf" HOME="$WORK/cli" PATH="$VENV/bin:$PATH" "$@"
}
