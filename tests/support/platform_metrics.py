"""The metric names the services export in Prometheus format, as a scraper sees them.

The end-to-end metrics test asserts that the services serve them; the Grafana
dashboard test that the dashboard queries nothing else.
"""

#: Per-RPC figures (OpenTelemetry's ``rpc.server.duration`` histogram, milliseconds).
RPC_METRICS = frozenset(
    {
        "rpc_server_duration_milliseconds_bucket",
        "rpc_server_duration_milliseconds_count",
        "rpc_server_duration_milliseconds_sum",
    }
)
#: The services' own figures.
BUSINESS_METRICS = frozenset(
    {
        "customs_scoring_decisions_total",
        "customs_outbox_backlog",
        "customs_outbox_oldest_age_seconds",
    }
)
