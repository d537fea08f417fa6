"""Transactional outbox: events stored with the change that caused them, relayed later.

A handler adds an event to ``uow.outbox`` in the same transaction as its
change, so the event exists if and only if the change was committed. The
:class:`OutboxRelay` then delivers it to the receiving service, at least
once: the receiver de-duplicates by ``event_id`` (see :mod:`customs_kit.inbox`).

Batches. The relay sends a destination's due events together, in order, in
one ``customs.events.v1.EventDeliveryService/IngestEventBatch`` call (served
by every service, see :mod:`customs_kit.event_delivery`): each event keeps its
own id, its own span continuing the trace of the change that caused it, and
its own outcome. A receiver that does not serve the batch RPC
(``UNIMPLEMENTED``, e.g. an older release during a rolling upgrade) gets the
events one unary call each, with the event id as ``idempotency-key``
metadata.

Retries and dead letters. A transient failure (of one event or of the whole
batch call) is retried after an exponential backoff with full jitter (base
0.2 s, doubled per attempt, capped at 60 s). An event its receiver refuses
with a status that retrying will not fix (``INVALID_ARGUMENT``,
``FAILED_PRECONDITION``, ``NOT_FOUND``, ``PERMISSION_DENIED``,
``UNAUTHENTICATED``, ``UNIMPLEMENTED``, ``OUT_OF_RANGE``) is dead-lettered at
its first refusal: kept with the receiver's error (``dead_lettered_at``,
``last_error``), counted in the ``customs.outbox.dead_lettered`` metric, never
retried by itself nor deleted by retention, until an operator retries it
(:mod:`customs_kit.dead_letters`). A whole batch call refused that way is not
the events' fault (a token or a deployment is wrong): its events are retried
every 60 s instead, until the configuration is fixed.

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
from customs.events.v1 import event_delivery_service_pb2 as events_pb2
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import func, select, update

from customs_kit.background import StoppableLoop
from customs_kit.db import OutboxEvent, insert_rows, utcnow, wait_for_signal

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider
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
_BATCH_METHOD = "/customs.events.v1.EventDeliveryService/IngestEventBatch"
#: The most events one IngestEventBatch request may carry (its validation rule).
MAX_BATCH_EVENTS = 500
_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def is_event_ingest(method: str) -> bool:
    """Whether an RPC (by name or full path) is an ``Ingest...Event`` RPC: what a batch carries."""
    name = method.rsplit("/", 1)[-1]
    return name.startswith("Ingest") and name.endswith("Event")


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

    Events are written when the unit of work commits, all with one bulk
    insert (COPY on PostgreSQL) in the order they were added: a decision
    batch adds hundreds, and one ORM object (or one statement parameter per
    value) per event would cost more than the decisions themselves.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: list[dict[str, object]] = []
        self._added = 0

    def add(
        self,
        destination: str,
        method: str,
        payload: bytes,
        event_id: str,
        *,
        resource: str | None = None,
    ) -> None:
        """Stores an event for ``destination`` (a peer service name, e.g. ``exam-reports``).

        ``method`` is the full gRPC method path and ``payload`` the serialized
        request, which already carries ``event_id``. The trace context of the
        current span is stored so that the delivery continues this trace.
        ``resource`` names the resource whose change caused the event
        (``assessments/...``), whose delivery state is then read from its events
        (:func:`customs_kit.dead_letters.delivery_states`).
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
                "resource": resource,
            }
        )

    async def write(self) -> None:
        """Inserts the events added since the last write (the unit of work calls it)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        await insert_rows(self._session, OutboxEvent.__table__, pending)
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


def _failure_of(code: grpc.StatusCode, details: str | None) -> _Failure:
    return _Failure(code in _PERMANENT_CODES, f"{code.name}: {details or ''}")


class _BatchUnavailable(Exception):
    """The receiver does not serve the batch RPC: deliver one unary call per event."""


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
    processes. ``batch_size`` (at most :data:`MAX_BATCH_EVENTS`) events are
    claimed at a time; each destination's share of them goes out in calls of
    at most ``events_per_call`` events, one after the other.
    """

    def __init__(
        self,
        database: Database,
        channels: Mapping[str, grpc.aio.Channel],
        metadata: MetadataProvider,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        poll_interval: float = 5.0,
        batch_size: int = MAX_BATCH_EVENTS,
        call_timeout: float = 10.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 60.0,
        lease_seconds: float | None = None,
        linger: float = 0.05,
        events_per_call: int = 100,
    ) -> None:
        super().__init__("outbox relay")
        if not 1 <= batch_size <= MAX_BATCH_EVENTS:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_EVENTS}")
        self._database = database
        self._channels = dict(channels)
        self._metadata = metadata
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._dead_lettered = metrics.get_meter(
            __name__, meter_provider=meter_provider
        ).create_counter(
            "customs.outbox.dead_lettered",
            unit="{event}",
            description="Outbox events their receiver refused for good (dead-lettered).",
        )
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        # A busy receiver answers a call of this many events well within the timeout.
        self._events_per_call = max(1, min(events_per_call, batch_size))
        # Per destination, what a call carries now: halved when a call runs out of
        # time (a loaded receiver never finishing a large batch would otherwise get
        # the same batch again forever), doubled back after each call that doesn't.
        self._call_sizes: dict[str, int] = {}
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
        # Destinations found not to serve the batch RPC, until this relay restarts.
        self._unary_only: set[str] = set()

    def peer(self, destination: str) -> tuple[grpc.aio.Channel, MetadataProvider] | None:
        """The channel this relay delivers to ``destination`` on and its call metadata."""
        channel = self._channels.get(destination)
        return None if channel is None else (channel, self._metadata)

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
                for destination, queue in by_destination.items():
                    group.create_task(self._deliver_queue(destination, queue, delivered))
        finally:
            await self._mark_delivered(delivered)
        return len(events)

    async def _claim(self) -> list[OutboxEvent]:
        now = utcnow()
        query = (
            select(OutboxEvent)
            .where(
                OutboxEvent.delivered_at.is_(None),
                OutboxEvent.dead_lettered_at.is_(None),
                OutboxEvent.next_attempt_at <= now,
            )
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
                    OutboxEvent.delivered_at.is_(None), OutboxEvent.dead_lettered_at.is_(None)
                )
            )
        if next_due is None:
            return self._poll_interval
        return min(max((next_due - utcnow()).total_seconds(), 0.0), self._poll_interval)

    async def _deliver_queue(
        self, destination: str, events: list[OutboxEvent], delivered: list[OutboxEvent]
    ) -> None:
        """Delivers one destination's events, adding the successes to ``delivered``."""
        channel = self._channels.get(destination)
        if channel is None:
            failure = _Failure(True, f"no channel for destination {destination!r}")
            for event in events:
                await self._mark_failed(event, failure)
            return
        start = 0
        while start < len(events):
            if self.stopping.is_set():
                await self._release(events[start:])
                return
            size = self._call_sizes.get(destination, self._events_per_call)
            timed_out = await self._deliver_call(
                destination, channel, events[start : start + size], delivered
            )
            start += size
            self._call_sizes[destination] = (
                max(1, size // 2) if timed_out else min(self._events_per_call, 2 * size)
            )
            if timed_out:
                _log.warning(
                    "outbox_call_timed_out",
                    destination=destination,
                    events=size,
                    next_call_events=self._call_sizes[destination],
                )

    async def _deliver_call(
        self,
        destination: str,
        channel: grpc.aio.Channel,
        events: list[OutboxEvent],
        delivered: list[OutboxEvent],
    ) -> bool:
        """Delivers ``events`` in one call where it can; whether a call ran out of time."""
        # One span per event and attempt, whichever way it goes out.
        pairs = [(event, self._start_span(event)) for event in events]
        timed_out = False
        if destination not in self._unary_only:
            # Only Ingest...Event RPCs travel in a batch; a command sent through the
            # outbox (criteria's CreateReferral on an accepted recommendation) goes
            # as its own call.
            batchable = [(e, span) for e, span in pairs if is_event_ingest(e.method)]
            if batchable:
                try:
                    timed_out = await self._deliver_batch(
                        channel, [e for e, _ in batchable], [s for _, s in batchable], delivered
                    )
                    pairs = [(e, span) for e, span in pairs if not is_event_ingest(e.method)]
                except _BatchUnavailable:
                    _log.warning("outbox_batch_ingest_unavailable", destination=destination)
                    self._unary_only.add(destination)
        if pairs:
            await self._deliver_one_by_one(
                channel, [e for e, _ in pairs], [s for _, s in pairs], delivered
            )
        return timed_out

    async def _deliver_batch(
        self,
        channel: grpc.aio.Channel,
        events: list[OutboxEvent],
        spans: list[Span],
        delivered: list[OutboxEvent],
    ) -> bool:
        """One IngestEventBatch call for ``events``; whether it ran out of time.

        Each receiver span continues its own event's trace.
        """
        request = events_pb2.IngestEventBatchRequest(
            events=[
                events_pb2.EventEnvelope(
                    event_id=event.event_id,
                    method=event.method,
                    payload=event.payload,
                    **_trace_fields(span),
                )
                for event, span in zip(events, spans, strict=True)
            ]
        )
        call = channel.unary_unary(
            _BATCH_METHOD,
            request_serializer=events_pb2.IngestEventBatchRequest.SerializeToString,
            response_deserializer=events_pb2.IngestEventBatchResponse.FromString,
        )
        failures: list[_Failure | None]
        timed_out = False
        try:
            response = await call(request, metadata=self._metadata(), timeout=self._call_timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.UNIMPLEMENTED:
                raise _BatchUnavailable from error
            timed_out = error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            # The call as a whole failed: the events are not at fault, so none is
            # dead-lettered for it.
            failures = [_Failure(False, f"{error.code().name}: {error.details()}")] * len(events)
        except Exception as error:
            failures = [_Failure(False, f"{type(error).__name__}: {error}")] * len(events)
        else:
            failures = _failures_of(events, response)
        for event, span, failure in zip(events, spans, failures, strict=True):
            if failure is None:
                delivered.append(event)
            else:
                span.set_status(Status(StatusCode.ERROR, failure.description))
                await self._mark_failed(event, failure)
            span.end()
        return timed_out

    async def _deliver_one_by_one(
        self,
        channel: grpc.aio.Channel,
        events: list[OutboxEvent],
        spans: list[Span],
        delivered: list[OutboxEvent],
    ) -> None:
        for index, (event, span) in enumerate(zip(events, spans, strict=True)):
            if self.stopping.is_set():
                for unsent in spans[index:]:
                    unsent.end()
                await self._release(events[index:])
                return
            with trace.use_span(span, end_on_exit=True):
                failure = await self._call(channel, event)
                if failure is None:
                    delivered.append(event)
                else:
                    span.set_status(Status(StatusCode.ERROR, failure.description))
                    await self._mark_failed(event, failure)

    def _start_span(self, event: OutboxEvent) -> Span:
        carrier = {"traceparent": event.traceparent or "", "tracestate": event.tracestate or ""}
        return self._tracer.start_span(
            f"outbox relay {event.method}",
            context=TraceContextTextMapPropagator().extract(carrier),
            kind=SpanKind.PRODUCER,
            attributes={
                "customs.event_id": event.event_id,
                "customs.destination": event.destination,
                "customs.attempt": event.attempts + 1,
            },
        )

    async def _call(self, channel: grpc.aio.Channel, event: OutboxEvent) -> _Failure | None:
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
            return _failure_of(error.code(), error.details())
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
        now = utcnow()
        error = failure.description[:_MAX_ERROR_LENGTH]
        if failure.permanent:
            values: dict[str, object] = {"dead_lettered_at": now}
        else:
            delay = backoff_delay(attempts, base=self._backoff_base, cap=self._backoff_cap)
            values = {"next_attempt_at": now + timedelta(seconds=delay)}
        async with self._database.session_factory.begin() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event.id)
                .values(attempts=attempts, last_error=error, **values)
                .execution_options(synchronize_session=False)
            )
        fields = {
            "event_id": event.event_id,
            "destination": event.destination,
            "method": event.method,
            "attempts": attempts,
            "error": failure.description,
        }
        if failure.permanent:
            self._dead_lettered.add(
                1, {"customs.destination": event.destination, "rpc.method": event.method}
            )
            _log.error("outbox_event_dead_lettered", **fields)
        else:
            _log.warning("outbox_delivery_failed", **fields, retry_in=round(delay, 3))

    async def _release(self, events: list[OutboxEvent]) -> None:
        async with self._database.session_factory.begin() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([event.id for event in events]))
                .values(next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def _trace_fields(span: Span) -> dict[str, str]:
    """The W3C context of ``span`` for an envelope: the receiver's span continues it."""
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=trace.set_span_in_context(span))
    return {key: carrier[key] for key in ("traceparent", "tracestate") if key in carrier}


def _failures_of(
    events: Sequence[OutboxEvent], response: events_pb2.IngestEventBatchResponse
) -> list[_Failure | None]:
    """Each event's failure (None: accepted) from the receiver's results, matched by id."""
    results = {result.event_id: result for result in response.results}
    failures: list[_Failure | None] = []
    for event in events:
        result = results.get(event.event_id)
        if result is None:
            failures.append(_Failure(False, "UNKNOWN: the receiver returned no result"))
        elif result.code == 0:
            failures.append(None)
        else:
            code = _CODES_BY_NUMBER.get(result.code, grpc.StatusCode.UNKNOWN)
            failures.append(_failure_of(code, result.message))
    return failures
