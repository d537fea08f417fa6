"""Watchers see a snapshot and then every later change, in revision order."""

from __future__ import annotations

import asyncio

from customs_kit.changefeed import Change, ChangeFeed
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


async def test_a_waiter_wakes_when_this_process_commits(database: Database) -> None:
    feed = ChangeFeed(database, poll_interval=30.0)
    revision = await append(database, "criterion", "criteria/1", b"v1")
    waiter = asyncio.create_task(feed.wait_for_change(revision, timeout=10.0))
    await asyncio.sleep(0.05)
    assert not waiter.done()

    await append(database, "criterion", "criteria/1", b"v2")

    assert await asyncio.wait_for(waiter, timeout=2.0) is True


async def test_a_waiter_notices_a_commit_of_another_process(
    database: Database, kit_database_url: str
) -> None:
    feed = ChangeFeed(database, poll_interval=0.05)
    other = Database(kit_database_url)
    try:
        waiter = asyncio.create_task(feed.wait_for_change(0, timeout=10.0))
        await asyncio.sleep(0.1)
        await append(other, "criterion", "criteria/1", b"v1")
        assert await asyncio.wait_for(waiter, timeout=2.0) is True
    finally:
        await other.dispose()


async def test_a_waiter_gives_up_after_its_timeout(database: Database) -> None:
    revision = await append(database, "criterion", "criteria/1", b"v1")

    assert await ChangeFeed(database).wait_for_change(revision, timeout=0.1) is False
    assert await ChangeFeed(database).wait_for_change(revision - 1, timeout=0.1) is True


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
