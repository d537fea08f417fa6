"""Watchers see a snapshot and then every later change, in revision order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from customs_kit.changefeed import (
    Change,
    ChangeFeed,
    FeedEvent,
    FeedStreams,
    SnapshotEnded,
    SnapshotEntry,
    SnapshotStarted,
)
from customs_kit.db import Database


async def append(database: Database, kind: str, key: str, payload: bytes | None) -> int:
    async with database.unit_of_work() as uow:
        revision = await uow.changes.append(kind, key, payload)
        await uow.commit()
    return revision


async def test_revisions_increase_with_every_append(database: Database) -> None:
    revisions = [await append(database, "criterion", f"criteria/{n}", b"v1") for n in range(3)]

    assert revisions == sorted(revisions)
    assert len(set(revisions)) == 3
    assert await ChangeFeed(database).latest_revision() == revisions[-1]
    assert await ChangeFeed(database).oldest_revision() == revisions[0]


async def test_a_snapshot_holds_the_latest_version_of_every_live_key(database: Database) -> None:
    await append(database, "criterion", "criteria/1", b"v1")
    await append(database, "criterion", "criteria/2", b"v1")
    await append(database, "named_list", "lists/7", b"v1")
    await append(database, "criterion", "criteria/1", b"v2")
    last = await append(database, "criterion", "criteria/2", None)

    revision, snapshot = await ChangeFeed(database).snapshot(["criterion"])

    assert revision == last
    assert [(change.key, change.payload) for change in snapshot] == [("criteria/1", b"v2")]


async def test_changes_after_a_revision_include_removals_in_order(database: Database) -> None:
    start = await append(database, "criterion", "criteria/1", b"v1")
    updated = await append(database, "criterion", "criteria/1", b"v2")
    await append(database, "named_list", "lists/7", b"v1")
    removed = await append(database, "criterion", "criteria/1", None)

    changes = await ChangeFeed(database).changes_after(start, ["criterion"])

    assert changes == [
        Change(updated, "criterion", "criteria/1", b"v2"),
        Change(removed, "criterion", "criteria/1", None),
    ]
    assert await ChangeFeed(database).changes_after(start, ["criterion"], limit=1) == changes[:1]


async def test_a_rolled_back_append_is_never_seen(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.changes.append("criterion", "criteria/1", b"draft")
    committed = await append(database, "criterion", "criteria/2", b"v1")

    changes = await ChangeFeed(database).changes_after(0, ["criterion"])

    assert [(change.revision, change.key) for change in changes] == [(committed, "criteria/2")]


async def next_events(stream: AsyncIterator[FeedEvent], count: int) -> list[FeedEvent]:
    return [await asyncio.wait_for(anext(stream), timeout=5.0) for _ in range(count)]


async def test_a_new_watcher_gets_a_snapshot_then_each_change_as_it_commits(
    database: Database,
) -> None:
    streams = FeedStreams(database, ["criterion", "named_list"], poll_interval=30.0)
    await append(database, "criterion", "criteria/1", b"v1")
    await append(database, "criterion", "criteria/2", b"v1")
    at = await append(database, "criterion", "criteria/2", None)
    stream = streams.follow(0)

    started, entry, ended = await next_events(stream, 3)
    assert started == SnapshotStarted(at, {"criterion": 1, "named_list": 0})
    assert isinstance(entry, SnapshotEntry)
    assert (entry.revision, entry.change.key, entry.change.payload) == (at, "criteria/1", b"v1")
    assert ended == SnapshotEnded(at)

    later = await append(database, "criterion", "criteria/1", b"v2")
    assert await next_events(stream, 1) == [Change(later, "criterion", "criteria/1", b"v2")]
    await streams.stop()


async def test_a_resuming_watcher_gets_only_the_changes_after_its_revision(
    database: Database,
) -> None:
    seen = await append(database, "criterion", "criteria/1", b"v1")
    removed = await append(database, "criterion", "criteria/1", None)
    streams = FeedStreams(database, ["criterion"])

    assert await next_events(streams.follow(seen), 1) == [
        Change(removed, "criterion", "criteria/1", None)
    ]
    await streams.stop()


async def test_a_watcher_ahead_of_the_feed_starts_again_from_a_snapshot(
    database: Database,
) -> None:
    at = await append(database, "criterion", "criteria/1", b"v1")
    streams = FeedStreams(database, ["criterion"])

    started, *_ = await next_events(streams.follow(at + 100), 3)

    assert started == SnapshotStarted(at, {"criterion": 1})
    await streams.stop()


async def test_a_snapshot_leaves_out_what_the_service_excludes(database: Database) -> None:
    await append(database, "criterion", "criteria/expired", b"expired")
    at = await append(database, "criterion", "criteria/live", b"live")
    streams = FeedStreams(database, ["criterion"])

    events = await next_events(
        streams.follow(0, include=lambda change: change.payload != b"expired"), 3
    )

    assert [e.change.key for e in events if isinstance(e, SnapshotEntry)] == ["criteria/live"]
    assert events[0] == SnapshotStarted(at, {"criterion": 1})
    await streams.stop()


async def test_a_watcher_notices_a_commit_of_another_process(
    database: Database, kit_database_url: str
) -> None:
    streams = FeedStreams(database, ["criterion"], poll_interval=0.05)
    stream = streams.follow(0)
    await next_events(stream, 2)
    other = Database(kit_database_url)
    try:
        revision = await append(other, "criterion", "criteria/1", b"v1")
        assert await next_events(stream, 1) == [Change(revision, "criterion", "criteria/1", b"v1")]
    finally:
        await other.dispose()
        await streams.stop()


async def test_stopping_ends_the_open_streams(database: Database) -> None:
    streams = FeedStreams(database, ["criterion"], poll_interval=30.0)

    async def watch() -> None:
        async for _ in streams.follow(0):
            pass

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.1)
    await asyncio.wait_for(streams.stop(), timeout=5.0)

    assert watcher.cancelled()


async def test_a_later_append_waits_for_the_earlier_one_to_commit(database: Database) -> None:
    # Were revisions handed out in parallel, a watcher could read revision n+1,
    # move past it and never see revision n committed a moment later.
    async with database.unit_of_work() as first:
        first_revision = await first.changes.append("criterion", "criteria/1", b"v1")
        second = asyncio.create_task(append(database, "criterion", "criteria/2", b"v1"))
        await asyncio.sleep(0.3)
        assert not second.done()
        await first.commit()

    second_revision = await asyncio.wait_for(second, timeout=5.0)
    assert second_revision > first_revision
    changes = await ChangeFeed(database).changes_after(0, ["criterion"])
    assert [change.revision for change in changes] == [first_revision, second_revision]
