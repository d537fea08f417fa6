"""A watch follower whose source server goes away for seconds reconnects within one.

Compliance serves ``WatchTraderProfiles``; a follower keeps it open over a
channel built the way every service builds its peer channels. The server is
stopped for longer than any backoff that grows without a low cap would need
to reach seconds, then started again on the same port and database: the
follower must have a new snapshot within a second of the server listening.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import compliance_service_pb2_grpc
from process_platforms import free_port

from compliance.entrypoints.server import bootstrap
from customs_kit.auth import Role
from customs_kit.channels import open_channel
from customs_kit.keepalive import Keepalive
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service
from customs_kit.watch import WatchFollower

#: The server is away this long: a doubling backoff would have reached seconds.
_AWAY_SECONDS = 10.0


class SnapshotTimes:
    """Asks for a full snapshot on every connection; records when each began."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.arrived = asyncio.Event()

    @property
    def revision(self) -> int:
        return 0

    def reset(self) -> None:
        pass

    async def apply(self, message: service_pb2.WatchTraderProfilesResponse) -> None:
        if message.WhichOneof("change") == "snapshot_start":
            self.times.append(time.monotonic())
            self.arrived.set()


async def test_a_follower_reconnects_within_a_second_of_its_source_coming_back(
    make_settings: Callable[..., ServiceSettings], test_keys: SigningKeys, sqlite_url: str
) -> None:
    settings = replace(make_settings("compliance", sqlite_url), grpc_port=free_port())
    snapshots = SnapshotTimes()
    metadata = test_keys.metadata(Role.SERVICE, subject="scoring")
    async with open_channel(f"127.0.0.1:{settings.grpc_port}", keepalive=Keepalive()) as channel:
        stub = compliance_service_pb2_grpc.ComplianceServiceStub(channel)
        follower = WatchFollower(
            "trader-watch",
            lambda since, md: stub.WatchTraderProfiles(
                service_pb2.WatchTraderProfilesRequest(since_revision=since), metadata=md
            ),
            snapshots,
            lambda: metadata,
        )
        async with running_service(settings, bootstrap):
            await follower.start()
            await asyncio.wait_for(snapshots.arrived.wait(), 10)
        try:
            snapshots.arrived.clear()
            await asyncio.sleep(_AWAY_SECONDS)
            async with running_service(settings, bootstrap):
                back = time.monotonic()
                await asyncio.wait_for(snapshots.arrived.wait(), 60)
                reconnected_after = snapshots.times[-1] - back
        finally:
            await follower.stop()
    print(f"\nsource away {_AWAY_SECONDS:.0f} s; watch back {reconnected_after:.2f} s later")
    assert reconnected_after < 1.0
