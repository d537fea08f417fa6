"""The README's "first declaration" walkthrough and its Python example, run as written.

The shell block is taken from README.md and run by bash in a directory laid
out like the repository after `make run` (`.venv`, `libs`, `.run/` with the
developer token and the signing key), against five services of its own: the
walkthrough uses the data set's office 30 and a cigarettes criterion, which
other journeys of the shared platform use too. The risk model journey runs
last on the same services, so the walkthrough sees no model yet.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import addresses, customs
from customs.exam_reports.v1 import exam_report_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as exam_reports
from e2e_support import eventually
from process_platforms import platform_of_processes
from run_platform import SERVICES, Platform

from customs_client import CustomsClient
from customs_client.declarations import DECLARATION_COLUMNS
from customs_kit.auth import Role
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


@pytest.fixture(scope="module")
def own_platform(
    test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Five services of the walkthrough's own, each with its own database."""
    with platform_of_processes(
        test_keys, tmp_path_factory.mktemp("walkthrough-platform"), startup_timeout=90
    ) as running:
        yield running


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


def test_training_before_any_outcome_is_refused_and_starts_nothing(
    own_platform: Platform, test_keys: SigningKeys
) -> None:
    # First in the module: the walkthrough below brings the first outcome.
    trainer = test_keys.token(*_HUMAN_ROLES, subject="trainer-tom")

    refused = customs(own_platform, trainer, "model", "train", "--wait")
    listed = customs(own_platform, trainer, "model", "list", "-o", "csv")

    assert refused.exit_code == 1
    assert "FAILED_PRECONDITION" in refused.stderr
    assert "NO_OUTCOMES" in refused.stderr
    assert list(csv.DictReader(io.StringIO(listed.stdout))) == []


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


def _history_csv(path: Path, rows: int) -> Path:
    """Declarations over six months of 2021; importers RISKY0-4 infringe four times in five."""
    header = [*DECLARATION_COLUMNS, "Fraud", "Critical Fraud"]
    lines = [",".join(header)]
    for index in range(rows):
        risky = index % 4 == 0
        fraud = (index % 5 != 0) if risky else (index % 23 == 0)
        values = {
            "Declaration ID": f"{80_000_000 + index}",
            "Date": f"2021-{index % 6 + 1:02d}-{index % 27 + 1:02d}",
            "Office ID": "30",
            "Process Type": "B",
            "Import Type": "11",
            "Import Use": "21",
            "Payment Type": "11",
            "Mode of Transport": "10",
            "Declarant ID": f"D{index % 7}",
            "Importer ID": f"RISKY{index % 5}" if risky else f"SAFE{index % 40}",
            "Seller ID": f"S{index % 11}",
            "Courier ID": "",
            "HS6 Code": "610910" if risky else "940350",
            "Country of Departure": "CN",
            "Country of Origin": "CN",
            "Tax Rate": "8.0",
            "Tax Type": "A",
            "Country of Origin Indicator": "G",
            "Net Mass": f"{10 + index % 90}.0",
            "Item Price": f"{1000 + (index * 37) % 5000}.0",
            "Fraud": "1" if fraud else "0",
            "Critical Fraud": ("2" if index % 40 == 0 else "1") if fraud else "0",
        }
        lines.append(",".join(values[column] for column in header))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.timeout(900)
def test_a_model_is_imported_trained_and_approved_by_a_second_person_from_the_command_line(
    own_platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    trainer = test_keys.token(*_HUMAN_ROLES, subject="trainer-tom")
    approver = test_keys.token(Role.RMC, Role.SUPERVISOR, Role.ANALYST, subject="rmc-rita")
    history = _history_csv(tmp_path / "history.csv", 600)

    imported = customs(own_platform, trainer, "history", "import", str(history))
    again = customs(own_platform, trainer, "history", "import", str(history))
    broken = tmp_path / "broken.csv"
    broken.write_text(history.read_text().replace(",1,1\n", ",yes,1\n", 1))
    refused = customs(own_platform, trainer, "history", "import", str(broken))

    assert imported.exit_code == 0, imported.output
    assert "600 declarations received: 600 imported, 0 already imported" in imported.stdout
    assert "0 imported, 600 already imported" in again.stdout
    assert refused.exit_code == 2
    assert "column 'Fraud' is not 0 or 1: 'yes'" in refused.stderr
    # The same declaration again at another price: refused, and nothing of it is kept.
    changed = tmp_path / "changed.csv"
    lines = history.read_text().splitlines()
    changed.write_text("\n".join([lines[0], lines[1].replace(",1000.0,", ",1001.0,")]) + "\n")
    conflict = customs(own_platform, trainer, "history", "import", str(changed))
    after = customs(own_platform, trainer, "history", "import", str(history))
    assert lines[1] != changed.read_text().splitlines()[1]
    assert conflict.exit_code == 1
    assert "HISTORY_DECLARATION_CONFLICT" in conflict.stderr
    assert "0 imported, 600 already imported" in after.stdout

    trained = customs(own_platform, trainer, "model", "train", "--wait", "--validation-months", "1")
    assert trained.exit_code == 0, trained.output
    version = re.search(r"(riskModels/\S+) trained by trainer-tom", trained.stdout)
    assert version, trained.stdout
    name = version.group(1)
    assert "precision@1% " in trained.stdout
    card = customs(own_platform, trainer, "model", "show", name)
    assert card.exit_code == 0
    assert json.loads(card.stdout[card.stdout.index("{") :])["riskModel"] == name

    def listed() -> list[dict[str, str]] | None:
        result = customs(own_platform, trainer, "model", "list", "-o", "csv")
        found = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["name"] == name]
        return found or None

    # The trained version reaches criteria through scoring's outbox.
    assert eventually(listed, timeout=60)[0]["state"] == "DRAFT"
    submitted = customs(
        own_platform,
        trainer,
        "model",
        "submit",
        name,
        "--threshold",
        "0.5",
        "--reason",
        "first model",
    )
    own = customs(own_platform, trainer, "model", "approve")
    approved = customs(own_platform, approver, "model", "approve")

    assert submitted.exit_code == 0, submitted.output
    assert own.exit_code == 1
    assert "SELF_APPROVAL" in own.stderr
    assert approved.exit_code == 0, approved.output
    assert f"scoring serves {name}" in approved.stdout
    decisions = tmp_path / "decisions.csv"
    lodged = _history_csv(tmp_path / "new.csv", 3)
    assessed = customs(own_platform, trainer, "assess", str(lodged), "--out", str(decisions))
    assert assessed.exit_code == 0, assessed.output
    scores = [float(row["score"]) for row in csv.DictReader(io.StringIO(decisions.read_text()))]
    assert len(scores) == 3
    assert all(0.0 <= score <= 1.0 for score in scores)
    missing = customs(own_platform, trainer, "model", "show", "no-such-model")
    assert missing.exit_code == 1
    assert "NOT_FOUND" in missing.stderr
