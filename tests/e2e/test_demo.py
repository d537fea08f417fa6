"""`make demo` on a slice of the data set, against five services of its own.

The demo sets random rates for every office and criteria on common HS codes,
which would change the channels other journeys of the shared platform expect,
so it gets a platform of its own, as the README walkthrough does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from declarations_dataset import dataset_directory
from process_platforms import platform_of_processes
from rich.console import Console
from run_platform import SERVICES, Platform

from customs_client.demo import DemoOptions, run
from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e

_HUMAN_ROLES = [role for role in Role if role is not Role.SERVICE]
#: The summary's sections, in the order the committee reads them.
SECTIONS = (
    "Declarations per channel per month",
    "Criteria: hit rate (95 % interval), lift over random",
    "Risk model on the random arm",
    "Compliance rates by segment",
    "Referrals and audit cases",
    "Officer integrity flags",
    "Recommendations",
)


@pytest.fixture(scope="module")
def demo_platform(
    test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Five services of the demo's own, each with its own database."""
    with platform_of_processes(
        test_keys, tmp_path_factory.mktemp("demo-platform"), startup_timeout=180
    ) as running:
        yield running


# The whole demo on a slice: setup, training, three days and the reports.
@pytest.mark.timeout(420)
def test_the_demo_replays_days_and_writes_the_oversight_report_with_charts(
    demo_platform: Platform,
    test_keys: SigningKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addresses = {s.package: demo_platform.address(s.package) for s in SERVICES}
    for package, address in addresses.items():
        monkeypatch.setenv(f"CUSTOMS_{package.upper()}_ADDR", address)
    out = tmp_path / "demo"
    console = Console(record=True, width=120)
    options = DemoOptions(
        dataset=dataset_directory(),
        out_dir=out,
        tokens={
            role: test_keys.token(*_HUMAN_ROLES, subject=f"demo-{role}")
            for role in ("analyst", "approver", "supervisor")
        },
        mint_inspector=lambda subject: test_keys.token(Role.OFFICER, subject=subject),
        addresses=addresses,
        days=3,
        history_rows=3000,
    )

    summary = run(options, console)

    printed = console.export_text()
    positions = [printed.index(section) for section in SECTIONS]
    assert positions == sorted(positions), printed
    assert summary.days == ["2021-01-01", "2021-01-02", "2021-01-03"]
    assert sum(summary.channels["2021-01"].values()) > 0
    # Every task the assessments created was examined and its report approved.
    assert summary.examined == summary.selected > 0, printed
    assert "examined  hit rate" in printed, printed
    # The figures are those of the days replayed: the model is measured on the
    # declarations lodged then (a window of the demo's own run held none).
    assert "of the 0 declarations it scored" not in printed, printed
    charts = {path.stem for path in out.glob("*.png")} & {path.stem for path in out.glob("*.svg")}
    assert len(charts) >= 5, sorted(charts)
    month = out / "2021-01"
    assert [p.suffix for p in month.glob("oversight-*")].count(".txt") == 1
    assert [p.suffix for p in month.glob("oversight-*")].count(".csv") == 1
    assert len(list(month.glob("*.png"))) == 5
