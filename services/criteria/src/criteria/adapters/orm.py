"""The criteria service's tables.

Content is append-only: each criterion revision, criterion version (the state
after one recorded change) and named-list revision is a row of its own, never
updated; ``criteria.version`` and ``named_lists.revision`` point at the
current one. Every recorded change is also an entry of ``history_entries``,
the hash chain that ``VerifyHistory`` recomputes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_kit.db import NAMING_CONVENTION, UTCDateTime, kit_metadata_tables

_ID = String(63)
_SUBJECT = String(128)
_ENUM = String(48)


class Base(DeclarativeBase):
    """Declarative base of the service's tables, on a MetaData with the kit's naming."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


class HistoryEntryRow(Base):
    """One link of the hash chain; ``resource_version`` numbers the resource's changes."""

    __tablename__ = "history_entries"
    __table_args__ = (
        Index("ix_history_entries_resource", "resource", "resource_version"),
        Index("ix_history_entries_change_time", "change_time"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resource: Mapped[str] = mapped_column(String(255))
    resource_version: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(_ENUM)
    actor: Mapped[str] = mapped_column(_SUBJECT)
    #: JSON list of role names.
    actor_roles: Mapped[str] = mapped_column(Text)
    change_time: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    #: JSON list of [path, old_value, new_value].
    field_changes: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RiskProfileRow(Base):
    """A risk profile, updated in place (its changes are in the history)."""

    __tablename__ = "risk_profiles"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    risk_area: Mapped[str] = mapped_column(_ENUM, index=True)
    priority: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    #: JSON list of {kind, description, reference}.
    sources: Mapped[str] = mapped_column(Text)
    #: JSON list of strings.
    indicators: Mapped[str] = mapped_column(Text)
    #: Encoded customs.common.v1.Treatment.
    intended_treatment: Mapped[bytes] = mapped_column(LargeBinary)
    owner: Mapped[str] = mapped_column(_SUBJECT, index=True)
    next_review_date: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(BigInteger)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]


class CriterionRow(Base):
    """A criterion: who created it and which version is current."""

    __tablename__ = "criteria"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    author: Mapped[str] = mapped_column(_SUBJECT, index=True)
    create_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(BigInteger)


class CriterionRevisionRow(Base):
    """The content of one criterion revision."""

    __tablename__ = "criterion_revisions"

    criterion_id: Mapped[str] = mapped_column(_ID, ForeignKey("criteria.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    risk_profile_id: Mapped[str] = mapped_column(_ID, ForeignKey("risk_profiles.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    #: Encoded customs.common.v1.SelectionRule.
    rule: Mapped[bytes] = mapped_column(LargeBinary)
    validity_start_time: Mapped[datetime | None]
    validity_end_time: Mapped[datetime | None]
    campaign_tag: Mapped[str] = mapped_column(_ID, index=True)
    author: Mapped[str] = mapped_column(_SUBJECT)
    create_time: Mapped[datetime]


class CriterionVersionRow(Base):
    """A criterion's state right after one recorded change."""

    __tablename__ = "criterion_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["criterion_id", "revision"],
            ["criterion_revisions.criterion_id", "criterion_revisions.revision"],
        ),
        Index("ix_criterion_versions_state", "state"),
    )

    criterion_id: Mapped[str] = mapped_column(_ID, ForeignKey("criteria.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    history_sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("history_entries.sequence"), unique=True
    )
    state: Mapped[str] = mapped_column(_ENUM)
    amendment_state: Mapped[str] = mapped_column(_ENUM)
    revision: Mapped[int] = mapped_column(BigInteger)
    #: 0 while never approved.
    active_revision: Mapped[int] = mapped_column(BigInteger)
    approver: Mapped[str] = mapped_column(_SUBJECT)
    approve_time: Mapped[datetime | None]
    update_time: Mapped[datetime]


class NamedListRow(Base):
    """A named list: its immutable kind and which revision is current."""

    __tablename__ = "named_lists"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(_ENUM, index=True)
    create_time: Mapped[datetime]
    revision: Mapped[int] = mapped_column(BigInteger)


class NamedListRevisionRow(Base):
    """The content of one named-list revision (also its version: one per change)."""

    __tablename__ = "named_list_revisions"

    named_list_id: Mapped[str] = mapped_column(_ID, ForeignKey("named_lists.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    history_sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("history_entries.sequence"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    #: Encoded customs.criteria.v1.NamedList holding only entries and unit_value_bands.
    items: Mapped[bytes] = mapped_column(LargeBinary)
    editor: Mapped[str] = mapped_column(_SUBJECT)
    update_time: Mapped[datetime]


class ExaminationOutcomeRow(Base):
    """An examination outcome as received (one per event)."""

    __tablename__ = "examination_outcomes"
    __table_args__ = (
        Index("ix_examination_outcomes_office_time", "office_code", "examine_time"),
        Index("ix_examination_outcomes_examine_time", "examine_time"),
        Index("ix_examination_outcomes_importer_id", "importer_id"),
    )

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_service: Mapped[str] = mapped_column(String(63))
    occur_time: Mapped[datetime]
    receive_time: Mapped[datetime]
    examination_report: Mapped[str] = mapped_column(String(200))
    assessment: Mapped[str] = mapped_column(String(80))
    declaration_number: Mapped[str] = mapped_column(String(35))
    declaration_version: Mapped[int] = mapped_column(Integer)
    office_code: Mapped[str] = mapped_column(_ID)
    importer_id: Mapped[str] = mapped_column(String(35))
    declarant_id: Mapped[str] = mapped_column(String(35))
    examine_time: Mapped[datetime]
    channel: Mapped[str] = mapped_column(_ENUM)
    examination_level: Mapped[str] = mapped_column(_ENUM)
    randomly_selected: Mapped[bool] = mapped_column(Boolean)
    officer_initiated: Mapped[bool] = mapped_column(Boolean)
    discrepancy_found: Mapped[bool] = mapped_column(Boolean)
    revenue_currency: Mapped[str | None] = mapped_column(String(3))
    revenue_units: Mapped[int | None] = mapped_column(BigInteger)
    revenue_nanos: Mapped[int | None] = mapped_column(Integer)
    penalty_recommended: Mapped[bool] = mapped_column(Boolean)
    seized: Mapped[bool] = mapped_column(Boolean)


class ExaminationCriterionHitRow(Base):
    """A criterion that designated a received examination.

    Not a foreign key to ``criteria``: what another service reports is kept even
    if it names a criterion unknown here.
    """

    __tablename__ = "examination_criterion_hits"

    event_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("examination_outcomes.event_id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    criterion_id: Mapped[str] = mapped_column(_ID, index=True)
    criterion_revision: Mapped[int] = mapped_column(BigInteger)
    item_number: Mapped[int] = mapped_column(Integer)
    discrepancy_found: Mapped[bool] = mapped_column(Boolean)


class AuditFindingRow(Base):
    """An audit finding as received (one per event)."""

    __tablename__ = "audit_findings"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_service: Mapped[str] = mapped_column(String(63))
    occur_time: Mapped[datetime]
    receive_time: Mapped[datetime]
    audit_case: Mapped[str] = mapped_column(String(200))
    importer_id: Mapped[str] = mapped_column(String(35), index=True)
    #: JSON list of declaration numbers (up to 10,000 for a class of transactions).
    declaration_numbers: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(_ENUM)
    discrepancy_found: Mapped[bool] = mapped_column(Boolean)
    unpaid_duty_currency: Mapped[str | None] = mapped_column(String(3))
    unpaid_duty_units: Mapped[int | None] = mapped_column(BigInteger)
    unpaid_duty_nanos: Mapped[int | None] = mapped_column(Integer)
    penalty_currency: Mapped[str | None] = mapped_column(String(3))
    penalty_units: Mapped[int | None] = mapped_column(BigInteger)
    penalty_nanos: Mapped[int | None] = mapped_column(Integer)
    finding_time: Mapped[datetime]


class AuditFindingCriterionRow(Base):
    """A criterion whose selections led to an audited finding."""

    __tablename__ = "audit_finding_criteria"

    event_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("audit_findings.event_id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    criterion_id: Mapped[str] = mapped_column(_ID, index=True)


class ImpactAnalysisRow(Base):
    """The impact analysis of one criterion revision, never changed once stored.

    The per-office figures are read and written as a whole, never queried, so
    they are kept as JSON beside the columns the approval check reads.
    """

    __tablename__ = "impact_analyses"
    __table_args__ = (
        Index("ix_impact_analyses_criterion_time", "criterion_id", "create_time", "id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    criterion_id: Mapped[str] = mapped_column(_ID, ForeignKey("criteria.id"))
    criterion_revision: Mapped[int] = mapped_column(BigInteger)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    declarations_replayed: Mapped[int] = mapped_column(BigInteger)
    hits: Mapped[int] = mapped_column(BigInteger)
    selections: Mapped[int] = mapped_column(BigInteger)
    scoring_criteria_revision: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(_SUBJECT)
    create_time: Mapped[datetime]
    #: JSON list of [office, day, hits, selections, overlap, referrals,
    #: [[channel, level, added, total, capacity or null], ...]].
    office_days: Mapped[str] = mapped_column(Text)
    #: JSON list of [office, days exceeded, worst day, worst utilisation percent].
    capacity_exceedances: Mapped[str] = mapped_column(Text)
    #: JSON list of [criterion name, shared selections].
    overlaps: Mapped[str] = mapped_column(Text)


class RecommendationRow(Base):
    """A recommendation generated from a criterion's results, and its decision."""

    __tablename__ = "recommendations"
    __table_args__ = (
        Index("ix_recommendations_criterion_state", "criterion_id", "state", "kind"),
        Index("ix_recommendations_create_time", "create_time", "id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    #: Null for a recommendation about a risk model (``risk_model`` set instead).
    criterion_id: Mapped[str | None] = mapped_column(_ID, ForeignKey("criteria.id"))
    criterion_revision: Mapped[int] = mapped_column(BigInteger)
    risk_model: Mapped[str] = mapped_column(String(80), server_default="")
    kind: Mapped[str] = mapped_column(_ENUM)
    state: Mapped[str] = mapped_column(_ENUM)
    rationale: Mapped[str] = mapped_column(Text)
    trader_id: Mapped[str] = mapped_column(String(35))
    consecutive_negative_results: Mapped[int] = mapped_column(Integer)
    discrepancies: Mapped[int] = mapped_column(Integer)
    #: JSON list of declaration numbers, at most 50.
    declaration_numbers: Mapped[str] = mapped_column(Text)
    suggested_selection_percent: Mapped[float | None] = mapped_column(Double)
    #: Encoded customs.common.v1.Treatment; null when none is suggested.
    suggested_treatment: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_by: Mapped[str] = mapped_column(_SUBJECT)
    decision_reason: Mapped[str] = mapped_column(Text)
    decide_time: Mapped[datetime | None]
    resulting_criterion_revision: Mapped[int] = mapped_column(BigInteger)
    create_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(BigInteger)


#: Every table of the service's database, the kit's included (for migrations and tests).
class RiskModelRow(Base):
    """One risk model version scoring trained, and where its governance stands."""

    __tablename__ = "risk_models"
    __table_args__ = (Index("ix_risk_models_state", "state"),)

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    trainer: Mapped[str] = mapped_column(String(255))
    #: The RiskModelCard message.
    card: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int]
    score_threshold: Mapped[float] = mapped_column(Double)
    #: The RiskModelImpact message of the submission.
    impact: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitted_by: Mapped[str] = mapped_column(String(255))
    approved_by: Mapped[str] = mapped_column(String(255))
    previous: Mapped[str] = mapped_column(String(80))
    activate_time: Mapped[datetime | None]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]


metadata = Base.metadata
kit_metadata_tables(metadata)
