"""The platform learning from its examinations, across real processes.

An office with a daily examination capacity, an approved trader still drawn
for random compliance examinations, and a criterion on frozen poultry: the
officer's approved reports travel back through the outbox, criteria measures
the criterion against the random baseline of the same office, compliance
counts the random examination of the approved trader, and once the office's
capacity is used up a further selection is downgraded by the capacity policy
(handbook steps 11 and 20, issue 3 items 3-5, issue 4 item 7). One
declaration is one trace from lodgement to the audit referral, in the logs of
all five services, and the revenue its examination found counts for the
criterion and the officer (issue 10 items 5 and 6).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from approved_traders import approve_trader
from customs.common.v1 import money_pb2, selection_rule_pb2, selectivity_pb2
from customs.compliance.v1 import (
    compliance_service_pb2,
    compliance_service_pb2_grpc,
    measurement_pb2,
    trade_statistics_pb2,
)
from customs.criteria.v1 import (
    criteria_service_pb2,
    criteria_service_pb2_grpc,
    criterion_pb2,
    oversight_report_pb2,
    risk_profile_pb2,
)
from customs.exam_reports.v1 import (
    exam_report_pb2,
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    examination_pb2,
    office_pb2,
    officer_pb2,
)
from customs.scoring.v1 import (
    assessment_pb2,
    capacity_policy_pb2,
    declaration_pb2,
    random_examination_rate_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from e2e_support import eventually
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from otlp_receiver import Collector
from run_platform import Platform

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e

#: The office of the journey; other journeys of the session use other offices.
OFFICE = "41"
#: Physical enforcement examinations the office can carry out per day.
DAILY_ENFORCEMENT_CAPACITY = 2
APPROVED_IMPORTER = "ATRUST01"
OTHER_IMPORTER = "IMPRISK7"
POULTRY = "020714"
TIMBER = "440890"

Metadata = tuple[tuple[str, str], ...]


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def declaration(
    importer: str, hs_code: str, *, office: str = OFFICE
) -> declaration_pb2.Declaration:
    """A new one-item declaration lodged now by ``importer`` through a broker."""
    return declaration_pb2.Declaration(
        declaration_number=f"E2E-{uuid.uuid4().hex[:12]}",
        version=1,
        office_code=office,
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        lodgement_time=stamp(datetime.now(UTC)),
        declarant=declaration_pb2.Party(id="BRK5", name="Fast Brokers"),
        importer=declaration_pb2.Party(id=importer, name=f"Importer {importer}"),
        transport_mode_code="10",
        dispatch_country_code="BR",
        items=[
            declaration_pb2.DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                description="frozen chicken parts" if hs_code == POULTRY else "sawn timber",
                origin_country_code="BR",
                origin_indicator_code="G",
                net_mass_kg=5000.0,
                customs_value=money_pb2.Money(currency_code="KRW", units=9_500_000),
                tax_type_code="FEU1",
                tax_rate_percent=20.0,
            )
        ],
    )


def poultry_profile() -> risk_profile_pb2.RiskProfile:
    return risk_profile_pb2.RiskProfile(
        title="Under-declared frozen poultry",
        risk_area=risk_profile_pb2.RISK_AREA_REVENUE,
        rationale="Examinations found more kilograms of frozen poultry than declared.",
        sources=[
            risk_profile_pb2.ProfileSource(
                kind=risk_profile_pb2.SOURCE_KIND_EXAMINATION_RESULTS,
                description="Quantity discrepancies on frozen poultry in 2025",
            )
        ],
        indicators=["HS 0207", "declared mass"],
        intended_treatment=selection_rule_pb2.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        owner="ana",
        next_review_date="2027-06-30",
    )


def poultry_criterion(profile: str) -> criterion_pb2.Criterion:
    return criterion_pb2.Criterion(
        risk_profile=profile,
        title="Frozen poultry, any origin",
        description="Quantities of frozen poultry under-declared to lower the duty.",
        rule=selection_rule_pb2.SelectionRule(
            condition=selection_rule_pb2.Condition(
                predicate=selection_rule_pb2.Predicate(
                    hs_code_prefix=selection_rule_pb2.HsCodePrefixPredicate(prefixes=["0207"])
                )
            ),
            treatment=selection_rule_pb2.Treatment(
                channel=selectivity_pb2.CHANNEL_RED,
                examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
            ),
            selection_percent=100,
            approved_traders=selection_rule_pb2.APPROVED_TRADER_SCOPE_INCLUDED,
            priority=10,
            examiner_instructions="Weigh the cartons of every pallet.",
        ),
    )


def report(
    task: examination_pb2.Examination,
    reason: examination_pb2.ExaminationReason,
    *,
    discrepancy: bool,
) -> exam_report_pb2.ExamReport:
    """The officer's report of ``task``, copying its header from the declaration."""
    form = exam_report_pb2.ExamReport(
        examination=task.name,
        declaration_number=task.declaration_number,
        customs_office=task.office,
        importer_name=task.importer.display_name,
        importer_number=task.importer.number,
        broker_name="Fast Brokers",
        inspecting_officer="officers/olga",
        reason=reason,
        examination_time=task.start_time,
        discrepancy_found=discrepancy,
        intelligence_information="none found",
    )
    if discrepancy:
        form.discrepancy_detail = "Declared 5,000 kg frozen chicken parts, found 6,000 kg."
        form.discrepancies.append(
            exam_report_pb2.Discrepancy(
                type=exam_report_pb2.DISCREPANCY_TYPE_QUANTITY,
                item_number=1,
                description="6,000 kg of frozen chicken parts where 5,000 kg were declared",
                declared_quantity=exam_report_pb2.Quantity(value=5000, unit="KGM"),
                found_quantity=exam_report_pb2.Quantity(value=6000, unit="KGM"),
            )
        )
        form.penalty_recommended = True
        form.merchandise_seized = True
        form.seizure_case_number = "SZ-2026/041"
        form.carrier.CopyFrom(
            exam_report_pb2.CarrierData(display_name="Road Co Ltd", address="1 Depot Road")
        )
        form.driver.CopyFrom(
            exam_report_pb2.DriverData(
                full_name="John Kamau Otieno",
                date_of_birth="1980-04-02",
                nationality="KE",
                identity_document=exam_report_pb2.IdentityDocument(
                    type=exam_report_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, number="A1234567"
                ),
            )
        )
    return form


@dataclass(frozen=True)
class Services:
    """Stubs of the services the journey calls, with tokens for the people who call them."""

    scoring: scoring_service_pb2_grpc.ScoringServiceStub
    criteria: criteria_service_pb2_grpc.CriteriaServiceStub
    exam_reports: exam_reports_service_pb2_grpc.ExamReportsServiceStub
    compliance: compliance_service_pb2_grpc.ComplianceServiceStub
    keys: SigningKeys

    def as_(self, role: Role, subject: str) -> Metadata:
        return self.keys.metadata(role, subject=subject)

    def assess(self, lodged: declaration_pb2.Declaration) -> assessment_pb2.Assessment:
        """The declaration system lodges ``lodged`` and receives the decision."""
        return self.scoring.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=lodged),
            metadata=self.as_(Role.DECLARATION_SYSTEM, "asycuda"),
        ).assessment

    def create_office(self, office: str, capacity: int) -> None:
        """An operator opens ``office`` with one shed examining ``capacity`` a day."""
        operator = self.as_(Role.OPERATOR, "ops")
        self.exam_reports.CreateOffice(
            exam_reports_service_pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id=office,
                office=office_pb2.Office(
                    display_name=f"Port office {office}", time_zone="Europe/Brussels", active=True
                ),
            ),
            metadata=operator,
        )
        self.exam_reports.CreateExaminationFacility(
            exam_reports_service_pb2.CreateExaminationFacilityRequest(
                parent=f"offices/{office}",
                request_id=str(uuid.uuid4()),
                examination_facility_id="shed-1",
                examination_facility=office_pb2.ExaminationFacility(
                    display_name="Examination shed 1",
                    capabilities=[office_pb2.FACILITY_CAPABILITY_CONTAINER_UNLOADING],
                    daily_capacities=[
                        office_pb2.ExaminationCapacity(
                            channel=selectivity_pb2.CHANNEL_RED,
                            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
                            examinations_per_day=capacity,
                        )
                    ],
                    active=True,
                ),
            ),
            metadata=operator,
        )

    def examination_of(self, assessment: assessment_pb2.Assessment) -> examination_pb2.Examination:
        """The examination task the decision opened, once the outbox delivered it."""
        number = assessment.declaration.declaration_number

        def task() -> examination_pb2.Examination | None:
            found = self.exam_reports.ListExaminations(
                exam_reports_service_pb2.ListExaminationsRequest(declaration_number=number),
                metadata=self.as_(Role.SUPERVISOR, "sofia"),
            ).examinations
            return found[0] if found else None

        return eventually(task)

    def examine(
        self,
        task: examination_pb2.Examination,
        reason: examination_pb2.ExaminationReason,
        *,
        discrepancy: bool,
    ) -> None:
        """Officer olga examines and reports; supervisor sofia approves the report."""
        olga = self.as_(Role.OFFICER, "olga")
        started = self.exam_reports.StartExamination(
            exam_reports_service_pb2.StartExaminationRequest(name=task.name, etag=task.etag),
            metadata=olga,
        ).examination
        submitted = self.exam_reports.SubmitExamReport(
            exam_reports_service_pb2.SubmitExamReportRequest(
                exam_report_id=str(uuid.uuid4()),
                exam_report=report(started, reason, discrepancy=discrepancy),
                sign_time=stamp(datetime.now(UTC)),
            ),
            metadata=olga,
        ).exam_report
        approved = self.exam_reports.ApproveExamReport(
            exam_reports_service_pb2.ApproveExamReportRequest(
                name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
            ),
            metadata=self.as_(Role.SUPERVISOR, "sofia"),
        ).exam_report
        assert approved.state == exam_report_pb2.EXAM_REPORT_STATE_APPROVED


@dataclass(frozen=True)
class Office:
    """The journey's office at work and the criterion analysts activated for it."""

    services: Services
    criterion: str


@pytest.fixture(scope="module")
def office(platform: Platform, test_keys: SigningKeys) -> Iterator[Office]:
    """Office 41 staffed, an approved importer, random rates and an active poultry criterion."""
    with (
        grpc.insecure_channel(platform.address("scoring")) as scoring_channel,
        grpc.insecure_channel(platform.address("criteria")) as criteria_channel,
        grpc.insecure_channel(platform.address("exam_reports")) as exam_channel,
        grpc.insecure_channel(platform.address("compliance")) as compliance_channel,
    ):
        services = Services(
            scoring=scoring_service_pb2_grpc.ScoringServiceStub(scoring_channel),
            criteria=criteria_service_pb2_grpc.CriteriaServiceStub(criteria_channel),
            exam_reports=exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_channel),
            compliance=compliance_service_pb2_grpc.ComplianceServiceStub(compliance_channel),
            keys=test_keys,
        )
        services.create_office(OFFICE, DAILY_ENFORCEMENT_CAPACITY)
        staff_office(services)
        asyncio.run(approve(platform.address("compliance"), test_keys, APPROVED_IMPORTER))
        set_random_rates(services)
        yield Office(services, activate_poultry_criterion(services))


def staff_office(services: Services) -> None:
    """Inspector olga, on shift now, and supervisor sofia work at the office."""
    operator = services.as_(Role.OPERATOR, "ops")
    for officer_id, role in (
        ("olga", officer_pb2.OFFICER_ROLE_INSPECTOR),
        ("sofia", officer_pb2.OFFICER_ROLE_SUPERVISOR),
    ):
        services.exam_reports.CreateOfficer(
            exam_reports_service_pb2.CreateOfficerRequest(
                request_id=str(uuid.uuid4()),
                officer_id=officer_id,
                officer=officer_pb2.Officer(
                    display_name=officer_id.title(),
                    badge_number=f"B-{officer_id}",
                    office=f"offices/{OFFICE}",
                    role=role,
                    subject=officer_id,
                    active=True,
                ),
            ),
            metadata=operator,
        )
    now = datetime.now(UTC)
    services.exam_reports.CreateShift(
        exam_reports_service_pb2.CreateShiftRequest(
            parent="officers/olga",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=stamp(now - timedelta(hours=1)), end_time=stamp(now + timedelta(hours=7))
            ),
        ),
        metadata=operator,
    )


async def approve(address: str, keys: SigningKeys, trader_id: str) -> None:
    """Compliance admits ``trader_id`` to the approved-trader programme."""
    async with grpc.aio.insecure_channel(address) as channel:
        await approve_trader(
            compliance_service_pb2_grpc.ComplianceServiceStub(channel), keys, trader_id
        )


def set_random_rates(services: Services) -> None:
    """Every approved trader's declaration at the office is examined; nobody else's at random."""
    services.scoring.SetRandomExaminationRate(
        scoring_service_pb2.SetRandomExaminationRateRequest(
            random_examination_rate=random_examination_rate_pb2.RandomExaminationRate(
                office_code=OFFICE,
                physical_examination_percent=0,
                approved_trader_physical_examination_percent=100,
                physical_examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
            ),
            reason="Verify that approved traders keep their benefits.",
        ),
        metadata=services.as_(Role.RMC, "rita"),
    )


def activate_poultry_criterion(services: Services) -> str:
    """Analyst ana writes the criterion, analyses its impact, supervisor sam approves it."""
    analyst = services.as_(Role.ANALYST, "ana")
    criteria = services.criteria
    profile = criteria.CreateRiskProfile(
        criteria_service_pb2.CreateRiskProfileRequest(
            risk_profile=poultry_profile(), request_id=str(uuid.uuid4())
        ),
        metadata=analyst,
    ).risk_profile
    draft = criteria.CreateCriterion(
        criteria_service_pb2.CreateCriterionRequest(
            criterion=poultry_criterion(profile.name), request_id=str(uuid.uuid4())
        ),
        metadata=analyst,
    ).criterion
    submitted = criteria.SubmitCriterion(
        criteria_service_pb2.SubmitCriterionRequest(
            name=draft.name, etag=draft.etag, request_id=str(uuid.uuid4())
        ),
        metadata=analyst,
    ).criterion

    # Scoring answers UNAVAILABLE until it has its first criteria snapshot.
    def analyze() -> criteria_service_pb2.AnalyzeImpactResponse | None:
        try:
            return criteria.AnalyzeImpact(
                criteria_service_pb2.AnalyzeImpactRequest(
                    criterion=submitted.name,
                    revision=submitted.revision,
                    lookback_days=30,
                    request_id=str(uuid.uuid4()),
                ),
                metadata=analyst,
            )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                raise
            return None

    analysis = eventually(analyze).impact_analysis
    approved = criteria.ApproveCriterion(
        criteria_service_pb2.ApproveCriterionRequest(
            name=submitted.name,
            revision=submitted.revision,
            etag=submitted.etag,
            impact_analysis=analysis.name,
            request_id=str(uuid.uuid4()),
        ),
        metadata=services.as_(Role.SUPERVISOR, "sam"),
    ).criterion
    assert approved.state == criterion_pb2.CRITERION_STATE_ACTIVE
    return approved.name


def lodge_until(
    services: Services, importer: str, hs_code: str, *, office: str = OFFICE
) -> assessment_pb2.Assessment:
    """The first new declaration routed RED (scoring learns criteria and traders asynchronously)."""

    def lodge() -> assessment_pb2.Assessment | None:
        decided = services.assess(declaration(importer, hs_code, office=office))
        return decided if decided.channel == selectivity_pb2.CHANNEL_RED else None

    return eventually(lodge)


def test_examination_results_measure_the_criterion_against_the_random_baseline(
    office: Office,
) -> None:
    services = office.services
    started = datetime.now(UTC) - timedelta(minutes=1)

    # (a) The approved trader's timber matches no criterion: examined at random.
    random_pick = lodge_until(services, APPROVED_IMPORTER, TIMBER)
    assert random_pick.importer_approved_trader
    assert random_pick.randomly_selected
    assert random_pick.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
    assert list(random_pick.criterion_hits) == []
    [physical] = [
        draw
        for draw in random_pick.random_draws
        if draw.kind == assessment_pb2.RANDOM_EXAMINATION_KIND_PHYSICAL
    ]
    assert (physical.selected, physical.approved_trader_rate) == (True, True)

    # (b) Another importer's poultry: examined because of the criterion.
    targeted = lodge_until(services, OTHER_IMPORTER, POULTRY)
    assert not targeted.importer_approved_trader
    assert not targeted.randomly_selected
    assert [(hit.criterion, hit.item_number, hit.outcome) for hit in targeted.criterion_hits] == [
        (office.criterion, 1, assessment_pb2.HIT_OUTCOME_SELECTED)
    ]

    random_task = services.examination_of(random_pick)
    targeted_task = services.examination_of(targeted)
    assert (random_task.random_selection, list(random_task.matched_criteria)) == (True, [])
    assert list(targeted_task.matched_criteria) == [office.criterion]
    assert random_task.assigned_officer == targeted_task.assigned_officer == "officers/olga"

    services.examine(targeted_task, examination_pb2.EXAMINATION_REASON_CRITERIA, discrepancy=True)
    services.examine(random_task, examination_pb2.EXAMINATION_REASON_RANDOM, discrepancy=False)

    def performance() -> criteria_service_pb2.GetCriterionPerformanceResponse | None:
        answer = services.criteria.GetCriterionPerformance(
            criteria_service_pb2.GetCriterionPerformanceRequest(
                criterion=office.criterion,
                start_time=stamp(started),
                end_time=stamp(datetime.now(UTC) + timedelta(hours=1)),
                office_code=OFFICE,
            ),
            metadata=services.as_(Role.ANALYST, "ana"),
        )
        figures = answer.criterion_performance
        arrived = figures.examinations >= 1 and figures.random_examinations >= 1
        return answer if arrived else None

    figures = eventually(performance).criterion_performance
    assert (figures.examinations, figures.discrepancies, figures.hit_rate) == (1, 1, 1.0)
    # The 95 % Wilson interval of one discrepancy in one examination.
    assert figures.hit_rate_interval.lower == pytest.approx(0.2065, abs=1e-3)
    assert figures.hit_rate_interval.upper == pytest.approx(1.0)
    assert figures.hit_rate_interval.confidence == pytest.approx(0.95)
    assert (figures.random_examinations, figures.random_discrepancies) == (1, 0)
    assert figures.random_discrepancy_rate == 0.0
    assert not figures.HasField("lift")
    assert (figures.seizures, figures.penalties_recommended) == (1, 1)

    # Compliance counts the approved trader's random examination, and only it:
    # targeted examinations are no sample of how traders comply.
    record = eventually(lambda: examined_record(services, random_pick))
    assert record.random_selection
    assert record.HasField("discrepancy_found")
    assert not record.discrepancy_found
    targeted_record = eventually(lambda: examined_record(services, targeted))
    assert not targeted_record.random_selection
    assert targeted_record.discrepancy_found

    specialist = services.as_(Role.COMPLIANCE, "carla")
    today = datetime.now(UTC).date()
    measurement = services.compliance.CreateComplianceMeasurement(
        compliance_service_pb2.CreateComplianceMeasurementRequest(
            request_id=str(uuid.uuid4()),
            compliance_measurement=measurement_pb2.ComplianceMeasurement(
                title="Importers, random examinations",
                dimension=measurement_pb2.COMPLIANCE_DIMENSION_IMPORTER,
                sources=[measurement_pb2.COMPLIANCE_EVIDENCE_SOURCE_RANDOM_EXAMINATION],
                start_date=(today - timedelta(days=1)).isoformat(),
                end_date=(today + timedelta(days=1)).isoformat(),
                tolerance_level=0.9,
                min_sample_size=1,
            ),
        ),
        metadata=specialist,
    ).compliance_measurement
    rates = services.compliance.ListComplianceRates(
        compliance_service_pb2.ListComplianceRatesRequest(parent=measurement.name),
        metadata=specialist,
    ).compliance_rates
    by_importer = {rate.stratum: (rate.sample_size, rate.compliant) for rate in rates}
    assert by_importer == {f"traders/{APPROVED_IMPORTER}": (1, 1)}


def examined_record(
    services: Services, assessment: assessment_pb2.Assessment
) -> trade_statistics_pb2.DeclarationRecord | None:
    """Compliance's record of the assessed declaration once its examination was approved."""
    listed = services.compliance.ListDeclarationRecords(
        compliance_service_pb2.ListDeclarationRecordsRequest(
            trader=f"traders/{assessment.declaration.importer.id}",
            office=f"offices/{assessment.declaration.office_code}",
        ),
        metadata=services.as_(Role.COMPLIANCE, "carla"),
    )
    number = assessment.declaration.declaration_number
    return next(
        (r for r in listed.declaration_records if r.declaration_number == number and r.examined),
        None,
    )


def test_once_the_office_capacity_is_used_up_a_further_selection_is_downgraded(
    office: Office,
) -> None:
    services = office.services
    busy_office = "42"
    services.create_office(busy_office, capacity=1)
    services.scoring.UpdateCapacityPolicy(
        scoring_service_pb2.UpdateCapacityPolicyRequest(
            capacity_policy=capacity_policy_pb2.CapacityPolicy(
                name=f"capacityPolicies/{busy_office}",
                rules=[
                    capacity_policy_pb2.DowngradeRule(
                        selected_channel=selectivity_pb2.CHANNEL_RED,
                        utilisation_percent=100,
                        min_priority=1,
                        downgrade_to=selectivity_pb2.CHANNEL_YELLOW,
                        documents_to_check=[
                            selection_rule_pb2.DocumentRequirement(
                                document_type_code="N380", description="Commercial invoice"
                            )
                        ],
                    )
                ],
            ),
            update_mask=FieldMask(paths=["rules"]),
            allow_missing=True,
        ),
        metadata=services.as_(Role.RMC, "rita"),
    )

    # The office opened after scoring started: its capacity reaches scoring on
    # exam_reports' capacity stream within moments of the commit.
    def knows_the_office() -> assessment_pb2.Assessment | None:
        probe = services.assess(declaration(OTHER_IMPORTER, TIMBER, office=busy_office))
        return probe if probe.replay.capacity.known else None

    assert eventually(knows_the_office).channel == selectivity_pb2.CHANNEL_GREEN

    first = lodge_until(services, OTHER_IMPORTER, POULTRY, office=busy_office)
    later = services.assess(declaration(OTHER_IMPORTER, POULTRY, office=busy_office))

    assert first.channel == selectivity_pb2.CHANNEL_RED
    assert list(first.capacity_downgrades) == []
    assert later.channel == selectivity_pb2.CHANNEL_YELLOW
    [downgrade] = later.capacity_downgrades
    assert downgrade.criterion == office.criterion
    assert (downgrade.from_channel, downgrade.from_examination_level, downgrade.to_channel) == (
        selectivity_pb2.CHANNEL_RED,
        selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        selectivity_pb2.CHANNEL_YELLOW,
    )
    assert downgrade.capacity_policy == f"capacityPolicies/{busy_office}"
    assert downgrade.utilisation_percent == 100
    assert [hit.outcome for hit in later.criterion_hits] == [assessment_pb2.HIT_OUTCOME_DOWNGRADED]
    [enforcement] = [
        use
        for use in later.replay.capacity.uses
        if use.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
    ]
    assert later.replay.capacity.known
    assert (enforcement.capacity, enforcement.used) == (1, 1)

    # The downgraded selection is carried out as a document review, and says why.
    review = services.examination_of(later)
    assert review.channel == selectivity_pb2.CHANNEL_YELLOW
    assert review.reason == examination_pb2.EXAMINATION_REASON_CRITERIA
    assert list(review.matched_criteria) == [office.criterion]
    assert "N380" in [document.code for document in review.documents_to_check]
    [recorded] = review.capacity_downgrades
    assert (recorded.criterion, recorded.from_channel, recorded.to_channel) == (
        office.criterion,
        selectivity_pb2.CHANNEL_RED,
        selectivity_pb2.CHANNEL_YELLOW,
    )
    assert services.examination_of(first).channel == selectivity_pb2.CHANNEL_RED


def _log_lines(platform: Platform, package: str) -> list[dict[str, Any]]:
    """The JSON log lines ``package`` has written so far."""
    lines = []
    for raw in (platform.log_dir / f"{package}.log").read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


#: What each service logs about one examined declaration, in the declaration's trace.
_LOGGED_IN_TRACE: dict[str, set[str]] = {
    "scoring": set(),
    "exam_reports": {"examination_opened", "exam_report_approved"},
    "compliance": {"assessment_ingested", "examination_outcome_ingested"},
    "criteria": {"examination_outcome_ingested"},
    "audit_referral": {"examination_finding_ingested"},
}


def _logged_in_trace(platform: Platform, trace_id: str) -> dict[str, set[str]] | None:
    """The messages each service logged under ``trace_id``, once all of ``_LOGGED_IN_TRACE`` are."""
    logged = {
        package: {
            line["message"]
            for line in _log_lines(platform, package)
            if line.get("trace_id") == trace_id
        }
        for package in _LOGGED_IN_TRACE
    }
    complete = all(
        logged[package] and expected <= logged[package]
        for package, expected in _LOGGED_IN_TRACE.items()
    )
    return logged if complete else None


def test_one_declaration_is_one_trace_and_its_revenue_counts_per_criterion_and_officer(
    office: Office, platform: Platform, collector: tuple[Collector, int]
) -> None:
    services = office.services
    received, _ = collector
    started = datetime.now(UTC) - timedelta(minutes=1)
    revenues = (
        money_pb2.Money(currency_code="KRW", units=1_250_000, nanos=500_000_000),
        money_pb2.Money(currency_code="KRW", units=49_999, nanos=500_000_000),
    )
    tracer = TracerProvider().get_tracer("e2e")
    with tracer.start_as_current_span("lodgement") as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        carrier: dict[str, str] = {}
        inject(carrier, context=trace.set_span_in_context(root))

        def lodge_traced() -> assessment_pb2.Assessment | None:
            decided = services.scoring.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(
                    declaration=declaration(OTHER_IMPORTER, POULTRY)
                ),
                metadata=[*services.as_(Role.DECLARATION_SYSTEM, "asycuda"), *carrier.items()],
            ).assessment
            return decided if decided.channel == selectivity_pb2.CHANNEL_RED else None

        traced = eventually(lodge_traced)
    untraced = lodge_until(services, OTHER_IMPORTER, POULTRY)

    # The officer's and the supervisor's requests are traces of their own.
    for assessment, revenue in zip((traced, untraced), revenues, strict=True):
        task = services.examination_of(assessment)
        olga = services.as_(Role.OFFICER, "olga")
        started_task = services.exam_reports.StartExamination(
            exam_reports_service_pb2.StartExaminationRequest(name=task.name, etag=task.etag),
            metadata=olga,
        ).examination
        form = report(started_task, examination_pb2.EXAMINATION_REASON_CRITERIA, discrepancy=True)
        form.revenue_found.CopyFrom(revenue)
        submitted = services.exam_reports.SubmitExamReport(
            exam_reports_service_pb2.SubmitExamReportRequest(
                exam_report_id=str(uuid.uuid4()),
                exam_report=form,
                sign_time=stamp(datetime.now(UTC)),
            ),
            metadata=olga,
        ).exam_report
        services.exam_reports.ApproveExamReport(
            exam_reports_service_pb2.ApproveExamReportRequest(
                name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
            ),
            metadata=services.as_(Role.SUPERVISOR, "sofia"),
        )

    # From lodgement to the audit referral: one trace id in all five services' logs.
    eventually(lambda: _logged_in_trace(platform, trace_id))
    assert {"scoring", "exam-reports", "compliance", "criteria", "audit-referral"} <= eventually(
        lambda: spans if len(spans := received.services_in_trace(trace_id)) >= 5 else None
    )

    total = money_pb2.Money(currency_code="KRW", units=1_300_000)
    period = {
        "start_time": stamp(started),
        "end_time": stamp(datetime.now(UTC) + timedelta(hours=1)),
    }

    def revenue_counted() -> criteria_service_pb2.GetCriterionPerformanceResponse | None:
        answer = services.criteria.GetCriterionPerformance(
            criteria_service_pb2.GetCriterionPerformanceRequest(
                criterion=office.criterion, office_code=OFFICE, **period
            ),
            metadata=services.as_(Role.ANALYST, "ana"),
        )
        arrived = answer.criterion_performance.revenue_found.units >= total.units
        return answer if arrived else None

    assert eventually(revenue_counted).criterion_performance.revenue_found == total
    committee = services.as_(Role.RMC, "rita")
    oversight = services.criteria.GetOversightReport(
        criteria_service_pb2.GetOversightReportRequest(**period), metadata=committee
    ).oversight_report
    [entry] = [c for c in oversight.criteria if c.criterion == office.criterion]
    assert entry.performance.revenue_found == total
    exported = services.criteria.ExportOversightReport(
        criteria_service_pb2.ExportOversightReportRequest(
            format=oversight_report_pb2.REPORT_FORMAT_TEXT, **period
        ),
        metadata=committee,
    )
    assert "1300000.00 KRW" in exported.content.decode()

    today = datetime.now(ZoneInfo("Europe/Brussels")).date()
    integrity = services.exam_reports.GetOfficerIntegrityReport(
        exam_reports_service_pb2.GetOfficerIntegrityReportRequest(
            office=f"offices/{OFFICE}",
            start_date=(today - timedelta(days=1)).isoformat(),
            end_date=(today + timedelta(days=1)).isoformat(),
        ),
        metadata=services.as_(Role.SUPERVISOR, "sofia"),
    ).officer_integrity_report
    [olga_figures] = [o for o in integrity.officers if o.officer == "officers/olga"]
    assert olga_figures.revenue_found == total
