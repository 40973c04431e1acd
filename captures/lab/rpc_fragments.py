"""Multi-fragment DCE/RPC requests and responses as impacket's client sends them, for
`record.sh rpcfrag`.

LsarLookupNames (MS-LSAT 3.1.4.8, opnum 14) for 120 account names: a request of several
kilobytes, which the client cuts into fragments of at most FRAG bytes of stub (C706 12.6.3.1:
PFC_FIRST_FRAG on the first, PFC_LAST_FRAG on the last, each fragment with its own auth
verifier at integrity and privacy, MS-RPCE 2.2.2.11), and an answer that Samba fragments at the
negotiated max_xmit_frag. Three times:
- over TCP: the endpoint mapper asked for LSARPC (ept_map), then the dynamic port, NTLM at
  packet privacy (sealed); Samba refuses LsarOpenPolicy2 over TCP (fault access_denied), so the
  lookup goes out on a null handle and is refused in turn, its fragments sent all the same;
- the same at packet integrity (signed: the stub readable);
- over SMB 2.1 (impacket would encrypt an SMB 3.1.1 session), named pipe `lsarpc`, NTLM at
  packet integrity and at packet privacy: answered.

usage: rpc_fragments.py HOST DOMAIN USER PASSWORD FRAG
"""

import sys

from impacket.dcerpc.v5 import epm, lsad, lsat, transport
from impacket.smb3structs import SMB2_DIALECT_21
from impacket.smbconnection import SMBConnection
from impacket.dcerpc.v5.rpcrt import (
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    DCERPCException,
)

NAMES = [f"nobody{i:03d}" for i in range(118)] + ["alice", "Administrator"]


def lookup(rpc, level: int, frag: int) -> None:
    dce = rpc.get_dce_rpc()
    dce.set_auth_level(level)
    dce.connect()
    dce.bind(lsat.MSRPC_UUID_LSAT)
    dce.set_max_fragment_size(frag)
    try:
        policy = lsad.hLsarOpenPolicy2(dce, lsad.POLICY_LOOKUP_NAMES)["PolicyHandle"]
    except DCERPCException as e:
        # Samba refuses LSA over TCP (fault access_denied): the lookup is still sent, on a
        # null handle, for its fragments.
        print("open policy:", e)
        policy = b"\x00" * 20
    try:
        resp = lsat.hLsarLookupNames(dce, policy, NAMES)
        print("mapped:", resp["TranslatedSids"]["Entries"])
    except DCERPCException as e:
        # STATUS_SOME_NOT_MAPPED carries every translation; a fault carries nothing.
        print("lookup:", e)
    if policy != b"\x00" * 20:
        lsad.hLsarClose(dce, policy)
    dce.disconnect()


def main() -> int:
    host, domain, user, password, frag = sys.argv[1:6]
    frag = int(frag)
    binding = epm.hept_map(host, lsat.MSRPC_UUID_LSAT, protocol="ncacn_ip_tcp")
    print("ept_map:", binding)
    for level in (RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_LEVEL_PKT_INTEGRITY):
        rpc = transport.DCERPCTransportFactory(binding)
        rpc.set_credentials(user, password, domain)
        lookup(rpc, level, frag)
    for level in (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
        # SMB 2.1: impacket encrypts an SMB 3.1.1 session, which would hide the pipe.
        conn = SMBConnection(host, host, preferredDialect=SMB2_DIALECT_21)
        conn.login(user, password, domain)
        rpc = transport.SMBTransport(host, filename=r"\lsarpc", smb_connection=conn)
        lookup(rpc, level, frag)
        conn.logoff()
    return 0


if __name__ == "__main__":
    sys.exit(main())
