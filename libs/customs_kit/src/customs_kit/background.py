"""A loop that runs beside the server until it is asked to stop.

The outbox relay and the retention pruner both run one loop in a task of
their own and must finish the unit of work in flight when the service stops
(a delivery, a batch of deletions) rather than be cancelled half-way. The
loop checks :attr:`stopping` between units of work and waits on it instead of
sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from customs_kit.db import wait_for_signal

_log = structlog.get_logger(__name__)


class StoppableLoop:
    """``start()`` runs :meth:`_run` in a task; ``stop()`` sets :attr:`stopping` and waits."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the loop in a background task."""
        if self._task is not None:
            raise RuntimeError(f"the {self._name} is already running")
        self.stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Asks the loop to stop and waits until it has finished its unit of work."""
        if self._task is None:
            return
        self.stopping.set()
        try:
            await self._task
        finally:
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class PeriodicTask(StoppableLoop):
    """Runs ``work`` every ``interval`` seconds until stopped.

    For state another replica may change (scoring's rates and capacity
    policies): a failed run is logged, and the next one comes on time.
    """

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[object]]) -> None:
        super().__init__(name)
        self._interval = interval
        self._work = work

    async def _run(self) -> None:
        while True:
            await wait_for_signal(self.stopping, self._interval)
            if self.stopping.is_set():
                return
            try:
                await self._work()
            except Exception:
                _log.exception("periodic_task_failed", task=self._name)
