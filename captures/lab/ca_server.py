#!/usr/bin/env python3
"""CA stand-in for the certflow capture lab: an MS-ICPR certificate authority on impacket.

Samba implements neither MS-ICPR nor MS-WCCE, so the lab's CA host runs this instead. It is a
small but real server:

* TCP 135: its own endpoint mapper (C706 appendix L, MS-RPCE 3.1.3.5.3). It accepts binds to
  EPM e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0 and answers ept_map (opnum 3) with a real
  5-floor ncacn_ip_tcp tower naming the ICertPassage port, or EPT_S_NOT_REGISTERED (0x16c9a0d6)
  for any other interface. ept_lookup (opnum 2) returns the one registered entry.
* TCP <port> (dynamic: random in 49152-65535, or pinned with --icpr-port): ICertPassage
  91ae6020-9e3c-11cf-8d7c-00aa00c091be v0.0 (MS-ICPR). Binds may be unauthenticated or NTLM
  (MS-NLMP) at connect, integrity or privacy level; NTLMv2 responses are checked against the
  lab accounts given with --account, and sealing/signing follow MS-NLMP 3.4 with extended
  session security. CertServerRequest (opnum 0) is answered with disposition 3 (issued), the
  DER certificate and a PKCS#7 chain, signed by the lab CA with python-cryptography.
* TCP 80 (optional, --http): a plain HTTP server for the CRL/AIA files (/CertEnroll/...).
  With --certsrv, paths under /certsrv/ ask for NTLM as IIS's Windows authentication does
  (MS-NTHT 2: `401` with `WWW-Authenticate: Negotiate` and `NTLM`, then the CHALLENGE in a
  second `401`, on the same keep-alive connection) and answer 200 once the AUTHENTICATE checks.
* TCP 445 (optional, --smb): impacket's SMB server; its named pipe `cert` is forwarded over
  loopback to the same ICertPassage code, whose bind_ack then names \\PIPE\\cert.

Incoming NTLM signatures (integrity and privacy) are verified (MS-NLMP 3.4.4, extended session
security); a bad one gets a fault. Limits: the server's own signatures are computed the same way
but no client here checks them (impacket does not). Only NTLM (auth type 10) is accepted in binds; SPNEGO/Kerberos binds get a bind_nak.

Substitution, said plainly: a Windows CA checks NTLM through the DC (netlogon pass-through); this
stand-in knows the lab passwords itself. Everything else on the wire is what the protocols say.
"""
import argparse
import base64
import hmac
import http.server
import logging
import os
import random
import socket
import socketserver
import struct
import sys
import threading

from Cryptodome.Cipher import ARC4
from impacket import ntlm
from impacket.dcerpc.v5 import epm
from impacket.dcerpc.v5.icpr import CertServerRequest, CertServerRequestResponse
from impacket.uuid import bin_to_uuidtup, uuidtup_to_bin

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pki  # noqa: E402

NDR = uuidtup_to_bin(("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0"))
NDR64 = uuidtup_to_bin(("71710533-beba-4937-8319-b5dbef9ccc36", "1.0"))
EPM_IF = uuidtup_to_bin(("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "3.0"))
ICPR_IF = uuidtup_to_bin(("91ae6020-9e3c-11cf-8d7c-00aa00c091be", "0.0"))
EPT_S_NOT_REGISTERED = 0x16C9A0D6
NCA_S_OP_RNG_ERROR = 0x1C010002
# PDU types (C706 12.6.4)
REQUEST, RESPONSE, FAULT, BIND, BIND_ACK, BIND_NAK, ALTER, ALTER_RESP, AUTH3 = (
    0, 2, 3, 11, 12, 13, 14, 15, 16)
PFC_FIRST, PFC_LAST = 0x01, 0x02
AUTHN_WINNT = 10
LEVEL_CONNECT, LEVEL_INTEGRITY, LEVEL_PRIVACY = 2, 5, 6
REQUEST_ID = 0x40  # first request id handed out is 0x41 (65)
REQUEST_LOCK = threading.Lock()

log = logging.getLogger("ca")


class Ntlm:
    """Server side of NTLM (MS-NLMP) for one association."""

    def __init__(self, accounts, domain, host):
        self.accounts = accounts
        self.domain = domain
        self.host = host
        self.challenge = os.urandom(8)
        self.flags = 0
        self.user = None
        self.ready = False

    def challenge_msg(self, negotiate):
        neg = ntlm.NTLMAuthNegotiate()
        neg.fromString(negotiate)
        f = neg["flags"]
        ans = 0
        for bit in (ntlm.NTLMSSP_NEGOTIATE_56, ntlm.NTLMSSP_NEGOTIATE_128,
                    ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH, ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
                    ntlm.NTLMSSP_NEGOTIATE_UNICODE, ntlm.NTLMSSP_NEGOTIATE_SIGN,
                    ntlm.NTLMSSP_NEGOTIATE_SEAL, ntlm.NTLMSSP_NEGOTIATE_ALWAYS_SIGN):
            if f & bit:
                ans |= bit
        ans |= (ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO | ntlm.NTLMSSP_TARGET_TYPE_DOMAIN
                | ntlm.NTLMSSP_NEGOTIATE_NTLM | ntlm.NTLMSSP_REQUEST_TARGET
                | ntlm.NTLMSSP_NEGOTIATE_VERSION)
        av = ntlm.AV_PAIRS()
        av[ntlm.NTLMSSP_AV_HOSTNAME] = self.host.upper().encode("utf-16le")
        av[ntlm.NTLMSSP_AV_DOMAINNAME] = self.domain.upper().split(".")[0].encode("utf-16le")
        av[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = ("%s.%s" % (self.host, self.domain)).encode("utf-16le")
        av[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = self.domain.encode("utf-16le")
        import calendar
        import time
        av[ntlm.NTLMSSP_AV_TIME] = struct.pack(
            "<q", 116444736000000000 + calendar.timegm(time.gmtime()) * 10000000)
        avb = av.getData()
        # TargetName in the negotiated character set (MS-NLMP 2.2.1.2): OEM unless the client
        # asked for Unicode (curl asks for OEM).
        text = "utf-16le" if ans & ntlm.NTLMSSP_NEGOTIATE_UNICODE else "latin-1"
        dom = self.domain.upper().split(".")[0].encode(text)
        ch = ntlm.NTLMAuthChallenge()
        ch["flags"] = ans
        ch["domain_len"] = ch["domain_max_len"] = len(dom)
        ch["domain_offset"] = 40 + 16
        ch["challenge"] = self.challenge
        ch["domain_name"] = dom
        ch["TargetInfoFields_len"] = ch["TargetInfoFields_max_len"] = len(avb)
        ch["TargetInfoFields"] = avb
        ch["TargetInfoFields_offset"] = 40 + 16 + len(dom)
        ch["Version"] = b"\x0a\x00\x7c\x4f\x00\x00\x00\x0f"  # 10.0.20348, NTLM rev 15
        ch["VersionLen"] = 8
        self.flags = ans
        return ch.getData()

    def authenticate(self, data):
        auth = ntlm.NTLMAuthChallengeResponse()
        auth.fromString(data)
        # UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM (curl asks for OEM).
        text = "utf-16le" if auth["flags"] & ntlm.NTLMSSP_NEGOTIATE_UNICODE else "latin-1"
        user = auth["user_name"].decode(text)
        domain = auth["domain_name"].decode(text)
        nt = auth["ntlm"]
        self.flags = auth["flags"]
        passwords = self.accounts.get(user.lower(), [])
        if not passwords or len(nt) < 24:
            log.warning("NTLM: unknown user %r or short response", user)
            return False
        for password in passwords:
            key = ntlm.NTOWFv2(user, password, domain)
            proof = ntlm.hmac_md5(key, self.challenge + nt[16:])
            if hmac.compare_digest(proof, nt[:16]):
                break
        else:
            log.warning("NTLM: bad NTProofStr for %s\\%s", domain, user)
            return False
        base = ntlm.hmac_md5(key, proof)
        if self.flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH and auth["session_key"]:
            session = ARC4.new(base).decrypt(auth["session_key"])
        else:
            session = base
        f = self.flags
        self.cli_sign = ntlm.SIGNKEY(f, session)
        self.srv_sign = ntlm.SIGNKEY(f, session, b"Server")
        self.cli_seal = ARC4.new(ntlm.SEALKEY(f, session)).encrypt
        self.srv_seal = ARC4.new(ntlm.SEALKEY(f, session, b"Server")).encrypt
        self.cli_seq = 0
        self.srv_seq = 0
        self.user = "%s\\%s" % (domain, user)
        self.account = user.lower()
        self.ready = True
        log.info("NTLM: authenticated %s (flags 0x%08x)", self.user, f)
        return True


class CertsrvHandler(http.server.SimpleHTTPRequestHandler):
    """CRL/AIA files, and /certsrv/ pages behind NTLM (MS-NTHT 2), HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    accounts, domain, host = {}, "", ""

    def _auth(self):
        """None once this connection's NTLM handshake has succeeded, else a 401 was sent."""
        if getattr(self, "ntlm_ok", False):
            return None
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        raw = base64.b64decode(token) if token else b""
        kind = raw[8:9] if raw.startswith(b"NTLMSSP\0") else b""
        if kind == b"\x01":
            self.ntlm = Ntlm(self.accounts, self.domain, self.host)
            chal = base64.b64encode(self.ntlm.challenge_msg(raw)).decode()
            return self._reply(401, [("WWW-Authenticate", "%s %s" % (scheme, chal))])
        if kind == b"\x03" and getattr(self, "ntlm", None) and self.ntlm.authenticate(raw):
            self.ntlm_ok = True
            return None
        return self._reply(401, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])

    def _reply(self, code, headers, body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return code

    def _certsrv(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self._auth() is not None:
            return
        page = b"<html><body>Certificate Issued</body></html>" if self.command == "POST" \
            else b"<html><body>Microsoft Active Directory Certificate Services</body></html>"
        self._reply(200, [("Content-Type", "text/html")], page)

    def do_GET(self):
        if self.path.startswith("/certsrv"):
            return self._certsrv()
        return super().do_GET()

    def do_POST(self):
        if self.path.startswith("/certsrv"):
            return self._certsrv()
        return self.send_error(501)


def pdu(ptype, call_id, body, flags=PFC_FIRST | PFC_LAST, trailer=b"", auth=b""):
    """Common header (C706 12.6.3.1) + body + optional auth trailer."""
    length = 16 + len(body) + len(trailer) + len(auth)
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\x00\x00\x00", length, len(auth),
                       call_id) + body + trailer + auth


def sec_trailer(level, pad, ctx_id):
    return struct.pack("<BBBBI", AUTHN_WINNT, level, pad, 0, ctx_id)


class RpcConn(socketserver.BaseRequestHandler):
    """One DCE/RPC connection-oriented association (C706 ch. 12, MS-RPCE 2.2)."""

    iface = None  # set by subclass
    sec_addr = b""

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def handle(self):
        srv = self.server
        self.auth = None
        self.level = 1
        self.ctx_id = 0
        self.frags = b""
        peer = self.client_address[0]
        log.info("%s: connection from %s", self.name, peer)
        try:
            while True:
                hdr = self.recv_exact(16)
                ver, minor, ptype, flags, drep, flen, alen, call_id = struct.unpack(
                    "<BBBB4sHHI", hdr)
                if ver != 5 or flen < 16:
                    log.warning("%s: not DCE/RPC v5", self.name)
                    return
                rest = self.recv_exact(flen - 16)
                body, trailer, authv = rest, b"", b""
                if alen:
                    if len(rest) < alen + 8:
                        return
                    body = rest[: -(alen + 8)]
                    trailer = rest[-(alen + 8): -alen]
                    authv = rest[-alen:]
                if ptype in (BIND, ALTER):
                    self.on_bind(ptype, call_id, body, trailer, authv, srv)
                elif ptype == AUTH3:
                    if self.auth is not None and not self.auth.authenticate(authv):
                        return
                elif ptype == REQUEST:
                    self.on_request(hdr + rest, flags, call_id, body, trailer, authv, alen)
                else:
                    log.warning("%s: unexpected ptype %d", self.name, ptype)
                    return
        except (EOFError, ConnectionResetError, BrokenPipeError):
            pass
        log.info("%s: connection from %s closed", self.name, peer)

    def on_bind(self, ptype, call_id, body, trailer, authv, srv):
        max_xmit, max_recv, assoc, n_ctx = struct.unpack_from("<HHIB", body, 0)
        off = 12
        results = b""
        for _ in range(n_ctx):
            ctx_id, n_tr = struct.unpack_from("<HB", body, off)
            abstract = body[off + 4: off + 24]
            off += 24
            chosen = None
            for _t in range(n_tr):
                ts = body[off: off + 20]
                off += 20
                if ts == NDR and chosen is None:
                    chosen = ts
            if abstract == self.iface and chosen is not None:
                results += struct.pack("<HH", 0, 0) + NDR
                self.ctx_id = ctx_id
            elif chosen is None:
                results += struct.pack("<HH", 2, 2) + b"\x00" * 20  # transfer syntaxes
            else:
                results += struct.pack("<HH", 2, 1) + b"\x00" * 20  # abstract syntax
                log.info("%s: bind to unsupported interface %s", self.name,
                         bin_to_uuidtup(abstract))
        sec = self.sec_addr + b"\x00" if ptype == BIND else b""
        ack = struct.pack("<HHIH", 4280, 4280, assoc or 0x0001F0E1, len(sec) if sec else 0) + sec
        ack += b"\x00" * ((4 - (len(ack) + 16) % 4) % 4)
        ack += struct.pack("<B3x", n_ctx) + results
        tr, av = b"", b""
        if authv and trailer:
            a_type, level, _pad, _r, a_ctx = struct.unpack("<BBBBI", trailer)
            if a_type != AUTHN_WINNT:
                log.warning("%s: auth type %d not supported", self.name, a_type)
                self.request.sendall(pdu(BIND_NAK, call_id, struct.pack("<H", 8)))
                return
            self.level = level
            self.auth_ctx = a_ctx
            self.auth = Ntlm(srv.accounts, srv.domain, srv.host)
            av = self.auth.challenge_msg(authv)
            tr = sec_trailer(level, 0, a_ctx)
        log.info("%s: %s (auth level %d)", self.name, "bind" if ptype == BIND else "alter", self.level)
        self.request.sendall(pdu(BIND_ACK if ptype == BIND else ALTER_RESP, call_id, ack,
                                 trailer=tr, auth=av))

    def on_request(self, raw, flags, call_id, body, trailer, authv, alen):
        head_len = 8 + (16 if flags & 0x80 else 0)  # alloc_hint, p_cont_id, opnum, [object]
        if len(body) < head_len:
            return
        _alloc_hint, _ctx_id, opnum = struct.unpack_from("<IHH", body, 0)
        stub = body[head_len:]
        if alen:
            _t, level, pad, _r, _c = struct.unpack("<BBBBI", trailer)
            a = self.auth
            if a is None or not a.ready or pad > len(stub):
                self.fault(call_id, 5)  # access denied
                return
            if level == LEVEL_PRIVACY:
                # Sealed: the stub and its pad are RC4 under the client sealing key.
                stub = a.cli_seal(stub)
            # MS-NLMP 3.4.4 with extended session security: the signature covers the whole
            # PDU with the plaintext stub and the sec_trailer, minus the auth value itself.
            signed = raw[:16] + body[:head_len] + stub + trailer
            want = ntlm.MAC(a.flags, a.cli_seal, a.cli_sign, a.cli_seq, signed).getData()
            a.cli_seq += 1
            if want != authv:
                log.warning("%s: bad NTLM signature on call %d", self.name, call_id)
                self.fault(call_id, 5)
                return
            if pad:
                stub = stub[:-pad]
        if flags & PFC_FIRST and not flags & PFC_LAST:
            self.frags = stub
            return
        if not flags & PFC_FIRST:
            self.frags += stub
            if not flags & PFC_LAST:
                return
            stub = self.frags
            self.frags = b""
        log.info("%s: request opnum %d (%d stub bytes)", self.name, opnum, len(stub))
        try:
            out = self.dispatch(opnum, stub)
        except Exception as e:  # a malformed stub gets a fault, as a real server would
            log.exception("%s: opnum %d failed: %s", self.name, opnum, e)
            self.fault(call_id, 0x1C00001A)  # nca_s_fault_ndr
            return
        if out is None:
            self.fault(call_id, NCA_S_OP_RNG_ERROR)
            return
        self.respond(call_id, out)

    def respond(self, call_id, stub):
        a = self.auth
        signed = a is not None and a.ready and self.level >= LEVEL_INTEGRITY
        max_stub = 4280 - 24 - (24 if signed else 0) - 8
        chunks = [stub[i: i + max_stub] for i in range(0, len(stub), max_stub)] or [b""]
        for i, chunk in enumerate(chunks):
            flags = (PFC_FIRST if i == 0 else 0) | (PFC_LAST if i == len(chunks) - 1 else 0)
            head = struct.pack("<IHBB", len(stub), self.ctx_id, 0, 0)
            if not signed:
                self.request.sendall(pdu(RESPONSE, call_id, head + chunk, flags))
                continue
            pad = (4 - (24 + len(chunk)) % 4) % 4
            data = chunk + b"\x00" * pad
            tr = sec_trailer(self.level, pad, self.auth_ctx)
            plain_pdu = pdu(RESPONSE, call_id, head + data, flags, tr, b"\x00" * 16)[:-16]
            if self.level == LEVEL_PRIVACY:
                enc = a.srv_seal(data)
                sig = ntlm.MAC(a.flags, a.srv_seal, a.srv_sign, a.srv_seq, plain_pdu)
            else:
                enc = data
                sig = ntlm.MAC(a.flags, a.srv_seal, a.srv_sign, a.srv_seq, plain_pdu)
            a.srv_seq += 1
            self.request.sendall(pdu(RESPONSE, call_id, head + enc, flags, tr, sig.getData()))

    def fault(self, call_id, status):
        body = struct.pack("<IHBBI4x", 32, self.ctx_id, 0, 0, status)
        self.request.sendall(pdu(FAULT, call_id, body))


class EpmConn(RpcConn):
    iface = EPM_IF
    name = "epm"
    sec_addr = b"135"

    def dispatch(self, opnum, stub):
        port = self.server.icpr_port
        if opnum == 3:
            return self.ept_map(stub, port)
        if opnum == 2:
            return self.ept_lookup(port)
        return None

    def tower(self, port):
        iface = epm.EPMRPCInterface()
        iface["InterfaceUUID"] = ICPR_IF[:16]
        iface["MajorVersion"], iface["MinorVersion"] = 0, 0
        rep = epm.EPMRPCDataRepresentation()
        rep["DataRepUuid"] = NDR[:16]
        rep["MajorVersion"], rep["MinorVersion"] = 2, 0
        prot = epm.EPMProtocolIdentifier()
        prot["ProtIdentifier"] = epm.FLOOR_RPCV5_IDENTIFIER
        p = epm.EPMPortAddr()
        p["IpPort"] = port
        h = epm.EPMHostAddr()
        h["Ip4addr"] = socket.inet_aton(self.server.tower_ip)
        t = epm.EPMTower()
        t["NumberOfFloors"] = 5
        t["Floors"] = iface.getData() + rep.getData() + prot.getData() + p.getData() + h.getData()
        return t.getData()

    def ept_map(self, stub, port):
        req = epm.ept_map(stub)
        octets = b"".join(req["map_tower"]["tower_octet_string"])
        wanted = octets[2 + 2 + 1: 2 + 2 + 1 + 16 + 2]  # floor 1: 0x0d + uuid + major
        max_towers = req["max_towers"]
        want_if = bin_to_uuidtup(wanted + b"\x00\x00")[0]
        # Response stub (MS-RPCE 3.1.3.5.3 / C706 L): entry_handle, num_towers, conformant-varying
        # array of tower pointers, the towers, status.
        out = b"\x00" * 20
        if wanted[:16] == ICPR_IF[:16]:
            tw = self.tower(port)
            out += struct.pack("<IIII", 1, max_towers, 0, 1) + struct.pack("<I", 3)
            out += struct.pack("<II", len(tw), len(tw)) + tw
            out += b"\x00" * ((4 - len(out) % 4) % 4)
            out += struct.pack("<I", 0)
            log.info("epm: ept_map %s -> port %d", want_if, port)
        else:
            out += struct.pack("<IIII", 0, max_towers, 0, 0) + struct.pack("<I", EPT_S_NOT_REGISTERED)
            log.info("epm: ept_map %s -> not registered", want_if)
        return out

    def ept_lookup(self, port):
        tw = self.tower(port)
        annotation = b"ICertPassage (lab CA)\x00"
        out = b"\x00" * 20  # entry_handle: null, every entry fits in this answer
        out += struct.pack("<I", 1)  # num_ents
        out += struct.pack("<III", 1, 0, 1)  # conformant-varying array of ept_entry_t
        out += b"\x00" * 16 + struct.pack("<I", 4)  # object uuid, tower referent
        out += struct.pack("<II", 0, len(annotation)) + annotation  # char annotation[64], varying
        out += b"\x00" * ((4 - len(out) % 4) % 4)
        out += struct.pack("<II", len(tw), len(tw)) + tw
        out += b"\x00" * ((4 - len(out) % 4) % 4)
        out += struct.pack("<I", 0)
        return out


class IcprConn(RpcConn):
    iface = ICPR_IF
    name = "icpr"

    def setup(self):
        self.sec_addr = str(self.server.icpr_port).encode()

    def dispatch(self, opnum, stub):
        if opnum != 0:
            return None
        req = CertServerRequest(stub)
        authority = req["pwszAuthority"]
        attribs = b"".join(req["pctbAttribs"]["pb"]) if req["pctbAttribs"]["cb"] else b""
        csr = b"".join(req["pctbRequest"]["pb"]) if req["pctbRequest"]["cb"] else b""
        attrs = attribs.decode("utf-16le", "replace").rstrip("\x00")
        template = "User"
        for line in attrs.splitlines():
            if line.lower().startswith("certificatetemplate:"):
                template = line.split(":", 1)[1].strip()
        srv = self.server
        global REQUEST_ID
        with REQUEST_LOCK:
            REQUEST_ID += 1
            rid = REQUEST_ID
        user = self.auth.account if self.auth and self.auth.user else "anonymous"
        log.info("icpr: CertServerRequest authority=%r template=%s csr=%d bytes user=%s",
                 authority, template, len(csr), user)
        resp = CertServerRequestResponse()
        resp["pdwRequestId"] = rid
        if not csr:
            disp, der, chain, msg = 2, b"", b"", "Denied: empty request\x00"
        elif self.auth is None or not self.auth.ready:
            disp, der, chain, msg = 2, b"", b"", "Denied: anonymous\x00"
        else:
            der, chain = pki.issue(srv.pki_dir, csr, template, "%s@%s" % (user, srv.domain),
                                   0x1D00000000000000 + rid)
            disp, msg = 3, "Issued\x00"
        resp["pdwDisposition"] = disp
        for field, blob in (("pctbCert", chain), ("pctbEncodedCert", der),
                            ("pctbDispositionMessage", msg.encode("utf-16le"))):
            resp[field]["cb"] = len(blob)
            resp[field]["pb"] = blob if blob else b""
        data = resp.getData()
        data += b"\x00" * ((4 - len(data) % 4) % 4)
        return data + struct.pack("<I", 0)  # return value: ERROR_SUCCESS


class IcprPipeConn(IcprConn):
    """ICertPassage reached through the SMB server's \\PIPE\\cert (forwarded over loopback)."""

    name = "icpr-pipe"

    def setup(self):
        self.sec_addr = b"\\PIPE\\cert"


def start_smb(bind, family, pipe_port, accounts, host):
    """impacket's SMB server on TCP 445 with the named pipe `cert` forwarded to ICertPassage."""
    from impacket import smbserver
    from impacket.ntlm import compute_nthash

    smb = smbserver.SimpleSMBServer(listenAddress=bind, listenPort=445,
                                    ipv6=family == socket.AF_INET6)
    cfg = smb._SimpleSMBServer__smbConfig  # the mini config SimpleSMBServer builds
    cfg.set("global", "server_name", host.upper())
    cfg.set("global", "server_os", "Windows Server 2022")
    cfg.set("global", "server_domain", "CERTFLOW")
    smb.getServer().processConfigFile()
    smb.setSMB2Support(True)
    for user, passwords in accounts.items():
        smb.addCredential(user, 1000, "", compute_nthash(passwords[0]).hex())
    smb.registerNamedPipe("cert", ("127.0.0.1", pipe_port))
    threading.Thread(target=smb.start, daemon=True).start()
    log.info("SMB on %s:445 with \\PIPE\\cert", bind)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, handler, family):
        self.address_family = family
        super().__init__(addr, handler)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", action="append", required=True, help="address to listen on")
    ap.add_argument("--tower-ip", default="0.0.0.0", help="IPv4 put in the tower's floor 5")
    ap.add_argument("--icpr-port", type=int, default=0, help="0 = random dynamic 49152-65535")
    ap.add_argument("--pki", required=True)
    ap.add_argument("--domain", default="certflow.lab")
    ap.add_argument("--host", default="ca1")
    ap.add_argument("--account", action="append", default=[], help="user:password")
    ap.add_argument("--http", action="store_true", help="serve PKI/www on TCP 80")
    ap.add_argument("--certsrv", action="store_true", help="/certsrv/ behind NTLM on TCP 80")
    ap.add_argument("--port-file", help="write the ICertPassage port here")
    ap.add_argument("--smb", action="store_true", help="SMB 445 with \\PIPE\\cert (impacket)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    port = args.icpr_port or random.SystemRandom().randrange(49152, 65536)
    accounts = {}
    for a in args.account:
        user, password = a.split(":", 1)
        accounts.setdefault(user.lower(), []).append(password)
    servers = []
    for b in args.bind:
        fam = socket.AF_INET6 if ":" in b else socket.AF_INET
        for p, h in ((135, EpmConn), (port, IcprConn)):
            s = Server((b, p), h, fam)
            s.icpr_port, s.accounts, s.domain, s.host = port, accounts, args.domain, args.host
            s.pki_dir, s.tower_ip = args.pki, args.tower_ip
            servers.append(s)
        if args.http:
            www = os.path.join(args.pki, "www")
            if args.certsrv:
                CertsrvHandler.accounts = accounts
                CertsrvHandler.domain, CertsrvHandler.host = args.domain, args.host
                handler = lambda *a, **k: CertsrvHandler(*a, directory=www, **k)  # noqa
            else:
                handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=www, **k)  # noqa
            hs = Server((b, 80), handler, fam)
            servers.append(hs)
    if args.smb:
        pipe = Server(("127.0.0.1", port), IcprPipeConn, socket.AF_INET)
        pipe.icpr_port, pipe.accounts, pipe.domain, pipe.host = port, accounts, args.domain, args.host
        pipe.pki_dir, pipe.tower_ip = args.pki, args.tower_ip
        servers.append(pipe)
        for b in args.bind:
            start_smb(b, socket.AF_INET6 if ":" in b else socket.AF_INET, port, accounts, args.host)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % port)
    log.info("ICertPassage on port %d, EPM on 135", port)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
