"""The exam-reports service on a real port and database, for every test here.

Every test gets a fresh database (PostgreSQL when TEST_POSTGRES_URL is set,
SQLite otherwise), the real migrations, and a client with tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from exam_reports_support import Client

from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.entrypoints.server import bootstrap


@pytest.fixture
def settings(make_settings: Callable[..., ServiceSettings], database_url: str) -> ServiceSettings:
    """The service's settings on this test's database."""
    return make_settings("exam-reports", database_url)


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[RunningService]:
    """The exam-reports service, serving."""
    async with running_service(settings, bootstrap) as running:
        yield running


@pytest.fixture
def client(service: RunningService, test_keys: SigningKeys) -> Client:
    """A client of the running service."""
    return Client(service, test_keys)
