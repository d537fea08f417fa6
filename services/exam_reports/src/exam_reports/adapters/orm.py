"""The tables of the examination service (and the kit's, for its Alembic history).

Value lists that are always read and written with their owner and never
queried on their own (instructions, documents to check, assignment history,
the report's discrepancies and carrier/driver boxes) are JSON columns; what
lists filter and sort on, and what capacity and workload count, are columns
with indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_kit.db import NAMING_CONVENTION, UTCDateTime, kit_metadata_tables

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_ID = 63


class Base(DeclarativeBase):
    """Declarative base bound to this service's ``metadata``."""

    metadata = metadata
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - read by SQLAlchemy as a class attribute


class OfficeRow(Base):
    """A customs office."""

    __tablename__ = "offices"

    office_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class FacilityRow(Base):
    """An examination facility of an office, with its capabilities and daily capacities."""

    __tablename__ = "examination_facilities"

    office_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("offices.office_id"), primary_key=True
    )
    facility_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    #: Capability names, e.g. ``["HAZARDOUS_MATERIALS"]``.
    capabilities: Mapped[list[str]] = mapped_column(JSON)
    #: ``[{"channel": "RED", "level": "ENFORCEMENT", "per_day": 4}, ...]``.
    daily_capacities: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class OfficerRow(Base):
    """An officer or supervisor, matched to callers through ``subject``."""

    __tablename__ = "officers"

    officer_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    badge_number: Mapped[str] = mapped_column(String(32))
    office_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("offices.office_id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ShiftRow(Base):
    """A shift of an officer at an office."""

    __tablename__ = "shifts"
    __table_args__ = (
        # "Who is on shift at this office now": office, then shifts still running.
        Index("ix_shifts_office_id_end_time", "office_id", "end_time"),
        Index("ix_shifts_officer_id_start_time", "officer_id", "start_time"),
    )

    shift_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    officer_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("officers.officer_id"))
    office_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("offices.office_id"))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    create_time: Mapped[datetime]


class ExaminationRow(Base):
    """An examination task."""

    __tablename__ = "examinations"
    __table_args__ = (
        # ListExaminations (newest first) and capacity (per office and day).
        Index("ix_examinations_decide_time_examination_id", "decide_time", "examination_id"),
        Index("ix_examinations_office_id_decide_time", "office_id", "decide_time"),
        # ListMyExaminations and workload per officer.
        Index("ix_examinations_assigned_officer_id_state", "assigned_officer_id", "state"),
        Index(
            "ix_examinations_declaration_number_declaration_version",
            "declaration_number",
            "declaration_version",
        ),
    )

    examination_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    #: The decision event that opened the task; answers a redelivered event.
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    declaration_number: Mapped[str] = mapped_column(String(35))
    declaration_version: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("offices.office_id"))
    assessment: Mapped[str] = mapped_column(String(128))
    importer_number: Mapped[str] = mapped_column(String(35))
    importer_name: Mapped[str] = mapped_column(String(200))
    broker_number: Mapped[str | None] = mapped_column(String(35))
    broker_name: Mapped[str | None] = mapped_column(String(200))
    carrier_number: Mapped[str | None] = mapped_column(String(35))
    carrier_name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    examination_level: Mapped[str] = mapped_column(String(32))
    #: ``[{"code": ..., "description": ...}, ...]``.
    documents_to_check: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    examiner_instructions: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(16))
    #: Criterion resource names, never their logic.
    matched_criteria: Mapped[list[str]] = mapped_column(JSON)
    #: ``[{"criterion": ..., "revision": ..., "item": ...}, ...]``: the hits, for outcomes.
    selected_criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The capacity downgrades of the decision, one dict each (see the repository).
    capacity_downgrades: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    random_selection: Mapped[bool] = mapped_column(Boolean)
    override: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    assigned_officer_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id")
    )
    facility: Mapped[str] = mapped_column(String(200))
    #: ``[{"officer": ..., "time": ISO 8601, "by": ... | null, "reason": ...}, ...]``.
    assignments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    exam_report_id: Mapped[str | None] = mapped_column(String(_ID))
    decide_time: Mapped[datetime]
    #: The W3C trace context the decision arrived with: the report's outcome
    #: events continue that trace, so one declaration is one trace.
    traceparent: Mapped[str | None] = mapped_column(String(55))
    start_time: Mapped[datetime | None]
    complete_time: Mapped[datetime | None]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ExamReportRow(Base):
    """A cargo examination report (appendix 1 form) with its review state."""

    __tablename__ = "exam_reports"
    __table_args__ = (
        Index("ix_exam_reports_update_time_exam_report_id", "update_time", "exam_report_id"),
        # Integrity analytics: the reports approved in a period.
        Index("ix_exam_reports_approve_time", "approve_time"),
    )

    exam_report_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    examination_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("examinations.examination_id"), index=True
    )
    author_officer_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id"), index=True
    )
    state: Mapped[str] = mapped_column(String(16))
    declaration_number: Mapped[str] = mapped_column(String(35))
    customs_office_id: Mapped[str] = mapped_column(String(_ID))
    importer_name: Mapped[str] = mapped_column(String(200))
    importer_number: Mapped[str] = mapped_column(String(35))
    broker_name: Mapped[str] = mapped_column(String(200))
    broker_number: Mapped[str] = mapped_column(String(35))
    inspecting_officer_id: Mapped[str] = mapped_column(String(_ID))
    reason: Mapped[str | None] = mapped_column(String(16))
    other_reason: Mapped[str] = mapped_column(Text)
    override_id: Mapped[str] = mapped_column(String(_ID))
    examination_time: Mapped[datetime | None]
    discrepancy_found: Mapped[bool | None] = mapped_column(Boolean)
    discrepancy_detail: Mapped[str] = mapped_column(Text)
    discrepancies: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    penalty_recommended: Mapped[bool | None] = mapped_column(Boolean)
    merchandise_seized: Mapped[bool | None] = mapped_column(Boolean)
    seizure_case_number: Mapped[str] = mapped_column(String(35))
    carrier: Mapped[dict[str, Any]] = mapped_column(JSON)
    driver: Mapped[dict[str, Any]] = mapped_column(JSON)
    intelligence_information: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSON)
    post_clearance_audit_recommended: Mapped[bool] = mapped_column(Boolean)
    #: The additional duties and taxes assessed, in national currency (unset: none).
    revenue_currency: Mapped[str | None] = mapped_column(String(3))
    revenue_units: Mapped[int | None] = mapped_column(BigInteger)
    revenue_nanos: Mapped[int | None] = mapped_column(Integer)
    officer_signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    supervisor_signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    corrections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    submission_count: Mapped[int] = mapped_column(Integer)
    submit_time: Mapped[datetime | None]
    submission_fingerprint: Mapped[str] = mapped_column(String(64))
    #: The supervisor's signing time, as a column so that periods can be queried.
    approve_time: Mapped[datetime | None]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class OverrideRow(Base):
    """An override request and the supervisor's decision on it."""

    __tablename__ = "overrides"
    __table_args__ = (
        # ListOverrides (newest first), per office, and integrity analytics per period.
        Index("ix_overrides_create_time_override_id", "create_time", "override_id"),
        Index("ix_overrides_office_id_create_time", "office_id", "create_time"),
        Index("ix_overrides_declaration_number_state", "declaration_number", "state"),
    )

    override_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    examination_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("examinations.examination_id")
    )
    declaration_number: Mapped[str] = mapped_column(String(35))
    declaration_version: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("offices.office_id"))
    importer_number: Mapped[str] = mapped_column(String(35))
    importer_name: Mapped[str] = mapped_column(String(200))
    designated_channel: Mapped[str] = mapped_column(String(16))
    designated_level: Mapped[str] = mapped_column(String(32))
    requested_channel: Mapped[str] = mapped_column(String(16))
    requested_level: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    requester_officer_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id"), index=True
    )
    decided_by_officer_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id")
    )
    decision_comment: Mapped[str] = mapped_column(Text)
    decide_time: Mapped[datetime | None]
    resulting_examination_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("examinations.examination_id")
    )
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class AttachmentRow(Base):
    """The metadata of an uploaded file; the ID is the client's UUID."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_parent_kind_parent_id", "parent_kind", "parent_id"),)

    attachment_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    #: ``examReports`` or ``intelligenceNotes``.
    parent_kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str] = mapped_column(String(_ID))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500))
    uploaded_by_officer_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id")
    )
    create_time: Mapped[datetime]


class AttachmentChunkRow(Base):
    """One chunk (at most 1 MiB) of an attachment's content, in upload order.

    Chunks are stored as they arrived so a download streams them back one row
    at a time, never holding a whole 25 MiB file in memory.
    """

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("attachments.attachment_id"), primary_key=True
    )
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class IntelligenceNoteRow(Base):
    """An intelligence note, immutable once filed."""

    __tablename__ = "intelligence_notes"
    __table_args__ = (
        Index("ix_intelligence_notes_create_time_note_id", "create_time", "note_id"),
        Index("ix_intelligence_notes_office_id_create_time", "office_id", "create_time"),
    )

    note_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    office_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("offices.office_id"))
    topic: Mapped[str] = mapped_column(String(48))
    text: Mapped[str] = mapped_column(Text)
    declaration_numbers: Mapped[list[str]] = mapped_column(JSON)
    trader_numbers: Mapped[list[str]] = mapped_column(JSON)
    exam_report_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("exam_reports.exam_report_id")
    )
    author_officer_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("officers.officer_id"), index=True
    )
    create_time: Mapped[datetime]


class IntelligenceNoteSubjectRow(Base):
    """A declaration or trader a note names, one row each, so lists can filter on them."""

    __tablename__ = "intelligence_note_subjects"
    __table_args__ = (Index("ix_intelligence_note_subjects_kind_value", "kind", "value"),)

    note_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("intelligence_notes.note_id"), primary_key=True
    )
    #: ``declaration`` or ``trader``.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(35), primary_key=True)


class DecisionRow(Base):
    """One link of the hash-chained decision log (append-only: triggers refuse changes)."""

    __tablename__ = "decision_log"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resource: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    decide_time: Mapped[datetime]
    #: JSON list of [key, value] pairs, sorted by key.
    detail: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


kit_metadata_tables(metadata)
