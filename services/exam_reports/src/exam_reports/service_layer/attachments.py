"""Use cases of attachments: checking an upload's parent, storing it, reading it back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import NotFound, PermissionDenied
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.attachments import Attachments, DuplicateAttachment, stream_content
from exam_reports.adapters.intelligence import IntelligenceNotes
from exam_reports.adapters.repositories import ExamReports, Officers
from exam_reports.domain.attachments import (
    Attachment,
    AttachmentParent,
    UploadHeader,
    stored_attachment,
)
from exam_reports.domain.exam_reports import check_editable, require_author
from exam_reports.domain.officers import Officer
from exam_reports.service_layer.common import Caller
from exam_reports.service_layer.examinations import calling_officer

_log = structlog.get_logger(__name__)


async def _author_of(uow: UnitOfWork, parent: AttachmentParent, parent_id: str) -> str | None:
    """The officer who wrote the report or note, or None when it does not exist."""
    if parent is AttachmentParent.EXAM_REPORT:
        report = await ExamReports(uow.session).get(parent_id)
        return None if report is None else report.author_officer_id
    note = await IntelligenceNotes(uow.session).get(parent_id)
    return None if note is None else note.author_officer_id


async def _uploader(uow: UnitOfWork, caller: Caller, header: UploadHeader) -> Officer:
    """The calling officer, once the parent is known to accept their file.

    NOT_FOUND for an unknown parent; PERMISSION_DENIED unless the caller wrote
    it; FAILED_PRECONDITION ``REPORT_NOT_EDITABLE`` for a report that is
    neither DRAFT nor RETURNED (a signed report cannot gain evidence afterwards).
    """
    officer = await calling_officer(uow, caller)
    name = f"{header.parent.value}/{header.parent_id}"
    if header.parent is AttachmentParent.EXAM_REPORT:
        report = await ExamReports(uow.session).get(header.parent_id, for_update=True)
        if report is None:
            raise NotFound("exam report", name)
        require_author(report, officer.id)
        check_editable(report)
    else:
        note = await IntelligenceNotes(uow.session).get(header.parent_id)
        if note is None:
            raise NotFound("intelligence note", name)
        if note.author_officer_id != officer.id:
            raise PermissionDenied(
                "NOT_NOTE_AUTHOR", f"{name} was filed by another officer", metadata={"note": name}
            )
    return officer


async def check_upload(database: Database, caller: Caller, header: UploadHeader) -> None:
    """Refuses an upload before its content is received when the parent would refuse it."""
    async with database.unit_of_work() as uow:
        await _uploader(uow, caller, header)


async def store_upload(
    database: Database, caller: Caller, header: UploadHeader, chunks: Sequence[bytes]
) -> Attachment:
    """Stores a verified upload, or returns the copy an earlier upload of it stored.

    The parent is checked again in the storing transaction: the report may
    have been submitted while the file was on its way.
    """
    try:
        return await _store(database, caller, header, chunks)
    except DuplicateAttachment:
        return await _store(database, caller, header, chunks)


async def _store(
    database: Database, caller: Caller, header: UploadHeader, chunks: Sequence[bytes]
) -> Attachment:
    async with database.unit_of_work() as uow:
        uploader = await _uploader(uow, caller, header)
        attachments = Attachments(uow.session)
        existing = await attachments.get(header.attachment_id)
        attachment, is_new = stored_attachment(existing, header, uploader.id, utcnow())
        if not is_new:
            return attachment
        await attachments.add(attachment, chunks)
        await uow.commit()
    _log.info(
        "attachment_uploaded",
        attachment=attachment.name,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        officer=uploader.id,
    )
    return attachment


async def get_attachment(
    database: Database, caller: Caller, parent: AttachmentParent, parent_id: str, attachment_id: str
) -> Attachment:
    """The attachment; NOT_FOUND unless it exists under that parent and the caller may see it.

    Officers see the files of their own reports and notes; supervisors,
    analysts and the committee see all.
    """
    async with database.unit_of_work() as uow:
        attachment = await Attachments(uow.session).get(attachment_id)
        if attachment is not None and (attachment.parent, attachment.parent_id) != (
            parent,
            parent_id,
        ):
            attachment = None
        if attachment is not None and not caller.sees_all:
            officer = await Officers(uow.session).by_subject(caller.subject)
            author = await _author_of(uow, parent, parent_id)
            if officer is None or author != officer.id:
                attachment = None
    if attachment is None:
        raise NotFound("attachment", f"{parent.value}/{parent_id}/attachments/{attachment_id}")
    return attachment


def attachment_content(database: Database, attachment: Attachment) -> AsyncIterator[bytes]:
    """The content of an attachment the caller may see, chunk by chunk."""
    return stream_content(database, attachment.id)
