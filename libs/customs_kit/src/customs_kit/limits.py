"""Load shedding: how many calls and streams a service serves at once.

Without a bound, a burst (10,000 concurrent reads, thousands of watch streams)
queued every call on the database pool until calls failed with pool timeouts
and health checks took seconds. The call guard admits a call only while the
service is under its limits, in total and for the caller (the token's
subject), so that one noisy caller cannot starve the others; over a limit it
answers ``RESOURCE_EXHAUSTED`` with ``RetryInfo`` at once, which costs far
less than queuing. Streams (watch streams, the bulk stream) stay open for a
long time, so they have limits of their own and never use up the room of
short calls. Health and reflection are never counted (see ``PUBLIC_SERVICES``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from customs_kit.errors import ResourceExhausted


@dataclass(frozen=True)
class CallLimits:
    """Concurrency limits of one service process (settings ``MAX_*``)."""

    #: Unary and client-streaming calls being served at once, by everyone.
    calls: int = 256
    #: ... by one caller.
    calls_per_caller: int = 128
    #: Server- and bidirectional streams open at once, by everyone.
    streams: int = 1_024
    #: ... by one caller.
    streams_per_caller: int = 256
    #: Calls and streams of any kind in progress on one client connection (HTTP/2
    #: streams); grpc refuses more with REFUSED_STREAM before the guard sees them.
    streams_per_connection: int = 384
    #: The delay a refused caller is told to wait before retrying.
    retry_after_seconds: float = 0.5


class Admission:
    """Counts what is being served and refuses what is over the limits."""

    def __init__(self, limits: CallLimits) -> None:
        self._limits = limits
        self._calls = _Gauge("calls", limits.calls, limits.calls_per_caller, limits)
        self._streams = _Gauge("streams", limits.streams, limits.streams_per_caller, limits)

    def admit(self, caller: str, *, stream: bool) -> Callable[[], None]:
        """Counts one call (or stream) of ``caller``; returns what ends it.

        Raises :class:`ResourceExhausted` when a limit is reached.
        """
        return (self._streams if stream else self._calls).admit(caller)


class _Gauge:
    def __init__(self, kind: str, total: int, per_caller: int, limits: CallLimits) -> None:
        self._kind = kind
        self._total_limit = total
        self._per_caller_limit = per_caller
        self._retry_after = limits.retry_after_seconds
        self._total = 0
        self._by_caller: Counter[str] = Counter()

    def admit(self, caller: str) -> Callable[[], None]:
        # Single-threaded (one event loop), so check-then-count needs no lock.
        if self._total >= self._total_limit:
            raise ResourceExhausted(
                f"TOO_MANY_{self._kind.upper()}",
                f"the service is serving its limit of {self._total_limit} {self._kind}",
                retry_after_seconds=self._retry_after,
            )
        if self._by_caller[caller] >= self._per_caller_limit:
            raise ResourceExhausted(
                f"TOO_MANY_{self._kind.upper()}_FROM_CALLER",
                f"{caller} has {self._per_caller_limit} {self._kind} in progress, the limit",
                retry_after_seconds=self._retry_after,
            )
        self._total += 1
        self._by_caller[caller] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._total -= 1
            self._by_caller[caller] -= 1
            if not self._by_caller[caller]:
                del self._by_caller[caller]

        return release
