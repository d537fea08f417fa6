"""Fixtures: the audit_referral service on a real port, the peers its reports go to, callers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from audit_referral_requests import Callers, PeerSink
from customs.audit_referral.v1 import (
    audit_referral_service_pb2_grpc as pb_grpc,
)

from audit_referral.entrypoints.server import bootstrap
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service


@pytest.fixture
async def peers() -> AsyncIterator[PeerSink]:
    """The ingest endpoints that audit reports are relayed to."""
    sink = PeerSink()
    server = grpc.aio.server()
    for service, method in (
        ("customs.compliance.v1.ComplianceService", "IngestAuditFindingEvent"),
        ("customs.criteria.v1.CriteriaService", "IngestAuditFindingEvent"),
        ("customs.scoring.v1.ScoringService", "IngestAuditFindingEvent"),
    ):
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    service,
                    {
                        method: grpc.unary_unary_rpc_method_handler(
                            sink.handler(f"/{service}/{method}")
                        )
                    },
                ),
            )
        )
    sink.port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield sink
    await server.stop(grace=None)


@pytest.fixture
async def service(
    make_settings: Callable[..., ServiceSettings], database_url: str, peers: PeerSink
) -> AsyncIterator[RunningService]:
    """audit-referral serving on 127.0.0.1 with its own fresh database."""
    address = f"127.0.0.1:{peers.port}"
    settings = make_settings(
        "audit-referral",
        database_url,
        {"compliance": address, "criteria": address, "scoring": address},
    )
    async with running_service(settings, bootstrap) as running:
        yield running


@pytest.fixture
def stub(service: RunningService) -> pb_grpc.AuditReferralServiceStub:
    """A client of the running service."""
    return pb_grpc.AuditReferralServiceStub(service.channel)


@pytest.fixture
def callers(test_keys: SigningKeys) -> Callers:
    """Tokens of the service's callers."""
    return Callers(test_keys)
