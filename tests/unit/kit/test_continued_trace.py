"""A later request about a resource continues the resource's trace and links its own."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import use_span

from customs_kit.telemetry import continued_trace, current_traceparent


def _tracer() -> tuple[InMemorySpanExporter, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


def test_the_continued_span_is_in_the_stored_trace_and_links_the_request() -> None:
    exporter, provider = _tracer()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("decision ingest"):
        stored = current_traceparent()
    request = tracer.start_span("supervisor request")

    with (
        use_span(request, end_on_exit=True),
        continued_trace(stored, "approved", tracer_provider=provider) as span,
    ):
        inside = current_traceparent()

    decision_trace = stored.split("-")[1]
    assert inside.split("-")[1] == decision_trace
    context = span.get_span_context()
    assert format(context.trace_id, "032x") == decision_trace
    [link] = span.links  # type: ignore[attr-defined]
    assert link.context.span_id == request.get_span_context().span_id
    assert len(exporter.get_finished_spans()) == 3


def test_without_a_stored_context_the_span_is_a_child_of_the_request() -> None:
    _, provider = _tracer()
    request = provider.get_tracer("test").start_span("officer request")

    with (
        use_span(request, end_on_exit=True),
        continued_trace("", "submitted", tracer_provider=provider) as span,
    ):
        pass

    assert span.get_span_context().trace_id == request.get_span_context().trace_id
    assert list(span.links) == []  # type: ignore[attr-defined]
