"""A receiver restored from an older backup is made whole by reconciling with its sender.

Real PostgreSQL (TEST_POSTGRES_URL): exam_reports' database is backed up with
``pg_dump -Fc`` while scoring delivers RED decisions to it, more decisions are
delivered, and the old backup is restored with ``pg_restore``. The tasks of the
later decisions are gone; scoring still marks their events delivered.
``ReconcileDestination`` on scoring asks exam_reports which of the events it
delivered are missing from its inbox and re-delivers exactly those: every
decision has its task once, and a second reconciliation finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from customs.events.v1 import event_delivery_service_pb2 as events_pb2
from customs.events.v1 import event_delivery_service_pb2_grpc as events_grpc
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf import timestamp_pb2
from process_platforms import free_port
from scoring_support import StartScoring, declaration, item, until_serving
from sqlalchemy import make_url

from compliance.entrypoints.server import bootstrap as compliance_bootstrap
from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.entrypoints.server import bootstrap as exam_reports_bootstrap

NOWHERE = {peer: "127.0.0.1:9" for peer in ("criteria", "compliance", "audit-referral", "scoring")}


@pytest.fixture
def exam_reports_database_url() -> Iterator[str]:
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("CI") == "true":
            pytest.fail("TEST_POSTGRES_URL must be set in CI")
        pytest.skip("backup and restore are tested on PostgreSQL (TEST_POSTGRES_URL)")
    with fresh_postgres_database(server) as url:
        yield url


def _libpq(url: str) -> str:
    """The libpq URL pg_dump and pg_restore take for a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def _eventually(condition: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


class _Receiver:
    """exam_reports on a fixed port, so that it can be stopped, restored and started again."""

    def __init__(self, settings: ServiceSettings, keys: SigningKeys) -> None:
        self.settings = settings
        self.keys = keys

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.grpc_port}"

    def running(self) -> contextlib.AbstractAsyncContextManager[RunningService]:
        return running_service(self.settings, exam_reports_bootstrap)

    async def declarations(self, service: RunningService) -> list[str]:
        listed = await exam_reports_service_pb2_grpc.ExamReportsServiceStub(
            service.channel
        ).ListExaminations(
            exam_reports_service_pb2.ListExaminationsRequest(page_size=500),
            metadata=self.keys.metadata(Role.SUPERVISOR, subject="supervisor"),
            # Just restarted: the connection to the old process may still be backing off.
            wait_for_ready=True,
        )
        return sorted(examination.declaration_number for examination in listed.examinations)


@pytest.fixture
async def compliance(
    make_settings: Callable[..., ServiceSettings], tmp_path: Path
) -> AsyncIterator[RunningService]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'compliance.db'}"
    async with running_service(make_settings("compliance", url), compliance_bootstrap) as running:
        yield running


async def test_a_restored_receiver_gets_exactly_its_lost_events_again(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    exam_reports_database_url: str,
    compliance: RunningService,
    test_keys: SigningKeys,
    tmp_path: Path,
) -> None:
    receiver = _Receiver(
        replace(
            make_settings("exam-reports", exam_reports_database_url, NOWHERE),
            grpc_port=free_port(),
        ),
        test_keys,
    )
    backup = tmp_path / "exam_reports.dump"
    first = [f"30/2026/{n:06d}" for n in range(1, 6)]
    later = [f"30/2026/{n:06d}" for n in range(6, 11)]
    started = datetime.now(UTC)
    async with contextlib.AsyncExitStack() as before_restore:
        exam_reports = await before_restore.enter_async_context(receiver.running())
        await exam_reports_service_pb2_grpc.ExamReportsServiceStub(
            exam_reports.channel
        ).CreateOffice(
            exam_reports_service_pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id="30",
                office=office_pb2.Office(
                    display_name="Office 30", time_zone="Asia/Seoul", active=True
                ),
            ),
            metadata=test_keys.metadata(Role.OPERATOR, subject="operator"),
        )
        peers = {"exam-reports": receiver.address, "compliance": compliance.address}
        async with start_scoring(peers=peers) as scoring:
            await until_serving(scoring)
            stub = scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)

            async def assess(numbers: list[str]) -> None:
                for number in numbers:
                    await stub.AssessDeclaration(
                        scoring_service_pb2.AssessDeclarationRequest(
                            declaration=declaration(
                                number, item(hs_code="240220"), office_code="30"
                            )
                        ),
                        metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
                    )

            await assess(first)
            await _eventually(lambda: _has(receiver, exam_reports, first))
            await asyncio.to_thread(
                _run,
                ["pg_dump", "-Fc", "-f", str(backup), _libpq(exam_reports_database_url)],
            )
            await assess(later)
            await _eventually(lambda: _has(receiver, exam_reports, first + later))

            # The receiver is stopped and its database restored to the backup.
            await before_restore.aclose()
            restore_started = time.monotonic()
            await asyncio.to_thread(
                _run,
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "-d",
                    _libpq(exam_reports_database_url),
                    str(backup),
                ],
            )
            restored_in = time.monotonic() - restore_started
            async with receiver.running() as restored:
                assert await receiver.declarations(restored) == first

                events = events_grpc.EventDeliveryServiceStub(scoring.channel)
                reconcile_started = time.monotonic()
                answer = await _customs(
                    scoring,
                    test_keys,
                    "events",
                    "reconcile",
                    "scoring",
                    "exam-reports",
                    "--since",
                    started.isoformat(),
                    "--output",
                    "json",
                )
                assert answer.exit_code == 0, answer.stderr
                reconciled_in = time.monotonic() - reconcile_started
                [reconciled] = json.loads(answer.stdout)
                assert (reconciled["checked"], reconciled["redelivered"]) == ("10", "5")
                assert "beyondRetentionWindow" not in reconciled
                await _eventually(lambda: _has(receiver, restored, first + later))
                recovered_in = time.monotonic() - reconcile_started
                assert await receiver.declarations(restored) == sorted(first + later)

                again = await events.ReconcileDestination(
                    events_pb2.ReconcileDestinationRequest(
                        destination="exam-reports", since=_timestamp(started)
                    ),
                    metadata=test_keys.metadata(Role.OPERATOR, subject="operator"),
                )
                assert (again.checked, again.redelivered) == (10, 0)
                await asyncio.sleep(0.3)
                assert await receiver.declarations(restored) == sorted(first + later)
    print(
        f"restore_seconds={restored_in:.2f} reconcile_command_seconds={reconciled_in:.2f} "
        f"reconcile_to_whole_seconds={recovered_in:.2f}"
    )


@dataclass(frozen=True)
class _Run:
    exit_code: int
    stdout: str
    stderr: str


async def _customs(scoring: RunningService, keys: SigningKeys, *arguments: str) -> _Run:
    """``customs ARGUMENTS`` run as an operator runs it: its own process."""
    environment = {
        **os.environ,
        "CUSTOMS_SCORING_ADDR": scoring.address,
        "CUSTOMS_TOKEN": keys.token(Role.OPERATOR, subject="operator"),
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("customs")),
        *arguments,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return _Run(process.returncode, stdout.decode(), stderr.decode())


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


async def _has(receiver: _Receiver, service: RunningService, numbers: list[str]) -> bool:
    return await receiver.declarations(service) == sorted(numbers)


async def test_reconciling_a_destination_the_service_does_not_deliver_to_is_refused(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    async with start_scoring() as scoring:
        events = events_grpc.EventDeliveryServiceStub(scoring.channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await events.ReconcileDestination(
                events_pb2.ReconcileDestinationRequest(
                    destination="nowhere", since=_timestamp(datetime.now(UTC))
                ),
                metadata=test_keys.metadata(Role.OPERATOR, subject="operator"),
            )
        unknown = await _customs(
            scoring,
            test_keys,
            *("events", "reconcile", "scoring", "scoring", "--since", "2026-12-01T00:00:00Z"),
        )
        with pytest.raises(grpc.aio.AioRpcError) as analyst:
            await events.ReconcileDestination(
                events_pb2.ReconcileDestinationRequest(
                    destination="exam-reports", since=_timestamp(datetime.now(UTC))
                ),
                metadata=test_keys.metadata(Role.ANALYST, subject="ana"),
            )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert analyst.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert unknown.exit_code == 1
    assert "DESTINATION_UNKNOWN" in unknown.stderr
