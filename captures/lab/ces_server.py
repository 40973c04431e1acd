#!/usr/bin/env python3
"""CEP/CES stand-in for the certflow capture lab: HTTPS on TCP 443 (python ssl + http.server).

Paths (as an AD CS web-enrollment host publishes them):
  /ADPolicyProvider_CEP_UsernamePassword/service.svc/CEP   MS-XCEP GetPolicies (SOAP 1.2)
  /<CA>_CES_UsernamePassword/service.svc/CES               MS-WSTEP RequestSecurityToken
  /ADPolicyProvider_CEP_Kerberos/service.svc/CEP            401 + WWW-Authenticate: Negotiate
  /<CA>_CES_Kerberos/service.svc/CES                        401 + WWW-Authenticate: Negotiate

The UsernamePassword endpoints check a WS-Security UsernameToken in the SOAP header against the lab
accounts and, for CES, sign the PKCS#10 request with the lab CA (pki.py). The Kerberos endpoints
exist so that their URLs can be requested, but this stand-in has no HTTP Negotiate acceptor: a
request there gets the 401 challenge a real IIS sends first, nothing more. Everything is inside
TLS; on the wire a capture shows TCP 443, the SNI, ALPN, the TLS version and (TLS 1.2) the
server certificate for ces.certflow.lab.
"""
import argparse
import base64
import html
import logging
import os
import re
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pki  # noqa: E402

log = logging.getLogger("ces")
MAX_BODY = 256 * 1024  # a CSR in SOAP is a few KiB; refuse anything absurd
CEP_PATH = "/ADPolicyProvider_CEP_UsernamePassword/service.svc/CEP"
CES_PATH = "/%s_CES_UsernamePassword/service.svc/CES" % pki.CA_NAME
KRB_PATHS = ("/ADPolicyProvider_CEP_Kerberos/service.svc/CEP",
             "/%s_CES_Kerberos/service.svc/CES" % pki.CA_NAME)

CEP_RESPONSE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>\
<a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/\
IPolicy/GetPoliciesResponse</a:Action><a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>\
<GetPoliciesResponse xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">\
<response><policyID>{{certflow-lab-policy}}</policyID><policyFriendlyName>certflow lab</policyFriendlyName>\
<nextUpdateHours>8</nextUpdateHours><policiesNotChanged>false</policiesNotChanged><policies>\
<policy><policyOIDReference>0</policyOIDReference><cAs><cAReference>0</cAReference></cAs>\
<attributes><commonName>User</commonName><policySchema>1</policySchema>\
<certificateValidity><validityPeriodSeconds>31536000</validityPeriodSeconds>\
<renewalPeriodSeconds>3628800</renewalPeriodSeconds></certificateValidity>\
<privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength></privateKeyAttributes>\
</attributes></policy></policies></response>\
<cAs><cA><uris><cAURI><clientAuthentication>4</clientAuthentication>\
<uri>https://ces.certflow.lab{ces}</uri><priority>1</priority><renewalOnly>false</renewalOnly>\
</cAURI></uris><certificate>{cacert}</certificate><enrollPermission>true</enrollPermission>\
<cAReferenceID>0</cAReferenceID></cA></cAs>\
<oIDs><oID><value>1.3.6.1.4.1.311.21.8.1.1.1.1.1.1</value><group>9</group>\
<oIDReferenceID>0</oIDReferenceID><defaultName>User</defaultName></oID></oIDs>\
</GetPoliciesResponse></s:Body></s:Envelope>"""

CES_RESPONSE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>\
<a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/\
RSTRC/wstep</a:Action><a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>\
<RequestSecurityTokenResponseCollection xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512">\
<RequestSecurityTokenResponse><TokenType>http://docs.oasis-open.org/wss/2004/01/\
oasis-200401-wss-x509-token-profile-1.0#X509v3</TokenType>\
<DispositionMessage xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">Issued\
</DispositionMessage>\
<BinarySecurityToken ValueType="http://docs.oasis-open.org/wss/2004/01/\
oasis-200401-wss-x509-token-profile-1.0#PKCS7" EncodingType="http://docs.oasis-open.org/wss/2004/01/\
oasis-200401-wss-soap-message-security-1.0#base64binary" \
xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{p7}\
</BinarySecurityToken><RequestedSecurityToken><BinarySecurityToken ValueType="http://docs.oasis-open.org/\
wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" EncodingType="http://docs.oasis-open.org/\
wss/2004/01/oasis-200401-wss-soap-message-security-1.0#base64binary" \
xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{cert}\
</BinarySecurityToken></RequestedSecurityToken>\
<RequestID xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">{rid}</RequestID>\
</RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection></s:Body></s:Envelope>"""

REQUEST_ID = [100]
LOCK = threading.Lock()


def tag(name, text):
    m = re.search(r"<(?:\w+:)?%s\b[^>]*>([^<]*)</" % name, text)
    return html.unescape(m.group(1)).strip() if m else ""


class Handler(BaseHTTPRequestHandler):
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def reply(self, code, body=b"", ctype="application/soap+xml; charset=utf-8", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path in KRB_PATHS:
            return self.reply(401, b"", "text/html", [("WWW-Authenticate", "Negotiate")])
        if self.path in (CEP_PATH, CES_PATH):
            # WCF answers a GET on a service.svc endpoint with its help page.
            return self.reply(200, b"<html><body>Service</body></html>", "text/html")
        self.reply(404, b"Not Found", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n < 0 or n > MAX_BODY:
            return self.reply(413, b"", "text/plain")
        body = self.rfile.read(n).decode("utf-8", "replace")
        if self.path in KRB_PATHS:
            return self.reply(401, b"", "text/html", [("WWW-Authenticate", "Negotiate")])
        if self.path not in (CEP_PATH, CES_PATH):
            return self.reply(404, b"Not Found", "text/plain")
        user = tag("Username", body).split("@")[0].split("\\")[-1].lower()
        password = tag("Password", body)
        if password not in self.server.accounts.get(user, []):
            log.warning("%s: bad UsernameToken for %r", self.path, user)
            return self.reply(401, b"", "text/plain")
        relates = html.escape(tag("MessageID", body))
        if self.path == CEP_PATH:
            with open(os.path.join(self.server.pki_dir, "ca.crt"), "rb") as f:
                ca = f.read()
            cab64 = "".join(l for l in ca.decode().splitlines() if "-----" not in l)
            out = CEP_RESPONSE.format(relates=relates, ces=CES_PATH, cacert=cab64)
            log.info("CEP GetPolicies for %s", user)
            return self.reply(200, out.encode())
        csr_b64 = tag("BinarySecurityToken", body)
        try:
            csr = base64.b64decode(csr_b64)
        except ValueError:
            return self.reply(400, b"", "text/plain")
        with LOCK:
            REQUEST_ID[0] += 1
            rid = REQUEST_ID[0]
        der, chain = pki.issue(self.server.pki_dir, csr, "User", "%s@certflow.lab" % user,
                               0x2E00000000000000 + rid)
        out = CES_RESPONSE.format(relates=relates, p7=base64.b64encode(chain).decode(),
                                  cert=base64.b64encode(der).decode(), rid=rid)
        log.info("CES issued request %d for %s", rid, user)
        self.reply(200, out.encode())

    def log_message(self, fmt, *args):
        log.info("%s %s", self.client_address[0], fmt % args)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, family):
        self.address_family = family
        super().__init__(addr, Handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", action="append", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--account", action="append", default=[], help="user:password")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.pki, "ces.crt"), os.path.join(args.pki, "ces.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    accounts = {}
    for a in args.account:
        u, p = a.split(":", 1)
        accounts.setdefault(u.lower(), []).append(p)
    for b in args.bind:
        fam = socket.AF_INET6 if ":" in b else socket.AF_INET
        s = Server((b, args.port), fam)
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
        s.accounts, s.pki_dir = accounts, args.pki
        threading.Thread(target=s.serve_forever, daemon=True).start()
    log.info("CEP %s, CES %s on 443", CEP_PATH, CES_PATH)
    threading.Event().wait()


if __name__ == "__main__":
    main()
