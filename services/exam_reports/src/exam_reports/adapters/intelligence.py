"""The SQL of intelligence notes (never commits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam_reports.adapters.orm import (
    AttachmentRow,
    IntelligenceNoteRow,
    IntelligenceNoteSubjectRow,
)
from exam_reports.domain.attachments import AttachmentParent
from exam_reports.domain.intelligence import (
    IntelligenceNote,
    IntelligenceNoteFilter,
    IntelligenceTopic,
)

_DECLARATION = "declaration"
_TRADER = "trader"


class IntelligenceNotes:
    """Intelligence notes with the declarations and traders they name."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _attachments(self, note_ids: list[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {note_id: [] for note_id in note_ids}
        if note_ids:
            rows = await self._session.execute(
                select(AttachmentRow.parent_id, AttachmentRow.attachment_id)
                .where(
                    AttachmentRow.parent_kind == AttachmentParent.INTELLIGENCE_NOTE.value,
                    AttachmentRow.parent_id.in_(note_ids),
                )
                .order_by(AttachmentRow.create_time, AttachmentRow.attachment_id)
            )
            for note_id, attachment_id in rows:
                found[note_id].append(attachment_id)
        return {note_id: tuple(ids) for note_id, ids in found.items()}

    async def _notes(self, rows: list[IntelligenceNoteRow]) -> list[IntelligenceNote]:
        attachments = await self._attachments([row.note_id for row in rows])
        return [
            IntelligenceNote(
                id=row.note_id,
                office_id=row.office_id,
                topic=IntelligenceTopic(row.topic),
                text=row.text,
                declaration_numbers=tuple(row.declaration_numbers),
                trader_numbers=tuple(row.trader_numbers),
                exam_report_id=row.exam_report_id,
                author_officer_id=row.author_officer_id,
                create_time=row.create_time,
                attachments=attachments[row.note_id],
            )
            for row in rows
        ]

    async def get(self, note_id: str) -> IntelligenceNote | None:
        """The note with its attachments, or None."""
        row = await self._session.scalar(
            select(IntelligenceNoteRow).where(IntelligenceNoteRow.note_id == note_id)
        )
        return None if row is None else (await self._notes([row]))[0]

    async def add(self, note: IntelligenceNote) -> None:
        """Stores a new note and the subjects it names."""
        await self._session.execute(
            insert(IntelligenceNoteRow).values(
                note_id=note.id,
                office_id=note.office_id,
                topic=note.topic.value,
                text=note.text,
                declaration_numbers=list(note.declaration_numbers),
                trader_numbers=list(note.trader_numbers),
                exam_report_id=note.exam_report_id,
                author_officer_id=note.author_officer_id,
                create_time=note.create_time,
            )
        )
        subjects = [(_DECLARATION, value) for value in note.declaration_numbers] + [
            (_TRADER, value) for value in note.trader_numbers
        ]
        for kind, value in subjects:
            await self._session.execute(
                insert(IntelligenceNoteSubjectRow).values(note_id=note.id, kind=kind, value=value)
            )

    async def page(
        self, where: IntelligenceNoteFilter, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[IntelligenceNote]:
        """Notes matching ``where``, newest first (then by ID), after ``after``."""
        query = (
            select(IntelligenceNoteRow)
            .order_by(IntelligenceNoteRow.create_time.desc(), IntelligenceNoteRow.note_id.desc())
            .limit(limit)
        )
        if where.office_id is not None:
            query = query.where(IntelligenceNoteRow.office_id == where.office_id)
        if where.topic is not None:
            query = query.where(IntelligenceNoteRow.topic == where.topic.value)
        for kind, value in (
            (_TRADER, where.trader_number),
            (_DECLARATION, where.declaration_number),
        ):
            if value is not None:
                query = query.where(
                    exists().where(
                        IntelligenceNoteSubjectRow.note_id == IntelligenceNoteRow.note_id,
                        IntelligenceNoteSubjectRow.kind == kind,
                        IntelligenceNoteSubjectRow.value == value,
                    )
                )
        if after is not None:
            time, note_id = after
            query = query.where(
                or_(
                    IntelligenceNoteRow.create_time < time,
                    and_(
                        IntelligenceNoteRow.create_time == time,
                        IntelligenceNoteRow.note_id < note_id,
                    ),
                )
            )
        return await self._notes(list(await self._session.scalars(query)))
