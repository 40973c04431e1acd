#!/usr/bin/env python3
"""Lab PKI for the certflow capture lab (python-cryptography).

  pki.py init DIR          CA key + self-signed CA certificate, an empty CRL, a TLS certificate
                           for the CES/CEP host and one for the LDAP/DC host; files in DIR.
  pki.py ldif-certs DIR    LDIF (to stdout) for the AD CS objects that carry certificates:
                           the pKIEnrollmentService, certificationAuthority (NTAuth/AIA/CAs) and
                           the CDP entry. Appended to adcs.ldif by lib.sh.
  pki.py issue DIR CSR.der TEMPLATE UPN   sign a PKCS#10 request (used by ca_server.py).

Everything is generated at record time: no key material is committed.
"""
import base64
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

CA_NAME = "certflow-CA1-CA"
DOMAIN = "certflow.lab"
BASEDN = "DC=certflow,DC=lab"
CONFIG = "CN=Configuration," + BASEDN
PKS = "CN=Public Key Services,CN=Services," + CONFIG
CRL_URL = "http://pki.%s/CertEnroll/%s.crl" % (DOMAIN, CA_NAME)
AIA_URL = "http://pki.%s/CertEnroll/ca1.%s_%s.crt" % (DOMAIN, DOMAIN, CA_NAME)
CES_URL = "https://ces.%s/%s_CES_Kerberos/service.svc/CES" % (DOMAIN, CA_NAME)
# szOID_CERTIFICATE_TEMPLATE_NAME (v1 templates carry the name as a BMPString).
OID_TEMPLATE_NAME = ObjectIdentifier("1.3.6.1.4.1.311.20.2")
OID_UPN = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
TEMPLATE_EKUS = {
    "User": [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION,
             ObjectIdentifier("1.3.6.1.4.1.311.10.3.4")],
    "Machine": [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH],
}


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def ca_name():
    return x509.Name([
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "lab"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "certflow"),
        x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
    ])


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def load(d):
    with open(os.path.join(d, "ca.key"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(d, "ca.crt"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return key, cert


def server_cert(d, ca_key, ca_cert, name, dns_names):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - datetime.timedelta(hours=1))
        .not_valid_after(now() + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), False)
        .sign(ca_key, hashes.SHA256())
    )
    write(os.path.join(d, name + ".key"), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    write(os.path.join(d, name + ".crt"), cert.public_bytes(serialization.Encoding.PEM)
          + ca_cert.public_bytes(serialization.Encoding.PEM))


def crl(ca_key, ca_cert):
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now() - datetime.timedelta(minutes=5))
        .next_update(now() + datetime.timedelta(days=7))
        .add_extension(x509.CRLNumber(1), False)
        .sign(ca_key, hashes.SHA256())
    )


def init(d):
    os.makedirs(d, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name())
        .issuer_name(ca_name())
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - datetime.timedelta(days=1))
        .not_valid_after(now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    write(os.path.join(d, "ca.key"), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    write(os.path.join(d, "ca.crt"), cert.public_bytes(serialization.Encoding.PEM))
    web = os.path.join(d, "www", "CertEnroll")
    os.makedirs(web, exist_ok=True)
    write(os.path.join(web, os.path.basename(AIA_URL)), cert.public_bytes(serialization.Encoding.DER))
    write(os.path.join(web, os.path.basename(CRL_URL)),
          crl(key, cert).public_bytes(serialization.Encoding.DER))
    server_cert(d, key, cert, "ces", ["ces." + DOMAIN, "ces"])
    server_cert(d, key, cert, "dc1", ["dc1." + DOMAIN, "dc1"])


def ldif_certs(d):
    key, cert = load(d)
    der = cert.public_bytes(serialization.Encoding.DER)
    crl_der = crl(key, cert).public_bytes(serialization.Encoding.DER)
    b = base64.b64encode(der).decode()
    c = base64.b64encode(crl_der).decode()
    out = []
    out.append("dn: CN=%s,CN=Enrollment Services,%s" % (CA_NAME, PKS))
    out += ["objectClass: top", "objectClass: pKIEnrollmentService", "cn: " + CA_NAME,
            "dNSHostName: ca1." + DOMAIN, "cACertificateDN: " + cert.subject.rfc4514_string(),
            "cACertificate:: " + b, "certificateTemplates: User", "certificateTemplates: Machine",
            "flags: 10", "msPKI-Enrollment-Servers: 1\n 4\n 0\n %s\n 0" % CES_URL, ""]
    for container in ("Certification Authorities", "AIA"):
        out.append("dn: CN=%s,CN=%s,%s" % (CA_NAME, container, PKS))
        out += ["objectClass: top", "objectClass: certificationAuthority", "cn: " + CA_NAME,
                "cACertificate:: " + b, "certificateRevocationList:: " + c,
                "authorityRevocationList:: " + c, ""]
    out.append("dn: CN=NTAuthCertificates,%s" % PKS)
    out += ["objectClass: top", "objectClass: certificationAuthority", "cn: NTAuthCertificates",
            "cACertificate:: " + b, "certificateRevocationList:: " + c,
            "authorityRevocationList:: " + c, ""]
    out.append("dn: CN=ca1,CN=CDP,%s" % PKS)
    out += ["objectClass: top", "objectClass: container", "cn: ca1", ""]
    out.append("dn: CN=%s,CN=ca1,CN=CDP,%s" % (CA_NAME, PKS))
    out += ["objectClass: top", "objectClass: cRLDistributionPoint", "cn: " + CA_NAME,
            "certificateRevocationList:: " + c, ""]
    # LDIF continuation lines: the msPKI-Enrollment-Servers value is multi-line text; write it
    # base64 so the newlines survive.
    text = []
    for line in out:
        if line.startswith("msPKI-Enrollment-Servers: "):
            raw = "1\n4\n0\n%s\n0" % CES_URL
            line = "msPKI-Enrollment-Servers:: " + base64.b64encode(raw.encode()).decode()
        text.append(line)
    sys.stdout.write("\n".join(text) + "\n")


def issue(d, csr_der, template, upn, serial):
    """Sign a PKCS#10 request like an enterprise CA would for a v1 template."""
    key, ca = load(d)
    csr = x509.load_der_x509_csr(csr_der)
    subject = csr.subject
    if len(subject) == 0:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, upn.split("@")[0])])
    ekus = TEMPLATE_EKUS.get(template, TEMPLATE_EKUS["User"])
    bmp = template.encode("utf-16-be")
    tmpl_ext = bytes([0x1E, len(bmp)]) + bmp
    san = [x509.OtherName(OID_UPN, b"\x0c" + bytes([len(upn)]) + upn.encode())]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(csr.public_key())
        .serial_number(serial)
        .not_valid_before(now() - datetime.timedelta(minutes=10))
        .not_valid_after(now() + datetime.timedelta(days=365))
        .add_extension(x509.UnrecognizedExtension(OID_TEMPLATE_NAME, tmpl_ext), False)
        .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                       True)
        .add_extension(x509.ExtendedKeyUsage(ekus), False)
        .add_extension(x509.SubjectAlternativeName(san), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), False)
        .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(AIA_URL))]), False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    chain = pkcs7.serialize_certificates([cert, ca], serialization.Encoding.DER)
    return der, chain


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "init":
        init(d)
    elif cmd == "ldif-certs":
        ldif_certs(d)
    elif cmd == "issue":
        with open(sys.argv[3], "rb") as f:
            der, _ = issue(d, f.read(), sys.argv[4], sys.argv[5], x509.random_serial_number())
        sys.stdout.buffer.write(der)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
