"""The office capacity scoring holds: published on every change, streamed by revision.

Scoring must know every office's time zone and daily capacity before it
decides, or its first selections of a new office go uncounted. So every
change of an office or of its facilities appends the office's capacity limit
to the change feed in the same transaction (never a limit that was rolled
back, never one missed), and ``WatchOfficeCapacity`` serves the feed: a
snapshot, then each change as it commits, resumable by revision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog

from customs_kit.changefeed import FeedEvent, FeedStreams
from customs_kit.db import Database
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.capacity_feed import (
    OFFICE_CAPACITY_KIND,
    encode_capacity_limit,
    last_published,
    office_ids,
)
from exam_reports.adapters.repositories import Facilities, Offices
from exam_reports.domain.offices import capacity_limit

_log = structlog.get_logger(__name__)

#: How long a quiet stream sleeps before checking the feed for commits of other replicas.
_POLL_SECONDS = 2.0


async def publish_capacity_limit(uow: UnitOfWork, office_id: str) -> None:
    """Appends the office's capacity limit to the feed if it changed (in ``uow``'s transaction).

    Call it after the office or one of its facilities changed, before commit.
    """
    office = await Offices(uow.session).get(office_id)
    if office is None:
        return
    facilities = await Facilities(uow.session).of_offices([office_id])
    payload = encode_capacity_limit(capacity_limit(office, facilities[office_id]))
    if await last_published(uow.session, office_id) == payload:
        return
    revision = await uow.changes.append(OFFICE_CAPACITY_KIND, office_id, payload)
    _log.info("office_capacity_published", office=office_id, revision=revision)


async def publish_all_capacity_limits(database: Database) -> None:
    """Publishes the limit of every office whose last published one is not current.

    Run at start-up, so that offices created before the feed existed are on it.
    """
    async with database.unit_of_work() as uow:
        for office_id in await office_ids(uow.session):
            await publish_capacity_limit(uow, office_id)
        await uow.commit()


class OfficeCapacityWatch:
    """The ``WatchOfficeCapacity`` streams of this process; a background task of the service."""

    def __init__(self, database: Database, *, poll_interval: float = _POLL_SECONDS) -> None:
        self._streams = FeedStreams(database, (OFFICE_CAPACITY_KIND,), poll_interval=poll_interval)

    def stream(self, since_revision: int) -> AsyncIterator[FeedEvent]:
        """The limits from ``since_revision`` on (a snapshot first when needed); never ends."""
        return self._streams.follow(since_revision)

    async def start(self) -> None:
        """Nothing to start: streams open as clients call."""

    async def stop(self) -> None:
        """Ends every open stream and waits for the reads they left running."""
        await self._streams.stop()
