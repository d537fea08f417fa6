"""The scoring database: assessments, what the followed streams delivered, the kit's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Double,
    Index,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_kit.db import NAMING_CONVENTION, UTCDateTime, kit_metadata_tables

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Base of the scoring tables."""

    metadata = metadata
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


#: Name of the constraint that makes a declaration version assessable only once.
ASSESSMENT_VERSION_CONSTRAINT = "uq_assessments_declaration_number_version"


class AssessmentRow(Base):
    """One assessment: queryable columns, the declaration as received, the decision.

    The declaration and the decision are immutable documents, stored in their
    contract (protobuf) form so that a read returns exactly what was decided;
    the columns beside them exist to find and order assessments.
    """

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("declaration_number", "version", name=ASSESSMENT_VERSION_CONSTRAINT),
        # Lists are newest lodgement first with the id as tie-breaker (keyset paging).
        Index("ix_assessments_lodgement_time_id", "lodgement_time", "id"),
        Index("ix_assessments_office_code_lodgement_time", "office_code", "lodgement_time"),
        Index("ix_assessments_importer_id", "importer_id"),
        Index("ix_assessments_declarant_id", "declarant_id"),
        Index("ix_assessments_risk_model_lodgement_time", "risk_model", "lodgement_time"),
        Index("ix_assessments_consignment_lodgement_time", "consignment", "lodgement_time"),
    )

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    declaration_number: Mapped[str] = mapped_column(String(35))
    version: Mapped[int]
    office_code: Mapped[str] = mapped_column(String(63))
    importer_id: Mapped[str] = mapped_column(String(35))
    declarant_id: Mapped[str | None] = mapped_column(String(35))
    channel: Mapped[str] = mapped_column(String(16))
    lodgement_time: Mapped[datetime]
    create_time: Mapped[datetime]
    criteria_revision: Mapped[int] = mapped_column(BigInteger)
    #: The Declaration message as received (deterministic serialization).
    declaration: Mapped[bytes] = mapped_column(LargeBinary)
    #: The Assessment message without its declaration.
    decision: Mapped[bytes] = mapped_column(LargeBinary)
    #: The risk model version that scored it ("riskModels/..."), for monitoring queries.
    risk_model: Mapped[str | None] = mapped_column(String(80))
    risk_model_score: Mapped[float | None] = mapped_column(Double)
    #: consignments.consignment_key of the declaration: re-lodgements are found by it.
    #: NULL for assessments stored before it was kept.
    consignment: Mapped[str | None] = mapped_column(String(120))


class RulesJournalRow(Base):
    """Every criterion and named list revision received from criteria, by stream revision.

    The state as of any revision is the latest record of each key at or
    before it (a record without payload is a removal): what a replay of an
    old assessment needs, and what a restarted process starts from.
    """

    __tablename__ = "rules_journal"
    # The latest revision is read at every start-up.
    __table_args__ = (Index("ix_rules_journal_revision", "revision"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: The ActiveCriterion or NamedList message; NULL for a removal.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    record_time: Mapped[datetime]


class CapacityPolicyChangeRow(Base):
    """Every change of a capacity policy, append-only, by revision (shared by all policies).

    The policies as of any revision are the latest change of each name at or
    before it: what a replay of a decision taken at that revision needs.
    """

    __tablename__ = "capacity_policy_changes"
    __table_args__ = (Index("ix_capacity_policy_changes_name_revision", "name", "revision"),)

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80))
    #: The CapacityPolicy message (name, rules, downgrade_random_examinations).
    policy: Mapped[bytes] = mapped_column(LargeBinary)
    updated_by: Mapped[str] = mapped_column(String(255))
    update_time: Mapped[datetime]


class ExaminationSelectionRow(Base):
    """One examination scoring selected, by office and day in the office's time zone.

    Counted to know how much of an office's daily capacity is used; written in
    the transaction of the assessment that selected it.
    """

    __tablename__ = "examination_selections"
    __table_args__ = (Index("ix_examination_selections_office_code_day", "office_code", "day"),)

    assessment_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(63))
    #: ``YYYY-MM-DD`` in the office's time zone.
    day: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(16))
    examination_level: Mapped[str] = mapped_column(String(32))


class RandomExaminationRateChangeRow(Base):
    """Every change of a random examination rate, append-only, by revision (shared by all rates).

    The rates as of any revision are the latest change of each office and
    procedure at or before it (a removal ends a configuration): what a replay
    of a decision taken at that revision needs.
    """

    __tablename__ = "random_examination_rate_changes"
    __table_args__ = (
        Index(
            "ix_random_examination_rate_changes_office_code_procedure_code",
            "office_code",
            "procedure_code",
            "revision",
        ),
    )

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: "" is any office, any procedure.
    office_code: Mapped[str] = mapped_column(String(63))
    procedure_code: Mapped[str] = mapped_column(String(4))
    removed: Mapped[bool]
    document_review_percent: Mapped[float] = mapped_column(Double)
    physical_examination_percent: Mapped[float] = mapped_column(Double)
    physical_examination_level: Mapped[str] = mapped_column(String(32))
    approved_trader_document_review_percent: Mapped[float] = mapped_column(Double)
    approved_trader_physical_examination_percent: Mapped[float] = mapped_column(Double)
    updated_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(1000))
    update_time: Mapped[datetime]


class ApprovedTraderRow(Base):
    """One importer with an approved-trader agreement in force, as compliance last streamed it.

    With the stream revision in :class:`WatchPositionRow`, what a restarted
    process assesses with until compliance answers again.
    """

    __tablename__ = "approved_traders"

    trader_id: Mapped[str] = mapped_column(String(35), primary_key=True)


class OfficeCapacityRow(Base):
    """One office's capacity limit as exam_reports' capacity stream last sent it.

    ``payload`` is the ``OfficeCapacityLimit`` message; ``watch_positions``
    says which revision of the stream the rows are as of.
    """

    __tablename__ = "office_capacities"

    office_code: Mapped[str] = mapped_column(String(63), primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class WatchPositionRow(Base):
    """The revision of a followed stream that the state stored from it is as of.

    A restarted process resumes the stream after it.
    """

    __tablename__ = "watch_positions"

    watch: Mapped[str] = mapped_column(String(63), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    update_time: Mapped[datetime]


class HistoryDeclarationRow(Base):
    """One past declaration version imported from the declaration system's archive,
    with its outcome: labelled history the risk model trains on, never assessed.
    """

    __tablename__ = "history_declarations"
    __table_args__ = (Index("ix_history_declarations_lodgement_time", "lodgement_time"),)

    declaration_number: Mapped[str] = mapped_column(String(35), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    lodgement_time: Mapped[datetime]
    #: The Declaration message as received (deterministic serialization).
    declaration: Mapped[bytes] = mapped_column(LargeBinary)
    examined: Mapped[bool]
    infringement_found: Mapped[bool]
    severity: Mapped[int]
    #: Extra duties found, in national currency; NULL when not known.
    revenue_found: Mapped[float | None] = mapped_column(Double)
    #: NULL when the archive does not say.
    randomly_selected: Mapped[bool | None]
    import_time: Mapped[datetime]


class DeclarationOutcomeRow(Base):
    """What an examination or audit of an assessed declaration found (its training label).

    One row per assessment and source (an examination report or an audit
    case), so a corrected report replaces its own earlier outcome only.
    """

    __tablename__ = "declaration_outcomes"

    assessment_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    #: "examinationReports/..." or "auditCases/...", as the sender names it.
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    infringement_found: Mapped[bool]
    severity: Mapped[int]
    revenue_found: Mapped[float | None] = mapped_column(Double)
    randomly_selected: Mapped[bool]
    outcome_time: Mapped[datetime]


class RiskModelTrainingRow(Base):
    """One training operation; the trainer process updates its progress and result."""

    __tablename__ = "risk_model_trainings"
    __table_args__ = (Index("ix_risk_model_trainings_state", "state"),)

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    progress_percent: Mapped[float] = mapped_column(Double)
    stage: Mapped[str] = mapped_column(String(200))
    risk_model: Mapped[str | None] = mapped_column(String(80))
    error_reason: Mapped[str] = mapped_column(String(63))
    error_message: Mapped[str] = mapped_column(String(2000))
    trainer: Mapped[str] = mapped_column(String(255))
    validation_months: Mapped[int]
    create_time: Mapped[datetime]
    end_time: Mapped[datetime | None]


class RiskModelVersionRow(Base):
    """One trained model version: the artifact every replay of its scores loads.

    Never deleted, so that a decision scored by an old version can still be
    explained with exactly that version.
    """

    __tablename__ = "risk_model_versions"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    sequence: Mapped[int] = mapped_column(unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    #: The RiskModelCard message.
    card: Mapped[bytes] = mapped_column(LargeBinary)
    trainer: Mapped[str] = mapped_column(String(255))
    training_id: Mapped[str] = mapped_column(String(63))
    create_time: Mapped[datetime]


kit_metadata_tables(metadata)
