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


kit_metadata_tables(metadata)
