"""How far behind each destination's deliveries are, as metrics an operator can alert on.

Two gauges per destination (labelled ``source``, the sending service, and
``destination``), read from the outbox table every
``interval`` seconds (the observable callbacks themselves cannot await a
query, so they report the last reading):

- ``customs.outbox.backlog``: events not yet delivered;
- ``customs.outbox.oldest_age``: seconds since the oldest of them was written
  (0 when nothing is waiting) — the figure that says whether effects are late.

A destination is reported from the first reading that sees an event for it,
then always (at 0 once it has caught up), so a dashboard shows a flat line
rather than a gap when everything is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import func, select

from customs_kit.background import PeriodicTask
from customs_kit.db import OutboxEvent, utcnow

if TYPE_CHECKING:
    from customs_kit.db import Database


class OutboxBacklogMonitor(PeriodicTask):
    """Reads the undelivered events per destination and publishes the two gauges."""

    def __init__(self, database: Database, source: str, *, interval: float = 10.0) -> None:
        super().__init__("outbox_backlog_monitor", interval, self.refresh)
        self._database = database
        self._source = source
        #: destination -> (waiting events, age in seconds of the oldest)
        self._readings: dict[str, tuple[int, float]] = {}
        self._last_seen_id = 0
        meter = metrics.get_meter("customs_kit.outbox")
        meter.create_observable_gauge(
            "customs.outbox.backlog",
            callbacks=[self._observe_backlog],
            unit="{event}",
            description="Events written to the outbox and not yet delivered, by destination.",
        )
        meter.create_observable_gauge(
            "customs.outbox.oldest_age",
            callbacks=[self._observe_age],
            unit="s",
            description="Age of the oldest undelivered event, by destination.",
        )

    async def start(self) -> None:
        await self.refresh()
        await super().start()

    async def refresh(self) -> None:
        """Takes a new reading of the backlog (every ``interval`` seconds, and at start)."""
        now = utcnow()
        async with self._database.session_factory() as session:
            # Destinations written to since the last reading, by primary key, so an
            # event delivered between two readings still puts its destination on the
            # dashboard; the backlog itself is read from the undelivered rows only,
            # which the relay's partial index covers.
            written = (
                await session.execute(
                    select(OutboxEvent.destination, func.max(OutboxEvent.id))
                    .where(OutboxEvent.id > self._last_seen_id)
                    .group_by(OutboxEvent.destination)
                )
            ).all()
            waiting = (
                await session.execute(
                    select(
                        OutboxEvent.destination,
                        func.count(),
                        func.min(OutboxEvent.created_at),
                    )
                    .where(OutboxEvent.delivered_at.is_(None))
                    .group_by(OutboxEvent.destination)
                )
            ).all()
        readings = {destination: (0, 0.0) for destination in self._readings}
        for destination, last_id in written:
            readings.setdefault(destination, (0, 0.0))
            self._last_seen_id = max(self._last_seen_id, int(last_id))
        for destination, count, oldest in waiting:
            # min() keeps the column's type, so SQLite's naive text comes back in UTC too.
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            readings[destination] = (int(count), max(0.0, age))
        self._readings = readings

    def readings(self) -> dict[str, tuple[int, float]]:
        """The last reading: destination -> (waiting events, oldest age in seconds)."""
        return dict(self._readings)

    def _observe_backlog(self, _options: CallbackOptions) -> Iterable[Observation]:
        for destination, (waiting, _) in self._readings.items():
            yield Observation(waiting, {"source": self._source, "destination": destination})

    def _observe_age(self, _options: CallbackOptions) -> Iterable[Observation]:
        for destination, (_, age) in self._readings.items():
            yield Observation(age, {"source": self._source, "destination": destination})
