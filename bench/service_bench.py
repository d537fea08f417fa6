"""Parts b and c: the real scoring server over gRPC on loopback, decisions persisted.

The server is the production entrypoint in its own process (with the
generated criteria injected at start, see scoring_server.py), on a SQLite
file or a fresh PostgreSQL database; a second process accepts the events its
outbox relay delivers. This process is the declaration system: it lodges
data-set declarations, each version once, and times every answer
(wall clock, client side).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from customs.criteria.v1 import criteria_service_pb2
from customs.scoring.v1 import declaration_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from report import percentile
from run_platform import stop_all, wait_until_serving
from scoring_server import write_rules

from customs_kit.auth import Role, generate_key_pair, mint_token
from customs_kit.testing.database import fresh_postgres_database

_BENCH_DIR = Path(__file__).resolve().parent
#: Scoring compiles and journals 10,000 criteria first: minutes on a loaded machine.
_STARTUP_SECONDS = 600.0


@dataclass(frozen=True)
class Server:
    """A running scoring server and how to call it."""

    address: str
    metadata: tuple[tuple[str, str], ...]
    database: str


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, deadline: float) -> None:
    """Returns once something listens on ``port``; raises at ``deadline``."""
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextlib.contextmanager
def scoring_database(postgres: str | None, directory: Path, name: str = "scoring") -> Iterator[str]:
    """A fresh PostgreSQL database on ``postgres`` or a SQLite file ``name`` in ``directory``."""
    if postgres:
        with fresh_postgres_database(postgres) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{directory / name}.db"


@contextlib.contextmanager
def scoring_server(
    rules: Sequence[criteria_service_pb2.WatchActiveCriteriaResponse], postgres: str | None
) -> Iterator[Server]:
    """A scoring server serving ``rules``, and the event sink its relay delivers to."""
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as temporary:
        directory = Path(temporary)
        private_pem, public_pem = generate_key_pair()
        (directory / "public.pem").write_bytes(public_pem)
        (directory / "service.token").write_text(
            mint_token(private_pem, subject="scoring", roles=[Role.SERVICE])
        )
        rules_file = directory / "rules.bin"
        write_rules(rules_file, rules)
        sink_port, port = free_port(), free_port()
        sink_address = f"127.0.0.1:{sink_port}"
        processes: list[subprocess.Popen[bytes]] = []
        with scoring_database(postgres, directory) as database, contextlib.ExitStack() as cleanup:
            cleanup.callback(stop_all, processes, 15.0)
            log = cleanup.enter_context((directory / "scoring.log").open("wb"))
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(_BENCH_DIR / "event_sink.py"), str(sink_port)]
                )
            )
            environment = {
                **os.environ,
                "DATABASE_URL": database,
                "GRPC_HOST": "127.0.0.1",
                "GRPC_PORT": str(port),
                "AUTH_PUBLIC_KEY_FILE": str(directory / "public.pem"),
                "SERVICE_TOKEN_FILE": str(directory / "service.token"),
                "PAGE_TOKEN_SECRET": secrets.token_hex(16),
                "SELECTION_SEED": secrets.token_hex(32),
                "EXAM_REPORTS_ADDR": sink_address,
                "COMPLIANCE_ADDR": sink_address,
                "AUDIT_REFERRAL_ADDR": sink_address,
                "CRITERIA_ADDR": sink_address,
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(_BENCH_DIR / "scoring_server.py"), str(rules_file)],
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            deadline = time.monotonic() + _STARTUP_SECONDS
            wait_for_port(sink_port, deadline)
            if not wait_until_serving(f"127.0.0.1:{port}", deadline):
                raise RuntimeError(f"scoring did not start; see {directory / 'scoring.log'}")
            token = mint_token(private_pem, subject="bench", roles=[Role.DECLARATION_SYSTEM])
            yield Server(
                address=f"127.0.0.1:{port}",
                metadata=(("authorization", f"Bearer {token}"),),
                database="PostgreSQL" if postgres else "SQLite (WAL, synchronous=FULL)",
            )


@contextlib.asynccontextmanager
async def _stub(server: Server) -> AsyncIterator[scoring_service_pb2_grpc.ScoringServiceStub]:
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield scoring_service_pb2_grpc.ScoringServiceStub(channel)  # type: ignore[no-untyped-call]


async def _unary_latencies(
    server: Server, declarations: Sequence[declaration_pb2.Declaration], concurrency: int
) -> list[float]:
    queue = list(reversed(declarations))
    latencies: list[float] = []
    async with _stub(server) as stub:

        async def lodge() -> None:
            while queue:
                request = scoring_service_pb2.AssessDeclarationRequest(declaration=queue.pop())
                started = time.perf_counter()
                response = await stub.AssessDeclaration(request, metadata=server.metadata)
                latencies.append((time.perf_counter() - started) * 1_000)
                if response.already_assessed:
                    raise AssertionError("a declaration of the benchmark was lodged twice")

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(lodge())
    return latencies


async def _ceiling_latencies(server: Server, calls: int, concurrency: int) -> list[float]:
    """Latencies of the standard health ``Check``: what the server's gRPC machinery costs."""
    remaining = calls
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)  # type: ignore[no-untyped-call]

        async def check() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                await stub.Check(health_pb2.HealthCheckRequest())
                latencies.append((time.perf_counter() - started) * 1_000)

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(check())
    return latencies


def ceiling(server: Server, calls: int, concurrency: int) -> float:
    """Health checks per second with ``concurrency`` callers: the ceiling of any unary RPC."""
    started = time.perf_counter()
    latencies = asyncio.run(_ceiling_latencies(server, calls, concurrency))
    return len(latencies) / (time.perf_counter() - started)


@dataclass(frozen=True)
class Latencies:
    """Wall-clock latency of AssessDeclaration at one concurrency."""

    concurrency: int
    calls: int
    p50_ms: float
    p99_ms: float
    per_second: float


def unary(
    server: Server,
    warm_up: Sequence[declaration_pb2.Declaration],
    declarations: Sequence[declaration_pb2.Declaration],
    concurrency: int,
) -> Latencies:
    """Lodges ``warm_up`` (not timed), then ``declarations`` with ``concurrency`` callers."""
    asyncio.run(_unary_latencies(server, warm_up, concurrency))
    started = time.perf_counter()
    latencies = asyncio.run(_unary_latencies(server, declarations, concurrency))
    elapsed = time.perf_counter() - started
    return Latencies(
        concurrency=concurrency,
        calls=len(latencies),
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
        per_second=len(latencies) / elapsed,
    )


async def _stream(
    server: Server, declarations: Sequence[declaration_pb2.Declaration]
) -> tuple[int, int]:
    async def requests() -> AsyncIterator[scoring_service_pb2.AssessDeclarationsRequest]:
        for declaration in declarations:
            yield scoring_service_pb2.AssessDeclarationsRequest(declaration=declaration)

    assessed = errors = 0
    async with _stub(server) as stub:
        call = stub.AssessDeclarations(requests(), metadata=server.metadata)
        async for response in call:
            if response.HasField("assessment"):
                assessed += 1
            else:
                errors += 1
    return assessed, errors


@dataclass(frozen=True)
class Throughput:
    """Declarations assessed per second over one AssessDeclarations stream."""

    declarations: int
    errors: int
    per_second: float


def bulk(server: Server, declarations: Sequence[declaration_pb2.Declaration]) -> Throughput | None:
    """Streams ``declarations`` through AssessDeclarations; None if it is not implemented."""
    try:
        # An empty stream first: an unimplemented RPC fails it cleanly, whereas a
        # stream still sending when the server refuses ends in a transport error.
        asyncio.run(_stream(server, ()))
    except grpc.aio.AioRpcError as error:
        if error.code() is grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise
    started = time.perf_counter()
    assessed, errors = asyncio.run(_stream(server, declarations))
    return Throughput(assessed, errors, assessed / (time.perf_counter() - started))
