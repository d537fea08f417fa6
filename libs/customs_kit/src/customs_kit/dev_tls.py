"""A throw-away certificate authority and the certificates it signs, for mutual TLS off-cluster.

``make run TLS=1`` and the tests run the services with mutual TLS on one
machine: a fresh CA, one certificate per service (and per client) valid for
``localhost`` and ``127.0.0.1`` besides the service's own name, for both
server and client use, as cert-manager issues them in a cluster. Keys are
written readable by their owner only and never leave the directory given.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Long enough for a development session, short enough that a leaked one soon expires.
_VALIDITY = datetime.timedelta(days=7)
_LOCAL_NAMES = ("localhost",)
_LOCAL_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class IssuedCertificate:
    """The files of one holder: its certificate, its key, and the CA that signed it."""

    certificate: Path
    key: Path
    ca: Path

    def environment(self) -> dict[str, str]:
        """The ``TLS_*`` variables that make a service use these files."""
        return {
            "TLS_CERT_FILE": str(self.certificate),
            "TLS_KEY_FILE": str(self.key),
            "TLS_CLIENT_CA_FILE": str(self.ca),
        }


def write_development_ca(
    directory: Path, holders: Sequence[str], *, ca_name: str = "customs-platform development CA"
) -> dict[str, IssuedCertificate]:
    """A new CA in ``directory`` and a certificate for each of ``holders``, by holder name."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    issued: dict[str, IssuedCertificate] = {}
    for holder in holders:
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in (holder, *_LOCAL_NAMES)]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in _LOCAL_ADDRESSES]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, holder)]))
            .issuer_name(ca_subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        certificate_file = directory / f"{holder}.crt"
        key_file = directory / f"{holder}.key"
        certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.touch(mode=0o600)
        key_file.chmod(0o600)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        issued[holder] = IssuedCertificate(certificate_file, key_file, ca_file)
    return issued
