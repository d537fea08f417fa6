"""OpenTelemetry tracing, configured only by the standard ``OTEL_*`` variables.

Spans go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and
nowhere otherwise (a developer's ``make run`` needs no collector). gRPC server
and client spans come from the OpenTelemetry interceptors that the server
builder and every channel of :mod:`customs_kit.channels` install; SQL spans from the SQLAlchemy
instrumentation that :mod:`customs_kit.db` attaches to each engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

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


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """The OpenTelemetry gRPC client interceptors: calls are traced and propagate context."""
    interceptors: list[grpc.aio.ClientInterceptor] = aio_client_interceptors(filter_=_NOT_TRACED)  # type: ignore[no-untyped-call]
    return interceptors


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the active span ("" outside a valid trace).

    A resource that starts a piece of work lasting beyond one request (an
    examination task opened by a decision) stores it, so that what the work
    causes later can continue the same trace.
    """
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def continued_trace(
    traceparent: str, name: str, *, tracer_provider: TracerProvider | None = None
) -> Iterator[Span]:
    """A span continuing the trace of ``traceparent``, linked to the current request's span.

    A person's later request about a resource (an officer's report, a
    supervisor's approval) runs in a trace of its own; what it causes belongs
    to the resource's trace, so that one declaration can be followed end to
    end. Inside the block, logs carry that trace's id and outbox events
    continue it; the request's span is kept as a span link (the OpenTelemetry
    way of relating two traces). Without a stored context the span is simply
    a child of the current one. ``tracer_provider`` defaults to the global one.
    """
    request = trace.get_current_span().get_span_context()
    stored = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    continues = bool(traceparent) and trace.get_current_span(stored).get_span_context().is_valid
    parent: Context | None = stored if continues else None
    links = [Link(request)] if continues and request.is_valid else []
    tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(name, context=parent, links=links) as span:
        yield span
