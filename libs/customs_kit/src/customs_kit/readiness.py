"""Readiness and liveness on the standard health service, and the database probe behind them.

Two questions, two health service names. *Liveness* (:data:`LIVENESS_SERVICE`)
asks whether the process works at all: it is SERVING from start to shutdown,
whatever the database does, so an orchestrator never restarts a healthy process
because a dependency is away (a restart would not bring the database back and
would lose the process's warm state). *Readiness* (``""`` and every served
service's name) asks whether calls routed here can succeed now: SERVING once
the application is ready and while the database answers, NOT_SERVING while it
does not, so load balancers send the traffic to replicas that can answer.

:class:`DatabaseProbe` answers the second half: every ``interval_seconds`` it
runs ``SELECT 1`` on a connection of its own (a pool that the service's calls
have exhausted is load, not an outage, and must not turn readiness off) and
waits at most ``timeout_seconds`` for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from grpc_health.v1 import health, health_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from customs_kit.db import Database

_log = structlog.get_logger(__name__)

#: The health service name that Kubernetes' liveness probe checks.
LIVENESS_SERVICE = "liveness"

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Readiness:
    """The health statuses of one server: liveness, and readiness from its conditions."""

    def __init__(self, servicer: health.aio.HealthServicer, names: Sequence[str]) -> None:
        self._servicer = servicer
        self._names = ["", *names]
        self._started = False
        self._database_reachable = True

    async def starting(self) -> None:
        """Alive, not ready: the application is still getting ready."""
        await self._servicer.set(LIVENESS_SERVICE, _SERVING)
        await self._publish()

    async def started(self) -> None:
        """The application is ready: readiness follows the database from now on."""
        self._started = True
        await self._publish()

    async def database_reachable(self, reachable: bool) -> None:
        """Records the database probe's latest answer."""
        if reachable == self._database_reachable:
            return
        self._database_reachable = reachable
        if reachable:
            _log.info("database_reachable")
        else:
            _log.warning("database_unreachable")
        await self._publish()

    @property
    def serving(self) -> bool:
        """Whether readiness reports SERVING."""
        return self._started and self._database_reachable

    async def _publish(self) -> None:
        status = _SERVING if self.serving else _NOT_SERVING
        for name in self._names:
            await self._servicer.set(name, status)


class DatabaseProbe:
    """Background task: ``SELECT 1`` every ``interval_seconds``, reported to :class:`Readiness`."""

    def __init__(
        self,
        database: Database,
        readiness: Readiness,
        *,
        interval_seconds: float = 1.0,
        timeout_seconds: float = 1.0,
    ) -> None:
        self._url = database.engine.url
        self._readiness = readiness
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts probing."""
        # One pooled connection, checked before use: a connection the database
        # dropped (a restart) is replaced instead of failing the next probe.
        self._engine = create_async_engine(
            self._url, pool_size=1, max_overflow=0, pool_pre_ping=True
        )
        self._task = asyncio.create_task(self._run(), name="database-probe")

    async def stop(self) -> None:
        """Stops probing and closes the probe's connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def probe(self) -> bool:
        """Whether the database answered ``SELECT 1`` within the timeout."""
        assert self._engine is not None, "the probe is not started"
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            _log.debug("database_probe_failed", detail=str(error) or type(error).__name__)
            return False
        return True

    async def _run(self) -> None:
        while True:
            await self._readiness.database_reachable(await self.probe())
            await asyncio.sleep(self._interval)


def database_probe(database: Database | None, readiness: Readiness) -> list[DatabaseProbe]:
    """The probe of a service's database; none without one or on SQLite (a local file)."""
    if database is None or database.dialect == "sqlite":
        return []
    return [DatabaseProbe(database, readiness)]
