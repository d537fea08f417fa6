"""Keepalive: a peer channel kept open across many pings is never told to calm down.

The chassis derives the client channels' keepalive and the servers' ping
policy from one ``Keepalive`` in the settings. Short intervals, set there,
make many keepalive periods pass in a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from customs_kit.keepalive import Keepalive
from customs_kit.peers import Peers
from customs_kit.server import Application
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import running_service

_FAST = Keepalive(ping_interval_ms=100, ping_timeout_ms=2_000)
#: Dozens of client pings; a server that refuses them breaks the stream within about 3 s.
_KEPT_OPEN_SECONDS = 4.0


async def _no_servicers(_settings: ServiceSettings) -> Application:
    return Application(registrations=[])


async def _stream_survives(server_settings: ServiceSettings, client: Keepalive) -> bool:
    """Whether a quiet stream on a peer channel with ``client`` keepalive stays open."""
    async with running_service(server_settings, _no_servicers) as service:
        peers = Peers(
            replace(service.settings, keepalive=client, peer_addresses={"probe": service.address})
        )
        try:
            # A health watch stays open without a message after the first, like
            # a watch stream whose resources do not change.
            call = health_pb2_grpc.HealthStub(peers.channel("probe")).Watch(
                health_pb2.HealthCheckRequest()
            )
            first = await call.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            await asyncio.sleep(_KEPT_OPEN_SECONDS)
            if call.done():
                code = await call.code()
                assert code == grpc.StatusCode.UNAVAILABLE, code
                return False
            call.cancel()
            return True
        finally:
            await peers.close()


async def test_a_peer_channel_with_the_chassis_keepalive_outlives_many_ping_intervals(
    make_settings: Callable[..., ServiceSettings],
) -> None:
    settings = replace(make_settings("probe", "sqlite+aiosqlite:///:memory:"), keepalive=_FAST)

    assert await _stream_survives(settings, _FAST)


async def test_a_client_pinging_faster_than_the_server_allows_loses_its_stream(
    make_settings: Callable[..., ServiceSettings],
) -> None:
    # What happened before client and server shared one policy: the server
    # answers the pings with GOAWAY too_many_pings and the stream breaks.
    settings = make_settings("probe", "sqlite+aiosqlite:///:memory:")

    assert not await _stream_survives(settings, _FAST)
