"""The client side of a watch stream: follow it, and resume after every break.

A service that holds a copy of another's data (scoring holds criteria's
active criteria and compliance's trader profiles) follows the owner's
``Watch…`` stream in a background task: it opens the stream from the last
revision it applied, applies the snapshot and every change as they arrive,
and when the stream breaks (the owner restarting, the network, the owner's
database away) reconnects after an exponential backoff with full jitter,
resuming from that revision. The backoff is capped low (under a second by
default) and starts over once a stream delivers again: one owner and a few
followers per replica make a retry per second cheap, while a cap of seconds
left a follower stale for up to that long after an outage of any length had
ended. The last applied state stays in use meanwhile. What a message means is the
applier's business; following, resuming and backing off are the same for
every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import grpc
import structlog

from customs_kit.outbox import backoff_delay

_log = structlog.get_logger(__name__)

_Message = TypeVar("_Message")
_Message_co = TypeVar("_Message_co", covariant=True)
_Message_contra = TypeVar("_Message_contra", contravariant=True)

#: Returns the metadata (the service token) sent when the stream is opened.
MetadataProvider = Callable[[], Sequence[tuple[str, str]]]

#: The first reconnection waits up to this long (full jitter), doubling per failure...
RETRY_BASE_SECONDS = 0.1
#: ...up to this: a follower is back within it once the owner answers again.
RETRY_CAP_SECONDS = 0.4


class WatchCall(Protocol[_Message_co]):
    """An open server-streaming call (``grpc.aio.UnaryStreamCall``)."""

    def __aiter__(self) -> AsyncIterator[_Message_co]: ...

    def cancel(self) -> bool: ...


#: Opens the stream after a revision: ``open(since_revision, metadata)``.
OpenWatch = Callable[[int, Sequence[tuple[str, str]]], WatchCall[_Message]]


class WatchApplier(Protocol[_Message_contra]):
    """Applies a stream's messages in order and knows the revision it reached."""

    @property
    def revision(self) -> int:
        """The revision of the last message applied; the stream resumes after it."""

    def reset(self) -> None:
        """Forgets a snapshot half-received: the stream it came on broke."""

    async def apply(self, message: _Message_contra) -> None:
        """Applies one message."""


class WatchFollower(Generic[_Message]):
    """Follows one watch stream in a background task (``start()`` / ``stop()``)."""

    def __init__(
        self,
        name: str,
        open_watch: OpenWatch[_Message],
        applier: WatchApplier[_Message],
        metadata: MetadataProvider,
        *,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
        retry_cap_seconds: float = RETRY_CAP_SECONDS,
    ) -> None:
        self._name = name
        self._open = open_watch
        self._applier = applier
        self._metadata = metadata
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts following the stream in a background task."""
        if self._task is not None:
            raise RuntimeError(f"the {self._name} is already running")
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stops following the stream; a snapshot half-received is discarded."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
                _log.warning("watch_ended", watch=self._name, revision=self._applier.revision)
            except grpc.aio.AioRpcError as error:
                _log.warning(
                    "watch_failed",
                    watch=self._name,
                    code=error.code().name,
                    detail=error.details(),
                    revision=self._applier.revision,
                )
            except Exception:
                _log.exception("watch_failed", watch=self._name, revision=self._applier.revision)
            self._applier.reset()
            self._failures += 1
            delay = backoff_delay(self._failures, base=self._retry_base, cap=self._retry_cap)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        since = self._applier.revision
        call = self._open(since, tuple(self._metadata()))
        _log.info("watch_connecting", watch=self._name, since_revision=since)
        try:
            async for message in call:
                self._failures = 0
                await self._applier.apply(message)
        finally:
            call.cancel()
