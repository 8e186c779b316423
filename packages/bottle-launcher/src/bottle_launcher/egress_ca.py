"""A CA per bottle, made at launch: ECDSA P-256 with the key in SEC1 form, so mitmproxy and
pipelock can both use it. The key goes only to the egress sidecar's tmpfs; the certificate goes
into the agent's trust."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class BottleCA:
    cert_pem: bytes
    key_pem: bytes  # SEC1 "EC PRIVATE KEY"; a secret

    @property
    def mitmproxy_pem(self) -> bytes:
        """mitmproxy's confdir file: key and certificate together."""
        return self.key_pem + self.cert_pem


def make_ca(bottle: str, bottle_id: str) -> BottleCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "claude-bottle"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"claude-bottle {bottle} {bottle_id} egress CA"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return BottleCA(cert.public_bytes(serialization.Encoding.PEM), key_pem)
