"""The active set as scoring follows it over WatchActiveCriteria, through a real server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from criteria_support import ANALYST, RMC, SCORING, Criteria, criterion, list_rule
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import criterion_pb2, named_list_pb2
from google.protobuf import field_mask_pb2

_PATIENCE = 10.0


class Watcher:
    """An open WatchActiveCriteria stream whose messages are read into a queue.

    Reading in a task of its own lets a test wait for "nothing more" without
    cancelling a read, which would cancel the whole call.
    """

    def __init__(self, criteria: Criteria, since_revision: int) -> None:
        self.call: Any = criteria.stub.WatchActiveCriteria(
            pb.WatchActiveCriteriaRequest(since_revision=since_revision),
            metadata=criteria.auth(SCORING),
        )
        self._received: asyncio.Queue[pb.WatchActiveCriteriaResponse] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.call:
            await self._received.put(message)

    async def next(self) -> pb.WatchActiveCriteriaResponse:
        return await asyncio.wait_for(self._received.get(), _PATIENCE)

    async def snapshot(self) -> list[pb.WatchActiveCriteriaResponse]:
        """The messages of a snapshot, from snapshot_start to snapshot_end."""
        messages = [await self.next()]
        assert messages[0].WhichOneof("event") == "snapshot_start"
        while messages[-1].WhichOneof("event") != "snapshot_end":
            messages.append(await self.next())
        return messages

    async def nothing_more(self, seconds: float = 0.5) -> None:
        await asyncio.sleep(seconds)
        assert self._received.empty()

    async def close(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await self._reader


@pytest.fixture
async def watch(criteria: Criteria) -> AsyncIterator[Any]:
    watchers: list[Watcher] = []

    def open_stream(since_revision: int = 0) -> Watcher:
        watchers.append(Watcher(criteria, since_revision))
        return watchers[-1]

    yield open_stream
    for watcher in watchers:
        await watcher.close()


async def test_a_new_watcher_gets_a_snapshot_then_a_criterion_approved_later(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    await criteria.create_list("known-infringers", "ACME-1")
    first = await criteria.activate(
        criterion(profile, rule=list_rule("namedLists/known-infringers"))
    )
    await criteria.create(criterion(profile, title="Still a draft"))
    watcher = watch()

    snapshot = await watcher.snapshot()
    later = await criteria.activate(criterion(profile, title="Approved while watching"))
    live = await watcher.next()

    start = snapshot[0].snapshot_start
    assert (start.criteria_count, start.named_lists_count) == (1, 1)
    assert len({m.revision for m in snapshot}) == 1
    assert [m.criterion.name for m in snapshot if m.HasField("criterion")] == [first.name]
    assert [m.named_list.name for m in snapshot if m.HasField("named_list")] == [
        "namedLists/known-infringers"
    ]
    published = next(m.criterion for m in snapshot if m.HasField("criterion"))
    assert published.revision == 1
    assert published.rule == first.rule
    assert published.risk_area == first.risk_area
    assert published.validity_start_time == first.approve_time
    assert live.criterion.name == later.name
    assert live.criterion.title == "Approved while watching"
    assert live.revision > snapshot[-1].revision


async def test_a_watcher_resuming_from_its_revision_gets_only_later_changes(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    await criteria.activate(criterion(profile, title="Known before"))
    snapshot = await watch().snapshot()
    added = await criteria.activate(criterion(profile, title="Added after"))

    resumed = watch(since_revision=snapshot[-1].revision)
    first = await resumed.next()

    assert first.WhichOneof("event") == "criterion"
    assert first.criterion.name == added.name
    assert first.revision > snapshot[-1].revision
    await resumed.nothing_more()


async def test_a_revision_the_service_never_reached_gets_a_snapshot(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    await criteria.activate(criterion(profile))

    messages = await watch(since_revision=10_000).snapshot()

    assert messages[0].snapshot_start.criteria_count == 1


async def test_a_suspended_criterion_arrives_as_a_removal(criteria: Criteria, watch: Any) -> None:
    profile = await criteria.create_profile()
    active = await criteria.activate(criterion(profile))
    watcher = watch()
    await watcher.snapshot()

    await criteria.suspend(active)
    removal = await watcher.next()

    assert removal.removed_criterion == active.name
    assert (await watch().snapshot())[0].snapshot_start.criteria_count == 0


async def test_an_approved_amendment_replaces_the_published_revision(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    active = await criteria.activate(criterion(profile))
    watcher = watch()
    await watcher.snapshot()
    active.rule.selection_percent = 10

    amended = await criteria.update(active, ["rule.selection_percent"])
    await watcher.nothing_more()
    await criteria.approve(await criteria.submit(amended))
    replaced = await watcher.next()

    assert replaced.criterion.revision == 2
    assert replaced.criterion.rule.selection_percent == 10


async def test_a_list_change_reaches_the_watcher_at_once(criteria: Criteria, watch: Any) -> None:
    created = await criteria.create_list("known-infringers", "ACME-1")
    watcher = watch()
    await watcher.snapshot()
    created.entries.add(value="GLOBEX-7", note="seizure 2026/114")

    response = await criteria.call(
        "UpdateNamedList",
        pb.UpdateNamedListRequest(
            named_list=created,
            update_mask=field_mask_pb2.FieldMask(paths=["entries"]),
            reason="new infringer",
        ),
        ANALYST,
    )
    published = await watcher.next()

    assert response.named_list.revision == 2
    assert published.named_list == response.named_list
    assert [e.value for e in published.named_list.entries] == ["ACME-1", "GLOBEX-7"]


async def test_a_criterion_expires_at_the_end_of_its_window_and_is_withdrawn(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    ends = datetime.now(UTC) + timedelta(seconds=1.5)
    active = await criteria.activate(criterion(profile, end=ends))
    watcher = watch()
    snapshot = await watcher.snapshot()
    assert snapshot[0].snapshot_start.criteria_count == 1

    removal = await watcher.next()

    assert removal.removed_criterion == active.name
    assert datetime.now(UTC) >= ends
    expired = await criteria.get(active.name)
    assert expired.state == criterion_pb2.CRITERION_STATE_EXPIRED
    versions = await criteria.call(
        "ListCriterionVersions", pb.ListCriterionVersionsRequest(parent=active.name), ANALYST
    )
    assert versions.criterion_versions[-1].change.actor == "system"


async def test_only_a_service_may_watch(criteria: Criteria) -> None:
    call = criteria.stub.WatchActiveCriteria(
        pb.WatchActiveCriteriaRequest(), metadata=criteria.auth(ANALYST)
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_list_is_published_with_its_entries(criteria: Criteria, watch: Any) -> None:
    await criteria.create_list("known-infringers", "ACME-1", "GLOBEX-7")

    snapshot = await watch().snapshot()

    lists = [m.named_list for m in snapshot if m.HasField("named_list")]
    assert [e.value for e in lists[0].entries] == ["ACME-1", "GLOBEX-7"]
    assert lists[0].kind == named_list_pb2.NAMED_LIST_KIND_COMPANIES


async def test_a_request_id_retried_after_the_change_is_published_only_once(
    criteria: Criteria, watch: Any
) -> None:
    profile = await criteria.create_profile()
    submitted = await criteria.submit(await criteria.create(criterion(profile)))
    watcher = watch()
    await watcher.snapshot()
    analysis = await criteria.analyze(submitted)
    request = pb.ApproveCriterionRequest(
        name=submitted.name,
        revision=submitted.revision,
        etag=submitted.etag,
        impact_analysis=analysis.name,
        request_id=str(uuid.uuid4()),
    )

    first = await criteria.call("ApproveCriterion", request, RMC)
    again = await criteria.call("ApproveCriterion", request, RMC)

    assert again == first
    assert (await watcher.next()).criterion.name == submitted.name
    await watcher.nothing_more()


async def test_a_deleted_named_list_is_removed_from_scoring(criteria: Criteria, watch: Any) -> None:
    infringers = await criteria.create_list("known-infringers", "ACME-1")
    watcher = watch()
    snapshot = await watcher.snapshot()
    assert [m.named_list.name for m in snapshot if m.HasField("named_list")] == [infringers.name]

    await criteria.call(
        "DeleteNamedList",
        pb.DeleteNamedListRequest(
            name=infringers.name, etag=infringers.etag, reason="the watch list was disbanded"
        ),
        ANALYST,
    )

    removal = await watcher.next()
    assert removal.removed_named_list == infringers.name
    assert removal.revision > snapshot[-1].revision
