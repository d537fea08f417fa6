"""One PostgreSQL server of the chaos tests' own, which they stop, restart and take away.

initdb costs seconds, so the server is shared by every test here; each test
uses databases of its own on it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from private_postgres import PrivatePostgres, private_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PrivatePostgres]:
    """The chaos tests' own PostgreSQL, running (tests that stop it start it again)."""
    with private_postgres() as server:
        yield server
