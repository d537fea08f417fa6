"""A real scoring server per test, on its own database, with a fixed set of criteria."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from customs.criteria.v1 import criteria_service_pb2
from customs.scoring.v1 import scoring_service_pb2_grpc
from scoring_support import RULES, StartScoring

from customs_kit.settings import ServiceSettings
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import RunningService, running_service
from scoring.domain.draws import SelectionSeed
from scoring.entrypoints.options import ScoringOptions
from scoring.entrypoints.server import bootstrap

SEED = SelectionSeed(b"integration-test-selection-seed-0001")

#: Receivers that are not running: events stay in the outbox, where tests look for them.
UNREACHABLE_PEERS = {
    "exam-reports": "127.0.0.1:9",
    "compliance": "127.0.0.1:9",
    "audit-referral": "127.0.0.1:9",
    "criteria": "127.0.0.1:9",
}


@pytest.fixture
def start_scoring(make_settings: Callable[..., ServiceSettings], database_url: str) -> StartScoring:
    """Starts scoring on the test's database with ``initial_rules`` (no criteria stream)."""

    @contextlib.asynccontextmanager
    async def start(
        initial_rules: Sequence[criteria_service_pb2.WatchActiveCriteriaResponse] = RULES,
        *,
        watch_criteria: bool = False,
        peers: Mapping[str, str] | None = None,
        seed: SelectionSeed = SEED,
    ) -> AsyncIterator[RunningService]:
        settings = make_settings("scoring", database_url, {**UNREACHABLE_PEERS, **(peers or {})})
        options = ScoringOptions(
            selection_seed=seed,
            watch_criteria=watch_criteria,
            # Office capacity is followed (and waited for) only from a running exam_reports.
            watch_office_capacity="exam-reports" in (peers or {}),
            initial_rules=initial_rules,
            watch_retry_base_seconds=0.05,
            watch_retry_cap_seconds=0.2,
        )
        async with running_service(settings, functools.partial(bootstrap, options=options)) as s:
            yield s

    return start


@pytest.fixture
async def scoring(start_scoring: StartScoring) -> AsyncIterator[RunningService]:
    """Scoring serving :data:`RULES`."""
    async with start_scoring() as service:
        yield service


@pytest.fixture
def stub(scoring: RunningService) -> scoring_service_pb2_grpc.ScoringServiceStub:
    """A client of the scoring service under test."""
    return scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)


@pytest.fixture
def compliance_database_url(tmp_path: Path) -> Iterator[str]:
    """compliance's own database: PostgreSQL when the tests use it, else a SQLite file."""
    server = os.environ.get("TEST_POSTGRES_URL")
    if server:
        with fresh_postgres_database(server) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'compliance.db'}"
