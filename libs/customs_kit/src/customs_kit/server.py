"""The gRPC aio server every service runs: health, reflection, the call guard, shutdown.

Every service with a database also serves ``customs.events.v1.EventDeliveryService``
(batch ingest of its peers' events into its own ``Ingest...Event`` RPCs, and the
dead letters of its outbox, see :mod:`customs_kit.event_delivery`) without
registering it itself.

A service describes itself as an :class:`Application` (its servicers, background
tasks such as the outbox relay, and cleanups) built by its own ``bootstrap``;
:func:`run_service` turns that into a process that reports SERVING once ready,
and on SIGTERM reports NOT_SERVING, lets in-flight calls finish within the grace
period, stops its background tasks and closes its database.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import grpc
import structlog
from customs.events.v1 import event_delivery_service_pb2_grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from customs_kit.auth import TokenVerifier, allowed_roles
from customs_kit.channels import server_credentials
from customs_kit.event_delivery import DESCRIPTOR as EVENT_DELIVERY
from customs_kit.event_delivery import EventDeliveryServicer, ingest_targets
from customs_kit.interceptors import (
    CallGuardInterceptor,
    CallShapeInterceptor,
    MethodPolicy,
    answers_invalid_messages_itself,
)
from customs_kit.limits import Admission
from customs_kit.logging import configure_logging
from customs_kit.metrics import RpcMetricsInterceptor, configure_metrics
from customs_kit.outbox import OutboxRelay
from customs_kit.outbox_metrics import OutboxBacklogMonitor
from customs_kit.pagination import PageTokens
from customs_kit.readiness import Readiness, database_probe
from customs_kit.retention import RetentionPruner
from customs_kit.settings import ServiceSettings, SettingsError
from customs_kit.telemetry import configure_telemetry, server_interceptors

if TYPE_CHECKING:
    from customs_kit.db import Database

_log = structlog.get_logger(__name__)
_T = TypeVar("_T")


class BackgroundTask(Protocol):
    """Work that runs beside the server (outbox relay, watch-stream consumers)."""

    async def start(self) -> None:
        """Starts the work; returns once it is running."""

    async def stop(self) -> None:
        """Stops the work, finishing what is in flight."""


@dataclass(frozen=True)
class ServiceRegistration:
    """One gRPC service a process serves.

    ``descriptor`` is the generated ``ServiceDescriptor``
    (``foo_pb2.DESCRIPTOR.services_by_name["FooService"]``) and ``add_to_server``
    the generated ``add_FooServiceServicer_to_server``.
    """

    servicer: object
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    descriptor: ServiceDescriptor


@dataclass
class Application:
    """What a service's bootstrap hands to the chassis to run."""

    registrations: Sequence[ServiceRegistration]
    background: Sequence[BackgroundTask] = ()
    cleanups: Sequence[Callable[[], Awaitable[None]]] = ()
    #: Returns once the service can do its work (e.g. scoring holds criteria);
    #: until then health answers NOT_SERVING, so no traffic is routed to it.
    until_ready: Callable[[], Awaitable[None]] | None = None
    #: Extra values for tests and tools (e.g. the database), never read by the chassis.
    resources: Mapping[str, object] = field(default_factory=dict)
    #: The service's database: the chassis deletes the expired rows of the kit's
    #: tables in it (see :mod:`customs_kit.retention`), stopped with the background work.
    database: Database | None = None


def method_policies(registrations: Sequence[ServiceRegistration]) -> dict[str, MethodPolicy]:
    """Who may call each RPC, read from the ``allow`` declarations on the servicers.

    Raises ``ValueError`` if a servicer implements an RPC without declaring its
    roles: every served RPC must say who may call it.
    """
    policies: dict[str, MethodPolicy] = {}
    for registration in registrations:
        servicer_type = type(registration.servicer)
        for method in registration.descriptor.methods:
            path = f"/{registration.descriptor.full_name}/{method.name}"
            implementation = getattr(servicer_type, method.name, None)
            implemented = implementation is not None and not _is_generated_stub(
                servicer_type, method.name
            )
            roles = allowed_roles(implementation) if implemented else None
            if implemented and roles is None:
                raise ValueError(f"{servicer_type.__name__}.{method.name} declares no roles")
            policies[path] = MethodPolicy(
                roles=roles,
                implemented=implemented,
                validates_messages=not answers_invalid_messages_itself(implementation),
            )
    return policies


def _is_generated_stub(servicer_type: type, name: str) -> bool:
    for klass in servicer_type.__mro__:
        if name in vars(klass):
            return klass.__module__.endswith("_pb2_grpc")
    return True


class GrpcServer:
    """A started-on-demand aio server for one :class:`Application`."""

    def __init__(self, settings: ServiceSettings, application: Application) -> None:
        self._settings = settings
        self._application = application
        self._registrations = _with_kit_services(settings, application)
        self._health = health.aio.HealthServicer()
        error_domain = f"{settings.service_name}.customs"
        self._server = grpc.aio.server(
            interceptors=[
                # Outermost, so the call-shape interceptor below closes every stream
                # it serves in the call's own task, this one's included.
                RpcMetricsInterceptor(),
                CallShapeInterceptor(error_domain),
                *server_interceptors(),
                CallGuardInterceptor(
                    TokenVerifier(
                        settings.auth_public_key, settings.auth_issuer, oidc=settings.oidc
                    ),
                    method_policies(self._registrations),
                    error_domain=error_domain,
                    admission=Admission(settings.call_limits),
                ),
            ],
            options=[
                ("grpc.so_reuseport", 0),
                *settings.keepalive.server_options(),
                # Beyond this many streams on one connection the client is refused
                # at once (REFUSED_STREAM: UNAVAILABLE, safe to retry). Unbounded,
                # a flood queued in grpc until grpc cancelled the calls it could
                # not take in time (CANCELLED, which clients must not retry).
                ("grpc.max_concurrent_streams", settings.call_limits.streams_per_connection),
            ],
        )
        self.port = 0
        self._health_server: grpc.aio.Server | None = None
        self._readiness: asyncio.Task[None] | None = None
        self._health_state = Readiness(
            self._health, [entry.descriptor.full_name for entry in self._registrations]
        )
        self._background: list[BackgroundTask] = list(application.background)
        self._background.extend(database_probe(application.database, self._health_state))
        if application.database is not None:
            self._background.append(
                OutboxBacklogMonitor(application.database, settings.service_name)
            )
            self._background.append(
                RetentionPruner(
                    application.database,
                    outbox_retention=settings.outbox_retention,
                    idempotency_retention=settings.idempotency_retention,
                )
            )

    async def start(self) -> int:
        """Binds, serves and starts background work; returns the bound port."""
        names = [entry.descriptor.full_name for entry in self._registrations]
        for registration in self._registrations:
            registration.add_to_server(registration.servicer, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server
        )
        self.port = _bind(self._server, self._settings)
        await self._server.start()
        self._health_server = await _start_health_server(self._settings, self._health)
        for task in self._background:
            await task.start()
        _log.info("service_started", address=f"{self._settings.grpc_host}:{self.port}")
        until_ready = self._application.until_ready
        await self._health_state.starting()
        if until_ready is None:
            await self._report_serving()
        else:
            self._readiness = asyncio.create_task(self._serve_once_ready(until_ready))
        return self.port

    async def _serve_once_ready(self, until_ready: Callable[[], Awaitable[None]]) -> None:
        _log.info("service_waiting_until_ready")
        await until_ready()
        await self._report_serving()

    async def _report_serving(self) -> None:
        await self._health_state.started()
        _log.info("service_serving")

    async def stop(self) -> None:
        """Drains: NOT_SERVING, finish in-flight calls, stop background work, clean up.

        Background work stops while calls drain rather than after: watch streams
        never end by themselves, and their background task is what ends them, so
        waiting for the calls first would always take the whole grace period.
        """
        if self._readiness is not None:
            self._readiness.cancel()
        await self._health.enter_graceful_shutdown()
        await asyncio.gather(
            self._server.stop(self._settings.shutdown_grace_seconds),
            *(task.stop() for task in reversed(self._background)),
        )
        if self._health_server is not None:
            # Last, so that probes see NOT_SERVING throughout the drain.
            await self._health_server.stop(None)
        for cleanup in reversed(self._application.cleanups):
            await cleanup()
        _log.info("service_stopped")

    async def __aenter__(self) -> GrpcServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def _bind(server: grpc.aio.Server, settings: ServiceSettings) -> int:
    """Binds the service's port, mutual TLS when configured; returns the bound port."""
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    if settings.tls is None:
        port = int(server.add_insecure_port(address))
    else:
        port = int(server.add_secure_port(address, server_credentials(settings.tls)))
    if port == 0:
        raise OSError(f"cannot bind {address}")
    return port


async def _start_health_server(
    settings: ServiceSettings, servicer: health.aio.HealthServicer
) -> grpc.aio.Server | None:
    """A plaintext server of the health service alone on ``HEALTH_PORT``, if set.

    Kubernetes' gRPC probes cannot present a client certificate, so with mutual
    TLS they probe this port; it answers nothing but health, from the same
    servicer as the main port.
    """
    if settings.health_port is None:
        return None
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    address = f"{settings.grpc_host}:{settings.health_port}"
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot bind {address}")
    await server.start()
    return server


def _with_kit_services(
    settings: ServiceSettings, application: Application
) -> list[ServiceRegistration]:
    """The application's services and, with a database, the kit's event delivery service."""
    registrations = list(application.registrations)
    if application.database is not None:
        targets = ingest_targets((entry.servicer, entry.descriptor) for entry in registrations)
        registrations.append(
            ServiceRegistration(
                EventDeliveryServicer(
                    application.database,
                    PageTokens(settings.page_token_secret),
                    targets,
                    relays=[t for t in application.background if isinstance(t, OutboxRelay)],
                    outbox_retention=settings.outbox_retention,
                ),
                event_delivery_service_pb2_grpc.add_EventDeliveryServiceServicer_to_server,
                EVENT_DELIVERY,
            )
        )
    return registrations


Bootstrap = Callable[[ServiceSettings], Awaitable[Application]]


async def serve(settings: ServiceSettings, bootstrap: Bootstrap) -> None:
    """Builds the application, serves it, and shuts down on SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    application = await bootstrap(settings)
    async with GrpcServer(settings, application):
        await stopping.wait()
        _log.info("shutdown_requested")


def settings_or_exit(read: Callable[[], _T]) -> _T:
    """Settings read by ``read``; on ``SettingsError`` the process exits (status 2) naming it.

    For a service's own settings, read in its ``main`` before :func:`run_service`.
    """
    try:
        return read()
    except SettingsError as error:
        sys.stderr.write(f"configuration error: {error}\n")
        raise SystemExit(2) from None


def run_service(service_name: str, default_port: int, bootstrap: Bootstrap) -> None:
    """The ``main`` of a service process: settings, logging, tracing, then :func:`serve`."""
    settings = settings_or_exit(lambda: ServiceSettings.from_env(service_name, default_port))
    configure_logging(settings.log_level, service_name)
    telemetry = configure_telemetry(service_name)
    metrics = configure_metrics(
        service_name, metrics_port=settings.metrics_port, host=settings.grpc_host
    )
    if metrics.port is not None:
        _log.info("metrics_served", url=f"http://{settings.grpc_host}:{metrics.port}/metrics")
    try:
        asyncio.run(serve(settings, bootstrap))
    finally:
        metrics.shutdown()
        telemetry.shutdown()


def peer_metadata(settings: ServiceSettings) -> tuple[tuple[str, str], ...]:
    """Call metadata that authenticates this service to its peers (role ``service``)."""
    if not settings.service_token:
        raise SettingsError(f"{settings.service_name} needs SERVICE_TOKEN_FILE to call peers")
    return (("authorization", f"Bearer {settings.service_token}"),)
