"""Keeps what the capacity step reads fresh: the office capacity cache and the policies.

A background task. The office capacity is refreshed from exam_reports by the
cache itself; the policies are reloaded from the journal every few seconds,
so that a change made through another replica applies here too (a change
made through this process applies at once).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from customs_kit.db import Database
from scoring.service_layer.capacity import CapacityLimits

_log = structlog.get_logger(__name__)


class CapacityWatch:
    """Runs the office capacity cache and reloads the capacity policies periodically."""

    def __init__(
        self, database: Database, limits: CapacityLimits, *, policy_reload_seconds: float
    ) -> None:
        self._database = database
        self._limits = limits
        self._policy_reload_seconds = policy_reload_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the cache's refresh and the policy reloads."""
        await self._limits.offices.start()
        self._task = asyncio.create_task(self._reload_policies(), name="capacity-policy-reload")

    async def stop(self) -> None:
        """Stops both."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._limits.offices.stop()

    async def _reload_policies(self) -> None:
        while True:
            await asyncio.sleep(self._policy_reload_seconds)
            try:
                await self._limits.policies.reload(self._database)
            except Exception:
                _log.exception("capacity_policies_reload_failed")
