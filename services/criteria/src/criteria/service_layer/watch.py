"""The active set as scoring follows it: a snapshot, then every change as it commits.

Built on the change feed, to which every transition into or out of ACTIVE and
every list change appends in the transaction of the change, so the stream
never shows a change that was rolled back nor misses one that committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from criteria.service_layer.handlers import CRITERION_FEED, NAMED_LIST_FEED, RISK_MODEL_FEED
from criteria.service_layer.ports import Encoder
from customs_kit.changefeed import Change, FeedStreams, SnapshotEntry
from customs_kit.changefeed import SnapshotEnded as FeedSnapshotEnded
from customs_kit.changefeed import SnapshotStarted as FeedSnapshotStarted
from customs_kit.db import Database, utcnow

_KINDS = (CRITERION_FEED, NAMED_LIST_FEED, RISK_MODEL_FEED)


@dataclass(frozen=True)
class SnapshotStarted:
    """A full snapshot of ``criteria_count`` criteria and ``named_lists_count`` lists follows."""

    revision: int
    criteria_count: int
    named_lists_count: int


@dataclass(frozen=True)
class SnapshotEnded:
    """The snapshot is complete: the client replaces its whole set."""

    revision: int


#: A message of the stream: snapshot boundaries, or a change (a removal has no payload).
WatchEvent = SnapshotStarted | Change | SnapshotEnded


class ActiveSetWatch:
    """Serves the watch streams; as a background task, ends them before the database closes."""

    def __init__(self, database: Database, encoder: Encoder, *, poll_interval: float = 2.0) -> None:
        self._streams = FeedStreams(database, _KINDS, poll_interval=poll_interval)
        self._encoder = encoder

    async def stream(self, since_revision: int) -> AsyncIterator[WatchEvent]:
        """The stream for a client at ``since_revision``; runs until the client goes away."""
        async for event in self._streams.follow(since_revision, include=self._applies_now):
            match event:
                case FeedSnapshotStarted(revision, counts):
                    yield SnapshotStarted(revision, counts[CRITERION_FEED], counts[NAMED_LIST_FEED])
                case SnapshotEntry(revision, change):
                    yield Change(revision, change.kind, change.key, change.payload)
                case FeedSnapshotEnded(revision):
                    yield SnapshotEnded(revision)
                case Change():
                    yield event

    async def start(self) -> None:
        """Nothing to start: streams open as clients call."""

    async def stop(self) -> None:
        """Ends every open stream and waits for the reads they left running."""
        await self._streams.stop()

    def _applies_now(self, change: Change) -> bool:
        # A criterion whose window closed before the expiry sweep withdrew it is
        # no longer applied: a new client must not receive it.
        if change.kind != CRITERION_FEED or change.payload is None:
            return True
        end = self._encoder.validity_end(change.payload)
        return end is None or end > utcnow()
