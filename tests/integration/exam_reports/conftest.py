"""The exam-reports service on a real port and database, for every test here.

Every test gets a fresh database (PostgreSQL when TEST_POSTGRES_URL is set,
SQLite otherwise), the real migrations, and a client with tokens.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from exam_reports_support import Client, Desk, EventReceivers, open_desk
from sqlalchemy import make_url

from customs_kit.migrations import run_migrations
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.entrypoints.server import MIGRATIONS, bootstrap


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session by the real migrations."""
    path = tmp_path_factory.mktemp("exam-reports-template") / "exam_reports.db"
    run_migrations(f"sqlite+aiosqlite:///{path}", MIGRATIONS)
    return path


@pytest.fixture
async def receivers() -> AsyncIterator[EventReceivers]:
    """Recording stand-ins for the services that receive approved outcomes."""
    running = EventReceivers()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def settings(
    make_settings: Callable[..., ServiceSettings],
    database_url: str,
    receivers: EventReceivers,
    migrated_sqlite: Path,
) -> ServiceSettings:
    """The service's settings on this test's database, its events going to ``receivers``.

    A SQLite database starts as a copy of the session's migrated one, which
    keeps the whole suite well under a minute; the migrations themselves are
    exercised by test_exam_reports_migrations, and every test on PostgreSQL
    still migrates its own database.
    """
    settings = make_settings("exam-reports", database_url, receivers.peer_addresses)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return settings
    with (
        contextlib.closing(sqlite3.connect(migrated_sqlite)) as source,
        contextlib.closing(sqlite3.connect(url.database)) as target,
    ):
        source.backup(target)
    return replace(settings, run_migrations_on_start=False)


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[RunningService]:
    """The exam-reports service, serving."""
    async with running_service(settings, bootstrap) as running:
        yield running


@pytest.fixture
def client(service: RunningService, test_keys: SigningKeys) -> Client:
    """A client of the running service."""
    return Client(service, test_keys)


@pytest.fixture
async def desk(client: Client) -> Desk:
    """Office PORT1 with inspector anna on shift holding one task, and supervisor sam."""
    return await open_desk(client)
