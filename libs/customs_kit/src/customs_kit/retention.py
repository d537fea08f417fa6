"""Retention of the kit's own tables, so that they stop growing with the traffic.

Two kinds of rows outlive their purpose in every service:

* Delivered outbox events. Once the receiver has acknowledged an event, its
  row only tells an operator what was sent and when; it is deleted
  ``OUTBOX_RETENTION_DAYS`` after its delivery. An undelivered event is never
  deleted, however old: it is a change another service has not heard of yet,
  and the relay keeps retrying it. Nor is a dead letter (an event its
  receiver refused for good), which waits for an operator to retry it.
* Idempotency keys. A client retries a request within minutes of a timeout;
  ``IDEMPOTENCY_RETENTION_DAYS`` after the first call a repeat of its
  ``request_id`` runs as a new request.

Not pruned here:

* The inbox. The relay retries an undelivered event for as long as it takes
  (a receiver may be down or misconfigured for days, and a restored database
  makes a sender deliver again), so a redelivered event must still be
  recognised as a duplicate however late it comes, or its effect would be
  applied twice.
* The change feed. Watch clients resume from a revision and fall back to a
  snapshot only when records after it are gone; shortening it safely means
  keeping the latest record of every key, a compaction rather than deletion by
  age, and it belongs to the services that append to it.

Locks. Each batch is a transaction of its own that deletes at most
``batch_size`` rows, so a busy table is never locked for long. On PostgreSQL
the rows of a batch are chosen with ``FOR UPDATE SKIP LOCKED``: the pruner
never waits for a row another transaction holds (the relay only ever claims
undelivered rows, which the pruner never selects; another replica's pruner
takes the next rows instead of the same ones).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import Delete, delete, select, tuple_

from customs_kit.background import StoppableLoop
from customs_kit.db import IdempotencyKey, OutboxEvent, utcnow, wait_for_signal

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import CursorResult, Select

    from customs_kit.db import Database

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Pruned:
    """How many rows one pruning run deleted, per table."""

    outbox_events: int
    idempotency_keys: int


class RetentionPruner(StoppableLoop):
    """Deletes expired rows of the kit's tables in the background (``start()`` / ``stop()``).

    Runs ``first_run_after`` seconds after the start, so that a starting
    service serves first, and then every ``interval`` seconds. A failed run is
    logged and tried again at the next one.
    """

    def __init__(
        self,
        database: Database,
        *,
        outbox_retention: timedelta,
        idempotency_retention: timedelta,
        interval: float = 3600.0,
        first_run_after: float = 60.0,
        batch_size: int = 1_000,
        batch_pause: float = 0.05,
    ) -> None:
        super().__init__("retention pruner")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._database = database
        self._outbox_retention = outbox_retention
        self._idempotency_retention = idempotency_retention
        self._interval = interval
        self._first_run_after = first_run_after
        self._batch_size = batch_size
        # SQLite has a single writer: the pause lets the requests queued on its
        # lock in between batches instead of after the whole run.
        self._batch_pause = batch_pause

    async def prune_once(self) -> Pruned:
        """Deletes every expired row now, batch by batch; returns how many per table."""
        started = time.monotonic()
        now = utcnow()
        pruned = Pruned(
            outbox_events=await self._delete_in_batches(
                self._delivered_outbox_events(now - self._outbox_retention)
            ),
            idempotency_keys=await self._delete_in_batches(
                self._idempotency_keys(now - self._idempotency_retention)
            ),
        )
        _log.info(
            "kit_tables_pruned",
            outbox_events=pruned.outbox_events,
            idempotency_keys=pruned.idempotency_keys,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return pruned

    async def _run(self) -> None:
        delay = self._first_run_after
        while True:
            await wait_for_signal(self.stopping, delay)
            if self.stopping.is_set():
                return
            try:
                await self.prune_once()
            except Exception:
                _log.exception("kit_tables_pruning_failed", retry_in=self._interval)
            delay = self._interval

    def _delivered_outbox_events(self, delivered_before: datetime) -> Delete:
        chosen = self._batch(
            select(OutboxEvent.id).where(
                OutboxEvent.delivered_at.is_not(None),
                OutboxEvent.delivered_at < delivered_before,
            )
        )
        return (
            delete(OutboxEvent)
            .where(OutboxEvent.id.in_(chosen))
            .execution_options(synchronize_session=False)
        )

    def _idempotency_keys(self, created_before: datetime) -> Delete:
        chosen = self._batch(
            select(IdempotencyKey.method, IdempotencyKey.caller, IdempotencyKey.request_id).where(
                IdempotencyKey.created_at < created_before
            )
        )
        return (
            delete(IdempotencyKey)
            .where(
                tuple_(IdempotencyKey.method, IdempotencyKey.caller, IdempotencyKey.request_id).in_(
                    chosen
                )
            )
            .execution_options(synchronize_session=False)
        )

    def _batch(self, query: Select[Any]) -> Select[Any]:
        query = query.limit(self._batch_size)
        if self._database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return query

    async def _delete_in_batches(self, statement: Delete) -> int:
        total = 0
        while True:
            async with self._database.session_factory.begin() as session:
                result = cast("CursorResult[Any]", await session.execute(statement))
            total += result.rowcount
            # A short batch means nothing expired is left, except rows locked by
            # others on PostgreSQL, which the next run deletes.
            if result.rowcount < self._batch_size or self.stopping.is_set():
                return total
            await asyncio.sleep(self._batch_pause)
