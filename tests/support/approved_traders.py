"""Making a trader an approved trader through compliance's real RPCs, for any service's tests.

Scoring's tests need approved importers as much as compliance's own tests do;
both drive the approved-trader programme the way a compliance specialist
would, rather than writing into compliance's database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import (
    compliance_service_pb2_grpc,
    trader_application_pb2,
    trader_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

#: What a test applies for and is granted unless it says otherwise.
DEFAULT_BENEFITS = (
    trader_pb2.APPROVED_TRADER_BENEFIT_REDUCED_EXAMINATION,
    trader_pb2.APPROVED_TRADER_BENEFIT_DIRECT_DELIVERY,
)


def satisfactory_review(
    findings: str = "Records, premises and staff checks meet the guidelines.",
) -> trader_application_pb2.ApplicationReview:
    """A review whose three checks are satisfactory."""
    ok = trader_application_pb2.CHECK_RESULT_SATISFACTORY
    return trader_application_pb2.ApplicationReview(
        record_keeping=ok, security=ok, employee_background_checks=ok, findings=findings
    )


def application(
    trader_id: str,
    benefits: tuple[int, ...] = DEFAULT_BENEFITS,
    received: str = "2025-03-01T09:00:00",
) -> trader_application_pb2.TraderApplication:
    """An application as customs receives it."""
    return trader_application_pb2.TraderApplication(
        trader=f"traders/{trader_id}",
        requested_benefits=list(benefits),
        statement="Sealed warehouse, audited books, vetted staff.",
        contact="Jan Peeters, compliance officer, +32 3 000 00 00",
        receive_time=_stamp(received),
    )


async def approve_trader(
    stub: compliance_service_pb2_grpc.ComplianceServiceStub,
    keys: SigningKeys,
    trader_id: str,
    *,
    benefits: tuple[int, ...] = DEFAULT_BENEFITS,
    effective_date: str | None = None,
) -> None:
    """Makes ``trader_id`` an APPROVED trader through the real approved-trader RPCs.

    Registers the trader first if compliance does not know it yet, then
    applies, reviews, approves and signs the agreement granting ``benefits``;
    the approval reaches WatchTraderProfiles when the signature is committed.
    The agreement takes effect on ``effective_date`` (``YYYY-MM-DD``), today by default.
    """
    auth = keys.metadata(Role.COMPLIANCE, subject="carla")
    try:
        await stub.GetTrader(
            service_pb2.GetTraderRequest(name=f"traders/{trader_id}"), metadata=auth
        )
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        await stub.CreateTrader(
            service_pb2.CreateTraderRequest(
                request_id=str(uuid.uuid4()),
                trader_id=trader_id,
                trader=trader_pb2.Trader(
                    display_name=trader_id, roles=[trader_pb2.TRADER_ROLE_IMPORTER]
                ),
            ),
            metadata=auth,
        )
    created = await stub.CreateTraderApplication(
        service_pb2.CreateTraderApplicationRequest(
            request_id=str(uuid.uuid4()), trader_application=application(trader_id, benefits)
        ),
        metadata=auth,
    )
    current = created.trader_application
    started = await stub.StartTraderApplicationReview(
        service_pb2.StartTraderApplicationReviewRequest(
            name=current.name, request_id=str(uuid.uuid4()), etag=current.etag
        ),
        metadata=auth,
    )
    current = started.trader_application
    approved = await stub.ApproveTraderApplication(
        service_pb2.ApproveTraderApplicationRequest(
            name=current.name,
            request_id=str(uuid.uuid4()),
            etag=current.etag,
            review=satisfactory_review(),
        ),
        metadata=auth,
    )
    current = approved.trader_application
    await stub.SignTraderApplicationAgreement(
        service_pb2.SignTraderApplicationAgreementRequest(
            name=current.name,
            request_id=str(uuid.uuid4()),
            etag=current.etag,
            agreement=trader_application_pb2.Agreement(
                reference=f"ATA-{trader_id}",
                benefits=list(benefits),
                effective_date=effective_date or datetime.now(UTC).date().isoformat(),
            ),
        ),
        metadata=auth,
    )


def _stamp(text: str) -> Timestamp:
    value = datetime.fromisoformat(text).replace(tzinfo=UTC)
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
