"""Tables of the audit_referral database.

Value objects that only ever travel with their owner (declaration lists,
questionnaires, conference records, the report) are JSON columns: they are
read and written whole with their referral or case and never queried on their
own. Everything a list filters or sorts on is a column of its own, with the
index the query needs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_kit.db import NAMING_CONVENTION, UTCDateTime, kit_metadata_tables

_ID = String(63)
_TRADER = String(35)
_SUBJECT = String(255)


class Base(DeclarativeBase):
    """Declarative base of this service's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, date: Date}  # noqa: RUF012 - read by SQLAlchemy


class AuditCaseRow(Base):
    """One audit case with its stage records."""

    __tablename__ = "audit_cases"
    __table_args__ = (
        # ListAuditCases: newest first, id as tie-breaker.
        Index("ix_audit_cases_create_time_id", "create_time", "id"),
        Index("ix_audit_cases_trader", "trader"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    trader: Mapped[str] = mapped_column(_TRADER)
    trader_display_name: Mapped[str] = mapped_column(String(200))
    selection_basis: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    declarations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    audit_period_start_date: Mapped[date]
    audit_period_end_date: Mapped[date]
    announced: Mapped[bool] = mapped_column(Boolean)
    notice_time: Mapped[datetime | None]
    planned_start_date: Mapped[date]
    lead_auditor: Mapped[str] = mapped_column(_SUBJECT)
    team: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32))
    stage_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pre_audit_questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pre_audit_response_due_date: Mapped[date | None]
    pre_audit_answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    opening_conference: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    premises_tour_notes: Mapped[str] = mapped_column(Text)
    exit_conference: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    corrective_action_plan: Mapped[str] = mapped_column(Text)
    duties_collected: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    closing_note: Mapped[str] = mapped_column(Text)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ReferralRow(Base):
    """One referral and its triage."""

    __tablename__ = "referrals"
    __table_args__ = (
        # ListReferrals: priority (highest first), then oldest first, id as tie-breaker.
        Index("ix_referrals_queue", "priority", "create_time", "id"),
        Index("ix_referrals_state_queue", "state", "priority", "create_time", "id"),
        Index("ix_referrals_trader", "trader"),
        Index("ix_referrals_audit_case_id", "audit_case_id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    trader: Mapped[str] = mapped_column(_TRADER)
    trader_display_name: Mapped[str] = mapped_column(String(200))
    declarations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON)
    #: The priority's rank (higher is more urgent), so the queue sorts on it directly.
    priority: Mapped[int] = mapped_column(Integer)
    revenue_at_risk_currency: Mapped[str | None] = mapped_column(String(3))
    revenue_at_risk_units: Mapped[int | None] = mapped_column(BigInteger)
    revenue_at_risk_nanos: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    audit_case_id: Mapped[str | None] = mapped_column(_ID, ForeignKey("audit_cases.id"))
    decision_reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(_SUBJECT)
    decide_time: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(_SUBJECT)
    #: The event that opened an ingested referral, to answer a redelivery with it.
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The W3C trace context of that event, continued by the audit's report events.
    traceparent: Mapped[str | None] = mapped_column(String(55))
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class AuditFindingRow(Base):
    """One finding of one case."""

    __tablename__ = "audit_findings"
    __table_args__ = (
        # ListAuditFindings: per case (or across cases), oldest first, id as tie-breaker.
        Index("ix_audit_findings_case_create_time_id", "audit_case_id", "create_time", "id"),
        Index("ix_audit_findings_create_time_id", "create_time", "id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    audit_case_id: Mapped[str] = mapped_column(_ID, ForeignKey("audit_cases.id"))
    description: Mapped[str] = mapped_column(Text)
    declarations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    unpaid_duty_currency: Mapped[str] = mapped_column(String(3))
    unpaid_duty_units: Mapped[int] = mapped_column(BigInteger)
    unpaid_duty_nanos: Mapped[int] = mapped_column(Integer)
    intent: Mapped[str] = mapped_column(String(32))
    trader_commits_to_correct: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(String(32))
    penalty_currency: Mapped[str | None] = mapped_column(String(3))
    penalty_units: Mapped[int | None] = mapped_column(BigInteger)
    penalty_nanos: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(_SUBJECT)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class FindingDiscrepancyRow(Base):
    """One discrepancy type of a finding: a row each, so lists can filter on the type."""

    __tablename__ = "audit_finding_discrepancy_types"

    finding_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("audit_findings.id", ondelete="CASCADE"), primary_key=True
    )
    discrepancy_type: Mapped[str] = mapped_column(String(48), primary_key=True, index=True)
    #: Position in the finding's list, which keeps the auditor's order.
    position: Mapped[int] = mapped_column(Integer)


class HistoryCheckpointRow(Base):
    """A signed checkpoint of another service's history (append-only: triggers refuse changes)."""

    __tablename__ = "history_checkpoints"
    __table_args__ = (PrimaryKeyConstraint("source", "sequence", name="pk_history_checkpoints"),)

    source: Mapped[str] = mapped_column(_ID)
    sequence: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    sign_time: Mapped[datetime]
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    record_time: Mapped[datetime]


kit_metadata_tables(Base.metadata)
#: The schema of this service, kit tables included (what the migrations create).
metadata = Base.metadata
