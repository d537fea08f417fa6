"""The client's channel against a real gRPC server: token, retries, decoded errors, pages.

The server is a stand-in ScoringService on 127.0.0.1 port 0 that fails on
command, so the client's own behaviour can be observed: which failures it
retries, what it sends, how it decodes the rich status.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from customs_client import CustomsClient, CustomsError, paginate
from customs_client.channels import service_config

_PAGE = 2


@dataclass
class _Scoring(scoring_service_pb2_grpc.ScoringServiceServicer):  # type: ignore[misc]
    failures: list[grpc.StatusCode] = field(default_factory=list)
    calls: int = 0
    tokens: list[str] = field(default_factory=list)

    def GetAssessment(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls += 1
        self.tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        if self.failures:
            code = self.failures.pop(0)
            context.abort_with_status(rpc_status.to_status(_status(code)))
        return scoring_service_pb2.GetAssessmentResponse(
            assessment=assessment_pb2.Assessment(name=request.name)
        )

    def ListAssessments(self, request: Any, context: grpc.ServicerContext) -> Any:
        start = int(request.page_token or 0)
        names = [f"assessments/a{i}" for i in range(5)][start : start + _PAGE]
        following = start + _PAGE
        return scoring_service_pb2.ListAssessmentsResponse(
            assessments=[assessment_pb2.Assessment(name=n) for n in names],
            next_page_token=str(following) if following < 5 else "",
        )


def _status(code: grpc.StatusCode) -> status_pb2.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="NAME_MALFORMED", domain="scoring"))
    bad = any_pb2.Any()
    bad.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="name", description="must be assessments/{assessment}"
                )
            ]
        )
    )
    return status_pb2.Status(
        code=getattr(code_pb2, code.name), message="refused", details=[info, bad]
    )


@pytest.fixture
def scoring() -> Iterator[tuple[_Scoring, str]]:
    servicer = _Scoring()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_every_call_carries_the_bearer_token(scoring: tuple[_Scoring, str]) -> None:
    servicer, address = scoring
    with CustomsClient(token="t0k", addresses={"scoring": address}) as client:
        client.scoring.GetAssessment(scoring_service_pb2.GetAssessmentRequest(name="assessments/x"))

    assert servicer.tokens == ["Bearer t0k"]


def test_unavailable_is_retried_until_the_call_succeeds(scoring: tuple[_Scoring, str]) -> None:
    servicer, address = scoring
    servicer.failures = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
    with CustomsClient(token="t", addresses={"scoring": address}) as client:
        answer = client.scoring.GetAssessment(
            scoring_service_pb2.GetAssessmentRequest(name="assessments/x")
        )

    assert answer.assessment.name == "assessments/x"
    assert servicer.calls == 3


def test_other_failures_are_not_retried_and_carry_reason_and_fields(
    scoring: tuple[_Scoring, str],
) -> None:
    servicer, address = scoring
    servicer.failures = [grpc.StatusCode.INVALID_ARGUMENT]
    with (
        CustomsClient(token="t", addresses={"scoring": address}) as client,
        pytest.raises(CustomsError) as refused,
    ):
        client.scoring.GetAssessment(scoring_service_pb2.GetAssessmentRequest(name="bad"))

    assert servicer.calls == 1
    error = refused.value
    assert isinstance(error, grpc.RpcError)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.domain) == ("NAME_MALFORMED", "scoring")
    assert [(v.field, v.description) for v in error.field_violations] == [
        ("name", "must be assessments/{assessment}")
    ]
    assert "field name: must be assessments/{assessment}" in str(error)


def test_paginate_walks_every_page(scoring: tuple[_Scoring, str]) -> None:
    _, address = scoring
    with CustomsClient(token="t", addresses={"scoring": address}) as client:
        request = scoring_service_pb2.ListAssessmentsRequest(page_size=_PAGE)
        names = [a.name for a in paginate(client.scoring.ListAssessments, request)]

    assert names == [f"assessments/a{i}" for i in range(5)]
    assert request.page_token == ""


def test_streams_get_no_deadline_and_unary_calls_do() -> None:
    descriptor = scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"]
    configs = service_config(descriptor, 7)["methodConfig"]

    unary, streaming = configs
    assert unary["timeout"] == "7s"
    assert unary["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert "timeout" not in streaming
    assert {"service": descriptor.full_name, "method": "AssessDeclarations"} in streaming["name"]
