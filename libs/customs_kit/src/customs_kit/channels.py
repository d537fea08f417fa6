"""Mutual TLS between the services, and the one way the kit opens a channel.

With ``TLS_CERT_FILE``, ``TLS_KEY_FILE`` and ``TLS_CLIENT_CA_FILE`` set, a
service serves only TLS, refuses any peer that does not present a certificate
signed by that CA, and every channel it opens (peer calls, watch streams, the
outbox relay) presents its own certificate and accepts only a server whose
certificate that same CA signed, for the host name it dialled. Without them,
everything is plaintext, as on a developer's machine. Every client channel is
built by :func:`open_channel`, so no call site can forget either half.

The platform has one CA for all services (cert-manager's CA ``Issuer`` in
Kubernetes, a throw-away one for ``make run TLS=1``): a peer is trusted because
the CA signed it; what it may do is still decided by its bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from customs_kit.keepalive import Keepalive
from customs_kit.telemetry import client_interceptors

#: The variables that switch mutual TLS on; all three or none.
TLS_VARIABLES = ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE")


@dataclass(frozen=True)
class TlsFiles:
    """This process's certificate and key, and the CA its peers' certificates are signed by.

    All three PEM contents, read once at start.
    """

    certificate_chain: bytes
    #: Kept out of the repr, so that logging the settings never prints it.
    private_key: bytes = field(repr=False)
    ca_certificates: bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> TlsFiles | None:
        """The files the ``TLS_*`` variables name, or None when none is set.

        Appends to ``problems`` when only some are set or a file cannot be read.
        """
        paths = {variable: env.get(variable, "") for variable in TLS_VARIABLES}
        if not any(paths.values()):
            return None
        missing = [variable for variable, path in paths.items() if not path]
        if missing:
            together, absent = ", ".join(TLS_VARIABLES), ", ".join(missing)
            problems.append(f"mutual TLS needs {together} together; missing {absent}")
            return None
        contents: list[bytes] = []
        for variable, path in paths.items():
            try:
                contents.append(Path(path).read_bytes())
            except OSError as error:
                problems.append(f"{variable}: cannot read {path!r} ({error.strerror})")
        if len(contents) != len(paths):
            return None
        certificate, key, ca = contents
        return cls(certificate_chain=certificate, private_key=key, ca_certificates=ca)


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """Server credentials that require a client certificate signed by the platform's CA."""
    return grpc.ssl_server_credentials(
        [(tls.private_key, tls.certificate_chain)],
        root_certificates=tls.ca_certificates,
        require_client_auth=True,
    )


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    """Client credentials: this process's certificate, and the CA the server must be signed by."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca_certificates,
        private_key=tls.private_key,
        certificate_chain=tls.certificate_chain,
    )


def open_channel(
    address: str, *, keepalive: Keepalive | None = None, tls: TlsFiles | None = None
) -> grpc.aio.Channel:
    """An aio channel to ``address``: traced, with the platform's keepalive, mTLS when configured.

    Its keepalive is ``keepalive`` (the service's settings; the default
    otherwise), which the servers of the platform accept.
    """
    options = (keepalive or Keepalive()).channel_options()
    if tls is None:
        return grpc.aio.insecure_channel(
            address, interceptors=client_interceptors(), options=options
        )
    return grpc.aio.secure_channel(
        address, channel_credentials(tls), interceptors=client_interceptors(), options=options
    )
