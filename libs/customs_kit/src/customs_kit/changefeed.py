"""A change feed with monotonic revisions, behind the ``Watch...`` streams.

A service appends one record per upsert or removal of a watched resource in
the same transaction as the change. A watcher starts from a snapshot (the
latest record of every key, as of one revision) and then follows the records
after that revision; it never misses one because revisions become visible in
increasing order: on PostgreSQL appends take a transaction-scoped advisory
lock, so a revision is only assigned once every smaller one is committed or
rolled back (SQLite allows a single writer anyway). Appends are therefore
serialised, which suits resources that change at human pace (criteria, lists,
trader profiles).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, and_, func, insert, select, text

from customs_kit.db import ChangeRecord, utcnow, wait_for_signal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database

_T = TypeVar("_T")

# Any fixed key works: each service has a database of its own.
_APPEND_LOCK_KEY = 7_302_118_411


@dataclass(frozen=True)
class Change:
    """One record of the feed; ``payload`` is ``None`` for a removal."""

    revision: int
    kind: str
    key: str
    payload: bytes | None


class ChangeLog:
    """``uow.changes``: appends to the feed in the unit of work's transaction."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self._session = session
        self._dialect = dialect
        self._appended = 0

    async def append(self, kind: str, key: str, payload: bytes | None) -> int:
        """Records an upsert (``payload``) or removal (``None``); returns its revision."""
        if self._dialect == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
            )
        revision = await self._session.scalar(
            insert(ChangeRecord)
            .values(kind=kind, key=key, payload=payload, created_at=utcnow())
            .returning(ChangeRecord.revision)
        )
        if revision is None:
            raise RuntimeError("the database returned no revision")
        self._appended += 1
        return revision

    def take_appended(self) -> int:
        """How many records were appended since the last call (the unit of work resets it)."""
        appended, self._appended = self._appended, 0
        return appended


class ChangeFeed:
    """Reads the feed of one :class:`Database` (:class:`FeedStreams` follows it)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def snapshot(self, kinds: Collection[str]) -> tuple[int, list[Change]]:
        """The current revision and the latest upsert of every live key of ``kinds``.

        Keys whose latest record is a removal are left out. The records are
        ordered by revision; follow up with :meth:`changes_after` the revision.
        """
        async with self._database.read_session_factory() as session:
            revision = await _latest_revision(session)
            latest = (
                select(
                    ChangeRecord.kind,
                    ChangeRecord.key,
                    func.max(ChangeRecord.revision).label("revision"),
                )
                .where(ChangeRecord.kind.in_(kinds), ChangeRecord.revision <= revision)
                .group_by(ChangeRecord.kind, ChangeRecord.key)
                .subquery()
            )
            query = (
                _changes()
                .join(
                    latest,
                    and_(
                        ChangeRecord.kind == latest.c.kind,
                        ChangeRecord.key == latest.c.key,
                        ChangeRecord.revision == latest.c.revision,
                    ),
                )
                .where(ChangeRecord.payload.is_not(None))
                .order_by(ChangeRecord.revision)
            )
            rows = (await session.execute(query)).all()
        return revision, [Change(row.revision, row.kind, row.key, row.payload) for row in rows]

    async def changes_after(
        self, revision: int, kinds: Collection[str], *, limit: int | None = None
    ) -> list[Change]:
        """Records of ``kinds`` with a revision above ``revision``, oldest first."""
        query = (
            _changes()
            .where(ChangeRecord.kind.in_(kinds), ChangeRecord.revision > revision)
            .order_by(ChangeRecord.revision)
            .limit(limit)
        )
        async with self._database.read_session_factory() as session:
            rows = (await session.execute(query)).all()
        return [Change(row.revision, row.kind, row.key, row.payload) for row in rows]

    async def oldest_revision(self) -> int:
        """The smallest revision still in the feed (0 when empty).

        A watcher whose ``since_revision`` is below ``oldest_revision() - 1``
        may have missed records and must start again from a snapshot.
        """
        async with self._database.read_session_factory() as session:
            oldest = await session.scalar(select(func.min(ChangeRecord.revision)))
        return oldest or 0

    async def latest_revision(self) -> int:
        """The highest revision in the feed (0 when empty)."""
        async with self._database.read_session_factory() as session:
            return await _latest_revision(session)


def _changes() -> Select[tuple[int, str, str, bytes | None]]:
    return select(ChangeRecord.revision, ChangeRecord.kind, ChangeRecord.key, ChangeRecord.payload)


async def _latest_revision(session: AsyncSession) -> int:
    latest = await session.scalar(select(func.max(ChangeRecord.revision)))
    return latest or 0


@dataclass(frozen=True)
class SnapshotStarted:
    """A full snapshot as of ``revision`` follows, with ``counts`` records per kind."""

    revision: int
    counts: Mapping[str, int]


@dataclass(frozen=True)
class SnapshotEntry:
    """One live key of a snapshot as of ``revision``; ``change`` is its latest upsert."""

    revision: int
    change: Change


@dataclass(frozen=True)
class SnapshotEnded:
    """The snapshot as of ``revision`` is complete: the client replaces its whole set."""

    revision: int


#: A message of a watch stream: snapshot boundaries and entries, then live changes.
FeedEvent = SnapshotStarted | SnapshotEntry | SnapshotEnded | Change


class FeedStreams:
    """Serves the ``Watch...`` streams of a feed; a background task of the service.

    A stream starts with a snapshot when the client has nothing (revision 0),
    when records after its revision are no longer retained, or when it claims a
    revision the feed never reached (a restored or replaced database); otherwise
    with the changes after its revision. Then it follows every commit, woken at
    once by commits of this process and by a poll for those of other replicas.

    A client that goes away cancels its stream at any point, also in the middle
    of a query, and a connection whose query was cancelled cannot always be given
    back cleanly (aiosqlite never finishes closing it). So every read runs to
    completion in a task of its own, and :meth:`stop` ends the open streams and
    waits for those reads before the database is closed.
    """

    def __init__(
        self,
        database: Database,
        kinds: Collection[str],
        *,
        poll_interval: float = 2.0,
        batch_size: int = 500,
    ) -> None:
        self._database = database
        self._feed = ChangeFeed(database)
        self._kinds = tuple(kinds)
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._streams: set[asyncio.Task[Any]] = set()
        self._reads: set[asyncio.Future[Any]] = set()

    async def follow(
        self, since_revision: int, *, include: Callable[[Change], bool] | None = None
    ) -> AsyncIterator[FeedEvent]:
        """The stream of a client at ``since_revision``; runs until the client goes away.

        ``include`` leaves records out of a snapshot (e.g. what expired since it
        was appended); live changes are always sent.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a stream is served by a task")
        self._streams.add(task)
        try:
            async for event in self._events(since_revision, include):
                yield event
        finally:
            self._streams.discard(task)

    async def start(self) -> None:
        """Nothing to start: streams open as clients call."""

    async def stop(self) -> None:
        """Ends every open stream and waits for the reads they left running."""
        streams = list(self._streams)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        await asyncio.gather(*self._reads, return_exceptions=True)

    async def _needs_snapshot(self, since_revision: int) -> bool:
        if since_revision == 0 or since_revision > await self._read(self._feed.latest_revision()):
            return True
        oldest = await self._read(self._feed.oldest_revision())
        return oldest > 0 and since_revision < oldest - 1

    async def _events(
        self, since_revision: int, include: Callable[[Change], bool] | None
    ) -> AsyncIterator[FeedEvent]:
        cursor = since_revision
        if await self._needs_snapshot(since_revision):
            revision, latest = await self._read(self._feed.snapshot(self._kinds))
            entries = [change for change in latest if include is None or include(change)]
            counts = {kind: 0 for kind in self._kinds}
            for change in entries:
                counts[change.kind] += 1
            yield SnapshotStarted(revision, counts)
            for change in entries:
                yield SnapshotEntry(revision, change)
            yield SnapshotEnded(revision)
            cursor = revision
        while True:
            # Armed before reading, so a commit between the read and the wait wakes it.
            armed = self._database.changes_committed.arm()
            changes = await self._read(
                self._feed.changes_after(cursor, self._kinds, limit=self._batch_size)
            )
            for change in changes:
                yield change
                cursor = change.revision
            if not changes:
                await wait_for_signal(armed, self._poll_interval)

    async def _read(self, read: Awaitable[_T]) -> _T:
        task = asyncio.ensure_future(read)
        self._reads.add(task)
        task.add_done_callback(self._read_done)
        return await asyncio.shield(task)

    def _read_done(self, task: asyncio.Future[Any]) -> None:
        self._reads.discard(task)
        if not task.cancelled():
            # Retrieved so that a read whose stream has gone is not reported as an
            # exception nobody retrieved.
            task.exception()
