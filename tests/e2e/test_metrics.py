"""Each service serves its metrics in Prometheus format on the port `make run` prints."""

from __future__ import annotations

import re
import urllib.request

import grpc
import pytest
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from e2e_support import eventually
from grpc_health.v1 import health_pb2, health_pb2_grpc
from platform_metrics import BUSINESS_METRICS, RPC_METRICS
from run_platform import Platform
from test_vertical_slice import declaration

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return str(response.read().decode())


def test_metrics_carry_per_rpc_figures_and_the_business_figures(
    platform: Platform, test_keys: SigningKeys
) -> None:
    analyst = test_keys.metadata(Role.ANALYST, subject="ana")
    declaration_system = test_keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")
    with (
        grpc.insecure_channel(platform.address("scoring")) as scoring_channel,
        grpc.insecure_channel(platform.address("criteria")) as criteria_channel,
    ):
        health_pb2_grpc.HealthStub(scoring_channel).Check(health_pb2.HealthCheckRequest())
        criteria = criteria_service_pb2_grpc.CriteriaServiceStub(criteria_channel)
        criteria.ListCriteria(criteria_service_pb2.ListCriteriaRequest(), metadata=analyst)
        with pytest.raises(grpc.RpcError):
            criteria.ListCriteria(criteria_service_pb2.ListCriteriaRequest(page_size=-1))
        scoring_service_pb2_grpc.ScoringServiceStub(scoring_channel).AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(
                declaration=declaration("METRICS-0001", "0101210000")
            ),
            metadata=declaration_system,
        )

    criteria_metrics = scrape(platform.metrics_url("criteria"))
    calls = re.findall(
        r"^rpc_server_duration_milliseconds_count\{(?P<labels>[^}]*)\} (?P<count>\S+)$",
        criteria_metrics,
        re.MULTILINE,
    )
    by_method = {
        (
            re.search(r'rpc_method="([^"]*)"', labels).group(1),  # type: ignore[union-attr]
            re.search(r'rpc_grpc_status_code="([^"]*)"', labels).group(1),
        ): float(count)  # type: ignore[union-attr]
        for labels, count in calls
    }
    assert by_method[("ListCriteria", "OK")] >= 1
    assert by_method[("ListCriteria", "UNAUTHENTICATED")] >= 1
    assert "rpc_server_duration_milliseconds_bucket" in criteria_metrics

    def scoring_business_metrics() -> str | None:
        text = scrape(platform.metrics_url("scoring"))
        wanted = (
            'customs_scoring_decisions_total{channel="GREEN",office="30"',
            'customs_outbox_backlog{destination="compliance"',
            'customs_outbox_oldest_age_seconds{destination="compliance"',
            'source="scoring"',
        )
        return text if all(name in text for name in wanted) else None

    try:
        scoring_metrics = eventually(scoring_business_metrics, timeout=40)
    except AssertionError:
        pytest.fail(
            "scoring's metrics lack a business figure:\n" + scrape(platform.metrics_url("scoring"))
        )
    assert 'rpc_method="AssessDeclaration"' in scoring_metrics
    exported = set(re.findall(r"^([a-z_]+)[{ ]", scoring_metrics, re.MULTILINE))
    assert exported >= RPC_METRICS | BUSINESS_METRICS
