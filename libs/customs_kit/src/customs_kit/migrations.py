"""Alembic, driven from code: each service upgrades its own database at start-up.

A service keeps its history in ``<service>/migrations/`` (``env.py`` plus
``versions/``); its ``env.py`` is just::

    from customs_kit.migrations import configure_alembic_env
    from scoring.adapters.orm import metadata

    configure_alembic_env(metadata)

No ``alembic.ini`` is needed at run time. For the ``alembic`` command line
(``revision --autogenerate``) a service may ship one naming the script
location; the database URL then comes from ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pprint import pformat
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from customs_kit.db import UTCDateTime

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy import Connection, MetaData

_T = TypeVar("_T")
_URL_ATTRIBUTE = "customs_kit.database_url"


def alembic_config(url: str, script_location: str) -> Config:
    """An Alembic ``Config`` for ``url`` and ``script_location`` (``scoring:migrations``)."""
    config = Config()
    config.set_main_option("script_location", script_location)
    # Passed as an attribute, not an option: the ini parser would treat a "%"
    # in a password as interpolation.
    config.attributes[_URL_ATTRIBUTE] = url
    return config


def run_migrations(url: str, script_location: str, revision: str = "head") -> None:
    """Upgrades the database at ``url`` to ``revision`` (the latest by default).

    Blocks until done; safe to call from inside a running event loop (at
    start-up, before serving), because Alembic runs in a thread of its own.
    """
    _in_thread(lambda: command.upgrade(alembic_config(url, script_location), revision))


def downgrade_migrations(url: str, script_location: str, revision: str = "base") -> None:
    """Downgrades the database at ``url`` to ``revision`` (empty by default)."""
    _in_thread(lambda: command.downgrade(alembic_config(url, script_location), revision))


def assert_models_match_migrations(url: str, script_location: str, metadata: MetaData) -> None:
    """Upgrades ``url`` to head and fails if the schema differs from ``metadata``.

    Catches a model change that has no migration (or a migration edited by
    hand into something the models do not describe).
    """
    run_migrations(url, script_location)
    differences = _in_thread(lambda: asyncio.run(_compare(url, metadata)))
    if differences:
        raise AssertionError(f"models and migrations differ:\n{pformat(differences)}")


def configure_alembic_env(target_metadata: MetaData) -> None:
    """Runs the migrations Alembic asked for; called from a service's ``env.py``.

    Online mode connects with the async driver of the URL (Alembic's async
    recipe: the migration runs on the connection via ``run_sync``); offline
    mode (``alembic upgrade --sql``) renders the SQL instead.
    """
    url = _database_url()
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **_context_options(make_url(url).get_backend_name()),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


def _database_url() -> str:
    config = context.config
    url = (
        config.attributes.get(_URL_ATTRIBUTE)
        or os.environ.get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL")
    return str(url)


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on_connection, target_metadata)
    finally:
        await engine.dispose()


def _run_on_connection(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **_context_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _compare(url: str, metadata: MetaData) -> list[Any]:
    engine = create_async_engine(url, poolclass=NullPool)

    def compare(connection: Connection) -> list[Any]:
        migration_context = MigrationContext.configure(
            connection, opts=_context_options(connection.dialect.name)
        )
        return list(compare_metadata(migration_context, metadata))

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


def _context_options(dialect: str) -> dict[str, Any]:
    return {
        "compare_type": True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": dialect == "sqlite",
        "render_item": _render_item,
    }


def _render_item(type_: str, obj: Any, _autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import the kit's Python types: an old migration has to
    # keep working whatever the kit later becomes.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _in_thread(function: Callable[[], _T]) -> _T:
    # env.py runs its own event loop, which cannot be nested in the caller's.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as pool:
        return pool.submit(function).result()


def migrate_main(service_name: str, script_location: str) -> None:
    """The ``main`` of ``<service>.entrypoints.migrate`` (the Kubernetes migration Job).

    Needs only ``DATABASE_URL``: the Job gets no keys or secrets. Upgrading an
    up-to-date database does nothing; a failure exits non-zero.
    """
    from customs_kit.logging import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), service_name)
    package = service_name.replace("-", "_")
    url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///var/{package}.db")
    run_migrations(url, script_location)
