"""The client against a server that requires mutual TLS: the ``CUSTOMS_TLS_*`` files.

The server is a stand-in ScoringService on 127.0.0.1 with a certificate of a
throw-away CA, requiring client certificates of that CA, as the platform's
services do with mutual TLS on.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc

from customs_client import ClientTls, ConfigurationError, CustomsClient, CustomsError
from customs_kit.dev_tls import IssuedCertificate, write_development_ca


class _Scoring(scoring_service_pb2_grpc.ScoringServiceServicer):  # type: ignore[misc]
    def GetAssessment(self, request: Any, context: grpc.ServicerContext) -> Any:
        return scoring_service_pb2.GetAssessmentResponse(
            assessment=assessment_pb2.Assessment(name=request.name)
        )


@pytest.fixture
def issued(tmp_path: Path) -> dict[str, IssuedCertificate]:
    return write_development_ca(tmp_path, ["scoring", "integrator"])


@pytest.fixture
def address(issued: dict[str, IssuedCertificate]) -> Iterator[str]:
    server_files = issued["scoring"]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server(_Scoring(), server)
    credentials = grpc.ssl_server_credentials(
        [(server_files.key.read_bytes(), server_files.certificate.read_bytes())],
        root_certificates=server_files.ca.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def _get(address: str, tls: ClientTls | None) -> str:
    with CustomsClient(token="t", addresses={"scoring": address}, tls=tls) as client:
        return str(
            client.scoring.GetAssessment(
                scoring_service_pb2.GetAssessmentRequest(name="assessments/x"), timeout=5
            ).assessment.name
        )


def test_the_client_presents_the_certificate_the_environment_names(
    address: str, issued: dict[str, IssuedCertificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    integrator = issued["integrator"]
    monkeypatch.setenv("CUSTOMS_TLS_CA_FILE", str(integrator.ca))
    monkeypatch.setenv("CUSTOMS_TLS_CERT_FILE", str(integrator.certificate))
    monkeypatch.setenv("CUSTOMS_TLS_KEY_FILE", str(integrator.key))
    assert _get(address, None) == "assessments/x"


def test_without_a_client_certificate_the_server_does_not_answer(
    address: str, issued: dict[str, IssuedCertificate]
) -> None:
    with pytest.raises(CustomsError) as refused:
        _get(address, ClientTls(ca_file=issued["integrator"].ca))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_certificate_without_its_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="CUSTOMS_TLS_KEY_FILE"):
        ClientTls.from_env({"CUSTOMS_TLS_CERT_FILE": "client.crt"})
    assert ClientTls.from_env({}) is None
