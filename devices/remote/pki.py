"""Certificates for the two-site link: the clinic's CA, the relay's and each session's pair.

The clinic owns one certificate authority (kept in its data folder, key 0600). Every remote
session gets a fresh clinic and patient certificate signed by it, valid only until the invite
expires, so an expired invite is refused by TLS itself, not just by this program. The relay gets
a server certificate for its host name. Keys are ECDSA P-256. Written with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_SKEW = dt.timedelta(minutes=5)  # tolerate clocks of the two sites a few minutes apart


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its PEM private key (PKCS#8, unencrypted)."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def common_name(self) -> str:
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value

    @property
    def not_after(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert_pem).not_valid_after_utc

    def write(self, folder: Path, stem: str) -> tuple[Path, Path]:
        """Write ``stem.pem`` and ``stem.key`` (0600) into ``folder``; return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        cert = folder / f"{stem}.pem"
        key = folder / f"{stem}.key"
        write_private(cert, self.cert_pem)
        write_private(key, self.key_pem)
        return cert, key


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with owner-only permissions from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(common_name: str = "Attunement clinic CA", days: int = 3650) -> CertPair:
    """A new self-signed certificate authority."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _SKEW)
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return CertPair(_cert_pem(cert), _key_pem(key))


def issue(
    ca: CertPair,
    common_name: str,
    not_after: dt.datetime,
    hosts: tuple[str, ...] = (),
) -> CertPair:
    """A certificate signed by ``ca``.

    Parameters
    ----------
    ca : CertPair
        The signing authority.
    common_name : str
        Subject CN (``relay``, ``clinic-<session>``, ``patient-<session>``).
    not_after : datetime
        End of validity (UTC); TLS refuses the certificate afterwards.
    hosts : tuple of str
        DNS names or IP addresses the certificate is valid for (the relay's server
        certificate); none for client certificates.
    """
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _SKEW)
        .not_valid_after(min(not_after, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for h in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return CertPair(_cert_pem(builder.sign(ca_key, hashes.SHA256())), _key_pem(key))


def load_pair(folder: Path, stem: str) -> CertPair:
    """Read ``stem.pem`` and ``stem.key`` from ``folder``."""
    return CertPair((folder / f"{stem}.pem").read_bytes(), (folder / f"{stem}.key").read_bytes())


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 fingerprint of a certificate, as 'AB:CD:...' (first 8 bytes)."""
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest[:8])
