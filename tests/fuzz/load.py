"""`make fuzz`'s load part: 10,000 concurrent calls to one read RPC, health measured throughout.

Starts the five services as `make run` does (SQLite files), sends 10,000
``ListCriteria`` calls at once from ten callers, and meanwhile asks criteria's
health every 100 ms. Every call must end OK, RESOURCE_EXHAUSTED or
UNAVAILABLE (never INTERNAL, UNKNOWN or CANCELLED) and every health answer
come within 2 s. With TEST_POSTGRES_URL set it runs again on PostgreSQL (a
fresh database per service). Prints the figures; exits 1 if a check fails.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from run_platform import SERVICES, Credentials, Service, start_platform

from customs_kit.auth import Role, generate_key_pair, mint_token
from customs_kit.testing.database import fresh_postgres_database

CALLS = int(os.environ.get("FUZZ_LOAD_CALLS", "10000"))
CALLERS = 10
HEALTH_LIMIT_SECONDS = 2.0
_ACCEPTED = {"OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _probe_health(address: str, done: threading.Event, latencies: list[float]) -> None:
    # A thread and a channel of its own: the burst's event loop must not delay the probe.
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while not done.is_set():
            started = time.monotonic()
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
                latencies.append(time.monotonic() - started)
            except grpc.RpcError:
                latencies.append(float("inf"))
            done.wait(0.1)


async def _burst(address: str, private_pem: bytes) -> tuple[collections.Counter[str], float, int]:
    tokens = [
        mint_token(private_pem, subject=f"analyst-{n}", roles=[Role.ANALYST])
        for n in range(CALLERS)
    ]
    done = threading.Event()
    details: dict[str, str] = {}
    health_latencies: list[float] = []
    prober = threading.Thread(target=_probe_health, args=(address, done, health_latencies))

    async def call(stub: criteria_service_pb2_grpc.CriteriaServiceStub, n: int) -> str:
        try:
            await stub.ListCriteria(
                criteria_service_pb2.ListCriteriaRequest(page_size=50),
                metadata=(("authorization", f"Bearer {tokens[n % CALLERS]}"),),
                timeout=120,
            )
        except grpc.aio.AioRpcError as error:
            details[error.code().name] = error.details() or ""
            return error.code().name
        return "OK"

    prober.start()
    # One connection per caller, as separate clients would have.
    channels = [grpc.aio.insecure_channel(address) for _ in range(CALLERS)]
    try:
        stubs = [criteria_service_pb2_grpc.CriteriaServiceStub(c) for c in channels]
        codes = collections.Counter(
            await asyncio.gather(*(call(stubs[n % CALLERS], n) for n in range(CALLS)))
        )
    finally:
        for channel in channels:
            await channel.close()
        done.set()
        prober.join()
    for code, detail in details.items():
        print(f"  e.g. {code}: {detail}")
    return codes, max(health_latencies, default=0.0), len(health_latencies)


def _run(label: str, database_urls: dict[str, str] | None) -> bool:
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch)
        private_pem, public_pem = generate_key_pair()
        (data_dir / "public.pem").write_bytes(public_pem)
        (data_dir / "service.token").write_text(
            mint_token(private_pem, subject="platform", roles=[Role.SERVICE])
        )
        credentials = Credentials(
            data_dir / "public.pem", data_dir / "service.token", secrets.token_hex(32)
        )
        services = [Service(s.package, _free_port()) for s in SERVICES]
        platform = start_platform(
            host="127.0.0.1",
            services=services,
            credentials=credentials,
            data_dir=data_dir,
            startup_timeout=90,
            database_urls=database_urls,
            extra_environment={"LOG_LEVEL": "WARNING"},
        )
        try:
            started = time.monotonic()
            codes, slowest_health, probes = asyncio.run(
                _burst(platform.address("criteria"), private_pem)
            )
            elapsed = time.monotonic() - started
        finally:
            platform.stop()
    ok = set(codes) <= _ACCEPTED and slowest_health <= HEALTH_LIMIT_SECONDS
    figures = ", ".join(f"{code} {count}" for code, count in codes.most_common())
    print(
        f"load {label}: {CALLS} concurrent ListCriteria from {CALLERS} callers in "
        f"{elapsed:.1f} s: {figures}; health answered {probes} times, slowest "
        f"{slowest_health * 1000:.0f} ms -> {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> int:
    results = [_run("SQLite", None)]
    server = os.environ.get("TEST_POSTGRES_URL")
    if server:
        with contextlib.ExitStack() as stack:
            urls = {
                s.package: stack.enter_context(fresh_postgres_database(server)) for s in SERVICES
            }
            results.append(_run("PostgreSQL", urls))
    else:
        print("load PostgreSQL: skipped (TEST_POSTGRES_URL is not set)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
