"""A report is never lost once acknowledged, even when the process is killed at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from customs.exam_reports.v1 import exam_report_pb2, examination_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import Client, discrepancy_report, open_desk

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

_READY_WITHIN_SECONDS = 30.0


def _environment(database_url: str, keys: SigningKeys, tmp_path: Path) -> dict[str, str]:
    """The process environment of the service, as a deployment would set it."""
    token = tmp_path / "exam-reports.token"
    token.write_text(keys.token(Role.SERVICE, subject="exam-reports"))
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": "0",
        "AUTH_PUBLIC_KEY_FILE": str(keys.public_key_file),
        "SERVICE_TOKEN_FILE": str(token),
        "PAGE_TOKEN_SECRET": secrets.token_hex(16),
        # Receivers that are not running: approved outcomes would wait in the outbox.
        "CRITERIA_ADDR": "127.0.0.1:9",
        "COMPLIANCE_ADDR": "127.0.0.1:9",
        "AUDIT_REFERRAL_ADDR": "127.0.0.1:9",
        "SCORING_ADDR": "127.0.0.1:9",
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.asynccontextmanager
async def _service_process(
    environment: dict[str, str], log: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``python -m exam_reports.entrypoints.server`` running, with the address it listens on."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exam_reports.entrypoints.server",
            env=environment,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield process, await _address(process, log)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _logged_address(log: Path) -> str | None:
    """The address of the ``service_started`` line, once the process has logged it."""
    for line in log.read_text().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("message") == "service_started":
                return str(entry["address"])
    return None


async def _address(process: asyncio.subprocess.Process, log: Path) -> str:
    """The address the process listens on, once it serves."""
    async with asyncio.timeout(_READY_WITHIN_SECONDS):
        while (address := _logged_address(log)) is None:
            if process.returncode is not None:
                raise AssertionError(f"the service exited early, see {log}")
            await asyncio.sleep(0.05)
    return address


async def test_killing_the_process_right_after_the_acknowledgement_loses_nothing(
    database_url: str, test_keys: SigningKeys, tmp_path: Path
) -> None:
    environment = _environment(database_url, test_keys, tmp_path)

    async with (
        _service_process(environment, tmp_path / "first.log") as (process, address),
        grpc.aio.insecure_channel(address) as channel,
    ):
        desk = await open_desk(Client(channel, test_keys))
        acknowledged = await desk.submit(discrepancy_report(desk.examination))
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL

    async with (
        _service_process(environment, tmp_path / "restarted.log") as (restarted, address),
        grpc.aio.insecure_channel(address) as channel,
    ):
        client = Client(channel, test_keys)
        read = await client.as_(Role.OFFICER, subject="anna").GetExamReport(
            pb2.GetExamReportRequest(name=acknowledged.name)
        )
        examination = await client.supervisor.GetExamination(
            pb2.GetExaminationRequest(name=desk.examination)
        )
        restarted.terminate()
        assert await restarted.wait() == 0

    assert read.exam_report == acknowledged
    assert read.exam_report.state == exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED
    assert examination.examination.state == examination_pb2.EXAMINATION_STATE_AWAITING_REVIEW
    assert examination.examination.exam_report == acknowledged.name
