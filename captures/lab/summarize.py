#!/usr/bin/env python3
"""Markdown summary of a lab capture's key frames, computed by tshark (certflow lab).

  summarize.py FILE [ICPR_PORT]

Prints one block per capture: frame count, link types, VLAN tags, the address pairs and ports,
then the key frames (DNS/CLDAP/Kerberos/kpasswd/LDAP/TLS/HTTP/SMB2/DCE-RPC/EPM/ICPR and TCP
SYNs that got no answer). Every number comes from tshark 4.0's dissection of FILE.
"""
import collections
import os
import subprocess
import sys

ICPR = "91ae6020-9e3c-11cf-8d7c-00aa00c091be"


def tshark(f, flt, fields, decode=()):
    cmd = ["tshark", "-r", f, "-Y", flt, "-T", "fields", "-E", "separator=\t",
           "-E", "aggregator=,"]
    for d in decode:
        cmd += ["-d", d]
    for x in fields:
        cmd += ["-e", x]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def inner(v):
    """the innermost of a field's values (a tunnelled packet has an outer and an inner one)"""
    return v.split(",")[-1]


def ep(r, i):
    """address column pair -> 'addr' (the innermost)"""
    return inner(r[i] or r[i + 1])


def main():
    f = sys.argv[1]
    port = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    dec = ["tcp.port==%s,dcerpc" % port] if port else []
    base = ["frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport",
            "tcp.dstport", "udp.srcport", "udp.dstport", "_ws.col.Info"]
    allf = tshark(f, "frame", ["frame.number", "vlan.id", "frame.protocols"], dec)
    print("### `%s`" % os.path.basename(f))
    print()
    size = os.path.getsize(f)
    vlans = sorted(set(r[1] for r in allf if len(r) > 1 and r[1]))
    print("- %d frames, %d bytes; 802.1Q VLAN ids: %s" % (len(allf), size,
                                                          ", ".join(vlans) if vlans else "none"))
    # conversations: (client, server, proto/port) with first frame
    convs = collections.OrderedDict()
    for r in tshark(f, "tcp.flags.syn==1 && tcp.flags.ack==0", base, dec):
        key = (ep(r, 1), ep(r, 3), "tcp/%s" % inner(r[6]))
        convs.setdefault(key, [r[0], 0])
        convs[key][1] += 1
    for r in tshark(f, "udp && !icmp && !icmpv6", base, dec):
        a, b, sp, dp = ep(r, 1), ep(r, 3), int(inner(r[7]) or 0), int(inner(r[8]) or 0)
        if not sp or not dp:
            continue  # IP fragments past the first carry no UDP header
        if len((r[1] or r[2]).split(",")) != len(r[7].split(",")):
            continue  # TCP inside a UDP tunnel: its inner flow is counted by its SYN
        if dp <= sp:  # client -> server: the server is the side with the lower port
            key = (a, b, "udp/%d" % dp)
            convs.setdefault(key, [r[0], 0])
            convs[key][1] += 1
    print("- flows (client -> server, service, first frame, SYNs or client datagrams):")
    for (a, b, svc), (first, n) in convs.items():
        print("  - %s -> %s %s (first frame %s, %d)" % (a, b, svc, first, n))
    print()
    print("| frame | from -> to | what (tshark) |")
    print("|---|---|---|")
    flt = ("cldap || kerberos.msg_type || kpasswd || ldap.protocolOp in {0,1,3,23,24} || "
           "tls.handshake.type in {1,2} || http.request || http.response || "
           "smb2.cmd in {1,3,5} || dcerpc.pkt_type in {0,2,3,11,12,13,16} || "
           "(tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission) || "
           "(tcp.flags.reset==1 && tcp.flags.ack==1 && tcp.seq==1)")
    extra = ["tls.handshake.extensions_server_name", "epm.proto.tcp_port",
             "dcerpc.cn_bind_to_uuid", "dcerpc.auth_level", "kerberos.SNameString",
             "tls.handshake.version", "tls.handshake.extensions.supported_version"]
    rows = tshark(f, flt, base + extra, dec)
    for r in rows:
        r += [""] * (len(base) + len(extra) - len(r))
        info = r[9][:140].replace("|", "/")
        sni, epport, alevel, sname = r[10], r[11], r[13], r[14]
        notes = []
        if sni:
            notes.append("SNI %s" % sni)
        if epport and "Map response" in info:
            ports = [p for p in epport.split(",") if p not in ("0", "135")]
            if ports:
                notes.append("tower TCP port %s" % ports[0])
        if alevel and "Bind" in info:
            notes.append("auth level %s" % alevel)
        if sname and "KRB Error" not in info:
            # A TGS-REQ carries the TGT's sname (krbtgt/REALM) before the requested one.
            notes.append("sname %s" % "/".join(sname.split(",")[-2:]))
        src = "%s:%s" % (ep(r, 1), inner(r[5] or r[7]))
        dst = "%s:%s" % (ep(r, 3), inner(r[6] or r[8]))
        print("| %s | %s -> %s | %s%s |" % (r[0], src, dst, info.strip(),
                                           ("; " + "; ".join(notes)) if notes else ""))
    print()


if __name__ == "__main__":
    main()
