"""The active set as scoring follows it: a snapshot, then every change as it commits.

Built on the change feed, to which every transition into or out of ACTIVE and
every list change appends in the transaction of the change, so the stream
never shows a change that was rolled back nor misses one that committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from criteria.service_layer.handlers import CRITERION_FEED, NAMED_LIST_FEED
from criteria.service_layer.ports import Encoder
from customs_kit.changefeed import Change, ChangeFeed
from customs_kit.db import Database, utcnow, wait_for_signal

_KINDS = (CRITERION_FEED, NAMED_LIST_FEED)
_BATCH = 500
_T = TypeVar("_T")


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
    """Serves the watch streams; as a background task, ends them before the database closes.

    A client that goes away cancels its stream at any point, also in the middle
    of a query, and a connection whose query was cancelled cannot always be
    given back cleanly (aiosqlite). So every read runs to completion in a task
    of its own, and waiting for the next change happens between reads, on the
    database's commit signal, with a poll for commits of other replicas.
    """

    def __init__(self, database: Database, encoder: Encoder, *, poll_interval: float = 2.0) -> None:
        self._database = database
        self._feed = ChangeFeed(database)
        self._encoder = encoder
        self._poll_interval = poll_interval
        self._streams: set[asyncio.Task[Any]] = set()
        self._reads: set[asyncio.Future[Any]] = set()

    async def stream(self, since_revision: int) -> AsyncIterator[WatchEvent]:
        """The stream for a client at ``since_revision``; runs until the client goes away."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a stream is served by a task")
        self._streams.add(task)
        try:
            async for event in self._events(since_revision):
                yield event
        finally:
            self._streams.discard(task)

    async def start(self) -> None:
        """Nothing to start: streams open as clients call."""

    async def stop(self) -> None:
        """Ends every open stream and waits for the reads they left running."""
        streams = list(self._streams)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        await asyncio.gather(*self._reads, return_exceptions=True)

    async def needs_snapshot(self, since_revision: int) -> bool:
        """Whether a client at ``since_revision`` must start again from a snapshot.

        It must when it has nothing (0), when changes after its revision are no
        longer retained, or when it claims a revision this feed never reached (a
        restored or replaced database).
        """
        if since_revision == 0 or since_revision > await self._read(self._feed.latest_revision()):
            return True
        oldest = await self._read(self._feed.oldest_revision())
        return oldest > 0 and since_revision < oldest - 1

    async def _events(self, since_revision: int) -> AsyncIterator[WatchEvent]:
        cursor = since_revision
        if await self.needs_snapshot(since_revision):
            revision, latest = await self._read(self._feed.snapshot(_KINDS))
            now = utcnow()
            # A criterion whose window closed before the expiry sweep withdrew it
            # is no longer applied: a new client must not receive it.
            current = [
                change
                for change in latest
                if change.kind != CRITERION_FEED or not self._ended(change.payload, now)
            ]
            criteria = sum(1 for change in current if change.kind == CRITERION_FEED)
            yield SnapshotStarted(revision, criteria, len(current) - criteria)
            for change in current:
                yield Change(revision, change.kind, change.key, change.payload)
            yield SnapshotEnded(revision)
            cursor = revision
        while True:
            # Armed before reading, so a commit between the read and the wait wakes it.
            armed = self._database.changes_committed.arm()
            changes = await self._read(self._feed.changes_after(cursor, _KINDS, limit=_BATCH))
            for change in changes:
                yield change
                cursor = change.revision
            if not changes:
                await wait_for_signal(armed, self._poll_interval)

    async def _read(self, read: Awaitable[_T]) -> _T:
        task = asyncio.ensure_future(read)
        self._reads.add(task)
        task.add_done_callback(self._read_done)
        return await asyncio.shield(task)

    def _read_done(self, task: asyncio.Future[Any]) -> None:
        self._reads.discard(task)
        if not task.cancelled():
            # Retrieved here so that a read whose stream has gone is not reported
            # as an exception nobody retrieved.
            task.exception()

    def _ended(self, payload: bytes | None, now: datetime) -> bool:
        end = None if payload is None else self._encoder.validity_end(payload)
        return end is not None and end <= now
