"""Who may call what: tokens, roles, request validation, unserved RPCs, health."""

from __future__ import annotations

import grpc
import pytest
from compliance_support import Client, assessment_event, errors
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import trader_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService


async def test_a_call_without_a_token_is_unauthenticated(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetTrader(service_pb2.GetTraderRequest(name="traders/T1"))

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_officer_may_not_read_traders(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetTrader(
            service_pb2.GetTraderRequest(name="traders/T1"), metadata=client.auth(Role.OFFICER)
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert errors(raised.value)["ErrorInfo"].reason == "ROLE_NOT_ALLOWED"


async def test_an_analyst_may_not_create_traders(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.CreateTrader(
            service_pb2.CreateTraderRequest(
                request_id="6f1c8a52-3d2e-4a7b-9a0e-1d2c3b4a5f60",
                trader_id="T1",
                trader=trader_pb2.Trader(display_name="Acme", roles=["TRADER_ROLE_IMPORTER"]),
            ),
            metadata=client.auth(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_only_services_may_deliver_events(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.IngestAssessmentEvent(
            assessment_event("A1"), metadata=client.auth(Role.COMPLIANCE)
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_malformed_create_is_rejected_naming_the_field_and_rule(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.CreateTrader(
            service_pb2.CreateTraderRequest(
                request_id="not-a-uuid",
                trader_id="T1",
                trader=trader_pb2.Trader(display_name="Acme", roles=["TRADER_ROLE_IMPORTER"]),
            ),
            metadata=client.auth(),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = errors(raised.value)["BadRequest"].field_violations
    assert violation.field == "request_id"
    assert violation.description.startswith("string.uuid")


async def test_a_trader_without_roles_is_rejected_naming_the_rule(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.CreateTrader(
            service_pb2.CreateTraderRequest(
                request_id="6f1c8a52-3d2e-4a7b-9a0e-1d2c3b4a5f60",
                trader_id="T1",
                trader=trader_pb2.Trader(display_name="Acme"),
            ),
            metadata=client.auth(),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = errors(raised.value)["BadRequest"].field_violations
    assert violation.field == "trader"
    assert violation.description.startswith("trader.roles_required")


async def test_the_service_reports_serving(service: RunningService) -> None:
    health = health_pb2_grpc.HealthStub(service.channel)

    response = await health.Check(
        health_pb2.HealthCheckRequest(service="customs.compliance.v1.ComplianceService")
    )

    assert response.status == health_pb2.HealthCheckResponse.SERVING
