"""Follows compliance's trader-profile stream into the approved traders the service holds.

A background task: it opens ``WatchTraderProfiles`` from the last revision it
applied, applies the snapshot and every change as they arrive, and when the
stream breaks (compliance restarting, network) reconnects after an
exponential backoff with jitter, resuming from that revision. Assessments
keep using the last applied status meanwhile.

Only the approved-trader status matters to the decision: a trader is
approved while an agreement is in force (``APPROVED_TRADER_STATUS_APPROVED``);
not approved, revoked, or a profile removed all count as not approved.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import grpc
import structlog
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc, trader_pb2
from opentelemetry import trace

from customs_kit.outbox import backoff_delay
from scoring.service_layer.trader_profiles import TraderProfilesHolder

_log = structlog.get_logger(__name__)

MetadataProvider = Callable[[], Sequence[tuple[str, str]]]
_TRADER_PREFIX = "traders/"


def _trader_id(name: str) -> str:
    return name.removeprefix(_TRADER_PREFIX)


class ProfileApplier:
    """Applies the messages of the trader-profile stream, in order, to ``holder``.

    A snapshot is collected from ``snapshot_start`` to ``snapshot_end`` and
    installed whole; every other message is applied as it comes.
    """

    def __init__(self, holder: TraderProfilesHolder) -> None:
        self._holder = holder
        self._collecting: set[str] | None = None
        #: The revision of the last message applied; a stream resumes after it.
        self.revision = 0

    def reset(self) -> None:
        """Forgets a snapshot half-received (the stream it came on broke)."""
        self._collecting = None

    def apply(self, response: compliance_service_pb2.WatchTraderProfilesResponse) -> None:
        """Applies one message of the stream."""
        revision = response.revision
        event = response.WhichOneof("change")
        collecting = self._collecting
        if event == "snapshot_start":
            self._collecting = set()
            return
        if event == "profile" and collecting is not None:
            if _approved(response.profile):
                collecting.add(_trader_id(response.profile.trader))
            return
        with trace.get_tracer(__name__).start_as_current_span(
            "trader profiles apply",
            attributes={"customs.revision": revision, "customs.change": event or ""},
        ):
            match event:
                case "snapshot_end":
                    if collecting is None:
                        _log.warning("trader_snapshot_end_without_start", revision=revision)
                        return
                    self._holder.replace_all(revision, collecting)
                    self._collecting = None
                case "profile":
                    trader_id = _trader_id(response.profile.trader)
                    self._holder.change(revision, trader_id, approved=_approved(response.profile))
                case "removed_trader":
                    self._holder.change(
                        revision, _trader_id(response.removed_trader), approved=False
                    )
                case _:
                    _log.warning("trader_watch_unknown_change", change=event, revision=revision)
                    return
        self.revision = revision


def _approved(profile: trader_pb2.TraderProfile) -> bool:
    return profile.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED


class TraderWatch:
    """Keeps the approved traders (in memory) in step with compliance's trader profiles."""

    def __init__(
        self,
        applier: ProfileApplier,
        channel: grpc.aio.Channel,
        metadata: MetadataProvider,
        *,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
    ) -> None:
        self._applier = applier
        self._stub = compliance_service_pb2_grpc.ComplianceServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = metadata
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts following the stream in a background task."""
        if self._task is not None:
            raise RuntimeError("the trader watch is already running")
        self._task = asyncio.create_task(self._run(), name="trader-watch")

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
                _log.warning("trader_watch_ended", revision=self._applier.revision)
            except grpc.aio.AioRpcError as error:
                _log.warning(
                    "trader_watch_failed",
                    code=error.code().name,
                    detail=error.details(),
                    revision=self._applier.revision,
                )
            except Exception:
                _log.exception("trader_watch_failed", revision=self._applier.revision)
            self._applier.reset()
            self._failures += 1
            delay = backoff_delay(self._failures, base=self._retry_base, cap=self._retry_cap)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        since = self._applier.revision
        call = self._stub.WatchTraderProfiles(
            compliance_service_pb2.WatchTraderProfilesRequest(since_revision=since),
            metadata=tuple(self._metadata()),
        )
        _log.info("trader_watch_connecting", since_revision=since)
        try:
            async for response in call:
                self._failures = 0
                self._applier.apply(response)
        finally:
            call.cancel()
