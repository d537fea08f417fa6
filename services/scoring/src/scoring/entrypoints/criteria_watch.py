"""Follows the criteria service's active-criteria stream into the rules the service holds.

Followed by the kit's ``WatchFollower`` (resume from
the last revision applied, reconnect with backoff); assessments keep using
the last applied snapshot meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import structlog
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from google.protobuf.message import Message

from customs_kit.db import Database
from customs_kit.watch import OpenWatch, WatchCall
from scoring.adapters.repositories import CRITERION, NAMED_LIST
from scoring.service_layer.risk_scoring import RiskModelHolder, apply_active_model
from scoring.service_layer.rules import RulesHolder, apply_change, apply_snapshot

_log = structlog.get_logger(__name__)


class StreamApplier:
    """Applies the messages of the active-criteria stream, in order, to ``holder``.

    A snapshot is collected from ``snapshot_start`` to ``snapshot_end`` and
    applied whole; every other message is applied as it comes.
    """

    def __init__(
        self,
        database: Database,
        holder: RulesHolder,
        revision: int = 0,
        risk_models: RiskModelHolder | None = None,
    ) -> None:
        self._database = database
        self._holder = holder
        self._risk_models = risk_models or RiskModelHolder()
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
            case "risk_model":
                await apply_active_model(database, self._risk_models, revision, response.risk_model)
                if collecting is not None:
                    # Part of a snapshot: the stream resumes after it only once it is whole.
                    return
            case _:
                _log.warning("criteria_watch_unknown_event", event=event, revision=revision)
                return
        self.revision = revision


def _wire(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


_Change = criteria_service_pb2.WatchActiveCriteriaResponse


def criteria_stream(channel: grpc.aio.Channel) -> OpenWatch[_Change]:
    """Opens criteria's ``WatchActiveCriteria`` stream after a revision."""
    stub = criteria_service_pb2_grpc.CriteriaServiceStub(channel)  # type: ignore[no-untyped-call]

    def open_watch(since: int, metadata: Sequence[tuple[str, str]]) -> WatchCall[_Change]:
        request = criteria_service_pb2.WatchActiveCriteriaRequest(since_revision=since)
        call: WatchCall[_Change] = stub.WatchActiveCriteria(request, metadata=metadata)
        return call

    return open_watch
