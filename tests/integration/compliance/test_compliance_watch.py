"""WatchTraderProfiles as scoring uses it: a snapshot, live changes, resuming."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from compliance_support import Client, assessment_event, party
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import trader_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from customs_kit.auth import Role

Message = service_pb2.WatchTraderProfilesResponse


class Stream:
    """An open watch stream read one message at a time, with a deadline per read."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self.call = call

    async def next(self) -> Message:
        message = await asyncio.wait_for(self.call.read(), timeout=10)
        assert message is not grpc.aio.EOF, "the stream ended"
        return message  # type: ignore[no-any-return]

    async def take(self, count: int) -> list[Message]:
        return [await self.next() for _ in range(count)]


def open_stream(client: Client, since_revision: int = 0) -> Stream:
    """A stream as scoring opens it."""
    return Stream(
        client.stub.WatchTraderProfiles(
            service_pb2.WatchTraderProfilesRequest(since_revision=since_revision),
            metadata=client.auth(Role.SERVICE, "scoring"),
        )
    )


async def test_the_stream_starts_with_a_snapshot_and_then_sends_live_changes(
    client: Client,
) -> None:
    await client.create_trader("T1", "First Trader")
    second = await client.create_trader("T2", "Second Trader")
    stream = open_stream(client)
    try:
        start, one, two, end = await stream.take(4)
        assert start.HasField("snapshot_start")
        assert end.HasField("snapshot_end")
        snapshot_revision = start.revision
        assert {one.revision, two.revision, end.revision} == {snapshot_revision}
        assert [one.profile.trader, two.profile.trader] == ["traders/T1", "traders/T2"]
        assert two.profile.revision == second.profile_revision
        assert two.profile.tier == trader_pb2.TRADER_TIER_NEW

        await client.stub.SetTraderTier(
            service_pb2.SetTraderTierRequest(
                name="traders/T2",
                request_id=str(uuid.uuid4()),
                etag=second.etag,
                tier=trader_pb2.TRADER_TIER_LOW_RISK,
                reason="Compliant in every random examination this year.",
            ),
            metadata=client.auth(),
        )
        tier_change = await stream.next()
        await client.ingest(assessment_event("A1", importer=party("T3", "Newcomer Ltd")))
        newcomer = await stream.next()
    finally:
        stream.call.cancel()

    assert tier_change.profile.trader == "traders/T2"
    assert tier_change.profile.tier == trader_pb2.TRADER_TIER_LOW_RISK
    assert tier_change.revision > snapshot_revision
    assert newcomer.profile.trader == "traders/T3"
    assert newcomer.profile.display_name == "Newcomer Ltd"
    assert newcomer.profile.first_declaration_time.ToJsonString() == "2025-03-10T09:00:00Z"
    assert newcomer.revision > tier_change.revision
    assert newcomer.profile.revision == newcomer.revision


async def test_a_client_resuming_from_a_revision_gets_only_the_later_changes(
    client: Client,
) -> None:
    first = await client.create_trader("T1", "First Trader")
    await client.create_trader("T2", "Second Trader")
    await client.stub.UpdateTrader(
        service_pb2.UpdateTraderRequest(
            trader=trader_pb2.Trader(name="traders/T1", etag=first.etag, display_name="Renamed"),
            update_mask=FieldMask(paths=["display_name"]),
        ),
        metadata=client.auth(),
    )
    stream = open_stream(client, since_revision=first.profile_revision)
    try:
        created, renamed = await stream.take(2)
    finally:
        stream.call.cancel()

    assert (created.profile.trader, created.revision) == ("traders/T2", first.profile_revision + 1)
    assert (renamed.profile.trader, renamed.profile.display_name) == ("traders/T1", "Renamed")
    assert renamed.revision > created.revision


async def test_a_change_that_leaves_the_profile_as_it_was_is_not_streamed(
    client: Client,
) -> None:
    created = await client.create_trader("T1", "First Trader")
    stream = open_stream(client)
    try:
        await stream.take(3)
        await client.stub.UpdateTrader(
            service_pb2.UpdateTraderRequest(
                trader=trader_pb2.Trader(name="traders/T1", etag=created.etag, address="Quay 3"),
                update_mask=FieldMask(paths=["address"]),
            ),
            metadata=client.auth(),
        )
        await client.create_trader("T2", "Second Trader")
        following = await stream.next()
    finally:
        stream.call.cancel()

    assert following.profile.trader == "traders/T2"


async def test_a_client_ahead_of_the_server_starts_again_from_a_snapshot(client: Client) -> None:
    # A client that claims a revision the feed never reached follows a restored or
    # replaced database: it must get the whole current set, not wait forever.
    await client.create_trader("T1", "First Trader")
    call = client.stub.WatchTraderProfiles(
        service_pb2.WatchTraderProfilesRequest(since_revision=1000),
        metadata=client.auth(Role.SERVICE, "scoring"),
    )
    try:
        first = await call.read()
        profile = await call.read()
    finally:
        call.cancel()

    assert first.HasField("snapshot_start")
    assert profile.profile.trader == "traders/T1"


async def test_only_services_may_watch_the_profiles(client: Client) -> None:
    call = client.stub.WatchTraderProfiles(
        service_pb2.WatchTraderProfilesRequest(), metadata=client.auth(Role.COMPLIANCE)
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
