"""DCE/RPC over an SMB1 named pipe as impacket's client speaks it, for `record.sh smb1`.

SMBConnection with preferredDialect SMB_DIALECT negotiates NT LM 0.12 only; the logon is
NTLMSSP in SESSION_SETUP_ANDX (extended security); the transport opens `\\lsarpc` with
NT_CREATE_ANDX and moves the PDUs with WRITE_ANDX and READ_ANDX (impacket's SMBTransport
writes and reads the pipe, it does not use TRANS_TRANSACT_NMPIPE). Calls LsarOpenPolicy2 and
LsarQueryInformationPolicy2 (PolicyPrimaryDomainInformation), then closes.

usage: smb1_client.py HOST DOMAIN USER PASSWORD
"""

import sys

from impacket.dcerpc.v5 import lsad, transport
from impacket.smb import SMB_DIALECT
from impacket.smbconnection import SMBConnection


def main() -> int:
    host, domain, user, password = sys.argv[1:5]
    conn = SMBConnection(host, host, preferredDialect=SMB_DIALECT)
    conn.login(user, password, domain)
    rpc = transport.SMBTransport(host, filename=r"\lsarpc", smb_connection=conn)
    dce = rpc.get_dce_rpc()
    dce.connect()
    dce.bind(lsad.MSRPC_UUID_LSAD)
    policy = lsad.hLsarOpenPolicy2(dce, lsad.POLICY_VIEW_LOCAL_INFORMATION)["PolicyHandle"]
    info = lsad.hLsarQueryInformationPolicy2(
        dce, policy, lsad.POLICY_INFORMATION_CLASS.PolicyPrimaryDomainInformation
    )
    print("domain:", info["PolicyInformation"]["PolicyPrimaryDomainInfo"]["Name"])
    lsad.hLsarClose(dce, policy)
    dce.disconnect()
    conn.logoff()
    return 0


if __name__ == "__main__":
    sys.exit(main())
