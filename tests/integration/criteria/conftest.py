"""A real criteria server per test, with real scoring and exam_reports servers as its peers.

Impact analysis (and so every approval) calls scoring's Simulate and
exam_reports' capacity reads, so each test runs all three. Criteria uses the
test's database (PostgreSQL when TEST_POSTGRES_URL is set); scoring and
exam_reports each get a SQLite file copied from one migrated once per
session, which keeps the suite fast (their migrations are tested in their own
suites).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from criteria_support import NOWHERE, SCORING_RULES, Criteria, PeerServices, StartCriteria

from criteria.entrypoints.options import CriteriaOptions
from criteria.entrypoints.server import bootstrap
from customs_kit.migrations import run_migrations
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service
from exam_reports.entrypoints.server import MIGRATIONS as EXAM_REPORTS_MIGRATIONS
from exam_reports.entrypoints.server import bootstrap as exam_reports_bootstrap
from scoring.domain.draws import SelectionSeed
from scoring.entrypoints.options import ScoringOptions
from scoring.entrypoints.server import MIGRATIONS as SCORING_MIGRATIONS
from scoring.entrypoints.server import bootstrap as scoring_bootstrap

_UNUSED_PEERS = {
    peer: NOWHERE
    for peer in ("criteria", "exam-reports", "compliance", "audit-referral", "scoring")
}


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SQLite databases of scoring and exam_reports, migrated once per session."""
    directory = tmp_path_factory.mktemp("criteria-peer-templates")
    templates = {}
    for service, migrations in (
        ("scoring", SCORING_MIGRATIONS),
        ("exam-reports", EXAM_REPORTS_MIGRATIONS),
    ):
        path = directory / f"{service}.db"
        run_migrations(f"sqlite+aiosqlite:///{path}", migrations)
        templates[service] = path
    return templates


def _database_from(template: Path, path: Path) -> str:
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def peer_services(
    make_settings: Callable[..., ServiceSettings],
    migrated_templates: dict[str, Path],
    tmp_path: Path,
) -> AsyncIterator[PeerServices]:
    """Scoring (serving :data:`SCORING_RULES`) and exam_reports, on their own databases."""

    def settings(service: str) -> ServiceSettings:
        url = _database_from(migrated_templates[service], tmp_path / f"{service}.db")
        built = make_settings(service, url, _UNUSED_PEERS)
        return replace(built, run_migrations_on_start=False)

    scoring_options = ScoringOptions(
        selection_seed=SelectionSeed(b"criteria-tests-selection-seed-01"),
        watch_criteria=False,
        initial_rules=SCORING_RULES,
        # Its exam_reports peer is not wired: scoring assesses without office capacity.
        watch_office_capacity=False,
    )
    async with (
        running_service(
            settings("scoring"), functools.partial(scoring_bootstrap, options=scoring_options)
        ) as scoring,
        running_service(settings("exam-reports"), exam_reports_bootstrap) as exam_reports,
    ):
        yield PeerServices(scoring, exam_reports)


@pytest.fixture
def start_criteria(
    make_settings: Callable[..., ServiceSettings], database_url: str, test_keys: SigningKeys
) -> StartCriteria:
    """Starts criteria on the test's database with the given peer addresses."""

    @contextlib.asynccontextmanager
    async def start(
        peers: Mapping[str, str], options: CriteriaOptions | None = None
    ) -> AsyncIterator[Criteria]:
        settings = make_settings("criteria", database_url, peers)
        async with running_service(
            settings, functools.partial(bootstrap, options=options)
        ) as service:
            yield Criteria(service, test_keys)

    return start


@pytest.fixture
async def criteria(
    start_criteria: StartCriteria, peer_services: PeerServices
) -> AsyncIterator[Criteria]:
    """The criteria service on a fresh database, its peers running."""
    async with start_criteria(peer_services.addresses) as service:
        yield service
