"""Follows the criteria service's active-criteria stream into the rules the service holds.

A background task: it opens ``WatchActiveCriteria`` from the last revision it
applied, applies the snapshot and every change as they arrive, and when the
stream breaks (criteria restarting, network) reconnects after an
exponential backoff with jitter, resuming from that revision. Assessments
keep using the last applied snapshot meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import grpc
import structlog
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from google.protobuf.message import Message

from customs_kit.db import Database
from customs_kit.outbox import backoff_delay
from scoring.adapters.repositories import CRITERION, NAMED_LIST
from scoring.service_layer.rules import RulesHolder, apply_change, apply_snapshot

_log = structlog.get_logger(__name__)

MetadataProvider = Callable[[], Sequence[tuple[str, str]]]


class StreamApplier:
    """Applies the messages of the active-criteria stream, in order, to ``holder``.

    A snapshot is collected from ``snapshot_start`` to ``snapshot_end`` and
    applied whole; every other message is applied as it comes.
    """

    def __init__(self, database: Database, holder: RulesHolder, revision: int = 0) -> None:
        self._database = database
        self._holder = holder
        self._collecting: tuple[dict[str, bytes], dict[str, bytes]] | None = None
        #: The revision of the last message applied; a stream resumes after it.
        self.revision = revision

    def reset(self) -> None:
        """Forgets a snapshot half-received (the stream it came on broke)."""
        self._collecting = None

    async def apply(self, response: criteria_service_pb2.WatchActiveCriteriaResponse) -> None:
        """Applies one message of the stream."""
        revision = response.revision
        event = response.WhichOneof("event")
        collecting = self._collecting
        if event == "snapshot_start":
            self._collecting = ({}, {})
            return
        if collecting is not None and event in ("criterion", "named_list"):
            if event == "criterion":
                collecting[0][response.criterion.name] = _wire(response.criterion)
            else:
                collecting[1][response.named_list.name] = _wire(response.named_list)
            return
        database, holder = self._database, self._holder
        match event:
            case "snapshot_end":
                if collecting is None:
                    _log.warning("criteria_snapshot_end_without_start", revision=revision)
                    return
                await apply_snapshot(database, holder, revision, *collecting)
                self._collecting = None
            case "criterion":
                name, payload = response.criterion.name, _wire(response.criterion)
                await apply_change(database, holder, revision, CRITERION, name, payload)
            case "named_list":
                name, payload = response.named_list.name, _wire(response.named_list)
                await apply_change(database, holder, revision, NAMED_LIST, name, payload)
            case "removed_criterion":
                name = response.removed_criterion
                await apply_change(database, holder, revision, CRITERION, name, None)
            case "removed_named_list":
                name = response.removed_named_list
                await apply_change(database, holder, revision, NAMED_LIST, name, None)
            case _:
                _log.warning("criteria_watch_unknown_event", event=event, revision=revision)
                return
        self.revision = revision


def _wire(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


class CriteriaWatch:
    """Keeps the rules (in memory and journaled) in step with criteria's active set."""

    def __init__(
        self,
        applier: StreamApplier,
        channel: grpc.aio.Channel,
        metadata: MetadataProvider,
        *,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
    ) -> None:
        self._applier = applier
        self._stub = criteria_service_pb2_grpc.CriteriaServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = metadata
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts following the stream in a background task."""
        if self._task is not None:
            raise RuntimeError("the criteria watch is already running")
        self._task = asyncio.create_task(self._run(), name="criteria-watch")

    async def stop(self) -> None:
        """Stops following the stream; a snapshot half-received is discarded."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
                _log.warning("criteria_watch_ended", revision=self._applier.revision)
            except grpc.aio.AioRpcError as error:
                _log.warning(
                    "criteria_watch_failed",
                    code=error.code().name,
                    detail=error.details(),
                    revision=self._applier.revision,
                )
            except Exception:
                _log.exception("criteria_watch_failed", revision=self._applier.revision)
            self._applier.reset()
            self._failures += 1
            delay = backoff_delay(self._failures, base=self._retry_base, cap=self._retry_cap)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        since = self._applier.revision
        call = self._stub.WatchActiveCriteria(
            criteria_service_pb2.WatchActiveCriteriaRequest(since_revision=since),
            metadata=tuple(self._metadata()),
        )
        _log.info("criteria_watch_connecting", since_revision=since)
        try:
            async for response in call:
                self._failures = 0
                await self._applier.apply(response)
        finally:
            call.cancel()
