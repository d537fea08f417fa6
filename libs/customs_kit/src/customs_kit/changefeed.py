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
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, func, insert, select, text

from customs_kit.db import ChangeRecord, utcnow, wait_for_signal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database

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
    """Reads the feed of one :class:`Database` and waits for it to grow.

    ``poll_interval`` bounds how late a change committed by another process
    (another replica) is noticed; commits in this process wake waiters at once.
    """

    def __init__(self, database: Database, *, poll_interval: float = 2.0) -> None:
        self._database = database
        self._poll_interval = poll_interval

    async def snapshot(self, kinds: Collection[str]) -> tuple[int, list[Change]]:
        """The current revision and the latest upsert of every live key of ``kinds``.

        Keys whose latest record is a removal are left out. The records are
        ordered by revision; follow up with :meth:`changes_after` the revision.
        """
        async with self._database.session_factory() as session:
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
        async with self._database.session_factory() as session:
            rows = (await session.execute(query)).all()
        return [Change(row.revision, row.kind, row.key, row.payload) for row in rows]

    async def oldest_revision(self) -> int:
        """The smallest revision still in the feed (0 when empty).

        A watcher whose ``since_revision`` is below ``oldest_revision() - 1``
        may have missed records and must start again from a snapshot.
        """
        async with self._database.session_factory() as session:
            oldest = await session.scalar(select(func.min(ChangeRecord.revision)))
        return oldest or 0

    async def latest_revision(self) -> int:
        """The highest revision in the feed (0 when empty)."""
        async with self._database.session_factory() as session:
            return await _latest_revision(session)

    # Returns False on timeout instead of raising, so asyncio.timeout does not fit.
    async def wait_for_change(self, after_revision: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Waits up to ``timeout`` seconds for a revision above ``after_revision``.

        Returns whether one exists. Woken by commits of this process, and polls
        the database for those of other processes.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            armed = self._database.changes_committed.arm()
            if await self.latest_revision() > after_revision:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await wait_for_signal(armed, min(remaining, self._poll_interval))


def _changes() -> Select[tuple[int, str, str, bytes | None]]:
    return select(ChangeRecord.revision, ChangeRecord.kind, ChangeRecord.key, ChangeRecord.payload)


async def _latest_revision(session: AsyncSession) -> int:
    latest = await session.scalar(select(func.max(ChangeRecord.revision)))
    return latest or 0
