"""What became of a service's outbox events: dead letters, their retry, delivery states.

A dead letter is an outbox event its receiver refused for good (see
:mod:`customs_kit.outbox`). It stays in the outbox table with the receiver's
error until an operator retries it, which puts it back in the delivery queue;
retention never deletes it (it deletes delivered events only).

The delivery state of a resource (an assessment...) is computed from the
events recorded with its name: a resource whose events were all delivered,
or pruned after delivery, is delivered.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from customs_kit.db import OutboxEvent, utcnow
from customs_kit.errors import FailedPrecondition, NotFound, PreconditionViolation

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database


@dataclass(frozen=True)
class DeadLetter:
    """An outbox event its receiver refused for good."""

    id: int
    event_id: str
    destination: str
    method: str
    resource: str | None
    error: str
    attempts: int
    created_at: datetime
    dead_lettered_at: datetime


async def list_dead_letters(
    database: Database, *, destination: str | None, after_id: int, limit: int
) -> list[DeadLetter]:
    """Up to ``limit`` dead letters with an id above ``after_id``, oldest first."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.dead_lettered_at.is_not(None), OutboxEvent.id > after_id)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if destination:
        query = query.where(OutboxEvent.destination == destination)
    async with database.session_factory() as session:
        rows = (await session.scalars(query)).all()
    return [_dead_letter(row) for row in rows]


async def retry_dead_letters(database: Database, event_ids: Sequence[str]) -> list[str]:
    """Puts the dead letters ``event_ids`` back in the delivery queue and wakes the relay.

    All or nothing: raises ``NotFound`` for an unknown event and
    ``FailedPrecondition`` (reason ``NOT_DEAD_LETTERED``) naming every event
    that is not a dead letter (delivered, pending, or already retried).
    """
    async with database.session_factory.begin() as session:
        found = {
            row.event_id: row
            for row in (
                await session.scalars(
                    select(OutboxEvent).where(OutboxEvent.event_id.in_(list(event_ids)))
                )
            ).all()
        }
        missing = [event_id for event_id in event_ids if event_id not in found]
        if missing:
            raise NotFound("outbox event", missing[0])
        not_dead = [event_id for event_id in event_ids if found[event_id].dead_lettered_at is None]
        if not_dead:
            raise FailedPrecondition(
                "NOT_DEAD_LETTERED",
                f"{len(not_dead)} of the events are not dead-lettered",
                [
                    PreconditionViolation(
                        "NOT_DEAD_LETTERED",
                        f"events/{event_id}",
                        "the event is delivered or waiting for delivery, not dead-lettered",
                    )
                    for event_id in not_dead
                ],
            )
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id.in_(list(event_ids)))
            .values(dead_lettered_at=None, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    database.outbox_pending.notify()
    return list(event_ids)


class DeliveryState(enum.Enum):
    """Where the events a resource caused stand."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD_LETTER = "DEAD_LETTER"


async def delivery_states(
    session: AsyncSession, resources: Iterable[str]
) -> dict[str, DeliveryState]:
    """The delivery state of each of ``resources`` (named as its events were recorded).

    A dead letter outweighs a pending event: it will not resolve by itself.
    """
    names = list(dict.fromkeys(resources))
    states = dict.fromkeys(names, DeliveryState.DELIVERED)
    if not names:
        return states
    rows = await session.execute(
        select(OutboxEvent.resource, OutboxEvent.dead_lettered_at.is_not(None)).where(
            OutboxEvent.resource.in_(names), OutboxEvent.delivered_at.is_(None)
        )
    )
    for resource, dead in rows:
        if dead:
            states[resource] = DeliveryState.DEAD_LETTER
        elif states[resource] is not DeliveryState.DEAD_LETTER:
            states[resource] = DeliveryState.PENDING
    return states


def _dead_letter(row: OutboxEvent) -> DeadLetter:
    assert row.dead_lettered_at is not None
    return DeadLetter(
        id=row.id,
        event_id=row.event_id,
        destination=row.destination,
        method=row.method,
        resource=row.resource,
        error=row.last_error or "",
        attempts=row.attempts,
        created_at=row.created_at,
        dead_lettered_at=row.dead_lettered_at,
    )
