"""All five services as real processes, with a real OTLP collector receiving their spans.

Each service gets its own database: a fresh PostgreSQL database per service when
TEST_POSTGRES_URL is set (CI), SQLite files otherwise.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_receiver import Collector
from run_platform import SERVICES, Credentials, Platform, Service, start_platform

from customs_kit.auth import Role
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import SigningKeys

_START_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def collector() -> Iterator[tuple[Collector, int]]:
    """A running OTLP collector and its port."""
    receiver = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield receiver, port
    server.stop(grace=None)


@pytest.fixture(scope="session")
def platform(
    test_keys: SigningKeys,
    collector: tuple[Collector, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """The five services as processes on free ports, each with its own database."""
    data_dir = tmp_path_factory.mktemp("platform")
    service_token = data_dir / "service.token"
    service_token.write_text(test_keys.token(Role.SERVICE, subject="platform"))
    _, collector_port = collector
    with contextlib.ExitStack() as stack:
        server = os.environ.get("TEST_POSTGRES_URL")
        database_urls = (
            {s.package: stack.enter_context(fresh_postgres_database(server)) for s in SERVICES}
            if server
            else None
        )
        credentials = Credentials(
            public_key=test_keys.public_key_file,
            service_token=service_token,
            selection_seed=secrets.token_hex(32),
        )
        for attempt in range(_START_ATTEMPTS):
            # A port found free can be taken by another test before a service binds it.
            services = [Service(s.package, _free_port(), _free_port()) for s in SERVICES]
            try:
                running = start_platform(
                    host="127.0.0.1",
                    services=services,
                    credentials=credentials,
                    data_dir=data_dir,
                    startup_timeout=60,
                    database_urls=database_urls,
                    extra_environment={
                        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
                        "OTEL_EXPORTER_OTLP_INSECURE": "true",
                        "OTEL_BSP_SCHEDULE_DELAY": "100",
                        "LOG_LEVEL": "INFO",
                    },
                )
                break
            except RuntimeError:
                if attempt == _START_ATTEMPTS - 1:
                    raise
        try:
            yield running
        finally:
            codes = running.stop()
            assert codes == [0] * len(codes), f"a service did not stop cleanly: {codes}"
