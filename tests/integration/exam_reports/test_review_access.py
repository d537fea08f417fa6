"""Who may call the review, override, file, note and integrity methods."""

from __future__ import annotations

import grpc
import pytest
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import Client
from google.protobuf.message import Message

from customs_kit.auth import Role

#: Each method with a role the contract does not allow to call it.
_FORBIDDEN: list[tuple[str, Message, Role]] = [
    ("SaveExamReportDraft", pb2.SaveExamReportDraftRequest(), Role.ANALYST),
    ("ListExamReports", pb2.ListExamReportsRequest(), Role.SERVICE),
    ("ApproveExamReport", pb2.ApproveExamReportRequest(), Role.OFFICER),
    ("ReturnExamReport", pb2.ReturnExamReportRequest(), Role.RMC),
    ("ReassignExamination", pb2.ReassignExaminationRequest(), Role.OFFICER),
    ("GetAttachment", pb2.GetAttachmentRequest(), Role.OPERATOR),
    ("RequestOverride", pb2.RequestOverrideRequest(), Role.ANALYST),
    ("ApproveOverride", pb2.ApproveOverrideRequest(), Role.OFFICER),
    ("RejectOverride", pb2.RejectOverrideRequest(), Role.RMC),
    ("GetOverride", pb2.GetOverrideRequest(), Role.SERVICE),
    ("ListOverrides", pb2.ListOverridesRequest(), Role.OPERATOR),
    ("FileIntelligenceNote", pb2.FileIntelligenceNoteRequest(), Role.ANALYST),
    ("GetIntelligenceNote", pb2.GetIntelligenceNoteRequest(), Role.OPERATOR),
    ("ListIntelligenceNotes", pb2.ListIntelligenceNotesRequest(), Role.OFFICER),
    ("GetOfficerIntegrityReport", pb2.GetOfficerIntegrityReportRequest(), Role.ANALYST),
]


async def test_each_method_refuses_roles_the_contract_does_not_name(client: Client) -> None:
    for method, request, role in _FORBIDDEN:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await getattr(client.as_(role), method)(request)

        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, method


async def test_each_method_needs_a_token(client: Client) -> None:
    for method, request, _ in _FORBIDDEN:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await getattr(client.stub, method)(request)

        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED, method


async def test_a_malformed_request_names_the_field(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.ApproveOverride(
            pb2.ApproveOverrideRequest(name="overrides/x", request_id="not-a-uuid", etag='"1"')
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in raised.value.details()
