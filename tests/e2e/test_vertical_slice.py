"""The platform's first journey, across real processes.

An analyst writes a criterion, a supervisor approves it, scoring learns it over
the watch stream and routes a matching declaration RED with the criterion as its
reason, and the decision becomes an examination task in exam_reports through the
outbox — all under one trace.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from customs.common.v1 import money_pb2, selection_rule_pb2, selectivity_pb2
from customs.criteria.v1 import (
    criteria_service_pb2,
    criteria_service_pb2_grpc,
    criterion_pb2,
    risk_profile_pb2,
)
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import declaration_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from e2e_support import eventually
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from otlp_receiver import Collector
from run_platform import Platform

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e


def cigarettes_criterion(profile: str) -> criterion_pb2.Criterion:
    """The handbook's classic: cigarettes (HS 2402) → RED enforcement examination."""
    return criterion_pb2.Criterion(
        risk_profile=profile,
        title="Cigarettes from any origin",
        description="Excise fraud and smuggling of tobacco products.",
        rule=selection_rule_pb2.SelectionRule(
            condition=selection_rule_pb2.Condition(
                predicate=selection_rule_pb2.Predicate(
                    hs_code_prefix=selection_rule_pb2.HsCodePrefixPredicate(prefixes=["2402"])
                )
            ),
            treatment=selection_rule_pb2.Treatment(
                channel=selectivity_pb2.CHANNEL_RED,
                examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
            ),
            selection_percent=100,
            approved_traders=selection_rule_pb2.APPROVED_TRADER_SCOPE_INCLUDED,
            priority=10,
            examiner_instructions="Unload the container and count the master cases.",
        ),
    )


def tobacco_profile() -> risk_profile_pb2.RiskProfile:
    return risk_profile_pb2.RiskProfile(
        title="Tobacco excise evasion",
        risk_area=risk_profile_pb2.RISK_AREA_REVENUE,
        rationale="Seizures of undeclared cigarettes rose sharply last year.",
        sources=[
            risk_profile_pb2.ProfileSource(
                kind=risk_profile_pb2.SOURCE_KIND_EXAMINATION_RESULTS,
                description="Seizures of cigarettes in 2025",
            )
        ],
        indicators=["HS 2402", "high duty"],
        intended_treatment=selection_rule_pb2.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        owner="ana",
        next_review_date="2027-06-30",
    )


def declaration(number: str, hs_code: str) -> declaration_pb2.Declaration:
    """A declaration shaped like the public data set's rows (office 30, process B)."""
    lodged = Timestamp()
    lodged.GetCurrentTime()
    return declaration_pb2.Declaration(
        declaration_number=number,
        version=1,
        office_code="30",
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        lodgement_time=lodged,
        declarant=declaration_pb2.Party(id="ZZR1LT6"),
        importer=declaration_pb2.Party(id="QLRUBN9"),
        seller=declaration_pb2.Party(id="0VKY2BR"),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=[
            declaration_pb2.DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                description="goods",
                origin_country_code="BE",
                origin_indicator_code="G",
                net_mass_kg=108.0,
                customs_value=money_pb2.Money(currency_code="KRW", units=372254, nanos=400000000),
                tax_type_code="FEU1",
                tax_rate_percent=0.0,
            )
        ],
    )


def test_an_approved_criterion_routes_a_declaration_red_and_opens_an_examination_task(
    platform: Platform, test_keys: SigningKeys, collector: tuple[Collector, int]
) -> None:
    received, _ = collector
    tracer = TracerProvider().get_tracer("e2e")
    analyst = test_keys.metadata(Role.ANALYST, subject="ana")
    supervisor = test_keys.metadata(Role.SUPERVISOR, subject="sam")
    declaration_system = test_keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")
    operator = test_keys.metadata(Role.OPERATOR, subject="ops")

    with (
        tracer.start_as_current_span("customs-officer-journey") as root,
        grpc.insecure_channel(platform.address("criteria")) as criteria_channel,
        grpc.insecure_channel(platform.address("scoring")) as scoring_channel,
        grpc.insecure_channel(platform.address("exam_reports")) as exam_channel,
    ):
        trace_id = format(root.get_span_context().trace_id, "032x")

        def traced(metadata: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
            carrier: dict[str, str] = {}
            inject(carrier, context=trace.set_span_in_context(root))
            return [*metadata, *carrier.items()]

        exam_reports = exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_channel)
        exam_reports.CreateOffice(
            exam_reports_service_pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id="30",
                office=office_pb2.Office(
                    display_name="Incheon port", time_zone="Asia/Seoul", active=True
                ),
            ),
            metadata=traced(operator),
        )

        criteria = criteria_service_pb2_grpc.CriteriaServiceStub(criteria_channel)
        profile = criteria.CreateRiskProfile(
            criteria_service_pb2.CreateRiskProfileRequest(
                risk_profile=tobacco_profile(), request_id=str(uuid.uuid4())
            ),
            metadata=traced(analyst),
        ).risk_profile
        draft = criteria.CreateCriterion(
            criteria_service_pb2.CreateCriterionRequest(
                criterion=cigarettes_criterion(profile.name), request_id=str(uuid.uuid4())
            ),
            metadata=traced(analyst),
        ).criterion
        submitted = criteria.SubmitCriterion(
            criteria_service_pb2.SubmitCriterionRequest(
                name=draft.name, etag=draft.etag, request_id=str(uuid.uuid4())
            ),
            metadata=traced(analyst),
        ).criterion

        # Scoring replays the candidate over what it has assessed; exam_reports
        # says what the office can examine (handbook step 4). Until scoring has
        # received its first criteria snapshot it answers UNAVAILABLE with a
        # RetryInfo, and a client retries, as this one does.
        def analyze() -> criteria_service_pb2.AnalyzeImpactResponse | None:
            try:
                return criteria.AnalyzeImpact(
                    criteria_service_pb2.AnalyzeImpactRequest(
                        criterion=submitted.name,
                        revision=submitted.revision,
                        lookback_days=30,
                        request_id=str(uuid.uuid4()),
                    ),
                    metadata=traced(analyst),
                )
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    raise
                return None

        analysis = eventually(analyze).impact_analysis
        with pytest.raises(grpc.RpcError) as own_approval:
            criteria.ApproveCriterion(
                criteria_service_pb2.ApproveCriterionRequest(
                    name=submitted.name,
                    revision=submitted.revision,
                    etag=submitted.etag,
                    impact_analysis=analysis.name,
                    request_id=str(uuid.uuid4()),
                ),
                metadata=traced(test_keys.metadata(Role.RMC, subject="ana")),
            )
        assert own_approval.value.code() in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        approved = criteria.ApproveCriterion(
            criteria_service_pb2.ApproveCriterionRequest(
                name=submitted.name,
                revision=submitted.revision,
                etag=submitted.etag,
                impact_analysis=analysis.name,
                request_id=str(uuid.uuid4()),
            ),
            metadata=traced(supervisor),
        ).criterion
        assert approved.state == criterion_pb2.CRITERION_STATE_ACTIVE

        scoring = scoring_service_pb2_grpc.ScoringServiceStub(scoring_channel)

        def assess_until_red() -> scoring_service_pb2.AssessDeclarationResponse | None:
            # Each probe is a new declaration: scoring learns the criterion
            # asynchronously, and a declaration version is assessed only once.
            answer = scoring.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(
                    declaration=declaration(f"E2E-{uuid.uuid4().hex[:12]}", "240220")
                ),
                metadata=traced(declaration_system),
            )
            red = answer.assessment.channel == selectivity_pb2.CHANNEL_RED
            return answer if red else None

        answer = eventually(assess_until_red)
        assessment = answer.assessment
        assert assessment.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
        assert [hit.criterion for hit in assessment.criterion_hits] == [approved.name]
        assert assessment.criterion_hits[0].item_number == 1

        stored = scoring.GetAssessment(
            scoring_service_pb2.GetAssessmentRequest(name=assessment.name),
            metadata=traced(declaration_system),
        ).assessment
        assert stored.channel == selectivity_pb2.CHANNEL_RED

        green = scoring.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(
                declaration=declaration(f"E2E-{uuid.uuid4().hex[:12]}", "440890")
            ),
            metadata=traced(declaration_system),
        )
        assert green.assessment.channel == selectivity_pb2.CHANNEL_GREEN

        number = assessment.declaration.declaration_number

        def examination_task() -> exam_reports_service_pb2.ListExaminationsResponse | None:
            tasks = exam_reports.ListExaminations(
                exam_reports_service_pb2.ListExaminationsRequest(declaration_number=number),
                metadata=traced(supervisor),
            )
            return tasks if tasks.examinations else None

        tasks = eventually(examination_task).examinations
        assert len(tasks) == 1
        task = tasks[0]
        assert task.channel == selectivity_pb2.CHANNEL_RED
        assert task.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
        assert task.assessment == assessment.name
        assert "count the master cases" in " ".join(task.examiner_instructions)

    services = eventually(
        lambda: (
            services
            if {"criteria", "scoring", "exam-reports"}
            <= (services := received.services_in_trace(trace_id))
            else None
        )
    )
    assert {"criteria", "scoring", "exam-reports"} <= services
