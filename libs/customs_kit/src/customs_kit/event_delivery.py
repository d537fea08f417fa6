"""``customs.events.v1.EventDeliveryService``: served by every service, built by the chassis.

Batch ingest. A peer's outbox relay sends a destination's events in one
``IngestEventBatch`` call; each envelope names the ``Ingest...Event`` RPC it is
for, and is dispatched in-process to that RPC's servicer method as if it had
come alone: its request validated against the RPC's rules, its caller
authorized by the RPC's roles, its effect applied (and de-duplicated by event
id) in a savepoint of its own (the events of a batch share one transaction
and one commit, see :func:`customs_kit.uow.enclosing`), under a span of its own that continues
the envelope's trace context. Each event gets its own result, so a refused
event is dead-lettered by the sender alone, not with the batch. Only
``Ingest...Event`` methods are reachable this way: the batch is a transport
for events, not a way around the other RPCs' call guard.

Dead letters. ``ListDeadLetterEvents`` and ``RetryDeadLetterEvents`` let an
operator see and redeliver this service's own outbox events that a receiver
refused for good (:mod:`customs_kit.dead_letters`).

Reconciliation. After a receiver's database is restored from a backup,
``ReconcileDestination`` (operator) on each sender compares what it delivered
since the backup with the receiver's inbox (``FindMissingEvents``, served to
peers) and delivers again what the receiver lost (:mod:`customs_kit.reconciliation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from customs.events.v1 import event_delivery_service_pb2 as pb
from google.protobuf import message, message_factory, timestamp_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import code_pb2
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from customs_kit.auth import Role, allow, allowed_roles, authorize, current_principal
from customs_kit.db import database_unavailable
from customs_kit.dead_letters import DeadLetter, list_dead_letters, retry_dead_letters
from customs_kit.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument
from customs_kit.inbox import missing_events
from customs_kit.interceptors import violations_of
from customs_kit.outbox import OutboxRelay, is_event_ingest
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.reconciliation import reconcile_destination
from customs_kit.uow import enclosing

if TYPE_CHECKING:
    from datetime import datetime

    from customs_kit.db import Database

_log = structlog.get_logger(__name__)
_tracer = trace.get_tracer(__name__)

#: The generated service descriptor, for the server's registration.
DESCRIPTOR: ServiceDescriptor = pb.DESCRIPTOR.services_by_name["EventDeliveryService"]

_Handler = Callable[[Any, Any], Awaitable[message.Message]]
#: Events of a batch committed together: one commit instead of one per event,
#: without holding the write lock (SQLite) or row locks for long.
_EVENTS_PER_TRANSACTION = 50


@dataclass(frozen=True)
class _Target:
    handler: _Handler
    request_type: type[message.Message]
    roles: frozenset[Role] | None


def ingest_targets(
    services: Iterable[tuple[object, ServiceDescriptor]],
) -> dict[str, _Target]:
    """The ``Ingest...Event`` methods of ``services`` (servicer, descriptor), by full path."""
    targets: dict[str, _Target] = {}
    for servicer, descriptor in services:
        for method in descriptor.methods:
            if not is_event_ingest(method.name):
                continue
            if method.client_streaming or method.server_streaming:
                continue
            implementation = getattr(servicer, method.name, None)
            if implementation is None:
                continue
            targets[f"/{descriptor.full_name}/{method.name}"] = _Target(
                handler=implementation,
                request_type=message_factory.GetMessageClass(method.input_type),
                roles=allowed_roles(implementation),
            )
    return targets


class EventDeliveryServicer:
    """The kit's event delivery RPCs for one service (its database and its ingest RPCs)."""

    def __init__(
        self,
        database: Database,
        page_tokens: PageTokens,
        targets: dict[str, _Target],
        *,
        relays: Sequence[OutboxRelay] = (),
        outbox_retention: timedelta = timedelta(days=7),
    ) -> None:
        self._database = database
        self._page_tokens = page_tokens
        self._targets = targets
        # The relays know the channels to this service's receivers, for reconciliation.
        self._relays = list(relays)
        self._outbox_retention = outbox_retention

    @allow(Role.SERVICE)
    async def IngestEventBatch(
        self, request: pb.IngestEventBatchRequest, context: Any
    ) -> pb.IngestEventBatchResponse:
        """Applies each event in order; one failure never stops the others."""
        events = list(request.events)
        results: list[pb.EventResult] = []
        for start in range(0, len(events), _EVENTS_PER_TRANSACTION):
            results += await self._ingest_together(
                events[start : start + _EVENTS_PER_TRANSACTION], context
            )
        return pb.IngestEventBatchResponse(results=results)

    async def _ingest_together(
        self, envelopes: list[pb.EventEnvelope], context: Any
    ) -> list[pb.EventResult]:
        """Applies ``envelopes`` in one transaction, each in a savepoint of its own."""
        async with self._database.unit_of_work() as shared:
            with enclosing(shared):
                results = [await self._ingest(envelope, context) for envelope in envelopes]
            try:
                await shared.commit()
            except Exception as error:
                # Nothing was applied: every event the receiver had accepted is retried.
                # After an event found the database away, the commit failing is no news.
                if database_unavailable(error) is not None or any(
                    result.code == code_pb2.UNAVAILABLE for result in results
                ):
                    _log.warning("event_batch_commit_failed", detail=str(error))
                else:
                    _log.error("event_batch_commit_failed", exc_info=error)
                return [
                    result
                    if result.code != code_pb2.OK
                    else pb.EventResult(
                        event_id=result.event_id,
                        code=code_pb2.UNAVAILABLE,
                        message="the batch could not be committed",
                    )
                    for result in results
                ]
        return results

    async def _ingest(self, envelope: pb.EventEnvelope, context: Any) -> pb.EventResult:
        target = self._targets.get(envelope.method)
        if target is None:
            return pb.EventResult(
                event_id=envelope.event_id,
                code=code_pb2.UNIMPLEMENTED,
                message=f"{envelope.method} is not an event ingest RPC of this service",
            )
        carrier = {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
        with (
            _tracer.start_as_current_span(
                # Named as the unary call's server span would be.
                envelope.method,
                context=TraceContextTextMapPropagator().extract(carrier),
                kind=SpanKind.SERVER,
                attributes={"customs.event_id": envelope.event_id, "rpc.system": "grpc"},
            ) as span,
            structlog.contextvars.bound_contextvars(
                rpc=envelope.method, event_id=envelope.event_id
            ),
        ):
            try:
                await self._apply(envelope, target, context)
            except DomainError as error:
                span.set_status(Status(StatusCode.ERROR, error.message))
                _log.info(
                    "event_refused",
                    code=error.status.value,
                    reason=error.reason,
                    detail=error.message,
                )
                return pb.EventResult(
                    event_id=envelope.event_id,
                    code=code_pb2.Code.Value(error.status.value),
                    message=error.message,
                )
            except Exception as error:
                # As a unary call would answer: UNAVAILABLE for a database that
                # cannot answer now, else INTERNAL; the sender retries both.
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                unavailable = database_unavailable(error)
                if unavailable is not None:
                    _log.warning("event_unavailable", detail=str(error))
                    return pb.EventResult(
                        event_id=envelope.event_id,
                        code=code_pb2.UNAVAILABLE,
                        message=unavailable.message,
                    )
                _log.error("event_failed", exc_info=error)
                return pb.EventResult(
                    event_id=envelope.event_id, code=code_pb2.INTERNAL, message="internal error"
                )
        return pb.EventResult(event_id=envelope.event_id, code=code_pb2.OK)

    async def _apply(self, envelope: pb.EventEnvelope, target: _Target, context: Any) -> None:
        authorize(current_principal(), envelope.method, target.roles)
        try:
            request = target.request_type.FromString(envelope.payload)
        except message.DecodeError:
            raise InvalidArgument(
                [FieldViolation("payload", f"is not a {target.request_type.__name__}")]
            ) from None
        violations = violations_of(request)
        if violations:
            raise InvalidArgument(violations)
        if getattr(request, "event_id", envelope.event_id) != envelope.event_id:
            raise InvalidArgument(
                [FieldViolation("event_id", "differs from the event_id of the payload")]
            )
        await target.handler(request, context)

    @allow(Role.OPERATOR)
    async def ListDeadLetterEvents(
        self, request: pb.ListDeadLetterEventsRequest, context: Any
    ) -> pb.ListDeadLetterEventsResponse:
        """One page of dead letters, oldest first (keyset on the outbox row id)."""
        query = {"list": "deadLetterEvents", "destination": request.destination}
        position = self._page_tokens.decode(request.page_token, query=query)
        size = clamp_page_size(request.page_size, default=50, maximum=500)
        found = await list_dead_letters(
            self._database,
            destination=request.destination or None,
            after_id=int(position.get("id", 0)),
            limit=size + 1,
        )
        page = found[:size]
        next_token = (
            self._page_tokens.encode({"id": page[-1].id}, query=query) if len(found) > size else ""
        )
        return pb.ListDeadLetterEventsResponse(
            dead_letter_events=[_dead_letter_to_proto(letter) for letter in page],
            next_page_token=next_token,
        )

    @allow(Role.OPERATOR)
    async def RetryDeadLetterEvents(
        self, request: pb.RetryDeadLetterEventsRequest, context: Any
    ) -> pb.RetryDeadLetterEventsResponse:
        """Puts the named dead letters back in the delivery queue."""
        retried = await retry_dead_letters(self._database, list(request.event_ids))
        _log.info("dead_letter_events_retried", event_ids=retried)
        return pb.RetryDeadLetterEventsResponse(event_ids=retried)

    @allow(Role.OPERATOR)
    async def ReconcileDestination(
        self, request: pb.ReconcileDestinationRequest, context: Any
    ) -> pb.ReconcileDestinationResponse:
        """Re-delivers what a restored receiver lacks of the events delivered since ``since``."""
        peer = next(
            (found for relay in self._relays if (found := relay.peer(request.destination))),
            None,
        )
        if peer is None:
            raise FailedPrecondition(
                "DESTINATION_UNKNOWN",
                f"this service delivers no events to {request.destination!r}",
            )
        channel, metadata = peer
        result = await reconcile_destination(
            self._database,
            channel,
            metadata,
            request.destination,
            request.since.ToDatetime(tzinfo=UTC),
            self._outbox_retention,
        )
        return pb.ReconcileDestinationResponse(
            checked=result.checked,
            redelivered=result.redelivered,
            retention_start=_timestamp(result.retention_start),
            beyond_retention_window=result.beyond_retention_window,
        )

    @allow(Role.SERVICE)
    async def FindMissingEvents(
        self, request: pb.FindMissingEventsRequest, context: Any
    ) -> pb.FindMissingEventsResponse:
        """The requested event ids this service's inbox has no record of."""
        missing = await missing_events(self._database, list(request.event_ids))
        return pb.FindMissingEventsResponse(missing_event_ids=missing)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _dead_letter_to_proto(letter: DeadLetter) -> pb.DeadLetterEvent:
    return pb.DeadLetterEvent(
        event_id=letter.event_id,
        destination=letter.destination,
        method=letter.method,
        resource=letter.resource or "",
        error=letter.error,
        attempts=letter.attempts,
        create_time=_timestamp(letter.created_at),
        dead_letter_time=_timestamp(letter.dead_lettered_at),
    )
