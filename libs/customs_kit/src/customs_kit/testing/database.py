"""pytest fixtures for tests that need a real database (``pytest_plugins`` entry).

``TEST_POSTGRES_URL`` names a PostgreSQL server through a database the tests
may connect to as a user allowed to create databases, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``. Each test then gets
a database of its own, created empty and dropped afterwards, so tests can run
in parallel and see real PostgreSQL behaviour (locks, constraint names).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

_ENV_URL = "TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An async URL of a new SQLite file in the test's temporary directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An async URL of a fresh PostgreSQL database, dropped after the test.

    Skips the test when ``TEST_POSTGRES_URL`` is unset, except in CI
    (``CI=true``), where a silently skipped PostgreSQL suite would hide failures.
    """
    server = os.environ.get(_ENV_URL)
    if not server:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{_ENV_URL} must be set in CI")
        pytest.skip(f"{_ENV_URL} is not set")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database if ``TEST_POSTGRES_URL`` is set, else a SQLite file."""
    name = "postgres_url" if os.environ.get(_ENV_URL) else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


@contextlib.contextmanager
def fresh_postgres_database(server: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL ``server`` URL, dropped on exit."""
    server_url = make_url(server)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
