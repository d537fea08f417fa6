"""Reloads the random examination rates that another replica changed.

A change made through this process applies at once; one made through another
replica reaches this process within ``reload_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from customs_kit.db import Database
from scoring.service_layer.random_rates import RandomRatesHolder

_log = structlog.get_logger(__name__)


class RandomRatesReload:
    """Reloads the rates from the journal every ``reload_seconds``."""

    def __init__(
        self, database: Database, holder: RandomRatesHolder, *, reload_seconds: float
    ) -> None:
        self._database = database
        self._holder = holder
        self._reload_seconds = reload_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the periodic reload."""
        self._task = asyncio.create_task(self._reload(), name="random-rates-reload")

    async def stop(self) -> None:
        """Stops it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _reload(self) -> None:
        while True:
            await asyncio.sleep(self._reload_seconds)
            try:
                await self._holder.reload(self._database)
            except Exception:
                _log.exception("random_examination_rates_reload_failed")
