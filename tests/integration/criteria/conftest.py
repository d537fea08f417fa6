"""A real criteria server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from criteria_support import Criteria

from criteria.entrypoints.server import bootstrap
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service


@pytest.fixture
async def criteria(
    make_settings: Callable[..., ServiceSettings], database_url: str, test_keys: SigningKeys
) -> AsyncIterator[Criteria]:
    """The criteria service on a fresh database, serving on a real port."""
    settings = make_settings("criteria", database_url)
    async with running_service(settings, bootstrap) as service:
        yield Criteria(service, test_keys)
