#!/usr/bin/env bash
# List the key frames of a lab capture with tshark (ground truth for captures/README.md).
#   captures/lab/keyframes.sh FILE [EXTRA_DECODE_PORT]
# Prints: frame number, time, source, destination, protocol and tshark's Info column for DNS,
# CLDAP, Kerberos, kpasswd, LDAP operations, DCE/RPC (EPM, ICPR), SMB2 tree connects, HTTP, TLS
# ClientHello/ServerHello, and every TCP SYN (so unanswered SYNs and RSTs show too).
set -u
f=$1
port=${2:-}
decode=()
# tshark's DCE/RPC heuristic finds binds on any port, but say so explicitly for the ICPR port.
[ -n "$port" ] && decode=(-d "tcp.port==$port,dcerpc")
filter='dns || cldap || kerberos || kpasswd || (ldap && !tls) || dcerpc || http
 || tls.handshake.type in {1,2} || (tcp.flags.syn==1) || (tcp.flags.reset==1)
 || smb2.cmd in {1,3,5}'
tshark -r "$f" "${decode[@]}" -Y "$filter" -T fields -E separator=$'\t' \
    -e frame.number -e frame.time_relative -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst \
    -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null |
    awk -F'\t' '{src=$3$4; dst=$5$6; printf "%5d %8.3f %-16s -> %-16s %-8s %s\n", $1, $2, src, dst, $7, substr($8,1,150)}'
