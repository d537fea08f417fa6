"""Transactional outbox: events stored with the change that caused them, relayed later.

A handler adds an event to ``uow.outbox`` in the same transaction as its
change, so the event exists if and only if the change was committed. The
:class:`OutboxRelay` then delivers it to the receiving service's ingest RPC,
at least once: the receiver de-duplicates by ``event_id`` (see
:mod:`customs_kit.inbox`), which the relay also sends as ``idempotency-key``
metadata.

Retries. A failed delivery is retried after an exponential backoff with full
jitter (base 0.2 s, doubled per attempt, capped at 60 s). Statuses that
retrying soon will not fix (``INVALID_ARGUMENT``, ``FAILED_PRECONDITION``,
``NOT_FOUND``, ``PERMISSION_DENIED``, ``UNAUTHENTICATED``, ``UNIMPLEMENTED``,
``OUT_OF_RANGE``) are retried too, but only every 60 s: an event records a
change that already happened, so it is never dropped; the fix is a receiver
deployment or a configuration change, after which delivery resumes by itself.
``attempts`` and ``last_error`` on the row show what is stuck and why.

Replicas. On PostgreSQL several relays may run against one database: each
claims a batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` and leases it by
moving ``next_attempt_at`` past the call timeout, so no row lock is held
during network calls and a crashed relay's batch is picked up once the lease
ends. SQLite serves a single process, where the claim is a plain select.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import grpc
import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import func, insert, select, update

from customs_kit.background import StoppableLoop
from customs_kit.db import OutboxEvent, utcnow, wait_for_signal

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database

_log = structlog.get_logger(__name__)

#: Returns the metadata (e.g. the service token) sent with every delivery.
MetadataProvider = Callable[[], Sequence[tuple[str, str]]]

_PERMANENT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
_MAX_ERROR_LENGTH = 2_000


def backoff_delay(
    attempts: int,
    *,
    base: float = 0.2,
    cap: float = 60.0,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the ``attempts``-th failed delivery (1 for the first).

    Full jitter: uniform over ``[0, min(cap, base * 2**(attempts-1)))``, which
    spreads the retries of many events that failed together.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 64))
    return rng() * ceiling


class OutboxWriter:
    """``uow.outbox``: adds events to the unit of work's transaction.

    Events are written when the unit of work commits, all with one multi-row
    insert in the order they were added: a decision batch adds hundreds, and
    one ORM object per event would cost more than the decisions themselves.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: list[dict[str, object]] = []
        self._added = 0

    def add(self, destination: str, method: str, payload: bytes, event_id: str) -> None:
        """Stores an event for ``destination`` (a peer service name, e.g. ``exam-reports``).

        ``method`` is the full gRPC method path and ``payload`` the serialized
        request, which already carries ``event_id``. The trace context of the
        current span is stored so that the delivery continues this trace.
        """
        if not event_id:
            raise ValueError("an outbox event needs an event_id")
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        now = utcnow()
        self._pending.append(
            {
                "event_id": event_id,
                "destination": destination,
                "method": method,
                "payload": payload,
                "traceparent": carrier.get("traceparent"),
                "tracestate": carrier.get("tracestate"),
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )

    async def write(self) -> None:
        """Inserts the events added since the last write (the unit of work calls it)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        await self._session.execute(insert(OutboxEvent), pending)
        self._added += len(pending)

    def discard(self) -> None:
        """Forgets the events not written yet (the transaction is rolled back)."""
        self._pending = []

    def take_added(self) -> int:
        """How many events were written since the last call (the unit of work resets it)."""
        added, self._added = self._added, 0
        return added


@dataclass(frozen=True)
class _Failure:
    permanent: bool
    description: str


def _identity(data: bytes) -> bytes:
    return data


class OutboxRelay(StoppableLoop):
    """Delivers pending outbox events in the background (``start()`` / ``stop()``).

    ``stop()`` lets the delivery in flight finish and releases the events
    claimed but not sent yet, for the next relay to take.

    ``channels`` maps destination names to channels (normally instrumented ones,
    whose client interceptor propagates the trace to the receiver). The relay
    wakes when a unit of work of the same :class:`Database` commits an event
    (``linger`` seconds later, so that the events of the transactions committed
    meanwhile go out as one batch rather than costing a claim each), when a retry falls
    due, and every ``poll_interval`` seconds for events committed by other
    processes.
    """

    def __init__(
        self,
        database: Database,
        channels: Mapping[str, grpc.aio.Channel],
        metadata: MetadataProvider,
        *,
        tracer_provider: TracerProvider | None = None,
        poll_interval: float = 5.0,
        batch_size: int = 100,
        call_timeout: float = 10.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 60.0,
        lease_seconds: float | None = None,
        linger: float = 0.05,
    ) -> None:
        super().__init__("outbox relay")
        self._database = database
        self._channels = dict(channels)
        self._metadata = metadata
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._call_timeout = call_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._linger = linger
        # How long a claimed batch stays reserved: what a crashed replica held is
        # retried after it. Long enough by default that a call still in flight is
        # never claimed by another replica.
        self._lease = timedelta(
            seconds=lease_seconds if lease_seconds is not None else max(30.0, 3 * call_timeout)
        )

    async def _run(self) -> None:
        _log.info("outbox_relay_started", destinations=sorted(self._channels))
        while not self.stopping.is_set():
            armed = self._database.outbox_pending.arm()
            try:
                if await self._deliver_due() >= self._batch_size:
                    continue
                delay = await self._seconds_until_next_due()
            except Exception:
                _log.exception("outbox_relay_failed", retry_in=self._poll_interval)
                delay = self._poll_interval
            await wait_for_signal(armed, delay, stop=self.stopping)
            if armed.is_set():
                await wait_for_signal(self.stopping, self._linger)
        _log.info("outbox_relay_stopped")

    async def _deliver_due(self) -> int:
        events = await self._claim()
        by_destination: dict[str, list[OutboxEvent]] = {}
        for event in events:
            by_destination.setdefault(event.destination, []).append(event)
        # Deliveries are recorded together once every queue is done: a crash in
        # between only repeats deliveries, which receivers de-duplicate, and a
        # transaction per event would cost more than the call itself.
        delivered: list[OutboxEvent] = []
        try:
            # One slow or unreachable peer must not hold up deliveries to the others.
            async with asyncio.TaskGroup() as group:
                for queue in by_destination.values():
                    group.create_task(self._deliver_in_order(queue, delivered))
        finally:
            await self._mark_delivered(delivered)
        return len(events)

    async def _claim(self) -> list[OutboxEvent]:
        now = utcnow()
        query = (
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= now)
            .order_by(OutboxEvent.id)
            .limit(self._batch_size)
        )
        if self._database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        async with self._database.session_factory.begin() as session:
            events = list((await session.scalars(query)).all())
            if events:
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_([event.id for event in events]))
                    .values(next_attempt_at=now + self._lease)
                    .execution_options(synchronize_session=False)
                )
        return events

    async def _seconds_until_next_due(self) -> float:
        async with self._database.session_factory.begin() as session:
            next_due = await session.scalar(
                select(func.min(OutboxEvent.next_attempt_at)).where(
                    OutboxEvent.delivered_at.is_(None)
                )
            )
        if next_due is None:
            return self._poll_interval
        return min(max((next_due - utcnow()).total_seconds(), 0.0), self._poll_interval)

    async def _deliver_in_order(
        self, events: list[OutboxEvent], delivered: list[OutboxEvent]
    ) -> None:
        """Delivers one destination's events in order, adding the successes to ``delivered``."""
        for index, event in enumerate(events):
            if self.stopping.is_set():
                await self._release(events[index:])
                return
            if await self._deliver(event):
                delivered.append(event)

    async def _deliver(self, event: OutboxEvent) -> bool:
        """Calls the receiver; a failure is recorded at once, a success returns True."""
        carrier = {"traceparent": event.traceparent or "", "tracestate": event.tracestate or ""}
        parent = TraceContextTextMapPropagator().extract(carrier)
        with self._tracer.start_as_current_span(
            f"outbox relay {event.method}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "customs.event_id": event.event_id,
                "customs.destination": event.destination,
                "customs.attempt": event.attempts + 1,
            },
        ) as span:
            failure = await self._call(event)
            if failure is None:
                return True
            span.set_status(Status(StatusCode.ERROR, failure.description))
            await self._mark_failed(event, failure)
            return False

    async def _call(self, event: OutboxEvent) -> _Failure | None:
        channel = self._channels.get(event.destination)
        if channel is None:
            return _Failure(True, f"no channel for destination {event.destination!r}")
        call = channel.unary_unary(
            event.method, request_serializer=_identity, response_deserializer=_identity
        )
        try:
            await call(
                event.payload,
                metadata=(*self._metadata(), ("idempotency-key", event.event_id)),
                timeout=self._call_timeout,
            )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            return _Failure(code in _PERMANENT_CODES, f"{code.name}: {error.details()}")
        except Exception as error:
            return _Failure(False, f"{type(error).__name__}: {error}")
        return None

    async def _mark_delivered(self, events: list[OutboxEvent]) -> None:
        if not events:
            return
        async with self._database.session_factory.begin() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([event.id for event in events]))
                .values(delivered_at=utcnow(), attempts=OutboxEvent.attempts + 1, last_error=None)
                .execution_options(synchronize_session=False)
            )
        _log.info(
            "outbox_events_delivered",
            destinations=sorted({event.destination for event in events}),
            count=len(events),
            event_ids=[event.event_id for event in events],
        )

    async def _mark_failed(self, event: OutboxEvent, failure: _Failure) -> None:
        attempts = event.attempts + 1
        delay = (
            self._backoff_cap
            if failure.permanent
            else backoff_delay(attempts, base=self._backoff_base, cap=self._backoff_cap)
        )
        async with self._database.session_factory.begin() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event.id)
                .values(
                    attempts=attempts,
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                    last_error=failure.description[:_MAX_ERROR_LENGTH],
                )
                .execution_options(synchronize_session=False)
            )
        _log.warning(
            "outbox_delivery_failed",
            event_id=event.event_id,
            destination=event.destination,
            method=event.method,
            attempts=attempts,
            error=failure.description,
            permanent=failure.permanent,
            retry_in=round(delay, 3),
        )

    async def _release(self, events: list[OutboxEvent]) -> None:
        async with self._database.session_factory.begin() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([event.id for event in events]))
                .values(next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            )
