"""OpenTelemetry tracing, configured only by the standard ``OTEL_*`` variables.

Spans go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and
nowhere otherwise (a developer's ``make run`` needs no collector). gRPC server
and client spans come from the OpenTelemetry interceptors that the server
builder and :func:`instrumented_channel` install; SQL spans from the SQLAlchemy
instrumentation that :mod:`customs_kit.db` attaches to each engine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from customs_kit.keepalive import Keepalive

# Health probes every few seconds would drown the traces that matter.
_NOT_TRACED = filters.negate(filters.service_name("grpc.health.v1.Health"))


@dataclass
class Telemetry:
    """The tracer provider of this process; ``shutdown`` flushes pending spans."""

    provider: TracerProvider
    owns_provider: bool

    def shutdown(self) -> None:
        """Flushes and stops exporting, if this handle created the provider."""
        if self.owns_provider:
            self.provider.shutdown()


def configure_telemetry(
    service_name: str, *, span_processors: Sequence[SpanProcessor] = ()
) -> Telemetry:
    """Installs the global tracer provider for ``service_name`` (OTel ``service.name``).

    When a provider is already installed (tests that run several services in one
    process share one in-memory exporter), it is reused rather than replaced:
    OpenTelemetry allows one global provider per process.
    """
    existing = trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        return Telemetry(provider=existing, owns_provider=False)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    for processor in span_processors:
        provider.add_span_processor(processor)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return Telemetry(provider=provider, owns_provider=True)


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """The OpenTelemetry gRPC server interceptor (first in the chain)."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(filter_=_NOT_TRACED)]  # type: ignore[no-untyped-call]


def instrumented_channel(address: str, keepalive: Keepalive | None = None) -> grpc.aio.Channel:
    """An insecure aio channel to ``address`` whose calls are traced and propagate context.

    Its keepalive is ``keepalive`` (the service's settings; the default otherwise),
    which the servers of the platform accept.
    """
    return grpc.aio.insecure_channel(
        address,
        interceptors=aio_client_interceptors(filter_=_NOT_TRACED),  # type: ignore[no-untyped-call]
        options=(keepalive or Keepalive()).channel_options(),
    )
