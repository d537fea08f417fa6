"""The unit of work: one database transaction and the kit's stores bound to it.

Handlers take a unit of work, change what they need and call :meth:`commit`;
anything not committed is rolled back when the ``async with`` block ends, so an
error half-way leaves no trace (not even the outbox events it added).

Shared transactions. Inside :func:`enclosing` (the batch ingest of events, see
:mod:`customs_kit.event_delivery`), every unit of work a handler opens on the
same database is a savepoint of the enclosing one: its commit releases the
savepoint, its rollback undoes only its own work, and nothing is durable
until the enclosing unit of work commits. A batch of events then costs one
commit instead of one per event, while each event still succeeds or fails on
its own. Wake-ups (outbox relay, change watchers) wait for that commit.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

from customs_kit.changefeed import ChangeLog
from customs_kit.idempotency import IdempotencyKeys
from customs_kit.inbox import Inbox
from customs_kit.outbox import OutboxWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

    from customs_kit.db import Database

_enclosing: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "customs_enclosing_unit_of_work", default=None
)


class UnitOfWork:
    """``async with database.unit_of_work() as uow: ...; await uow.commit()``.

    ``within`` makes it a savepoint of that (enclosing) unit of work;
    ``read_only`` reads on a session of its own (on SQLite without the write
    lock) and never joins an enclosing transaction.
    """

    def __init__(
        self, database: Database, *, within: UnitOfWork | None = None, read_only: bool = False
    ) -> None:
        self.database = database
        self.read_only = read_only
        self._within = None if read_only else within
        if self._within is not None:
            self.session: AsyncSession = self._within.session
        else:
            factory = database.read_session_factory if read_only else database.session_factory
            self.session = factory()
        self._savepoint: AsyncSessionTransaction | None = None
        self.outbox = OutboxWriter(self.session)
        self.inbox = Inbox(self.session)
        self.idempotency = IdempotencyKeys(self.session)
        self.changes = ChangeLog(self.session, database.dialect)
        # Events and changes committed by the savepoints inside this unit of work.
        self._nested_events = 0
        self._nested_changes = 0

    async def __aenter__(self) -> Self:
        if self._within is not None:
            self._savepoint = await self.session.begin_nested()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            if self._within is None:
                await self.session.close()

    async def commit(self) -> None:
        """Commits, then wakes the outbox relay and change watchers of this process."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.outbox.write()
        if self._within is not None:
            assert self._savepoint is not None, "a nested unit of work is used in its block"
            await self._savepoint.commit()
            self._within._nested_events += self.outbox.take_added()
            self._within._nested_changes += self.changes.take_appended()
            # What the handler does after its commit stays undoable on its own too.
            self._savepoint = await self.session.begin_nested()
            return
        await self.session.commit()
        events, self._nested_events = self.outbox.take_added() + self._nested_events, 0
        changes, self._nested_changes = self.changes.take_appended() + self._nested_changes, 0
        if events:
            self.database.outbox_pending.notify()
        if changes:
            self.database.changes_committed.notify()

    async def rollback(self) -> None:
        """Discards everything since the last commit."""
        if self._within is not None:
            if self._savepoint is not None and self._savepoint.is_active:
                await self._savepoint.rollback()
            self._savepoint = None
        else:
            await self.session.rollback()
            self._nested_events = self._nested_changes = 0
        self.outbox.discard()
        self.outbox.take_added()
        self.changes.take_appended()


def enclosing_unit_of_work(database: Database) -> UnitOfWork | None:
    """The unit of work that new ones on ``database`` are savepoints of, if any."""
    current = _enclosing.get()
    return current if current is not None and current.database is database else None


@contextlib.contextmanager
def enclosing(uow: UnitOfWork) -> Iterator[None]:
    """Within the block, units of work opened on ``uow``'s database are savepoints of it."""
    token = _enclosing.set(uow)
    try:
        yield
    finally:
        _enclosing.reset(token)
