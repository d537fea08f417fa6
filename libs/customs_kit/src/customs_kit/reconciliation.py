"""Reconciling a receiver restored from a backup with the events delivered to it since.

A receiver's database restored to an older backup has lost the effects of the
events delivered after the backup, and their inbox records with them; the
sender marked them delivered and will not send them again by itself. The
sender keeps delivered events for the outbox retention window
(:mod:`customs_kit.retention`), so an operator asks it to reconcile: it reads
the event ingests it delivered to the receiver since the backup's time, asks
the receiver which of them its inbox lacks (``FindMissingEvents``), and puts
exactly those back in the delivery queue. The receiver's inbox de-duplication
makes each apply once, and an event it still has is never sent again.

Only ``Ingest...Event`` deliveries are compared: they are what a receiver
records in its inbox. Commands sent through the outbox (criteria's
``CreateReferral``, history checkpoints) are keyed by their own request ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import structlog
from customs.events.v1 import event_delivery_service_pb2 as events_pb2
from sqlalchemy import select, update

from customs_kit.db import OutboxEvent, utcnow
from customs_kit.errors import Unavailable

if TYPE_CHECKING:
    from customs_kit.db import Database
    from customs_kit.outbox import MetadataProvider

_log = structlog.get_logger(__name__)

_FIND_MISSING = "/customs.events.v1.EventDeliveryService/FindMissingEvents"
#: The most ids one FindMissingEvents request may carry (its validation rule).
_PAGE = 500
_CALL_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Reconciliation:
    """What one reconciliation compared and sent again."""

    checked: int
    redelivered: int
    retention_start: datetime
    beyond_retention_window: bool


async def delivered_ingests(
    database: Database, destination: str, since: datetime, *, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """(row id, event id) of event ingests delivered to ``destination`` since ``since``.

    In outbox order, after row ``after_id``, at most ``limit``.
    """
    query = (
        select(OutboxEvent.id, OutboxEvent.event_id)
        .where(
            OutboxEvent.destination == destination,
            OutboxEvent.delivered_at.is_not(None),
            OutboxEvent.delivered_at >= since,
            OutboxEvent.id > after_id,
            # Ingest...Event RPCs, as outbox.is_event_ingest tells them.
            OutboxEvent.method.like("%/Ingest%Event"),
        )
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    async with database.session_factory() as session:
        return [(row.id, row.event_id) for row in await session.execute(query)]


async def redeliver(database: Database, event_ids: list[str]) -> None:
    """Puts delivered events back in the delivery queue and wakes the relay."""
    if not event_ids:
        return
    async with database.session_factory.begin() as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id.in_(event_ids), OutboxEvent.delivered_at.is_not(None))
            .values(delivered_at=None, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    database.outbox_pending.notify()


async def reconcile_destination(
    database: Database,
    channel: grpc.aio.Channel,
    metadata: MetadataProvider,
    destination: str,
    since: datetime,
    retention: timedelta,
) -> Reconciliation:
    """Re-delivers the events delivered to ``destination`` since ``since`` that it lacks.

    Raises ``Unavailable`` if the receiver cannot be asked; what was compared
    before that stays re-queued (re-delivery is harmless to a receiver that
    de-duplicates).
    """
    started = time.monotonic()
    retention_start = utcnow() - retention
    find = channel.unary_unary(
        _FIND_MISSING,
        request_serializer=events_pb2.FindMissingEventsRequest.SerializeToString,
        response_deserializer=events_pb2.FindMissingEventsResponse.FromString,
    )
    checked = redelivered = 0
    after_id = 0
    while True:
        page = await delivered_ingests(database, destination, since, after_id=after_id, limit=_PAGE)
        if not page:
            break
        try:
            response = await find(
                events_pb2.FindMissingEventsRequest(event_ids=[event_id for _, event_id in page]),
                metadata=metadata(),
                timeout=_CALL_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise Unavailable(
                "RECEIVER_UNAVAILABLE",
                f"{destination} could not be asked for its missing events: "
                f"{error.code().name}: {error.details()}",
            ) from error
        asked = {event_id for _, event_id in page}
        missing = [event_id for event_id in response.missing_event_ids if event_id in asked]
        await redeliver(database, missing)
        checked += len(page)
        redelivered += len(missing)
        after_id = page[-1][0]
    result = Reconciliation(checked, redelivered, retention_start, since < retention_start)
    _log.info(
        "destination_reconciled",
        destination=destination,
        since=since.isoformat(),
        checked=checked,
        redelivered=redelivered,
        beyond_retention_window=result.beyond_retention_window,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return result
