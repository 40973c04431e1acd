#!/usr/bin/env bash
# Records captures/lab_dns_fragmented_udp.pcap: a real DNS exchange whose UDP answer is larger
# than the 1500-byte MTU, so the kernel sends it as IPv4 fragments (the situation of Kerberos
# replies over UDP that certflow must reassemble). dig (BIND 9) asks dnsmasq for a TXT record of
# about 3 kB with EDNS0 buffer 4096; two network namespaces joined by a veth pair; nothing leaves
# the machine. Run as root on Debian (apt-get install dnsmasq-base dnsutils tcpdump).
#
# `record_fragments.sh 6` records captures/lab_dns_fragmented_udp_ipv6.pcap instead: the same
# exchange over IPv6 (fd78::/64), where the sending host fragments with an IPv6 Fragment
# extension header (RFC 8200 section 4.5).
set -euo pipefail
family="${1:-4}"
if [ "$family" = 6 ]; then
  out="$(cd "$(dirname "$0")/.." && pwd)/lab_dns_fragmented_udp_ipv6.pcap"
  CLI=fd78::100 SRV=fd78::53 PLEN=64 NODAD=nodad
else
  out="$(cd "$(dirname "$0")/.." && pwd)/lab_dns_fragmented_udp.pcap"
  CLI=10.78.0.100 SRV=10.78.0.53 PLEN=24 NODAD=
fi
A=cf-frag-cli B=cf-frag-dns
cleanup() {
  [ -n "${TCPDUMP:-}" ] && kill "$TCPDUMP" 2>/dev/null || true
  [ -n "${DNSMASQ:-}" ] && kill "$DNSMASQ" 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$A"; ip netns add "$B"
ip link add veth-frag-a netns "$A" type veth peer name veth-frag-b netns "$B"
ip -n "$A" addr add "$CLI/$PLEN" dev veth-frag-a $NODAD
ip -n "$B" addr add "$SRV/$PLEN" dev veth-frag-b $NODAD
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set veth-frag-a up mtu 1500
ip -n "$B" link set veth-frag-b up mtu 1500
# 12 strings of 250 characters: a TXT answer of about 3 kB.
txt=""
for i in $(seq -w 1 12); do
  s=$(printf 'certflow-fragment-%s-%0232d' "$i" 0)
  txt="${txt:+$txt,}$s"
done
ip netns exec "$B" dnsmasq --no-daemon --no-resolv --no-hosts --port=53 --listen-address="$SRV" \
  --bind-interfaces --edns-packet-max=4096 --txt-record="big.certflow.lab,$txt" \
  --address=/dc1.certflow.lab/10.77.0.10 --pid-file=/tmp/cf-frag-dnsmasq.pid &
DNSMASQ=$!
sleep 1
ip netns exec "$A" tcpdump -i veth-frag-a -s 0 -U -w "$out" 2>/dev/null &
TCPDUMP=$!
sleep 1
ip netns exec "$A" dig +bufsize=4096 +ignore @"$SRV" big.certflow.lab TXT > /dev/null
ip netns exec "$A" dig @"$SRV" dc1.certflow.lab A > /dev/null
sleep 1
kill "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
TCPDUMP=
echo "wrote $out"
