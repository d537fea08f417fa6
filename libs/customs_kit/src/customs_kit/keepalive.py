"""HTTP/2 keepalive and reconnection: what client channels send, what servers accept.

A client that pings more often than the server allows is sent ``GOAWAY
ENHANCE_YOUR_CALM`` ("too_many_pings") and loses every call on the connection,
watch streams included. The gRPC server's default lets a client ping only
every five minutes and not at all without a call in flight, while watch
streams and outbox relays want to notice a dead peer within a minute. So the
two sides are derived from one :class:`Keepalive`, which the service settings
carry to the server builder and to every peer channel.
"""

from __future__ import annotations

from dataclasses import dataclass

#: gRPC channel and server arguments, as ``grpc`` takes them.
ChannelOptions = list[tuple[str, int]]

#: The longest a client channel waits before connecting again to a peer that went away.
RECONNECT_BACKOFF_MS = 500


@dataclass(frozen=True)
class Keepalive:
    """The keepalive of client channels and the ping policy of servers, kept in step.

    ``ping_interval_ms`` is how often a client pings an idle connection (a quiet
    watch stream, a relay waiting for events); ``ping_timeout_ms`` how long it
    waits for the answer before it considers the connection dead. The server
    accepts pings twice as often as clients send them, so timer jitter or a
    reconnect never counts as abuse.
    """

    ping_interval_ms: int = 30_000
    ping_timeout_ms: int = 10_000

    def __post_init__(self) -> None:
        if self.ping_interval_ms < 2 or self.ping_timeout_ms < 1:
            raise ValueError("keepalive intervals must be positive")

    def channel_options(self) -> ChannelOptions:
        """The arguments of every client channel a service opens."""
        return [
            ("grpc.keepalive_time_ms", self.ping_interval_ms),
            ("grpc.keepalive_timeout_ms", self.ping_timeout_ms),
            # Idle channels (no call in flight) are probed too, and a quiet
            # stream keeps being probed rather than after two pings only.
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            # A peer that restarted is reconnected to within a second of listening
            # again: grpc's default backoff grows to two minutes, and a channel
            # waiting out its backoff fails every call at once meanwhile.
            ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS // 4),
            ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS // 4),
            ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
        ]

    def server_options(self) -> ChannelOptions:
        """The ping policy of every server, accepting what :meth:`channel_options` sends."""
        return [
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", self.ping_interval_ms // 2),
            ("grpc.http2.min_ping_interval_without_data_ms", self.ping_interval_ms // 2),
        ]
