"""The Grafana dashboard in deploy/ queries only metrics the services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from platform_metrics import BUSINESS_METRICS, RPC_METRICS

_DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "customs-platform.json"
_PROMQL_WORDS = frozenset({"sum", "by", "rate", "increase", "histogram_quantile", "max", "le"})


def test_every_panel_queries_exported_metrics_through_the_prometheus_datasource() -> None:
    dashboard = json.loads(_DASHBOARD.read_text())
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "prometheus", panel["title"]
        for target in panel["targets"]:
            # Label matchers and label lists are not metric names.
            expression = re.sub(r"\{[^}]*\}|\([a-z_, ]*\)(?= \()", "", target["expr"])
            words = set(re.findall(r"[a-z_][a-z0-9_]*", expression)) - _PROMQL_WORDS
            queried |= {word for word in words if word.startswith(("rpc_", "customs_"))}
    assert queried, "the dashboard queries nothing"
    assert queried <= RPC_METRICS | BUSINESS_METRICS, queried - (RPC_METRICS | BUSINESS_METRICS)
    assert queried >= BUSINESS_METRICS, BUSINESS_METRICS - queried
