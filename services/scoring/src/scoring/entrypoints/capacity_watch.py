"""Follows exam_reports' office-capacity stream into the office limits the service holds.

Followed by the kit's ``WatchFollower`` (resume from the last revision
applied, reconnect with backoff); assessments keep using the last applied
limits meanwhile, and after a restart the limits stored by the last run.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import structlog
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from opentelemetry import trace

from customs_kit.db import Database
from customs_kit.watch import OpenWatch, WatchCall
from scoring.service_layer.capacity import (
    OfficeCapacityHolder,
    apply_office_capacity_change,
    apply_office_capacity_snapshot,
)

_log = structlog.get_logger(__name__)

_Change = exam_reports_service_pb2.WatchOfficeCapacityResponse


class OfficeCapacityApplier:
    """Applies the messages of the office-capacity stream, in order, to ``holder``.

    A snapshot is collected from ``snapshot_start`` to ``snapshot_end`` and
    applied whole; every other message is applied as it comes. Each is stored
    before ``holder`` changes; ``revision`` is that of the limits loaded at
    start-up, so the stream resumes after them.
    """

    def __init__(self, database: Database, holder: OfficeCapacityHolder, revision: int = 0) -> None:
        self._database = database
        self._holder = holder
        self._collecting: list[office_pb2.OfficeCapacityLimit] | None = None
        #: The revision of the last message applied; a stream resumes after it.
        self.revision = revision

    def reset(self) -> None:
        """Forgets a snapshot half-received (the stream it came on broke)."""
        self._collecting = None

    async def apply(self, response: _Change) -> None:
        """Applies one message of the stream."""
        revision = response.revision
        event = response.WhichOneof("change")
        collecting = self._collecting
        if event == "snapshot_start":
            self._collecting = []
            return
        if event == "office_capacity_limit" and collecting is not None:
            collecting.append(response.office_capacity_limit)
            return
        with trace.get_tracer(__name__).start_as_current_span(
            "office capacity apply",
            attributes={"customs.revision": revision, "customs.change": event or ""},
        ):
            match event:
                case "snapshot_end":
                    if collecting is None:
                        _log.warning(
                            "office_capacity_snapshot_end_without_start", revision=revision
                        )
                        return
                    await apply_office_capacity_snapshot(
                        self._database, self._holder, revision, collecting
                    )
                    self._collecting = None
                case "office_capacity_limit":
                    await apply_office_capacity_change(
                        self._database, self._holder, revision, response.office_capacity_limit
                    )
                case _:
                    _log.warning(
                        "office_capacity_watch_unknown_change", change=event, revision=revision
                    )
                    return
        self.revision = revision


def office_capacity_stream(channel: grpc.aio.Channel) -> OpenWatch[_Change]:
    """Opens exam_reports' ``WatchOfficeCapacity`` stream after a revision."""
    stub = exam_reports_service_pb2_grpc.ExamReportsServiceStub(channel)  # type: ignore[no-untyped-call]

    def open_watch(since: int, metadata: Sequence[tuple[str, str]]) -> WatchCall[_Change]:
        request = exam_reports_service_pb2.WatchOfficeCapacityRequest(since_revision=since)
        call: WatchCall[_Change] = stub.WatchOfficeCapacity(request, metadata=metadata)
        return call

    return open_watch
