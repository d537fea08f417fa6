"""Tables of the compliance database (SQLAlchemy 2, typed).

Rows are mapped to the frozen domain dataclasses in ``repositories.py``; nothing
outside this package sees a row. Amounts are ``NUMERIC(38, 9)``: exact on
PostgreSQL, where statistics are summed; SQLite (development) stores them as
binary floating point.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from compliance.domain.applications import OPEN_STATES
from customs_kit.db import NAMING_CONVENTION, UTCDateTime, kit_metadata_tables

#: Money: up to 29 whole digits and the nine of ``Money.nanos``.
AMOUNT = Numeric(38, 9)


class Base(DeclarativeBase):
    """Base of the compliance tables, on the kit's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - read by SQLAlchemy


class TraderRow(Base):
    """A trader; each role is a flag column, so a list can filter on one role with plain SQL."""

    __tablename__ = "traders"

    trader_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    importer: Mapped[bool] = mapped_column(Boolean)
    exporter: Mapped[bool] = mapped_column(Boolean)
    broker: Mapped[bool] = mapped_column(Boolean)
    carrier: Mapped[bool] = mapped_column(Boolean)
    country: Mapped[str] = mapped_column(String(2))
    address: Mapped[str] = mapped_column(String(500))
    tier: Mapped[str] = mapped_column(String(16), index=True)
    tier_reason: Mapped[str] = mapped_column(Text)
    approved_trader_status: Mapped[str] = mapped_column(String(16))
    approved_trader_application: Mapped[str] = mapped_column(String(100))
    #: Comma-separated benefit names.
    approved_benefits: Mapped[str] = mapped_column(String(200))
    next_reevaluation_date: Mapped[date | None] = mapped_column(Date)
    first_declaration_time: Mapped[datetime | None]
    profile_revision: Mapped[int] = mapped_column(BigInteger)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class DeclarationRecordRow(Base):
    """One assessed declaration version; its id is the assessment's id in scoring."""

    __tablename__ = "declaration_records"
    __table_args__ = (
        # Exactly one version of a declaration is counted in the statistics.
        Index(
            "uq_declaration_records_current_number",
            "declaration_number",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
        Index("ix_declaration_records_lodgement_time_record_id", "lodgement_time", "record_id"),
    )

    record_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    declaration_number: Mapped[str] = mapped_column(String(35), index=True)
    declaration_version: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[str] = mapped_column(String(63), index=True)
    lodgement_time: Mapped[datetime]
    importer_id: Mapped[str] = mapped_column(String(35), index=True)
    exporter_id: Mapped[str | None] = mapped_column(String(35), index=True)
    broker_id: Mapped[str | None] = mapped_column(String(35), index=True)
    carrier_id: Mapped[str | None] = mapped_column(String(35), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_customs_value: Mapped[Decimal] = mapped_column(AMOUNT)
    total_duties: Mapped[Decimal] = mapped_column(AMOUNT)
    item_count: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    examination_level: Mapped[str | None] = mapped_column(String(20))
    random_selection: Mapped[bool] = mapped_column(Boolean)
    decide_time: Mapped[datetime]
    is_current: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime]


class DeclarationItemRow(Base):
    """One item of a recorded declaration, in the record's currency."""

    __tablename__ = "declaration_record_items"

    record_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("declaration_records.record_id", ondelete="CASCADE"),
        primary_key=True,
    )
    #: Position on the declaration, from 0 (item numbers are not guaranteed unique).
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_number: Mapped[int] = mapped_column(Integer)
    hs_code: Mapped[str] = mapped_column(String(10), index=True)
    origin_country: Mapped[str] = mapped_column(String(2))
    customs_value: Mapped[Decimal] = mapped_column(AMOUNT)
    duties: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_rate: Mapped[float] = mapped_column(Float)


class ExaminationOutcomeRow(Base):
    """An approved examination report, linked to declarations by number."""

    __tablename__ = "examination_outcomes"

    exam_report_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    examination_id: Mapped[str] = mapped_column(String(63))
    assessment_id: Mapped[str | None] = mapped_column(String(63))
    declaration_number: Mapped[str] = mapped_column(String(35), index=True)
    declaration_version: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[str] = mapped_column(String(63))
    importer_id: Mapped[str] = mapped_column(String(35))
    broker_id: Mapped[str | None] = mapped_column(String(35))
    carrier_id: Mapped[str | None] = mapped_column(String(35))
    channel: Mapped[str] = mapped_column(String(8))
    examination_level: Mapped[str | None] = mapped_column(String(20))
    random_selection: Mapped[bool] = mapped_column(Boolean)
    discrepancy_found: Mapped[bool] = mapped_column(Boolean)
    #: Comma-separated compliance areas the report found wrong.
    noncompliant_areas: Mapped[str] = mapped_column(String(64))
    penalty_recommended: Mapped[bool] = mapped_column(Boolean)
    merchandise_seized: Mapped[bool] = mapped_column(Boolean)
    approve_time: Mapped[datetime]
    #: When the officer examined the goods: what periods count the examination by.
    examine_time: Mapped[datetime]
    receive_time: Mapped[datetime]


class ExaminationDiscrepancyRow(Base):
    """One structured discrepancy of an examination report."""

    __tablename__ = "examination_discrepancies"

    exam_report_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("examination_outcomes.exam_report_id", ondelete="CASCADE"),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    #: ``None`` when the discrepancy is not about one item.
    item_number: Mapped[int | None] = mapped_column(Integer)
    found_hs_code: Mapped[str] = mapped_column(String(10))
    found_origin_country: Mapped[str] = mapped_column(String(2))


class AuditOutcomeRow(Base):
    """An issued post-clearance audit report."""

    __tablename__ = "audit_outcomes"

    audit_case_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    trader_id: Mapped[str] = mapped_column(String(35), index=True)
    selection_basis: Mapped[str] = mapped_column(String(32))
    compliant: Mapped[bool] = mapped_column(Boolean)
    total_unpaid_duty: Mapped[Decimal | None] = mapped_column(AMOUNT)
    unpaid_duty_currency: Mapped[str | None] = mapped_column(String(3))
    report_time: Mapped[datetime]
    receive_time: Mapped[datetime]


class AuditedDeclarationRow(Base):
    """A declaration whose records an audit examined, with what it found wrong in it."""

    __tablename__ = "audited_declarations"

    audit_case_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("audit_outcomes.audit_case_id", ondelete="CASCADE"),
        primary_key=True,
    )
    declaration_number: Mapped[str] = mapped_column(String(35), primary_key=True, index=True)
    #: Comma-separated compliance areas the audit found wrong in this declaration.
    noncompliant_areas: Mapped[str] = mapped_column(String(64))


class AuditFindingRow(Base):
    """One finding of an audit report."""

    __tablename__ = "audit_findings"

    #: The finding's resource name in audit_referral.
    finding: Mapped[str] = mapped_column(String(200), primary_key=True)
    audit_case_id: Mapped[str] = mapped_column(
        String(63), ForeignKey("audit_outcomes.audit_case_id", ondelete="CASCADE"), index=True
    )
    #: Comma-separated discrepancy types.
    discrepancy_types: Mapped[str] = mapped_column(String(400))
    #: Whether the finding is a misclassification (ranked listings of commodities).
    misclassification: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text)
    unpaid_duty: Mapped[Decimal | None] = mapped_column(AMOUNT)
    unpaid_duty_currency: Mapped[str | None] = mapped_column(String(3))
    action: Mapped[str] = mapped_column(String(32))


class AuditFindingDeclarationRow(Base):
    """A declaration a finding concerns."""

    __tablename__ = "audit_finding_declarations"

    finding: Mapped[str] = mapped_column(
        String(200), ForeignKey("audit_findings.finding", ondelete="CASCADE"), primary_key=True
    )
    declaration_number: Mapped[str] = mapped_column(String(35), primary_key=True, index=True)


class InterventionRow(Base):
    """An informed-compliance intervention."""

    __tablename__ = "compliance_interventions"

    intervention_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    trader_id: Mapped[str] = mapped_column(String(35), index=True)
    trader_role: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    #: Comma-separated compliance areas.
    areas: Mapped[str] = mapped_column(String(64))
    error_pattern: Mapped[str] = mapped_column(Text)
    #: Newline-separated resource names.
    evidence: Mapped[str] = mapped_column(Text)
    planned_meeting_time: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(255))
    create_time: Mapped[datetime] = mapped_column(index=True)
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
    #: The audit finding that opened it: one intervention per finding, ever.
    source_finding: Mapped[str | None] = mapped_column(String(200), unique=True)
    source_audit_case_id: Mapped[str | None] = mapped_column(String(63), index=True)
    #: The meeting, all set together once it is recorded.
    meeting_time: Mapped[datetime | None]
    meeting_attendees: Mapped[list[str] | None] = mapped_column(JSON)
    meeting_summary: Mapped[str | None] = mapped_column(Text)
    corrective_plan: Mapped[str | None] = mapped_column(Text)
    follow_up_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: Why it was closed or cancelled; empty while it is open.
    closing_note: Mapped[str | None] = mapped_column(Text)


class MeasurementRow(Base):
    """A compliance measurement with its overall rate."""

    __tablename__ = "compliance_measurements"

    measurement_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[str] = mapped_column(String(16))
    areas: Mapped[str] = mapped_column(String(64))
    sources: Mapped[str] = mapped_column(String(64))
    hs_chapters: Mapped[str] = mapped_column(Text)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    tolerance_level: Mapped[float] = mapped_column(Float)
    confidence_level: Mapped[float] = mapped_column(Float)
    min_sample_size: Mapped[int] = mapped_column(Integer)
    overall_sample_size: Mapped[int] = mapped_column(BigInteger)
    overall_compliant: Mapped[int] = mapped_column(BigInteger)
    overall_rate: Mapped[float] = mapped_column(Float)
    overall_lower_bound: Mapped[float] = mapped_column(Float)
    overall_upper_bound: Mapped[float] = mapped_column(Float)
    overall_assessment: Mapped[str] = mapped_column(String(24))
    strata_count: Mapped[int] = mapped_column(Integer)
    strata_below_tolerance: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    publish_time: Mapped[datetime | None]
    creator: Mapped[str] = mapped_column(String(255))
    create_time: Mapped[datetime] = mapped_column(index=True)
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ComplianceRateRow(Base):
    """The rate of one stratum of a measurement."""

    __tablename__ = "compliance_rates"
    __table_args__ = (
        Index("ix_compliance_rates_order", "measurement_id", "lower_bound", "stratum"),
    )

    measurement_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("compliance_measurements.measurement_id", ondelete="CASCADE"),
        primary_key=True,
    )
    stratum: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    sample_size: Mapped[int] = mapped_column(BigInteger)
    compliant: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    lower_bound: Mapped[float] = mapped_column(Float)
    upper_bound: Mapped[float] = mapped_column(Float)
    assessment: Mapped[str] = mapped_column(String(24))


class SamplingPlanRow(Base):
    """A sampling plan: its parameters and its overall result."""

    __tablename__ = "sampling_plans"
    __table_args__ = (Index("ix_sampling_plans_create_time_plan_id", "create_time", "plan_id"),)

    plan_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[str] = mapped_column(String(16))
    base_first_day: Mapped[date] = mapped_column(Date)
    base_last_day: Mapped[date] = mapped_column(Date)
    #: Exactly one of the two targets is set.
    margin_of_error: Mapped[float | None] = mapped_column(Float)
    total_sample_size: Mapped[int | None] = mapped_column(BigInteger)
    confidence_level: Mapped[float] = mapped_column(Float)
    prior_compliance_rate: Mapped[float] = mapped_column(Float)
    expected_margin_of_error: Mapped[float] = mapped_column(Float)
    creator: Mapped[str] = mapped_column(String(255))
    create_time: Mapped[datetime]


class SamplingStratumRow(Base):
    """The allocation of one stratum of a sampling plan."""

    __tablename__ = "sampling_plan_strata"

    plan_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("sampling_plans.plan_id", ondelete="CASCADE"),
        primary_key=True,
    )
    stratum: Mapped[str] = mapped_column(String(100), primary_key=True)
    population_size: Mapped[int] = mapped_column(BigInteger)
    expected_compliance_rate: Mapped[float] = mapped_column(Float)
    standard_deviation: Mapped[float] = mapped_column(Float)
    sample_size: Mapped[int] = mapped_column(BigInteger)


#: The rows of applications that still block another one from the same trader.
_OPEN_APPLICATION = text(
    "state IN (" + ", ".join(f"'{state.value}'" for state in sorted(OPEN_STATES)) + ")"
)


class TraderApplicationRow(Base):
    """An application to the approved-trader program, with its agreement once signed."""

    __tablename__ = "trader_applications"
    __table_args__ = (
        # One open application per trader, even when two are recorded at the same moment.
        Index(
            "uq_trader_applications_open_trader",
            "trader_id",
            unique=True,
            postgresql_where=_OPEN_APPLICATION,
            sqlite_where=_OPEN_APPLICATION,
        ),
        Index(
            "ix_trader_applications_receive_time_application_id", "receive_time", "application_id"
        ),
    )

    application_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    trader_id: Mapped[str] = mapped_column(String(35), ForeignKey("traders.trader_id"), index=True)
    #: Comma-separated benefit names.
    requested_benefits: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(500))
    receive_time: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(24), index=True)
    agreement_reference: Mapped[str | None] = mapped_column(String(64))
    #: Comma-separated benefit names granted by the agreement.
    agreement_benefits: Mapped[str | None] = mapped_column(String(200))
    agreement_effective_date: Mapped[date | None] = mapped_column(Date)
    agreement_signed_by: Mapped[str | None] = mapped_column(String(255))
    agreement_sign_time: Mapped[datetime | None]
    next_reevaluation_date: Mapped[date | None] = mapped_column(Date, index=True)
    decision_reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(255))
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ApplicationReviewRow(Base):
    """A review of an application: the one that decided it, or a periodic re-evaluation."""

    __tablename__ = "trader_application_reviews"

    application_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("trader_applications.application_id", ondelete="CASCADE"),
        primary_key=True,
    )
    #: 0 for the deciding review; re-evaluations follow in order from 1.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``DECISION`` or ``REEVALUATION``.
    purpose: Mapped[str] = mapped_column(String(16))
    record_keeping: Mapped[str] = mapped_column(String(16))
    security: Mapped[str] = mapped_column(String(16))
    employee_background_checks: Mapped[str] = mapped_column(String(16))
    findings: Mapped[str] = mapped_column(Text)
    rate_sample_size: Mapped[int] = mapped_column(BigInteger)
    rate_compliant: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    rate_lower_bound: Mapped[float] = mapped_column(Float)
    rate_upper_bound: Mapped[float] = mapped_column(Float)
    rate_assessment: Mapped[str] = mapped_column(String(24))
    reviewer: Mapped[str] = mapped_column(String(255))
    review_time: Mapped[datetime]
    #: Re-evaluations only: the decision and the next due date (none when revoked).
    outcome: Mapped[str | None] = mapped_column(String(16))
    next_reevaluation_date: Mapped[date | None] = mapped_column(Date)


kit_metadata_tables(Base.metadata)
metadata = Base.metadata
