"""Mutual TLS across real processes: the platform works with it, and strangers are refused.

The five services run with certificates from one development CA. A criterion
approved in criteria reaches scoring over its watch stream, and the RED
decision reaches exam_reports through scoring's outbox relay, both over mTLS;
the test's own calls go through the ``customs_client`` channel factory with the
developer's certificate. A client with no certificate, or with one from
another CA, gets no answer at all: the handshake fails before any call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2, criterion_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2, office_pb2
from customs.scoring.v1 import scoring_service_pb2
from e2e_support import eventually
from grpc_health.v1 import health_pb2, health_pb2_grpc
from process_platforms import platform_of_processes
from run_platform import DEVELOPER_CERTIFICATE, SERVICES, Platform, write_certificates
from test_vertical_slice import cigarettes_criterion, declaration, tobacco_profile

from customs_client import ClientTls, CustomsClient, CustomsError
from customs_kit.auth import Role
from customs_kit.dev_tls import IssuedCertificate, write_development_ca
from customs_kit.testing.services import SigningKeys

# Five processes that each do a TLS handshake with every peer start a little slower.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, IssuedCertificate]:
    return write_certificates(tmp_path_factory.mktemp("certificates"), SERVICES)


@pytest.fixture(scope="module")
def tls_platform(
    test_keys: SigningKeys,
    certificates: dict[str, IssuedCertificate],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    with platform_of_processes(
        test_keys,
        tmp_path_factory.mktemp("tls-platform"),
        startup_timeout=120,
        certificates=certificates,
    ) as running:
        yield running


def _client(
    platform: Platform, test_keys: SigningKeys, developer: IssuedCertificate, role: Role, who: str
) -> CustomsClient:
    return CustomsClient(
        token=test_keys.token(role, subject=who),
        addresses={service.package: platform.address(service.package) for service in SERVICES},
        tls=ClientTls(
            ca_file=developer.ca, cert_file=developer.certificate, key_file=developer.key
        ),
    )


def test_a_criterion_reaches_scoring_and_its_decision_exam_reports_over_mutual_tls(
    tls_platform: Platform, test_keys: SigningKeys, certificates: dict[str, IssuedCertificate]
) -> None:
    developer = certificates[DEVELOPER_CERTIFICATE]
    with (
        _client(tls_platform, test_keys, developer, Role.OPERATOR, "ops") as operator,
        _client(tls_platform, test_keys, developer, Role.ANALYST, "ana") as analyst,
        _client(tls_platform, test_keys, developer, Role.SUPERVISOR, "sam") as supervisor,
        _client(tls_platform, test_keys, developer, Role.DECLARATION_SYSTEM, "ds") as system,
    ):
        operator.exam_reports.CreateOffice(
            exam_reports_service_pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id="30",
                office=office_pb2.Office(
                    display_name="Incheon port", time_zone="Asia/Seoul", active=True
                ),
            )
        )
        profile = analyst.criteria.CreateRiskProfile(
            criteria_service_pb2.CreateRiskProfileRequest(
                risk_profile=tobacco_profile(), request_id=str(uuid.uuid4())
            )
        ).risk_profile
        draft = analyst.criteria.CreateCriterion(
            criteria_service_pb2.CreateCriterionRequest(
                criterion=cigarettes_criterion(profile.name), request_id=str(uuid.uuid4())
            )
        ).criterion
        submitted = analyst.criteria.SubmitCriterion(
            criteria_service_pb2.SubmitCriterionRequest(
                name=draft.name, etag=draft.etag, request_id=str(uuid.uuid4())
            )
        ).criterion

        def analyze() -> criteria_service_pb2.AnalyzeImpactResponse | None:
            # Criteria asks scoring over mTLS; scoring answers UNAVAILABLE until
            # its criteria watch (mTLS too) has delivered the first snapshot.
            try:
                return analyst.criteria.AnalyzeImpact(
                    criteria_service_pb2.AnalyzeImpactRequest(
                        criterion=submitted.name,
                        revision=submitted.revision,
                        lookback_days=30,
                        request_id=str(uuid.uuid4()),
                    )
                )
            except CustomsError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                return None

        analysis = eventually(analyze).impact_analysis
        approved = supervisor.criteria.ApproveCriterion(
            criteria_service_pb2.ApproveCriterionRequest(
                name=submitted.name,
                revision=submitted.revision,
                etag=submitted.etag,
                impact_analysis=analysis.name,
                request_id=str(uuid.uuid4()),
            )
        ).criterion
        assert approved.state == criterion_pb2.CRITERION_STATE_ACTIVE

        def assess_until_red() -> scoring_service_pb2.AssessDeclarationResponse | None:
            answer = system.scoring.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(
                    declaration=declaration(f"TLS-{uuid.uuid4().hex[:12]}", "240220")
                )
            )
            return answer if answer.assessment.channel == selectivity_pb2.CHANNEL_RED else None

        assessment = eventually(assess_until_red).assessment
        assert [hit.criterion for hit in assessment.criterion_hits] == [approved.name]
        number = assessment.declaration.declaration_number

        def examination_task() -> exam_reports_service_pb2.ListExaminationsResponse | None:
            tasks = supervisor.exam_reports.ListExaminations(
                exam_reports_service_pb2.ListExaminationsRequest(declaration_number=number)
            )
            return tasks if tasks.examinations else None

        (task,) = eventually(examination_task).examinations
        assert task.assessment == assessment.name


def _health(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.StatusCode:
    with (
        grpc.insecure_channel(address)
        if credentials is None
        else grpc.secure_channel(address, credentials)
    ) as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[attr-defined,no-any-return]
        return grpc.StatusCode.OK


def test_only_a_client_with_a_certificate_of_the_platform_ca_is_answered(
    tls_platform: Platform, certificates: dict[str, IssuedCertificate], tmp_path: Path
) -> None:
    developer = certificates[DEVELOPER_CERTIFICATE]
    platform_ca = developer.ca.read_bytes()
    (intruder,) = write_development_ca(tmp_path, ["intruder"]).values()
    for service in SERVICES:
        address = tls_platform.address(service.package)
        with_certificate = grpc.ssl_channel_credentials(
            platform_ca, developer.key.read_bytes(), developer.certificate.read_bytes()
        )
        assert _health(address, with_certificate) == grpc.StatusCode.OK, service.name
        # Plaintext, TLS without a client certificate, a certificate of another CA.
        assert _health(address, None) == grpc.StatusCode.UNAVAILABLE, service.name
        no_certificate = grpc.ssl_channel_credentials(platform_ca)
        assert _health(address, no_certificate) == grpc.StatusCode.UNAVAILABLE, service.name
        foreign = grpc.ssl_channel_credentials(
            platform_ca, intruder.key.read_bytes(), intruder.certificate.read_bytes()
        )
        assert _health(address, foreign) == grpc.StatusCode.UNAVAILABLE, service.name
        # Nor does a client trust a server its CA did not sign.
        impostor_check = grpc.ssl_channel_credentials(
            intruder.ca.read_bytes(), intruder.key.read_bytes(), intruder.certificate.read_bytes()
        )
        assert _health(address, impostor_check) == grpc.StatusCode.UNAVAILABLE, service.name
