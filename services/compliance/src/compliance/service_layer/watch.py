"""The trader-profile stream scoring follows: a snapshot, then every committed change.

Scoring keeps the profiles in memory and resumes from the last revision it
applied. When it asks for a revision the feed can no longer continue from (or
for 0), it gets a full snapshot first, so it never has to guess what it missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from compliance.adapters.profile_codec import PROFILE_KIND, decode_profile
from compliance.domain.traders import TraderProfile
from customs_kit.changefeed import Change, FeedStreams, SnapshotEntry
from customs_kit.changefeed import SnapshotEnded as FeedSnapshotEnded
from customs_kit.changefeed import SnapshotStarted as FeedSnapshotStarted
from customs_kit.db import Database

_KINDS = (PROFILE_KIND,)
#: How long a quiet stream sleeps before checking the feed for commits of other replicas.
_POLL_SECONDS = 2.0


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
    """The trader-profile streams of this process; a background task of the service."""

    def __init__(self, database: Database) -> None:
        self._streams = FeedStreams(database, _KINDS, poll_interval=_POLL_SECONDS)

    async def stream(self, since_revision: int) -> AsyncIterator[WatchEvent]:
        """Profiles from ``since_revision`` on, then each change as it is committed; never ends.

        A client ahead of the feed (a restored database) starts again from a snapshot.
        """
        async for event in self._streams.follow(since_revision):
            match event:
                case FeedSnapshotStarted(revision):
                    yield SnapshotStarted(revision)
                case SnapshotEntry(revision, change):
                    yield ProfileChanged(
                        revision, decode_profile(_payload(change)), change.revision
                    )
                case FeedSnapshotEnded(revision):
                    yield SnapshotEnded(revision)
                case Change():
                    yield _event(event)

    async def start(self) -> None:
        """Nothing to start: streams open as clients call."""

    async def stop(self) -> None:
        """Ends every open stream and waits for the reads they left running."""
        await self._streams.stop()


def _payload(change: Change) -> bytes:
    if change.payload is None:
        raise ValueError(f"a snapshot holds only live profiles, not the removal of {change.key}")
    return change.payload
