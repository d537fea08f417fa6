"""Fixtures of the kit's persistence tests: both databases, a test-only schema, a receiver."""

from __future__ import annotations

import asyncio
import runpy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from customs_kit.db import Database
from customs_kit.migrations import run_migrations

_MIGRATIONS = str(Path(__file__).with_name("fixture_migrations"))


@pytest.fixture(params=["sqlite", "postgresql"])
def kit_database_url(request: pytest.FixtureRequest) -> str:
    """Each test runs on SQLite and on PostgreSQL (skipped without a server)."""
    url: str = request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url")
    return url


@pytest.fixture
def migrations() -> str:
    """The script location of the test-only service's Alembic history."""
    return _MIGRATIONS


@pytest.fixture
def schema() -> dict[str, Any]:
    """The test-only service schema (``metadata``, ``Widget``)."""
    return runpy.run_path(str(Path(__file__).with_name("fixture_migrations") / "schema.py"))


@pytest.fixture
async def database(kit_database_url: str) -> AsyncIterator[Database]:
    """A migrated database of the test-only service."""
    run_migrations(kit_database_url, _MIGRATIONS)
    database = Database(kit_database_url)
    yield database
    await database.dispose()


@pytest.fixture
def tracing() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A tracer provider of the test's own, so no global state is involved."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@dataclass
class Sink:
    """A real gRPC server with one generic ingest method that records what it receives."""

    method = "/test.sink.v1.SinkService/Ingest"
    port: int = 0
    failures_left: int = 0
    failure_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    delay: float = 0.0
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    attempts: int = 0

    async def ingest(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures_left > 0:
            self.failures_left -= 1
            await context.abort(self.failure_code, "receiver not ready")
        metadata = {item.key: str(item.value) for item in context.invocation_metadata() or ()}
        self.received.append((request, metadata))
        return b""

    @property
    def payloads(self) -> list[bytes]:
        return [payload for payload, _ in self.received]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    """A started :class:`Sink` on 127.0.0.1, port chosen by the system."""
    sink = Sink()
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "test.sink.v1.SinkService", {"Ingest": grpc.unary_unary_rpc_method_handler(sink.ingest)}
    )
    server.add_generic_rpc_handlers((handler,))
    sink.port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield sink
    await server.stop(grace=None)
