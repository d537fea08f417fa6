"""Mutual TLS in the chassis: the settings switch it on, peers and relays use it, probes still work.

A service with ``TLS_*`` set serves only TLS and only to clients whose
certificate its CA signed; a peer channel of another service with its own
certificate of that CA gets through, and so do outbox events delivered over
it. ``HEALTH_PORT`` serves health, and nothing else, in plaintext for the
kubelet.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from process_platforms import free_port

from customs_kit.channels import TlsFiles, open_channel
from customs_kit.dev_tls import IssuedCertificate, write_development_ca
from customs_kit.peers import Peers
from customs_kit.server import Application
from customs_kit.settings import ServiceSettings, SettingsError
from customs_kit.testing.services import SigningKeys, running_service


async def _no_servicers(_settings: ServiceSettings) -> Application:
    return Application(registrations=[])


def _tls(issued: IssuedCertificate) -> TlsFiles:
    return TlsFiles(
        certificate_chain=issued.certificate.read_bytes(),
        private_key=issued.key.read_bytes(),
        ca_certificates=issued.ca.read_bytes(),
    )


async def _health(channel: grpc.aio.Channel) -> grpc.StatusCode:
    try:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, IssuedCertificate]:
    return write_development_ca(tmp_path / "ca", ["criteria", "scoring"])


def test_the_tls_variables_go_together_and_name_what_is_missing(
    test_keys: SigningKeys, certificates: dict[str, IssuedCertificate]
) -> None:
    base = {
        "AUTH_PUBLIC_KEY_FILE": str(test_keys.public_key_file),
        "PAGE_TOKEN_SECRET": secrets.token_hex(16),
    }
    issued = certificates["criteria"]
    assert ServiceSettings.from_env("criteria", 0, base).tls is None
    settings = ServiceSettings.from_env("criteria", 0, {**base, **issued.environment()})
    assert settings.tls == _tls(issued)
    with pytest.raises(SettingsError, match="missing TLS_CLIENT_CA_FILE"):
        ServiceSettings.from_env("criteria", 0, {**base, "TLS_CERT_FILE": "a", "TLS_KEY_FILE": "b"})


async def test_a_peer_with_a_certificate_of_the_ca_is_served_and_strangers_are_not(
    make_settings: Callable[..., ServiceSettings],
    certificates: dict[str, IssuedCertificate],
    tmp_path: Path,
) -> None:
    server_settings = replace(
        make_settings("criteria", "sqlite+aiosqlite:///:memory:"),
        tls=_tls(certificates["criteria"]),
    )
    (intruder,) = write_development_ca(tmp_path / "other", ["intruder"]).values()
    async with running_service(server_settings, _no_servicers) as service:
        # The chassis's own channel (the fixture's) and a peer's, each with a certificate.
        assert await _health(service.channel) == grpc.StatusCode.OK
        peer_settings = replace(
            make_settings("scoring", "sqlite+aiosqlite:///:memory:"),
            tls=_tls(certificates["scoring"]),
            peer_addresses={"criteria": service.address},
        )
        peers = Peers(peer_settings)
        try:
            assert await _health(peers.channel("criteria")) == grpc.StatusCode.OK
        finally:
            await peers.close()
        strangers = {
            "plaintext": open_channel(service.address),
            "no certificate": grpc.aio.secure_channel(
                service.address,
                grpc.ssl_channel_credentials(certificates["scoring"].ca.read_bytes()),
            ),
            "another CA's certificate": open_channel(
                service.address,
                tls=replace(
                    _tls(intruder), ca_certificates=certificates["scoring"].ca.read_bytes()
                ),
            ),
            "trusting another CA": open_channel(service.address, tls=_tls(intruder)),
        }
        for who, channel in strangers.items():
            async with channel:
                assert await _health(channel) == grpc.StatusCode.UNAVAILABLE, who


async def test_the_health_port_answers_probes_in_plaintext_and_serves_nothing_else(
    make_settings: Callable[..., ServiceSettings], certificates: dict[str, IssuedCertificate]
) -> None:
    health_port = free_port()
    settings = replace(
        make_settings("criteria", "sqlite+aiosqlite:///:memory:"),
        tls=_tls(certificates["criteria"]),
        health_port=health_port,
    )
    async with (
        running_service(settings, _no_servicers),
        grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as probe,
    ):
        assert await _health(probe) == grpc.StatusCode.OK
        reflection = reflection_pb2_grpc.ServerReflectionStub(probe).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in reflection:
                pass
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
