"""Expiry at the end of the validity window, as a background task of the service.

An ACTIVE or SUSPENDED criterion whose applied window has closed becomes
EXPIRED, recorded in the history as done by "system", and an applied one is
withdrawn from scoring. The sweeper sleeps until the next window closes (or a
commit might have brought a nearer one), bounded by ``max_interval``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from criteria.adapters.repositories import Repository
from criteria.service_layer.handlers import Store, expire_criterion
from criteria.service_layer.ports import Encoder
from customs_kit.db import Database, utcnow, wait_for_signal

_log = structlog.get_logger(__name__)


async def expire_due_criteria(database: Database, encoder: Encoder) -> datetime | None:
    """Expires every criterion due now; returns when the next one is due, if any."""
    now = utcnow()
    async with database.unit_of_work() as uow:
        due = await Repository(uow.session).criteria_due_for_expiry(now)
    for criterion_id in due:
        # One transaction each, so that those expired before a failure stay expired.
        async with database.unit_of_work() as uow:
            if await expire_criterion(Store(uow, encoder), criterion_id):
                await uow.commit()
                _log.info("criterion_expired", criterion=f"criteria/{criterion_id}")
    async with database.unit_of_work() as uow:
        return await Repository(uow.session).next_expiry(now)


class ExpirySweeper:
    """Runs :func:`expire_due_criteria` whenever a validity window closes."""

    def __init__(self, database: Database, encoder: Encoder, *, max_interval: float = 60.0) -> None:
        self._database = database
        self._encoder = encoder
        self._max_interval = max_interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts sweeping in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="criteria-expiry")

    async def stop(self) -> None:
        """Stops after the sweep in progress, if any."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Armed before sweeping, so an approval committed meanwhile is not missed.
            armed = self._database.changes_committed.arm()
            delay = self._max_interval
            try:
                next_due = await expire_due_criteria(self._database, self._encoder)
            except Exception:
                _log.exception("expiry_sweep_failed")
            else:
                if next_due is not None:
                    delay = min(delay, (next_due - utcnow()).total_seconds())
            await wait_for_signal(armed, delay, stop=self._stopping)
