"""Part d: from assessment to examination task, through scoring's outbox relay.

Scoring and exam_reports run as their production entrypoints in processes of
their own (scoring with the generated criteria injected, see
scoring_server.py), each on its own SQLite file or fresh PostgreSQL database;
compliance and audit_referral are stood in for by the event sink. The
offices of the declarations exist in exam_reports. One bulk stream lodges
the declarations; the delay of a decision is the time from its assessment's
``create_time`` (scoring) to its task's ``create_time`` (exam_reports), both
stamped by the servers on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import declaration_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from report import percentile
from run_platform import stop_all, wait_until_serving
from scoring_server import write_rules
from service_bench import Server, free_port, scoring_database, wait_for_port

from customs_kit.auth import Role, generate_key_pair, mint_token

_BENCH_DIR = Path(__file__).resolve().parent
_STARTUP_SECONDS = 180.0
#: How long the tasks may take to arrive after the stream ends before the part gives up.
_DRAIN_SECONDS = 300.0
_EXAMINED = (selectivity_pb2.CHANNEL_RED, selectivity_pb2.CHANNEL_YELLOW)


@dataclass(frozen=True)
class _Platform:
    scoring: Server
    exam_reports: str
    operator: tuple[tuple[str, str], ...]


@contextlib.contextmanager
def _platform(
    rules: Sequence[criteria_service_pb2.WatchActiveCriteriaResponse], postgres: str | None
) -> Iterator[_Platform]:
    with tempfile.TemporaryDirectory(prefix="delivery-bench-") as temporary:
        directory = Path(temporary)
        private_pem, public_pem = generate_key_pair()
        (directory / "public.pem").write_bytes(public_pem)
        rules_file = directory / "rules.bin"
        write_rules(rules_file, rules)
        sink_port, exam_port, scoring_port = free_port(), free_port(), free_port()
        sink = f"127.0.0.1:{sink_port}"
        processes: list[subprocess.Popen[bytes]] = []
        with (
            scoring_database(postgres, directory, "scoring") as scoring_url,
            scoring_database(postgres, directory, "exam_reports") as exam_url,
            contextlib.ExitStack() as cleanup,
        ):
            cleanup.callback(stop_all, processes, 15.0)
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(_BENCH_DIR / "event_sink.py"), str(sink_port)]
                )
            )

            def environment(service: str, database: str, port: int) -> dict[str, str]:
                token = directory / f"{service}.token"
                token.write_text(mint_token(private_pem, subject=service, roles=[Role.SERVICE]))
                return {
                    **os.environ,
                    "DATABASE_URL": database,
                    "GRPC_HOST": "127.0.0.1",
                    "GRPC_PORT": str(port),
                    "AUTH_PUBLIC_KEY_FILE": str(directory / "public.pem"),
                    "SERVICE_TOKEN_FILE": str(token),
                    "PAGE_TOKEN_SECRET": secrets.token_hex(16),
                    "CRITERIA_ADDR": sink,
                    "COMPLIANCE_ADDR": sink,
                    "AUDIT_REFERRAL_ADDR": sink,
                }

            deadline = time.monotonic() + _STARTUP_SECONDS
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "exam_reports.entrypoints.server"],
                    env=environment("exam-reports", exam_url, exam_port),
                    stdout=cleanup.enter_context((directory / "exam_reports.log").open("wb")),
                    stderr=subprocess.STDOUT,
                )
            )
            wait_for_port(sink_port, deadline)
            if not wait_until_serving(f"127.0.0.1:{exam_port}", deadline):
                raise RuntimeError(f"exam_reports did not start; see {directory}")
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(_BENCH_DIR / "scoring_server.py"), str(rules_file)],
                    env={
                        **environment("scoring", scoring_url, scoring_port),
                        "SELECTION_SEED": secrets.token_hex(32),
                        "EXAM_REPORTS_ADDR": f"127.0.0.1:{exam_port}",
                    },
                    stdout=cleanup.enter_context((directory / "scoring.log").open("wb")),
                    stderr=subprocess.STDOUT,
                )
            )
            if not wait_until_serving(f"127.0.0.1:{scoring_port}", deadline):
                raise RuntimeError(f"scoring did not start; see {directory}")

            def bearer(*roles: Role) -> tuple[tuple[str, str], ...]:
                token = mint_token(private_pem, subject="bench", roles=list(roles))
                return (("authorization", f"Bearer {token}"),)

            yield _Platform(
                scoring=Server(
                    address=f"127.0.0.1:{scoring_port}",
                    metadata=bearer(Role.DECLARATION_SYSTEM),
                    database="PostgreSQL" if postgres else "SQLite (WAL, synchronous=FULL)",
                ),
                exam_reports=f"127.0.0.1:{exam_port}",
                operator=bearer(Role.OPERATOR, Role.SUPERVISOR),
            )


@dataclass(frozen=True)
class DeliveryLatencies:
    """Seconds from assessment to examination task, over the decisions that open one."""

    events: int
    p50_s: float
    p99_s: float
    missing: int


def delivery(
    rules: Sequence[criteria_service_pb2.WatchActiveCriteriaResponse],
    postgres: str | None,
    declarations: Sequence[declaration_pb2.Declaration],
) -> tuple[DeliveryLatencies, str]:
    """Streams ``declarations`` and times their tasks; also returns the database's name."""
    with _platform(rules, postgres) as platform:
        return asyncio.run(_measure(platform, declarations)), platform.scoring.database


async def _measure(
    platform: _Platform, declarations: Sequence[declaration_pb2.Declaration]
) -> DeliveryLatencies:
    async with grpc.aio.insecure_channel(platform.exam_reports) as channel:
        exam_reports = exam_reports_service_pb2_grpc.ExamReportsServiceStub(channel)  # type: ignore[no-untyped-call]
        for office in sorted({declaration.office_code for declaration in declarations}):
            await exam_reports.CreateOffice(
                exam_reports_service_pb2.CreateOfficeRequest(
                    request_id=str(uuid.uuid4()),
                    office_id=office,
                    office=office_pb2.Office(
                        display_name=f"Office {office}", time_zone="Asia/Seoul", active=True
                    ),
                ),
                metadata=platform.operator,
            )
        assessed = await _stream(platform.scoring, declarations)
        expected = {
            name: moment for name, (channel_, moment) in assessed.items() if channel_ in _EXAMINED
        }
        opened = await _tasks_when_all_open(exam_reports, platform.operator, len(expected))
    delays = [opened[name] - moment for name, moment in expected.items() if name in opened]
    return DeliveryLatencies(
        events=len(delays),
        p50_s=percentile(delays, 0.5),
        p99_s=percentile(delays, 0.99),
        missing=len(expected) - len(delays),
    )


async def _stream(
    server: Server, declarations: Sequence[declaration_pb2.Declaration]
) -> dict[str, tuple[int, float]]:
    """Each assessment's channel and create time (seconds since the epoch), by name."""

    async def requests() -> AsyncIterator[scoring_service_pb2.AssessDeclarationsRequest]:
        for declaration in declarations:
            yield scoring_service_pb2.AssessDeclarationsRequest(declaration=declaration)

    assessed: dict[str, tuple[int, float]] = {}
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(channel)  # type: ignore[no-untyped-call]
        async for response in stub.AssessDeclarations(requests(), metadata=server.metadata):
            if response.HasField("assessment"):
                assessment = response.assessment
                assessed[assessment.name] = (
                    assessment.channel,
                    assessment.create_time.ToNanoseconds() / 1e9,
                )
    return assessed


async def _tasks_when_all_open(
    stub: exam_reports_service_pb2_grpc.ExamReportsServiceStub,
    metadata: tuple[tuple[str, str], ...],
    expected: int,
) -> dict[str, float]:
    """The create time of each task, by assessment, once ``expected`` are open (or time is up)."""
    deadline = time.monotonic() + _DRAIN_SECONDS
    while True:
        opened: dict[str, float] = {}
        token = ""
        while True:
            page = await stub.ListExaminations(
                exam_reports_service_pb2.ListExaminationsRequest(page_size=1000, page_token=token),
                metadata=metadata,
            )
            for task in page.examinations:
                opened[task.assessment] = task.create_time.ToNanoseconds() / 1e9
            token = page.next_page_token
            if not token:
                break
        if len(opened) >= expected or time.monotonic() > deadline:
            return opened
        await asyncio.sleep(1.0)
