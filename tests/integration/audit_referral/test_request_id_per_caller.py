"""A request id is the caller's own: another caller sending it gets a result of its own."""

from __future__ import annotations

import uuid

from audit_referral_requests import Callers, manual_referral
from customs.audit_referral.v1 import audit_referral_service_pb2 as pb
from customs.audit_referral.v1 import audit_referral_service_pb2_grpc as pb_grpc

from customs_kit.auth import Role


async def test_a_second_caller_with_anothers_request_id_and_body_gets_its_own_result(
    stub: pb_grpc.AuditReferralServiceStub, callers: Callers
) -> None:
    request = pb.CreateReferralRequest(request_id=str(uuid.uuid4()), referral=manual_referral())
    first = await stub.CreateReferral(request, metadata=callers(Role.ANALYST, "ana"))
    retried = await stub.CreateReferral(request, metadata=callers(Role.ANALYST, "ana"))
    other = await stub.CreateReferral(request, metadata=callers(Role.ANALYST, "mallory"))

    assert retried.referral == first.referral
    assert other.referral.name != first.referral.name
    assert (first.referral.created_by, other.referral.created_by) == ("ana", "mallory")
