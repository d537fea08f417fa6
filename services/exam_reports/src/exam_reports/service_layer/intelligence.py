"""Use cases of intelligence notes: filing (with or without an examination) and reading."""

from __future__ import annotations

import uuid

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import FailedPrecondition, NotFound, PreconditionViolation
from customs_kit.pagination import clamp_page_size
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.intelligence import IntelligenceNotes
from exam_reports.adapters.repositories import ExamReports, Officers, Offices
from exam_reports.domain.intelligence import (
    IntelligenceNote,
    IntelligenceNoteFilter,
    IntelligenceTopic,
)
from exam_reports.service_layer.common import (
    Caller,
    Page,
    Pager,
    decode_time,
    encode_time,
    page_of,
    position_field,
)
from exam_reports.service_layer.examinations import calling_officer

_log = structlog.get_logger(__name__)


async def file_intelligence_note(
    uow: UnitOfWork,
    caller: Caller,
    *,
    office_id: str,
    topic: IntelligenceTopic,
    text: str,
    declaration_numbers: tuple[str, ...],
    trader_numbers: tuple[str, ...],
    exam_report_id: str | None,
) -> IntelligenceNote:
    """A note filed by the calling officer; runs inside the request's idempotent unit of work.

    NOT_FOUND if the named report does not exist or is another officer's (an
    officer may only point at what they may read); FAILED_PRECONDITION
    ``UNKNOWN_OFFICE`` for an unknown office.
    """
    author = await calling_officer(uow, caller)
    if await Offices(uow.session).get(office_id) is None:
        raise FailedPrecondition(
            "UNKNOWN_OFFICE",
            f"offices/{office_id} is not a known office",
            [PreconditionViolation("UNKNOWN_OFFICE", f"offices/{office_id}", "does not exist")],
        )
    if exam_report_id is not None:
        report = await ExamReports(uow.session).get(exam_report_id)
        if report is None or (not caller.sees_all and report.author_officer_id != author.id):
            raise NotFound("exam report", f"examReports/{exam_report_id}")
    note = IntelligenceNote(
        id=str(uuid.uuid4()),
        office_id=office_id,
        topic=topic,
        text=text,
        declaration_numbers=declaration_numbers,
        trader_numbers=trader_numbers,
        exam_report_id=exam_report_id,
        author_officer_id=author.id,
        create_time=utcnow(),
    )
    await IntelligenceNotes(uow.session).add(note)
    _log.info(
        "intelligence_note_filed",
        note=note.id,
        office=office_id,
        topic=topic.value,
        officer=author.id,
        exam_report=exam_report_id,
    )
    return note


async def get_intelligence_note(
    database: Database, caller: Caller, note_id: str
) -> IntelligenceNote:
    """The note; NOT_FOUND if it does not exist or the calling officer did not file it."""
    async with database.unit_of_work() as uow:
        note = await IntelligenceNotes(uow.session).get(note_id)
        if note is not None and not caller.sees_all:
            officer = await Officers(uow.session).by_subject(caller.subject)
            if officer is None or note.author_officer_id != officer.id:
                note = None
    if note is None:
        raise NotFound("intelligence note", f"intelligenceNotes/{note_id}")
    return note


async def list_intelligence_notes(
    database: Database,
    pager: Pager,
    where: IntelligenceNoteFilter,
    *,
    page_size: int,
    page_token: str,
) -> Page[IntelligenceNote]:
    """Notes matching ``where``, newest first."""
    limit = clamp_page_size(page_size)
    query = {
        "list": "intelligence_notes",
        "office": where.office_id,
        "topic": None if where.topic is None else where.topic.value,
        "trader": where.trader_number,
        "declaration": where.declaration_number,
    }
    position = pager.position(page_token, query)
    after = (
        None
        if position is None
        else (
            decode_time(position_field(position, "time", int)),
            position_field(position, "id", str),
        )
    )
    async with database.unit_of_work() as uow:
        notes = await IntelligenceNotes(uow.session).page(where, after=after, limit=limit + 1)
    return page_of(
        notes,
        limit,
        pager,
        query,
        lambda note: {"time": encode_time(note.create_time), "id": note.id},
    )
