"""Every RPC of every service, driven with generated requests through the real platform.

Whatever a caller sends (extreme numbers, times out of range, odd strings,
unknown enum values, deep repeats, bytes that are no message) the answer is a
status the caller can act on, never ``INTERNAL``, ``UNKNOWN`` or
``DEADLINE_EXCEEDED``, and every service is still healthy afterwards. The
caller holds every role, so requests get past authorization into the code.

``FUZZ_EXAMPLES`` sets the requests per RPC (20 here; ``make fuzz`` runs 300
and prints the status codes each service answered).
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Iterator

import grpc
import pytest
from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2
from customs.scoring.v1 import scoring_service_pb2
from fuzz_messages import requests
from google.protobuf import message, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from run_platform import Platform

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
_CALL_TIMEOUT = 20.0
#: How long a stream that sends nothing (a watch with no changes) is waited for.
_STREAM_SILENCE = 0.5
_NEVER = frozenset(
    {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}
)

_SERVICES: dict[str, ServiceDescriptor] = {
    "scoring": scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"],
    "criteria": criteria_service_pb2.DESCRIPTOR.services_by_name["CriteriaService"],
    "exam_reports": exam_reports_service_pb2.DESCRIPTOR.services_by_name["ExamReportsService"],
    "compliance": compliance_service_pb2.DESCRIPTOR.services_by_name["ComplianceService"],
    "audit_referral": audit_referral_service_pb2.DESCRIPTOR.services_by_name[
        "AuditReferralService"
    ],
}
_RPCS = [(package, method) for package, service in _SERVICES.items() for method in service.methods]


@pytest.fixture(scope="module")
def channels(fuzzed_platform: Platform) -> Iterator[dict[str, grpc.Channel]]:
    opened = {
        package: grpc.insecure_channel(fuzzed_platform.address(package)) for package in _SERVICES
    }
    yield opened
    for channel in opened.values():
        channel.close()


def _serialize(request: message.Message | bytes) -> bytes:
    return request if isinstance(request, bytes) else request.SerializeToString()


def _call(
    channel: grpc.Channel,
    method: MethodDescriptor,
    request: message.Message | bytes,
    metadata: tuple[tuple[str, str], ...],
) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_type = message_factory.GetMessageClass(method.output_type)
    shape = (method.client_streaming, method.server_streaming)
    options = {
        "request_serializer": _serialize,
        "response_deserializer": response_type.FromString,
    }
    try:
        if shape == (False, False):
            channel.unary_unary(path, **options)(request, metadata=metadata, timeout=_CALL_TIMEOUT)
        elif shape == (True, False):
            channel.stream_unary(path, **options)(
                iter([request, request]), metadata=metadata, timeout=_CALL_TIMEOUT
            )
        elif shape == (True, True):
            responses = channel.stream_stream(path, **options)(
                iter([request, request]), metadata=metadata, timeout=_CALL_TIMEOUT
            )
            collections.deque(responses, maxlen=0)
        else:
            stream = channel.unary_stream(path, **options)(request, metadata=metadata)
            # A watch stream sends its snapshot and then waits for changes: read
            # what comes within a moment, then hang up as a client would.
            hang_up = threading.Timer(_STREAM_SILENCE, stream.cancel)
            hang_up.start()
            try:
                for _ in range(3):
                    next(stream)
            except StopIteration:
                pass
            finally:
                hang_up.cancel()
                stream.cancel()
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
        return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize(("package", "method"), _RPCS, ids=[f"{p}.{m.name}" for p, m in _RPCS])
def test_no_generated_request_gets_an_internal_answer(
    channels: dict[str, grpc.Channel],
    test_keys: SigningKeys,
    fuzz_figures: dict[str, collections.Counter[str]],
    package: str,
    method: MethodDescriptor,
) -> None:
    metadata = test_keys.metadata(*Role, subject="fuzzer")
    channel = channels[package]

    @settings(
        max_examples=_EXAMPLES,
        deadline=None,
        database=None,
        # CI sees the same requests every run; `make fuzz` asks for new ones.
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck),
    )
    @given(requests(method.input_type))
    def answers(request: message.Message | bytes) -> None:
        code = _call(channel, method, request, metadata)
        fuzz_figures[package][code.name] += 1
        assert code not in _NEVER, f"{method.full_name} answered {code.name} to {request!r}"[:2000]

    answers()


def test_every_service_is_healthy_after_the_fuzzing(channels: dict[str, grpc.Channel]) -> None:
    for package, channel in channels.items():
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=2
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, package
