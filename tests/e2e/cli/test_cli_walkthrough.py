"""The README's "first declaration" walkthrough and its Python example, run as written.

The shell block is taken from README.md and run by bash in a directory laid
out like the repository after `make run` (`.venv`, `libs`, `.run/` with the
developer token and the signing key), against five services of its own: the
walkthrough uses the data set's office 30 and a cigarettes criterion, which
other journeys of the shared platform use too.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import addresses
from customs.exam_reports.v1 import exam_report_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as exam_reports
from run_platform import SERVICES, Credentials, Platform, Service, start_platform

from customs_client import CustomsClient
from customs_kit.auth import Role
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e

_REPOSITORY = Path(__file__).resolve().parents[3]
_HUMAN_ROLES = [role for role in Role if role is not Role.SERVICE]


def readme_block(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in README.md."""
    readme = (_REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)\n```", section, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def own_platform(
    test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Five services of the walkthrough's own, each with its own database."""
    data_dir = tmp_path_factory.mktemp("walkthrough-platform")
    service_token = data_dir / "service.token"
    service_token.write_text(test_keys.token(Role.SERVICE, subject="platform"))
    with contextlib.ExitStack() as stack:
        server = os.environ.get("TEST_POSTGRES_URL")
        database_urls = (
            {s.package: stack.enter_context(fresh_postgres_database(server)) for s in SERVICES}
            if server
            else None
        )
        credentials = Credentials(test_keys.public_key_file, service_token, secrets.token_hex(32))
        for attempt in range(3):
            try:
                running = start_platform(
                    host="127.0.0.1",
                    services=[Service(s.package, _free_port()) for s in SERVICES],
                    credentials=credentials,
                    data_dir=data_dir,
                    startup_timeout=90,
                    database_urls=database_urls,
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def checkout(test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shaped like the repository root after `make run`."""
    root = tmp_path_factory.mktemp("checkout")
    (root / ".venv").symlink_to(_REPOSITORY / ".venv")
    (root / "libs").symlink_to(_REPOSITORY / "libs")
    run = root / ".run"
    run.mkdir()
    (run / "dev-private.pem").write_bytes(test_keys.private_pem)
    (run / "developer.token").write_text(test_keys.token(*_HUMAN_ROLES, subject="developer"))
    return root


def _environment(platform: Platform) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMS_")}
    return {**environment, **addresses(platform)}


@pytest.mark.timeout(600)
def test_the_first_declaration_walkthrough_runs_as_written(
    own_platform: Platform, checkout: Path, test_keys: SigningKeys
) -> None:
    script = readme_block("### First declaration", "bash")

    finished = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=checkout,
        env=_environment(own_platform),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    decisions = (checkout / "var/walkthrough/decisions.csv").read_text().splitlines()
    assert decisions == [
        "Declaration ID,channel,score,reasons",
        "90000001,RED,,criteria/cigarettes: Cigarettes from any origin",
    ]
    assert "history intact" in finished.stdout
    supervisor = test_keys.token(Role.SUPERVISOR, subject="supervisor-2")
    client_addresses = {s.package: own_platform.address(s.package) for s in SERVICES}
    with CustomsClient(token=supervisor, addresses=client_addresses) as client:
        reports = client.exam_reports.ListExamReports(exam_reports.ListExamReportsRequest())
    assert [(r.declaration_number, r.state) for r in reports.exam_reports] == [
        ("90000001", exam_report_pb2.EXAM_REPORT_STATE_APPROVED)
    ]


def test_the_readme_integration_example_runs_as_written(
    own_platform: Platform, checkout: Path
) -> None:
    example = readme_block("### From Python: `customs_client`", "python")
    assert len([line for line in example.splitlines() if line.strip()]) <= 10

    finished = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", example],
        cwd=checkout,
        env=_environment(own_platform),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    # Run alone or after the walkthrough (whose criterion makes it RED): either way
    # one list of criterion names, then the declaration's channel number.
    criteria_line, channel = finished.stdout.splitlines()
    assert criteria_line.startswith("[")
    assert criteria_line.endswith("]")
    assert channel in {"1", "2", "3", "4"}
