"""Protobuf messages to domain objects and back.

Enums cross by name: the proto value ``TRADER_TIER_LOW_RISK`` is the domain's
``TraderTier.LOW_RISK``, so the two never depend on each other's numbers.
Requests reach these functions already validated against their protovalidate
rules, so names have their documented shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any, TypeVar

from customs.common.v1 import money_pb2, selectivity_pb2
from customs.compliance.v1 import (
    compliance_intervention_pb2,
    events_pb2,
    measurement_pb2,
    trade_statistics_pb2,
    trader_application_pb2,
    trader_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp

from compliance.domain.applications import (
    AgreementTerms,
    ApplicationRequest,
    CheckResult,
    Review,
    ReviewChecks,
    TraderApplication,
)
from compliance.domain.declarations import (
    ASSESSMENT_NAME_PREFIX,
    OFFICE_NAME_PREFIX,
    AssessedDeclaration,
    AssessedItem,
    Channel,
    CommodityRanking,
    DeclarationRecord,
    ExaminationLevel,
    TraderRanking,
)
from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionMeeting,
    InterventionRequest,
    InterventionTrigger,
)
from compliance.domain.measurement import ComplianceDimension, ComplianceMeasurement, ComplianceRate
from compliance.domain.outcomes import (
    AuditFinding,
    AuditFindingAction,
    AuditOutcome,
    AuditSelectionBasis,
    ComplianceArea,
    DiscrepancyType,
    ExaminationDiscrepancy,
    ExaminationOutcome,
)
from compliance.domain.periods import parse_day, period
from compliance.domain.sampling import (
    MarginOfError,
    SampleBudget,
    SamplingParameters,
    SamplingPlan,
    SamplingTarget,
    sampling_parameters,
)
from compliance.domain.traders import (
    ApprovedTraderBenefit,
    Trader,
    TraderProfile,
    TraderRole,
    trader_name,
)
from compliance.domain.values import Amount, Party
from customs_kit.errors import FieldViolation, InvalidArgument

E = TypeVar("E", bound=StrEnum)

_NANOS = Decimal(10**9)


def proto_enum(prefix: str, value: StrEnum | None) -> str:
    """The proto enum name of a domain value (``prefix`` + name); unspecified for ``None``."""
    return f"{prefix}{value.value}" if value is not None else f"{prefix}UNSPECIFIED"


def domain_enum(enum: type[E], wrapper: Any, prefix: str, number: int) -> E | None:
    """The domain value of a proto enum number; ``None`` for the unspecified zero."""
    if number == 0:
        return None
    return enum(str(wrapper.Name(number)).removeprefix(prefix))


def required_enum(enum: type[E], wrapper: Any, prefix: str, number: int, field: str) -> E:
    """Like :func:`domain_enum` for a field the contract requires to be set."""
    value = domain_enum(enum, wrapper, prefix, number)
    if value is None:
        raise InvalidArgument([FieldViolation(field, "is required")])
    return value


def domain_enums(enum: type[E], wrapper: Any, prefix: str, numbers: Iterable[int]) -> frozenset[E]:
    """The domain values of repeated proto enum numbers (the zero value is left out)."""
    return frozenset(
        value for number in numbers if (value := domain_enum(enum, wrapper, prefix, number))
    )


def timestamp(value: datetime | None) -> Timestamp | None:
    """A protobuf timestamp; ``None`` stays unset."""
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def instant(stamp: Timestamp) -> datetime:
    """A timezone-aware UTC datetime."""
    return stamp.ToDatetime(tzinfo=UTC)


def money(amount: Amount) -> money_pb2.Money:
    """``Money`` with units and nanos of the same sign (nanos rounded half to even)."""
    total = int((amount.value * _NANOS).to_integral_value(rounding=ROUND_HALF_EVEN))
    sign = -1 if total < 0 else 1
    units, nanos = divmod(abs(total), 10**9)
    return money_pb2.Money(currency_code=amount.currency, units=sign * units, nanos=sign * nanos)


def amount(value: money_pb2.Money) -> Amount:
    """The exact amount of a ``Money``."""
    return Amount(value.currency_code, Decimal(value.units) + Decimal(value.nanos) / _NANOS)


def last_segment(name: str) -> str:
    """The id at the end of a resource name (``traders/T1`` → ``T1``)."""
    return name.rsplit("/", 1)[-1]


# --- traders -----------------------------------------------------------------------------------

ROLE = "TRADER_ROLE_"
TIER = "TRADER_TIER_"
STATUS = "APPROVED_TRADER_STATUS_"
BENEFIT = "APPROVED_TRADER_BENEFIT_"


def trader_message(trader: Trader) -> trader_pb2.Trader:
    """The ``Trader`` resource."""
    return trader_pb2.Trader(
        name=trader.name,
        display_name=trader.display_name,
        roles=[proto_enum(ROLE, role) for role in sorted(trader.roles, key=_role_order)],
        country=trader.country,
        address=trader.address,
        tier=proto_enum(TIER, trader.tier),
        tier_reason=trader.tier_reason,
        approved_trader_status=proto_enum(STATUS, trader.approved_trader_status),
        approved_trader_application=trader.approved_trader_application,
        approved_benefits=[proto_enum(BENEFIT, b) for b in sorted(trader.approved_benefits)],
        next_reevaluation_date=(
            trader.next_reevaluation_date.isoformat() if trader.next_reevaluation_date else ""
        ),
        first_declaration_time=timestamp(trader.first_declaration_time),
        profile_revision=trader.profile_revision,
        create_time=timestamp(trader.create_time),
        update_time=timestamp(trader.update_time),
        etag=trader.etag,
    )


def _role_order(role: StrEnum) -> int:
    return int(trader_pb2.TraderRole.Value(proto_enum(ROLE, role)))


def profile_message(profile: TraderProfile, revision: int) -> trader_pb2.TraderProfile:
    """The ``TraderProfile`` scoring receives; ``revision`` is when it last changed."""
    return trader_pb2.TraderProfile(
        trader=trader_name(profile.trader_id),
        display_name=profile.display_name,
        roles=[proto_enum(ROLE, role) for role in sorted(profile.roles, key=_role_order)],
        tier=proto_enum(TIER, profile.tier),
        approved_trader_status=proto_enum(STATUS, profile.approved_trader_status),
        approved_benefits=[proto_enum(BENEFIT, b) for b in sorted(profile.approved_benefits)],
        first_declaration_time=timestamp(profile.first_declaration_time),
        revision=revision,
    )


# --- events ------------------------------------------------------------------------------------


def party(reference: events_pb2.PartyReference) -> Party:
    """A trader as the declaration names it."""
    return Party(number=reference.number, display_name=reference.display_name)


def _optional_party(message: Any, field: str) -> Party | None:
    return party(getattr(message, field)) if message.HasField(field) else None


def assessed_declaration(message: events_pb2.AssessedDeclaration) -> AssessedDeclaration:
    """The assessment an ``IngestAssessmentEvent`` carries."""
    return AssessedDeclaration(
        assessment_id=message.assessment.removeprefix(ASSESSMENT_NAME_PREFIX),
        declaration_number=message.declaration_number,
        declaration_version=message.declaration_version,
        office_id=message.office.removeprefix(OFFICE_NAME_PREFIX),
        lodgement_time=instant(message.lodgement_time),
        importer=party(message.importer),
        exporter=_optional_party(message, "exporter"),
        broker=_optional_party(message, "broker"),
        carrier=_optional_party(message, "carrier"),
        items=[
            AssessedItem(
                item_number=item.item_number,
                hs_code=item.hs_code,
                origin_country=item.origin_country,
                customs_value=amount(item.customs_value),
                duties=amount(item.duties),
                tax_rate=item.tax_rate,
            )
            for item in message.items
        ],
        channel=required_enum(
            Channel,
            selectivity_pb2.Channel,
            "CHANNEL_",
            message.channel,
            "assessed_declaration.channel",
        ),
        examination_level=domain_enum(
            ExaminationLevel,
            selectivity_pb2.ExaminationLevel,
            "EXAMINATION_LEVEL_",
            message.examination_level,
        ),
        random_selection=message.random_selection,
        decide_time=instant(message.decide_time),
    )


def examination_outcome(message: events_pb2.ExaminationOutcome) -> ExaminationOutcome:
    """The outcome an ``IngestExaminationOutcomeEvent`` carries."""
    level = domain_enum(
        ExaminationLevel,
        selectivity_pb2.ExaminationLevel,
        "EXAMINATION_LEVEL_",
        message.examination_level,
    )
    channel = required_enum(
        Channel, selectivity_pb2.Channel, "CHANNEL_", message.channel, "examination_outcome.channel"
    )
    return ExaminationOutcome(
        exam_report_id=last_segment(message.exam_report),
        examination_id=last_segment(message.examination),
        assessment_id=last_segment(message.assessment) if message.assessment else None,
        declaration_number=message.declaration_number,
        declaration_version=message.declaration_version,
        office_id=message.office.removeprefix(OFFICE_NAME_PREFIX),
        importer=party(message.importer),
        broker=_optional_party(message, "broker"),
        carrier=_optional_party(message, "carrier"),
        channel=channel.value,
        examination_level=level.value if level else None,
        random_selection=message.random_selection,
        discrepancy_found=message.discrepancy_found,
        discrepancies=tuple(
            ExaminationDiscrepancy(
                type=required_enum(
                    DiscrepancyType,
                    events_pb2.DiscrepancyType,
                    "DISCREPANCY_TYPE_",
                    discrepancy.type,
                    f"examination_outcome.discrepancies[{index}].type",
                ),
                item_number=discrepancy.item_number or None,
                found_hs_code=discrepancy.found_hs_code,
                found_origin_country=discrepancy.found_origin_country,
            )
            for index, discrepancy in enumerate(message.discrepancies)
        ),
        penalty_recommended=message.penalty_recommended,
        merchandise_seized=message.merchandise_seized,
        approve_time=instant(message.approve_time),
        examine_time=instant(
            message.examine_time if message.HasField("examine_time") else message.approve_time
        ),
    )


def audit_outcome(message: events_pb2.AuditOutcome) -> AuditOutcome:
    """The audit report an ``IngestAuditFindingEvent`` carries."""
    return AuditOutcome(
        audit_case=message.audit_case,
        trader=party(message.trader),
        selection_basis=required_enum(
            AuditSelectionBasis,
            events_pb2.AuditSelectionBasis,
            "AUDIT_SELECTION_BASIS_",
            message.selection_basis,
            "audit_outcome.selection_basis",
        ),
        audited_declaration_numbers=tuple(message.audited_declaration_numbers),
        compliant=message.compliant,
        findings=tuple(
            AuditFinding(
                finding=finding.finding,
                discrepancy_types=tuple(
                    sorted(
                        domain_enums(
                            DiscrepancyType,
                            events_pb2.DiscrepancyType,
                            "DISCREPANCY_TYPE_",
                            finding.discrepancy_types,
                        )
                    )
                ),
                declaration_numbers=tuple(finding.declaration_numbers),
                description=finding.description,
                unpaid_duty=amount(finding.unpaid_duty)
                if finding.HasField("unpaid_duty")
                else None,
                action=required_enum(
                    AuditFindingAction,
                    events_pb2.AuditFindingAction,
                    "AUDIT_FINDING_ACTION_",
                    finding.action,
                    f"audit_outcome.findings[{index}].action",
                ),
            )
            for index, finding in enumerate(message.findings)
        ),
        total_unpaid_duty=(
            amount(message.total_unpaid_duty) if message.HasField("total_unpaid_duty") else None
        ),
        report_time=instant(message.report_time),
    )


# --- trade statistics --------------------------------------------------------------------------


def declaration_record_message(record: DeclarationRecord) -> trade_statistics_pb2.DeclarationRecord:
    """The ``DeclarationRecord`` resource."""
    verification = record.verification

    def trader_or_empty(trader_id: str | None) -> str:
        return trader_name(trader_id) if trader_id else ""

    message = trade_statistics_pb2.DeclarationRecord(
        name=record.name,
        assessment=record.assessment,
        declaration_number=record.declaration_number,
        declaration_version=record.declaration_version,
        office=f"{OFFICE_NAME_PREFIX}{record.office_id}",
        lodgement_time=timestamp(record.lodgement_time),
        importer=trader_name(record.importer_id),
        exporter=trader_or_empty(record.exporter_id),
        broker=trader_or_empty(record.broker_id),
        carrier=trader_or_empty(record.carrier_id),
        items=[
            trade_statistics_pb2.DeclarationRecordItem(
                item_number=item.item_number,
                hs_code=item.hs_code,
                origin_country=item.origin_country,
                customs_value=money(Amount(record.currency, item.customs_value)),
                duties=money(Amount(record.currency, item.duties)),
                tax_rate=item.tax_rate,
            )
            for item in record.items
        ],
        total_customs_value=money(Amount(record.currency, record.total_customs_value)),
        total_duties=money(Amount(record.currency, record.total_duties)),
        channel=proto_enum("CHANNEL_", record.channel),
        random_selection=record.random_selection,
        examined=verification.examined,
        noncompliant_areas=[
            proto_enum("COMPLIANCE_AREA_", area) for area in sorted(verification.noncompliant_areas)
        ],
        audited=verification.audited,
        create_time=timestamp(record.create_time),
        update_time=timestamp(verification.update_time or record.create_time),
    )
    if verification.discrepancy_found is not None:
        message.discrepancy_found = verification.discrepancy_found
    return message


def trader_ranking_message(row: TraderRanking) -> trade_statistics_pb2.TraderRanking:
    """One row of a ranked listing of traders."""
    return trade_statistics_pb2.TraderRanking(
        rank=row.rank,
        trader=trader_name(row.trader_id),
        display_name=row.display_name,
        declaration_count=row.declaration_count,
        declared_value=money(row.declared_value),
        duties_and_taxes=money(row.duties_and_taxes),
        examined_count=row.examined_count,
        discrepancy_count=row.discrepancy_count,
    )


def commodity_ranking_message(row: CommodityRanking) -> trade_statistics_pb2.CommodityRanking:
    """One row of a ranked listing of commodities."""
    return trade_statistics_pb2.CommodityRanking(
        rank=row.rank,
        hs_code=row.hs_code,
        item_count=row.item_count,
        declared_value=money(row.declared_value),
        collections=money(row.collections),
        mean_tax_rate=row.mean_tax_rate,
        misclassification_count=row.misclassification_count,
    )


# --- measurement and interventions -------------------------------------------------------------


def rate_message(rate: ComplianceRate) -> measurement_pb2.ComplianceRate:
    """One stratum's rate."""
    return measurement_pb2.ComplianceRate(
        stratum=rate.stratum,
        stratum_display_name=rate.display_name,
        sample_size=rate.sample_size,
        compliant=rate.compliant,
        rate=rate.rate,
        lower_bound=rate.lower_bound,
        upper_bound=rate.upper_bound,
        assessment=proto_enum("TOLERANCE_ASSESSMENT_", rate.assessment),
    )


def measurement_message(
    measurement: ComplianceMeasurement,
) -> measurement_pb2.ComplianceMeasurement:
    """The ``ComplianceMeasurement`` resource."""
    scope = measurement.scope
    return measurement_pb2.ComplianceMeasurement(
        name=measurement.name,
        title=scope.title,
        dimension=proto_enum("COMPLIANCE_DIMENSION_", scope.dimension),
        areas=[proto_enum("COMPLIANCE_AREA_", area) for area in sorted(scope.areas)],
        sources=[
            proto_enum("COMPLIANCE_EVIDENCE_SOURCE_", source) for source in sorted(scope.sources)
        ],
        hs_chapters=sorted(scope.hs_chapters),
        start_date=scope.period.first_day.isoformat(),
        end_date=scope.period.last_day.isoformat(),
        tolerance_level=scope.tolerance_level,
        confidence_level=scope.confidence_level,
        min_sample_size=scope.min_sample_size,
        overall=rate_message(measurement.overall),
        strata_count=measurement.strata_count,
        strata_below_tolerance=measurement.strata_below_tolerance,
        state=proto_enum("COMPLIANCE_MEASUREMENT_STATE_", measurement.state),
        publish_time=timestamp(measurement.publish_time),
        creator=measurement.creator,
        create_time=timestamp(measurement.create_time),
        update_time=timestamp(measurement.update_time),
        etag=measurement.etag,
    )


AREA = "COMPLIANCE_AREA_"
DIMENSION = "COMPLIANCE_DIMENSION_"
TRIGGER = "INTERVENTION_TRIGGER_"


def intervention_request(
    message: compliance_intervention_pb2.ComplianceIntervention,
) -> InterventionRequest:
    """What an intervention is opened with (output-only fields are ignored)."""
    return InterventionRequest(
        trader_id=message.trader.removeprefix("traders/"),
        trader_role=required_enum(
            TraderRole,
            trader_pb2.TraderRole,
            ROLE,
            message.trader_role,
            "compliance_intervention.trader_role",
        ),
        trigger=required_enum(
            InterventionTrigger,
            compliance_intervention_pb2.InterventionTrigger,
            TRIGGER,
            message.trigger,
            "compliance_intervention.trigger",
        ),
        areas=domain_enums(ComplianceArea, measurement_pb2.ComplianceArea, AREA, message.areas),
        error_pattern=message.error_pattern,
        evidence=tuple(message.evidence),
        planned_meeting_time=(
            instant(message.planned_meeting_time)
            if message.HasField("planned_meeting_time")
            else None
        ),
    )


def intervention_meeting(
    message: compliance_intervention_pb2.InterventionMeeting,
) -> InterventionMeeting:
    """The record of a meeting with the trader."""
    return InterventionMeeting(
        meeting_time=instant(message.meeting_time),
        attendees=tuple(message.attendees),
        summary=message.summary,
        corrective_plan=message.corrective_plan,
        follow_up_date=parse_day(message.follow_up_date, "meeting.follow_up_date"),
    )


def intervention_message(
    intervention: ComplianceIntervention,
) -> compliance_intervention_pb2.ComplianceIntervention:
    """The ``ComplianceIntervention`` resource."""
    meeting = intervention.meeting
    return compliance_intervention_pb2.ComplianceIntervention(
        name=intervention.name,
        trader=trader_name(intervention.trader_id),
        trader_role=proto_enum(ROLE, intervention.trader_role),
        trigger=proto_enum(TRIGGER, intervention.trigger),
        areas=[proto_enum(AREA, area) for area in sorted(intervention.areas)],
        error_pattern=intervention.error_pattern,
        evidence=list(intervention.evidence),
        planned_meeting_time=timestamp(intervention.planned_meeting_time),
        state=proto_enum("COMPLIANCE_INTERVENTION_STATE_", intervention.state),
        meeting=(
            compliance_intervention_pb2.InterventionMeeting(
                meeting_time=timestamp(meeting.meeting_time),
                attendees=list(meeting.attendees),
                summary=meeting.summary,
                corrective_plan=meeting.corrective_plan,
                follow_up_date=meeting.follow_up_date.isoformat(),
            )
            if meeting
            else None
        ),
        outcome=proto_enum("INTERVENTION_OUTCOME_", intervention.outcome),
        closing_note=intervention.closing_note,
        owner=intervention.owner,
        create_time=timestamp(intervention.create_time),
        update_time=timestamp(intervention.update_time),
        etag=intervention.etag,
    )


# --- sampling plans ----------------------------------------------------------------------------


def sampling_plan_parameters(message: measurement_pb2.SamplingPlan) -> SamplingParameters:
    """What a plan is asked for (output-only fields are ignored)."""
    target: SamplingTarget
    if message.WhichOneof("target") == "margin_of_error":
        target = MarginOfError(message.margin_of_error)
    else:
        target = SampleBudget(message.total_sample_size)
    return sampling_parameters(
        title=message.title,
        dimension=required_enum(
            ComplianceDimension,
            measurement_pb2.ComplianceDimension,
            DIMENSION,
            message.dimension,
            "sampling_plan.dimension",
        ),
        base_period=period(
            message.base_start_date,
            message.base_end_date,
            start_field="sampling_plan.base_start_date",
            end_field="sampling_plan.base_end_date",
        ),
        target=target,
        confidence_level=message.confidence_level,
        prior_compliance_rate=message.prior_compliance_rate,
    )


def sampling_plan_message(plan: SamplingPlan) -> measurement_pb2.SamplingPlan:
    """The ``SamplingPlan`` resource."""
    parameters = plan.parameters
    allocation = plan.allocation
    message = measurement_pb2.SamplingPlan(
        name=plan.name,
        title=parameters.title,
        dimension=proto_enum(DIMENSION, parameters.dimension),
        base_start_date=parameters.base_period.first_day.isoformat(),
        base_end_date=parameters.base_period.last_day.isoformat(),
        confidence_level=parameters.confidence_level,
        prior_compliance_rate=parameters.prior_compliance_rate,
        planned_sample_size=allocation.planned_sample_size,
        expected_margin_of_error=allocation.expected_margin_of_error,
        strata=[
            measurement_pb2.SamplingStratum(
                stratum=stratum.stratum,
                population_size=stratum.population_size,
                expected_compliance_rate=stratum.expected_compliance_rate,
                standard_deviation=stratum.standard_deviation,
                sample_size=stratum.sample_size,
                sampling_rate=stratum.sampling_rate,
            )
            for stratum in allocation.strata
        ],
        creator=plan.creator,
        create_time=timestamp(plan.create_time),
    )
    match parameters.target:
        case MarginOfError(value=margin):
            message.margin_of_error = margin
        case SampleBudget(total_sample_size=budget):
            message.total_sample_size = budget
    return message


# --- approved-trader applications --------------------------------------------------------------

APPLICATION_STATE = "TRADER_APPLICATION_STATE_"
CHECK = "CHECK_RESULT_"
OUTCOME = "REEVALUATION_OUTCOME_"


def _benefits(numbers: Iterable[int]) -> frozenset[ApprovedTraderBenefit]:
    return domain_enums(ApprovedTraderBenefit, trader_pb2.ApprovedTraderBenefit, BENEFIT, numbers)


def _benefit_names(benefits: Iterable[ApprovedTraderBenefit]) -> list[str]:
    return [proto_enum(BENEFIT, benefit) for benefit in sorted(benefits)]


def application_request(
    message: trader_application_pb2.TraderApplication,
) -> ApplicationRequest:
    """What a trader applied with (output-only fields are ignored)."""
    return ApplicationRequest(
        trader_id=message.trader.removeprefix("traders/"),
        requested_benefits=_benefits(message.requested_benefits),
        statement=message.statement,
        contact=message.contact,
        receive_time=instant(message.receive_time),
    )


def review_checks(message: trader_application_pb2.ApplicationReview, field: str) -> ReviewChecks:
    """The checks a reviewer recorded (``field`` names the review in the request)."""

    def check(name: str) -> CheckResult:
        return required_enum(
            CheckResult,
            trader_application_pb2.CheckResult,
            CHECK,
            getattr(message, name),
            f"{field}.{name}",
        )

    return ReviewChecks(
        record_keeping=check("record_keeping"),
        security=check("security"),
        employee_background_checks=check("employee_background_checks"),
        findings=message.findings,
    )


def agreement_terms(message: trader_application_pb2.Agreement) -> AgreementTerms:
    """The terms of a signed agreement (output-only fields are ignored)."""
    return AgreementTerms(
        reference=message.reference,
        benefits=_benefits(message.benefits),
        effective_date=parse_day(message.effective_date, "agreement.effective_date"),
    )


def _review_message(review: Review) -> trader_application_pb2.ApplicationReview:
    checks = review.checks
    return trader_application_pb2.ApplicationReview(
        record_keeping=proto_enum(CHECK, checks.record_keeping),
        security=proto_enum(CHECK, checks.security),
        employee_background_checks=proto_enum(CHECK, checks.employee_background_checks),
        findings=checks.findings,
        compliance_rate=rate_message(review.compliance_rate),
        reviewer=review.reviewer,
        review_time=timestamp(review.review_time),
    )


def application_message(
    application: TraderApplication,
) -> trader_application_pb2.TraderApplication:
    """The ``TraderApplication`` resource."""
    request = application.request
    agreement = application.agreement
    due = application.next_reevaluation_date
    return trader_application_pb2.TraderApplication(
        name=application.name,
        trader=trader_name(request.trader_id),
        requested_benefits=_benefit_names(request.requested_benefits),
        statement=request.statement,
        contact=request.contact,
        receive_time=timestamp(request.receive_time),
        state=proto_enum(APPLICATION_STATE, application.state),
        review=_review_message(application.review) if application.review else None,
        agreement=(
            trader_application_pb2.Agreement(
                reference=agreement.terms.reference,
                benefits=_benefit_names(agreement.terms.benefits),
                effective_date=agreement.terms.effective_date.isoformat(),
                signed_by=agreement.signed_by,
                sign_time=timestamp(agreement.sign_time),
            )
            if agreement
            else None
        ),
        reevaluations=[
            trader_application_pb2.Reevaluation(
                review=_review_message(reevaluation.review),
                outcome=proto_enum(OUTCOME, reevaluation.outcome),
                next_reevaluation_date=(
                    reevaluation.next_reevaluation_date.isoformat()
                    if reevaluation.next_reevaluation_date
                    else ""
                ),
            )
            for reevaluation in application.reevaluations
        ],
        next_reevaluation_date=due.isoformat() if due else "",
        decision_reason=application.decision_reason,
        decided_by=application.decided_by,
        create_time=timestamp(application.create_time),
        update_time=timestamp(application.update_time),
        etag=application.etag,
    )
