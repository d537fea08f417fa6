"""Follows compliance's trader-profile stream into the approved traders the service holds.

Followed by the kit's ``WatchFollower`` (resume from
the last revision applied, reconnect with backoff); assessments keep using
the last applied status meanwhile, and after a restart the status stored
by the last run.

Only the approved-trader status matters to the decision: a trader is
approved while an agreement is in force (``APPROVED_TRADER_STATUS_APPROVED``);
not approved, revoked, or a profile removed all count as not approved.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import structlog
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc, trader_pb2
from opentelemetry import trace

from customs_kit.db import Database
from customs_kit.watch import OpenWatch, WatchCall
from scoring.service_layer.trader_profiles import (
    TraderProfilesHolder,
    apply_profile_change,
    apply_profiles_snapshot,
)

_log = structlog.get_logger(__name__)

_TRADER_PREFIX = "traders/"


def _trader_id(name: str) -> str:
    return name.removeprefix(_TRADER_PREFIX)


class ProfileApplier:
    """Applies the messages of the trader-profile stream, in order, to ``holder``.

    A snapshot is collected from ``snapshot_start`` to ``snapshot_end`` and
    applied whole; every other message is applied as it comes. Each is
    stored before ``holder`` changes; ``revision`` is that of the statuses
    loaded at start-up, so the stream resumes after them.
    """

    def __init__(self, database: Database, holder: TraderProfilesHolder, revision: int = 0) -> None:
        self._database = database
        self._holder = holder
        self._collecting: set[str] | None = None
        #: The revision of the last message applied; a stream resumes after it.
        self.revision = revision

    def reset(self) -> None:
        """Forgets a snapshot half-received (the stream it came on broke)."""
        self._collecting = None

    async def apply(self, response: compliance_service_pb2.WatchTraderProfilesResponse) -> None:
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
            database, holder = self._database, self._holder
            match event:
                case "snapshot_end":
                    if collecting is None:
                        _log.warning("trader_snapshot_end_without_start", revision=revision)
                        return
                    await apply_profiles_snapshot(database, holder, revision, frozenset(collecting))
                    self._collecting = None
                case "profile":
                    trader_id = _trader_id(response.profile.trader)
                    await apply_profile_change(
                        database, holder, revision, trader_id, approved=_approved(response.profile)
                    )
                case "removed_trader":
                    trader_id = _trader_id(response.removed_trader)
                    await apply_profile_change(
                        database, holder, revision, trader_id, approved=False
                    )
                case _:
                    _log.warning("trader_watch_unknown_change", change=event, revision=revision)
                    return
        self.revision = revision


def _approved(profile: trader_pb2.TraderProfile) -> bool:
    return profile.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED


_Change = compliance_service_pb2.WatchTraderProfilesResponse


def trader_profile_stream(channel: grpc.aio.Channel) -> OpenWatch[_Change]:
    """Opens compliance's ``WatchTraderProfiles`` stream after a revision."""
    stub = compliance_service_pb2_grpc.ComplianceServiceStub(channel)  # type: ignore[no-untyped-call]

    def open_watch(since: int, metadata: Sequence[tuple[str, str]]) -> WatchCall[_Change]:
        request = compliance_service_pb2.WatchTraderProfilesRequest(since_revision=since)
        call: WatchCall[_Change] = stub.WatchTraderProfiles(request, metadata=metadata)
        return call

    return open_watch
