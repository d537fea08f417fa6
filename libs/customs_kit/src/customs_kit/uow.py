"""The unit of work: one database transaction and the kit's stores bound to it.

Handlers take a unit of work, change what they need and call :meth:`commit`;
anything not committed is rolled back when the ``async with`` block ends, so an
error half-way leaves no trace (not even the outbox events it added).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from customs_kit.changefeed import ChangeLog
from customs_kit.idempotency import IdempotencyKeys
from customs_kit.inbox import Inbox
from customs_kit.outbox import OutboxWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database


class UnitOfWork:
    """``async with database.unit_of_work() as uow: ...; await uow.commit()``."""

    def __init__(self, database: Database, *, read_only: bool = False) -> None:
        self.database = database
        self.read_only = read_only
        factory = database.read_session_factory if read_only else database.session_factory
        self.session: AsyncSession = factory()
        self.outbox = OutboxWriter(self.session)
        self.inbox = Inbox(self.session)
        self.idempotency = IdempotencyKeys(self.session)
        self.changes = ChangeLog(self.session, database.dialect)

    async def __aenter__(self) -> Self:
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
            await self.session.close()

    async def commit(self) -> None:
        """Commits, then wakes the outbox relay and change watchers of this process."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.outbox.write()
        await self.session.commit()
        if self.outbox.take_added():
            self.database.outbox_pending.notify()
        if self.changes.take_appended():
            self.database.changes_committed.notify()

    async def rollback(self) -> None:
        """Discards everything since the last commit."""
        await self.session.rollback()
        self.outbox.discard()
        self.outbox.take_added()
        self.changes.take_appended()
