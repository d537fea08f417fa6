"""Channels to the peer services a process calls, and the outbox relay that uses them.

Opened once at bootstrap from the ``*_ADDR`` settings, traced (the client
interceptor propagates the W3C context to the callee), authenticated with this
service's own token (and its certificate, with mutual TLS), with the keepalive
the platform's servers accept (:mod:`customs_kit.keepalive`), and closed at
shutdown.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from customs_kit.channels import open_channel
from customs_kit.db import Database
from customs_kit.outbox import OutboxRelay
from customs_kit.server import peer_metadata
from customs_kit.settings import ServiceSettings


class Peers:
    """The channels of one process to its peers, by peer name (``exam-reports``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, peer: str) -> grpc.aio.Channel:
        """The channel to ``peer``; raises ``SettingsError`` if its address is not set."""
        if peer not in self._channels:
            self._channels[peer] = open_channel(
                self._settings.peer_address(peer),
                keepalive=self._settings.keepalive,
                tls=self._settings.tls,
            )
        return self._channels[peer]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata that authenticates this service (role ``service``)."""
        return peer_metadata(self._settings)

    def outbox_relay(self, database: Database, destinations: Iterable[str]) -> OutboxRelay:
        """A relay delivering this service's outbox events to ``destinations``."""
        channels = {peer: self.channel(peer) for peer in destinations}
        return OutboxRelay(database, channels, self.metadata)

    async def close(self) -> None:
        """Closes every channel opened so far."""
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
