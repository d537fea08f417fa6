"""Pytest fixtures for running services for real: keys and tokens, settings, spans.

Tests start a service's real gRPC server on 127.0.0.1 port 0 with
:func:`running_service` and call it over a real channel; the spans of every
service in the test process land in one in-memory exporter.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from customs_kit.auth import Role, generate_key_pair, mint_token
from customs_kit.channels import open_channel
from customs_kit.server import Bootstrap, GrpcServer
from customs_kit.settings import ServiceSettings


@dataclass(frozen=True)
class SigningKeys:
    """A throw-away signing key pair and the files a service reads it from."""

    private_pem: bytes
    public_key_file: Path
    directory: Path

    def token(self, *roles: Role | str, subject: str = "test-user") -> str:
        """A valid bearer token for ``subject`` with ``roles``."""
        return mint_token(self.private_pem, subject=subject, roles=roles)

    def metadata(self, *roles: Role | str, subject: str = "test-user") -> tuple[tuple[str, str]]:
        """Call metadata carrying a token for ``subject`` with ``roles``."""
        return (("authorization", f"Bearer {self.token(*roles, subject=subject)}"),)


@pytest.fixture(scope="session")
def test_keys(tmp_path_factory: pytest.TempPathFactory) -> SigningKeys:
    """A key pair for the whole session; services verify with its public half."""
    directory = tmp_path_factory.mktemp("keys")
    private_pem, public_pem = generate_key_pair()
    public_key_file = directory / "public.pem"
    public_key_file.write_bytes(public_pem)
    return SigningKeys(
        private_pem=private_pem, public_key_file=public_key_file, directory=directory
    )


@pytest.fixture
def make_settings(test_keys: SigningKeys, tmp_path: Path) -> Callable[..., ServiceSettings]:
    """Builds the settings of a service under test, listening on 127.0.0.1 port 0."""

    def build(
        service_name: str,
        database_url: str,
        peer_addresses: Mapping[str, str] | None = None,
    ) -> ServiceSettings:
        token_file = tmp_path / f"{service_name}.token"
        token_file.write_text(test_keys.token(Role.SERVICE, subject=service_name))
        settings = ServiceSettings.from_env(
            service_name,
            0,
            {
                "DATABASE_URL": database_url,
                "GRPC_HOST": "127.0.0.1",
                "AUTH_PUBLIC_KEY_FILE": str(test_keys.public_key_file),
                "SERVICE_TOKEN_FILE": str(token_file),
                "PAGE_TOKEN_SECRET": secrets.token_hex(16),
                "SHUTDOWN_GRACE_SECONDS": "1",
            },
        )
        return replace(settings, peer_addresses=dict(peer_addresses or {}))

    return build


@dataclass
class RunningService:
    """A service serving on a real port, with a traced channel to it."""

    settings: ServiceSettings
    server: GrpcServer
    channel: grpc.aio.Channel

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.server.port}"


@contextlib.asynccontextmanager
async def running_service(
    settings: ServiceSettings, bootstrap: Bootstrap
) -> AsyncIterator[RunningService]:
    """Bootstraps and serves a service until the block ends, then shuts it down."""
    application = await bootstrap(settings)
    async with GrpcServer(settings, application) as server:
        bound = replace(settings, grpc_port=server.port)
        async with open_channel(
            f"127.0.0.1:{server.port}", keepalive=settings.keepalive, tls=settings.tls
        ) as channel:
            yield RunningService(settings=bound, server=server, channel=channel)


_SESSION_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    """The in-memory exporter receiving every span finished during the test.

    OpenTelemetry allows one global tracer provider per process, so the first use
    installs it for the session and each test starts from an empty exporter.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SESSION_EXPORTER))
        trace.set_tracer_provider(provider)
    _SESSION_EXPORTER.clear()
    yield _SESSION_EXPORTER
    _SESSION_EXPORTER.clear()


def trace_ids(spans: Sequence[object]) -> set[str]:
    """The distinct trace ids (hex) of finished spans."""
    return {format(span.context.trace_id, "032x") for span in spans}  # type: ignore[attr-defined]
