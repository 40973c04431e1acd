#!/usr/bin/env python3
"""HTTPS-only enrollment client for the certflow capture lab (MS-XCEP then MS-WSTEP).

A client outside the network: it talks to ces.certflow.lab on TCP 443 and nothing else (the
address comes from --ip, no DNS). Step 1: GetPolicies on the CEP UsernamePassword endpoint over
TLS 1.2 (so the server certificate is visible on the wire). Step 2: RequestSecurityToken with a
fresh PKCS#10 on the CES endpoint named by the policy, over TLS 1.3. The certificate it gets back
is checked against the lab CA and written to OUT/ces-alice.crt.
"""
import argparse
import base64
import http.client
import os
import re
import socket
import ssl
import sys
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
CEP_ACTION = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies"
CES_ACTION = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep"


def envelope(action, to, user, password, body):
    return ("""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>\
<a:Action s:mustUnderstand="1">{action}</a:Action><a:MessageID>urn:uuid:{mid}</a:MessageID>\
<a:To s:mustUnderstand="1">{to}</a:To>\
<wsse:Security s:mustUnderstand="1" xmlns:wsse="{wsse}"><wsse:UsernameToken>\
<wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password>\
</wsse:UsernameToken></wsse:Security></s:Header><s:Body>{body}</s:Body></s:Envelope>""").format(
        action=action, mid=uuid.uuid4(), to=to, wsse=WSSE, user=user, password=password,
        body=body).encode()


class Conn(http.client.HTTPSConnection):
    """HTTPS to a fixed address with the SNI/Host of the service name (like curl --resolve)."""

    def __init__(self, name, ip, ctx):
        super().__init__(name, 443, context=ctx, timeout=10)
        self.ip = ip

    def connect(self):
        fam = socket.AF_INET6 if ":" in self.ip else socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect((self.ip, self.port))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(name, ip, ctx, path, data):
    c = Conn(name, ip, ctx)
    c.request("POST", path, data, {"Content-Type": "application/soap+xml; charset=utf-8"})
    r = c.getresponse()
    out = r.read()
    ver = c.sock.version()
    c.close()
    return r.status, out.decode("utf-8", "replace"), ver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cep = "/ADPolicyProvider_CEP_UsernamePassword/service.svc/CEP"
    ctx12 = ssl.create_default_context(cafile=a.cacert)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx12.set_alpn_protocols(["http/1.1"])
    ctx13 = ssl.create_default_context(cafile=a.cacert)
    ctx13.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx13.set_alpn_protocols(["http/1.1"])
    body = ('<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">'
            '<client><lastUpdate xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
            '<preferredLanguage xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
            '</client><requestFilter xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
            '</GetPolicies>')
    st, resp, ver = post(a.host, a.ip, ctx12, cep, envelope(
        CEP_ACTION, "https://%s%s" % (a.host, cep), a.user, a.password, body))
    print("CEP GetPolicies: HTTP %d over %s" % (st, ver))
    m = re.search(r"<uri>https://[^/<]+(/[^<]+)</uri>", resp)
    if st != 200 or not m:
        sys.exit("no CES URI in the policy")
    ces = m.group(1)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, a.user)]))
           .sign(key, hashes.SHA256()))
    b64 = base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()
    body = ('<RequestSecurityToken PreferredLanguage="en-US" '
            'xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
            '<TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3'
            '</TokenType><RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</RequestType>'
            '<BinarySecurityToken ValueType="http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10" '
            'EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#base64binary" '
            'a:Id="" xmlns:a="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" '
            'xmlns="%s">%s</BinarySecurityToken>'
            '<AdditionalContext xmlns="http://schemas.xmlsoap.org/ws/2006/12/authorization">'
            '<ContextItem Name="CertificateTemplate"><Value>User</Value></ContextItem>'
            '</AdditionalContext></RequestSecurityToken>') % (WSSE, b64)
    st, resp, ver = post(a.host, a.ip, ctx13, ces, envelope(
        CES_ACTION, "https://%s%s" % (a.host, ces), a.user, a.password, body))
    print("CES RequestSecurityToken: HTTP %d over %s" % (st, ver))
    m = re.search(r"<RequestedSecurityToken><BinarySecurityToken[^>]*>([^<]+)<", resp)
    if st != 200 or not m:
        sys.exit("no certificate in the CES response")
    cert = x509.load_der_x509_certificate(base64.b64decode(m.group(1)))
    with open(a.cacert, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                           cert.signature_hash_algorithm)
    with open(os.path.join(a.out, "ces-%s.crt" % a.user), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    print("issued: serial %x subject %s" % (cert.serial_number, cert.subject.rfc4514_string()))


if __name__ == "__main__":
    main()
