"""OpenTelemetry metrics beside the traces: per-RPC figures and the services' own.

One meter provider per process, configured like the tracer provider by the
standard ``OTEL_*`` variables plus one of ours:

- ``METRICS_PORT`` set: the metrics are served in Prometheus text format at
  ``http://<GRPC_HOST>:<METRICS_PORT>/metrics`` for a scraper (Kubernetes
  annotates the pods, ``make run`` prints each service's URL);
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._METRICS_ENDPOINT``) set: they are
  also pushed over OTLP, every ``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds.

Code that records a business figure asks the global API for a meter
(``opentelemetry.metrics.get_meter``) when its service is built; without a
configured provider the instruments are the API's no-ops, so tests and tools
pay nothing for them.

The gRPC instrumentation traces calls but records no metrics, so
:class:`RpcMetricsInterceptor` records the OpenTelemetry semantic-convention
histogram ``rpc.server.duration`` (milliseconds, by service, method and
status code): its count is the call rate, its buckets the latency, and the
non-``OK`` codes the errors.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry import metrics
from opentelemetry.metrics import Histogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

#: Buckets of ``rpc.server.duration`` in milliseconds, from a cache hit to a slow report.
_DURATION_BUCKETS_MS = (0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)


@dataclass
class Metrics:
    """The meter provider of this process and the scrape endpoint it serves, if any."""

    provider: MeterProvider | None
    #: The port the Prometheus endpoint listens on (``None``: no endpoint).
    port: int | None = None
    _http_server: Any = None

    def shutdown(self) -> None:
        """Stops the endpoint and flushes pending exports, if this handle created them."""
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
        if self.provider is not None:
            self.provider.shutdown()


def configure_metrics(
    service_name: str,
    *,
    metrics_port: int | None,
    host: str = "0.0.0.0",
    readers: tuple[MetricReader, ...] = (),
) -> Metrics:
    """Installs the global meter provider for ``service_name`` (OTel ``service.name``).

    ``metrics_port`` 0 binds a free port (tests); ``None`` serves no endpoint.
    When a provider is already installed (several services in one test process),
    it is kept: OpenTelemetry allows one global meter provider per process.
    """
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        return Metrics(provider=None)
    all_readers: list[MetricReader] = list(readers)
    http_server = None
    port: int | None = None
    if metrics_port is not None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        all_readers.append(PrometheusMetricReader())
        http_server, _ = start_http_server(metrics_port, addr=host)
        port = int(http_server.server_port)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        all_readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = MeterProvider(
        metric_readers=all_readers,
        resource=resource,
        views=[
            View(
                instrument_name="rpc.server.duration",
                aggregation=ExplicitBucketHistogramAggregation(_DURATION_BUCKETS_MS),
            )
        ],
    )
    metrics.set_meter_provider(provider)
    return Metrics(provider=provider, port=port, _http_server=http_server)


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Records ``rpc.server.duration`` for every call, health checks included.

    Health checks are counted like any call: their rate and latency under load
    are what an operator watches when probes start failing.
    """

    def __init__(self) -> None:
        self._duration: Histogram | None = None

    def _histogram(self) -> Histogram:
        # Asked for on first use, not at construction: the provider is installed
        # after the server object is built in some tests.
        if self._duration is None:
            self._duration = metrics.get_meter("customs_kit.rpc").create_histogram(
                "rpc.server.duration",
                unit="ms",
                description="Duration of inbound RPCs, by service, method and status code.",
            )
        return self._duration

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        _, service, method = handler_call_details.method.split("/", 2)
        return _measured(handler, _Recorder(self._histogram(), service, method))


@dataclass
class _Recorder:
    histogram: Histogram
    service: str
    method: str

    def record(self, started: float, context: Any, failed: bool) -> None:
        code = _status_name(context, failed)
        self.histogram.record(
            (time.perf_counter() - started) * 1_000,
            {
                "rpc.system": "grpc",
                "rpc.service": self.service,
                "rpc.method": self.method,
                "rpc.grpc.status_code": code,
            },
        )


def _status_name(context: Any, failed: bool) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if isinstance(code, int):
        # The aio context reports the code it sent as the cygrpc integer.
        for status in grpc.StatusCode:
            if status.value[0] == code:
                return str(status.name)
    return "UNKNOWN" if failed else "OK"


async def _responses(answer: Any) -> AsyncIterator[Any]:
    """The responses of a streaming behaviour, whichever way it sends them.

    A behaviour is either an async generator or a coroutine that writes with
    ``context.write`` (the library's health ``Watch`` does); the latter
    yields nothing here, its responses having gone out already.
    """
    if inspect.isawaitable(answer):
        await answer
        return
    async for response in answer:
        yield response


def _measured(handler: grpc.RpcMethodHandler, recorder: _Recorder) -> grpc.RpcMethodHandler:
    """Rebuilds ``handler`` timing whichever of the four call shapes it is."""
    if handler.unary_unary:
        unary_unary_behavior = handler.unary_unary

        async def unary_unary(request: Any, context: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                response = await unary_unary_behavior(request, context)
                failed = False
                return response
            finally:
                recorder.record(started, context, failed)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        unary_stream_behavior = handler.unary_stream

        async def unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            started, failed = time.perf_counter(), True
            try:
                async for response in _responses(unary_stream_behavior(request, context)):
                    yield response
                failed = False
            finally:
                recorder.record(started, context, failed)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        stream_unary_behavior = handler.stream_unary

        async def stream_unary(requests: AsyncIterator[Any], context: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                response = await stream_unary_behavior(requests, context)
                failed = False
                return response
            finally:
                recorder.record(started, context, failed)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, handler.request_deserializer, handler.response_serializer
        )
    stream_stream_behavior = handler.stream_stream

    async def stream_stream(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        started, failed = time.perf_counter(), True
        try:
            async for response in _responses(stream_stream_behavior(requests, context)):
                yield response
            failed = False
        finally:
            recorder.record(started, context, failed)

    return grpc.stream_stream_rpc_method_handler(
        stream_stream, handler.request_deserializer, handler.response_serializer
    )
