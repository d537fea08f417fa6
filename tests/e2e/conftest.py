"""All five services as real processes, with a real OTLP collector receiving their spans.

Each service gets its own database: a fresh PostgreSQL database per service when
TEST_POSTGRES_URL is set (CI), SQLite files otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_receiver import Collector
from process_platforms import platform_of_processes
from run_platform import Platform

from customs_kit.testing.services import SigningKeys


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
    _, collector_port = collector
    with platform_of_processes(
        test_keys,
        tmp_path_factory.mktemp("platform"),
        # Five interpreters importing on a busy 2-core machine can take over a minute.
        startup_timeout=180,
        extra_environment={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "LOG_LEVEL": "INFO",
        },
    ) as running:
        yield running
        codes = running.stop()
        assert codes == [0] * len(codes), f"a service did not stop cleanly: {codes}"
