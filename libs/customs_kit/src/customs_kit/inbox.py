"""Receiver-side de-duplication of relayed events.

The outbox relay delivers at least once, so a receiver may see an event twice
(a retry after a lost response, two replicas racing). Recording the event id
in the same transaction as the event's effect makes applying it exactly-once:
either both commit or neither does, and a second copy finds the record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from customs_kit.db import InboxEvent, is_unique_violation, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database
    from customs_kit.uow import UnitOfWork

_CONSTRAINT = "pk_inbox_events"


class DuplicateEvent(Exception):
    """The event was recorded by another transaction; roll this one back."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id!r} was already processed")
        self.event_id = event_id


class Inbox:
    """``uow.inbox``: the events this service has applied."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was already applied (by a committed transaction)."""
        found = await self._session.scalar(
            select(InboxEvent.event_id).where(InboxEvent.event_id == event_id)
        )
        return found is not None

    async def record(self, event_id: str, source: str) -> None:
        """Records ``event_id`` (from service ``source``) in this transaction.

        Raises :class:`DuplicateEvent` if a concurrent transaction recorded it
        first; the unit of work must then be rolled back, which leaving its
        ``async with`` block does.
        """
        try:
            await self._session.execute(
                insert(InboxEvent).values(event_id=event_id, source=source, received_at=utcnow())
            )
        except IntegrityError as error:
            if is_unique_violation(error, _CONSTRAINT):
                raise DuplicateEvent(event_id) from error
            raise


async def apply_once(
    database: Database,
    event_id: str,
    source: str,
    apply: Callable[[UnitOfWork], Awaitable[None]],
) -> bool:
    """Runs ``apply(uow)`` and commits it unless ``event_id`` was already applied.

    Returns ``False`` for a duplicate (including one that a concurrent delivery
    committed while ``apply`` ran, whose effects are then rolled back), ``True``
    otherwise. ``apply`` must not commit.
    """
    async with database.unit_of_work() as uow:
        if await uow.inbox.seen(event_id):
            return False
        try:
            # Recording first makes a concurrent copy wait here (PostgreSQL) rather
            # than after doing all of its work.
            await uow.inbox.record(event_id, source)
        except DuplicateEvent:
            return False
        await apply(uow)
        await uow.commit()
        return True


async def missing_events(database: Database, event_ids: Sequence[str]) -> list[str]:
    """Those of ``event_ids`` this service has not applied, in their order.

    The receiver's half of reconciling after a restore: an event whose effect
    the restored database lost has lost its inbox record with it.
    """
    async with database.unit_of_work(read_only=True) as uow:
        seen = set(
            (
                await uow.session.scalars(
                    select(InboxEvent.event_id).where(InboxEvent.event_id.in_(list(event_ids)))
                )
            ).all()
        )
    return [event_id for event_id in event_ids if event_id not in seen]
