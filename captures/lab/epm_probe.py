#!/usr/bin/env python3
"""Endpoint-mapper and ICertPassage probes with impacket's client code (certflow lab).

  epm_probe.py map HOST [UUID VER]        ept_map (opnum 3) on HOST:135 via impacket hept_map;
                                          default interface: ICertPassage 91ae6020-... v0.0.
  epm_probe.py icpr HOST PORT LEVEL USER PASSWORD DOMAIN
                                          bind ICertPassage on HOST:PORT at auth LEVEL
                                          (1 none, 2 connect, 5 integrity, 6 privacy; NTLM) and
                                          send CertServerRequest(opnum 0) with a fresh PKCS#10
                                          for template User, printing the disposition. Below
                                          privacy the stub (CSR, certificate) is readable.
"""
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.icpr import CERTTRANSBLOB, CertServerRequest, MSRPC_UUID_ICPR
from impacket.dcerpc.v5.nrpc import checkNullString
from impacket.uuid import uuidtup_to_bin


def do_map(host, uuid=None, ver="0.0"):
    iface = MSRPC_UUID_ICPR if uuid is None else uuidtup_to_bin((uuid, ver))
    try:
        print(epm.hept_map(host, iface, protocol="ncacn_ip_tcp"))
    except Exception as e:  # EPT_S_NOT_REGISTERED and friends are results, not crashes
        print("ept_map failed: %s" % e)
        return 1
    return 0


def do_icpr(host, port, level, user, password, domain):
    t = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[%s]" % (host, port))
    t.set_connect_timeout(5)
    if int(level) > 1:
        t.set_credentials(user, password, domain)
    dce = t.get_dce_rpc()
    dce.set_auth_level(int(level))
    dce.connect()
    dce.bind(MSRPC_UUID_ICPR)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]))
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    attrs = checkNullString("CertificateTemplate:User").encode("utf-16le")
    blobs = []
    for data in (attrs, csr):
        b = CERTTRANSBLOB()
        b["cb"] = len(data)
        b["pb"] = data
        blobs.append(b)
    req = CertServerRequest()
    req["dwFlags"] = 0
    req["pwszAuthority"] = checkNullString("certflow-CA1-CA")
    req["pdwRequestId"] = 0
    req["pctbAttribs"] = blobs[0]
    req["pctbRequest"] = blobs[1]
    resp = dce.request(req, checkError=False)
    cert = b"".join(resp["pctbEncodedCert"]["pb"]) if resp["pctbEncodedCert"]["cb"] else b""
    print("level %s: disposition %d, request id %d, certificate %d bytes"
          % (level, resp["pdwDisposition"], resp["pdwRequestId"], len(cert)))
    dce.disconnect()
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "map":
        return do_map(*sys.argv[2:5])
    if len(sys.argv) == 8 and sys.argv[1] == "icpr":
        return do_icpr(*sys.argv[2:8])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
