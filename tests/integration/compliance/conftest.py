"""The compliance service on a real port and a fresh database, for every test here.

The database is PostgreSQL when TEST_POSTGRES_URL is set, SQLite otherwise;
the service runs its real migrations at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from compliance_support import Client

from compliance.entrypoints.server import bootstrap
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service


@pytest.fixture
def settings(make_settings: Callable[..., ServiceSettings], database_url: str) -> ServiceSettings:
    """The service's settings on this test's database."""
    return make_settings("compliance", database_url)


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[RunningService]:
    """The compliance service, serving."""
    async with running_service(settings, bootstrap) as running:
        yield running


@pytest.fixture
def client(service: RunningService, test_keys: SigningKeys) -> Client:
    """A client of the running service."""
    return Client(service, test_keys)
