"""The database of one service: engine, sessions, the kit's own tables, change signals.

Each service owns one database (SQLite file by default, PostgreSQL in
production) and one Alembic history. The kit's tables (outbox, inbox,
idempotency keys, change feed) are added to the service's ``MetaData`` with
:func:`kit_metadata_tables`, so the service's own migrations create them and
no database is ever shared between services.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import psycopg.sql
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.semconv.metrics import MetricInstruments
from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
    make_url,
    text,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.types import TypeDecorator

from customs_kit.errors import Unavailable

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from sqlalchemy.engine import Connection

    from customs_kit.uow import UnitOfWork

#: Constraint and index names that Alembic autogenerate can compare and drop
#: reliably (unnamed constraints get database-chosen names that differ per dialect).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_SQLITE_BUSY_TIMEOUT_MS = 5_000
_SQLITE_UNIQUE_ERRORS = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})

#: Execution option that marks the engine proxy behind read-only units of work.
_READ_ONLY = "customs_read_only"
#: How long a caller refused for a busy or unreachable database is told to wait.
_DATABASE_RETRY_SECONDS = 1.0

#: 64-bit keys on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python and UTC in the database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    stored as UTC text and read back with ``tzinfo=UTC``. Naive datetimes are
    refused because their meaning depends on the machine that made them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use a timezone-aware value")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _KitBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


class OutboxEvent(_KitBase):
    """An event waiting to be delivered to (or already delivered to) a peer service."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The relay only ever scans rows still to deliver; a partial index keeps
        # that scan as small as the backlog, however many rows were delivered or
        # dead-lettered.
        Index(
            "ix_outbox_events_pending",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND dead_lettered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL AND dead_lettered_at IS NULL"),
        ),
        # Dead letters are few among many delivered rows: listed without a scan.
        Index(
            "ix_outbox_events_dead_lettered",
            "id",
            postgresql_where=text("dead_lettered_at IS NOT NULL"),
            sqlite_where=text("dead_lettered_at IS NOT NULL"),
        ),
        # A resource's delivery state is read from its rows when it is read.
        Index("ix_outbox_events_resource", "resource"),
    )

    #: Insertion order, which is the delivery order.
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    destination: Mapped[str] = mapped_column(String(63))
    method: Mapped[str] = mapped_column(String(255))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    traceparent: Mapped[str | None] = mapped_column(String(55))
    tracestate: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: When the receiver refused the event for good; it waits for an operator then.
    dead_lettered_at: Mapped[datetime | None]
    #: The resource whose change caused the event (``assessments/...``), if recorded.
    resource: Mapped[str | None] = mapped_column(String(255))


class InboxEvent(_KitBase):
    """An event this service has already applied (receiver-side de-duplication)."""

    __tablename__ = "inbox_events"
    __table_args__ = (PrimaryKeyConstraint("event_id", name="pk_inbox_events"),)

    event_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(63))
    received_at: Mapped[datetime]


class IdempotencyKey(_KitBase):
    """The stored response of a request carrying a ``request_id``, per caller and method."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        PrimaryKeyConstraint("method", "caller", "request_id", name="pk_idempotency_keys"),
    )

    method: Mapped[str] = mapped_column(String(255))
    #: The subject of the caller's token: another caller's id is another key.
    caller: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128))
    #: Hex SHA-256 of the request's deterministic serialization.
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ChangeRecord(_KitBase):
    """One upsert (payload) or removal (no payload) of a watched resource."""

    __tablename__ = "change_feed"
    __table_args__ = (
        Index("ix_change_feed_kind_key_revision", "kind", "key", "revision"),
        # Without AUTOINCREMENT SQLite may reuse the highest revision after a delete.
        {"sqlite_autoincrement": True},
    )

    revision: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


def kit_metadata_tables(metadata: MetaData) -> None:
    """Adds the kit's tables to a service's ``metadata`` (for its Alembic history)."""
    for table in _KitBase.metadata.sorted_tables:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)


def is_unique_violation(error: IntegrityError, constraint_name: str) -> bool:
    """Whether ``error`` is a violation of the unique/primary key ``constraint_name``.

    PostgreSQL names the constraint in the error's diagnostics. SQLite reports
    only that *a* unique or primary key constraint failed, never which one, so
    on SQLite this is true for any unique violation: use it around a statement
    that can only break ``constraint_name``.
    """
    cause = error.orig
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return cause.diag.constraint_name == constraint_name
    if isinstance(cause, sqlite3.IntegrityError):
        return cause.sqlite_errorname in _SQLITE_UNIQUE_ERRORS
    return False


async def insert_rows(
    session: AsyncSession, table: FromClause, rows: Sequence[Mapping[str, object]]
) -> None:
    """Inserts ``rows`` (dicts with the same keys, column names) into ``table``, fast.

    On PostgreSQL one ``COPY ... FROM STDIN`` in the session's transaction: a
    batch of thousands of rows then costs neither SQLAlchemy's compilation of
    a statement with a parameter per value nor the server's parse of it, which
    cost more than the rows themselves. Elsewhere one Core executemany (SQLite
    has no COPY). Values go in as given: timestamps timezone-aware, no column
    defaults applied. A unique violation raises ``IntegrityError`` as an
    INSERT would (see :func:`is_unique_violation`).
    """
    if not rows:
        return
    # A mapped class's ``__table__``, which SQLAlchemy types as any FROM clause.
    if not isinstance(table, Table):
        raise TypeError(f"rows are inserted into a table, not {table!r}")
    columns = list(rows[0])
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await connection.execute(table.insert(), list(rows))
        return
    raw = await connection.get_raw_connection()
    driver: psycopg.AsyncConnection[object] = raw.driver_connection  # type: ignore[assignment]
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg.sql.Identifier(table.name),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(column) for column in columns),
    )
    try:
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row([row[column] for column in columns])
    except psycopg.errors.IntegrityError as error:
        raise IntegrityError(statement.as_string(driver), None, error) from error


def database_unavailable(error: BaseException) -> Unavailable | None:
    """``Unavailable`` if ``error`` (or what caused it) says the database cannot answer now.

    A full connection pool, a lost connection, a refused one, SQLite's lock
    wait running out: the request was fine and a retry will do, so the caller
    gets ``UNAVAILABLE`` with a retry delay, which clients retry by gRPC's
    guidance, instead of ``INTERNAL``, which they must not.
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, PoolTimeoutError):
            return Unavailable(
                "DATABASE_BUSY",
                "every database connection is in use",
                retry_after_seconds=_DATABASE_RETRY_SECONDS,
            )
        if (
            isinstance(cause, OperationalError | InterfaceError | psycopg.OperationalError)
            or (isinstance(cause, DBAPIError) and cause.connection_invalidated)
            or isinstance(cause, ConnectionError)
        ):
            return Unavailable(
                "DATABASE_UNAVAILABLE",
                "the database cannot be reached or is busy",
                retry_after_seconds=_DATABASE_RETRY_SECONDS,
            )
        cause = cause.__cause__ or cause.__context__
    return None


class Signal:
    """A wake-up for in-process waiters, raised after a commit.

    Waiters call :meth:`arm` *before* checking the database and then wait on the
    returned event, so a notification between the check and the wait is not lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def arm(self) -> asyncio.Event:
        """The event the next :meth:`notify` sets."""
        return self._event

    def notify(self) -> None:
        """Wakes everyone who armed before this call."""
        self._event.set()
        self._event = asyncio.Event()


async def wait_for_signal(
    armed: asyncio.Event, delay: float, *, stop: asyncio.Event | None = None
) -> None:
    """Sleeps up to ``delay`` seconds or until ``armed`` (or ``stop``) is set."""
    waiters = [asyncio.ensure_future(armed.wait())]
    if stop is not None:
        waiters.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waiters, timeout=max(delay, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class Database:
    """The engine and session factory of one service's database.

    ``url`` is an async SQLAlchemy URL: ``sqlite+aiosqlite:///var/scoring.db`` or
    ``postgresql+psycopg://user:password@host/db``. Nothing connects until the
    first query.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(parsed)
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(parsed, pool_size=pool_size, pool_pre_ping=True)
        _instrument(self.engine, tracer_provider, meter_provider)
        self.session_factory: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )
        #: Sessions that only read: on SQLite they begin a deferred transaction,
        #: so reads share the database instead of queuing for the write lock.
        self.read_session_factory: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )
        #: Raised after a commit that added outbox events (wakes the relay).
        self.outbox_pending = Signal()
        #: Raised after a commit that appended to the change feed (wakes watchers).
        self.changes_committed = Signal()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work: ``async with database.unit_of_work() as uow: ...``.

        A savepoint of the enclosing unit of work when there is one
        (:func:`customs_kit.uow.enclosing`). ``read_only=True`` for work that
        only reads (gets, lists, reports): on SQLite it does not take the write
        lock, so any number of reads run beside the one writer; committing it
        is an error.
        """
        # Imported here because the unit of work's stores import this module's tables.
        from customs_kit.uow import UnitOfWork, enclosing_unit_of_work

        if read_only:
            return UnitOfWork(self, read_only=True)
        return UnitOfWork(self, within=enclosing_unit_of_work(self))

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling would defer BEGIN until the first
        # write; transactions are begun explicitly below instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: an acknowledged decision or report must survive a power cut too,
        # not only a crash of the process (which NORMAL already survives in WAL mode).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # In WAL mode a transaction that read first and writes later fails at once
        # with SQLITE_BUSY (busy_timeout does not apply) if another connection
        # committed in between. Taking the write lock at BEGIN makes concurrent
        # units of work queue on busy_timeout instead, one writer at a time.
        # A read-only transaction never upgrades, so it reads its WAL snapshot
        # without the lock, beside the writer.
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _instrument(
    engine: AsyncEngine,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
) -> None:
    # SQLAlchemyInstrumentor().instrument(engine=...) is a process-wide singleton
    # that ignores every call after the first and patches create_engine globally;
    # its EngineTracer attaches the same listeners to this one engine only.
    name = "opentelemetry.instrumentation.sqlalchemy"
    tracer = trace.get_tracer(name, tracer_provider=tracer_provider)
    connections = metrics.get_meter(name, meter_provider=meter_provider).create_up_down_counter(
        name=MetricInstruments.DB_CLIENT_CONNECTIONS_USAGE,
        unit="connections",
        description="The number of connections that are currently in the state described by "
        "the state attribute.",
    )
    EngineTracer(tracer, engine.sync_engine, connections)  # type: ignore[no-untyped-call]
