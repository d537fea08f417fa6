"""The trader-profile stream scoring follows: a snapshot, then every committed change.

Scoring keeps the profiles in memory and resumes from the last revision it
applied. When it asks for a revision the feed can no longer continue from (or
for 0), it gets a full snapshot first, so it never has to guess what it missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from compliance.adapters.profile_codec import PROFILE_KIND, decode_profile
from compliance.domain.traders import TraderProfile
from customs_kit.changefeed import Change, ChangeFeed
from customs_kit.db import Database, wait_for_signal
from customs_kit.errors import FieldViolation, InvalidArgument

_KINDS = (PROFILE_KIND,)
#: How long a quiet stream sleeps before checking the feed for commits of other replicas.
_POLL_SECONDS = 2.0

T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotStarted:
    """A full snapshot follows, as of ``revision``."""

    revision: int


@dataclass(frozen=True)
class ProfileChanged:
    """A trader's profile as of ``revision``; it last changed at ``profile_revision``."""

    revision: int
    profile: TraderProfile
    profile_revision: int


@dataclass(frozen=True)
class ProfileRemoved:
    """The trader ``trader_id`` no longer has a profile, as of ``revision``."""

    revision: int
    trader_id: str


@dataclass(frozen=True)
class SnapshotEnded:
    """The snapshot is complete as of ``revision``."""

    revision: int


WatchEvent = SnapshotStarted | ProfileChanged | ProfileRemoved | SnapshotEnded


def _event(change: Change) -> ProfileChanged | ProfileRemoved:
    if change.payload is None:
        return ProfileRemoved(change.revision, change.key)
    return ProfileChanged(change.revision, decode_profile(change.payload), change.revision)


class ProfileWatch:
    """The trader-profile streams of this process.

    Scoring cancels its stream whenever it reconnects or shuts down. A read of
    the feed cancelled half-way makes SQLAlchemy terminate its pooled
    connection instead of returning it, and with aiosqlite that close never
    completes. So each (short) read runs to its end even when its stream is
    cancelled, and :meth:`drain` waits for the reads still running before the
    database is closed.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._feed = ChangeFeed(database)
        self._reads: set[asyncio.Future[Any]] = set()

    async def _read(self, read: Awaitable[T]) -> T:
        task = asyncio.ensure_future(read)
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        """Waits for the feed reads of cancelled streams to finish."""
        if self._reads:
            await asyncio.wait(set(self._reads))

    async def stream(self, since_revision: int) -> AsyncIterator[WatchEvent]:
        """Profiles from ``since_revision`` on, then each change as it is committed; never ends.

        Raises ``InvalidArgument`` on ``since_revision`` if it is ahead of the feed.
        """
        latest = await self._read(self._feed.latest_revision())
        if since_revision > latest:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "since_revision",
                        f"revision {since_revision} is ahead of the server (latest {latest})",
                    )
                ],
                reason="REVISION_AHEAD",
            )
        position = since_revision
        # A feed that starts after since_revision + 1 has lost records the client needs.
        oldest = await self._read(self._feed.oldest_revision())
        if since_revision == 0 or since_revision < oldest - 1:
            revision, profiles = await self._read(self._feed.snapshot(_KINDS))
            yield SnapshotStarted(revision)
            for change in profiles:
                yield ProfileChanged(revision, decode_profile(_payload(change)), change.revision)
            yield SnapshotEnded(revision)
            position = revision
        while True:
            # Armed before reading, so a commit between the read and the wait still wakes us.
            armed = self._database.changes_committed.arm()
            changes = await self._read(self._feed.changes_after(position, _KINDS))
            for change in changes:
                yield _event(change)
                position = change.revision
            if not changes:
                await wait_for_signal(armed, _POLL_SECONDS)


def _payload(change: Change) -> bytes:
    if change.payload is None:
        raise ValueError(f"a snapshot holds only live profiles, not the removal of {change.key}")
    return change.payload
