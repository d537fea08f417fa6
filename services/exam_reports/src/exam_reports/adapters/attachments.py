"""The SQL of attachments: metadata and content chunks (never commits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import Database, is_unique_violation
from exam_reports.adapters.orm import AttachmentChunkRow, AttachmentRow
from exam_reports.domain.attachments import Attachment, AttachmentParent


class DuplicateAttachment(Exception):
    """A concurrent upload stored an attachment with the same ID first."""


def _attachment(row: AttachmentRow) -> Attachment:
    return Attachment(
        parent=AttachmentParent(row.parent_kind),
        parent_id=row.parent_id,
        id=row.attachment_id,
        filename=row.filename,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        description=row.description,
        uploaded_by=row.uploaded_by_officer_id,
        create_time=row.create_time,
    )


class Attachments:
    """Uploaded files."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, attachment_id: str) -> Attachment | None:
        """The attachment's metadata, or None."""
        row = await self._session.scalar(
            select(AttachmentRow).where(AttachmentRow.attachment_id == attachment_id)
        )
        return None if row is None else _attachment(row)

    async def add(self, attachment: Attachment, chunks: Sequence[bytes]) -> None:
        """Stores the metadata and content; :class:`DuplicateAttachment` on a concurrent copy."""
        try:
            await self._session.execute(
                insert(AttachmentRow).values(
                    attachment_id=attachment.id,
                    parent_kind=attachment.parent.value,
                    parent_id=attachment.parent_id,
                    filename=attachment.filename,
                    media_type=attachment.media_type,
                    size_bytes=attachment.size_bytes,
                    sha256=attachment.sha256,
                    description=attachment.description,
                    uploaded_by_officer_id=attachment.uploaded_by,
                    create_time=attachment.create_time,
                )
            )
        except IntegrityError as error:
            if is_unique_violation(error, "pk_attachments"):
                raise DuplicateAttachment(attachment.id) from error
            raise
        for sequence, chunk in enumerate(chunks):
            await self._session.execute(
                insert(AttachmentChunkRow).values(
                    attachment_id=attachment.id, sequence=sequence, content=chunk
                )
            )

    async def ids_of(self, parent: AttachmentParent, parent_id: str) -> list[str]:
        """The IDs of the files uploaded to one report or note, oldest first."""
        rows = await self._session.scalars(
            select(AttachmentRow.attachment_id)
            .where(AttachmentRow.parent_kind == parent.value, AttachmentRow.parent_id == parent_id)
            .order_by(AttachmentRow.create_time, AttachmentRow.attachment_id)
        )
        return list(rows)


async def stream_content(database: Database, attachment_id: str) -> AsyncIterator[bytes]:
    """The content's chunks in order, each read in its own short transaction.

    A download to a slow tablet may take minutes; holding one transaction (and
    on SQLite the database's lock) for all of it would stall every writer.
    Content is immutable, so reading chunk by chunk cannot mix versions.
    """
    sequence = 0
    while True:
        async with database.session_factory() as session:
            chunk = await session.scalar(
                select(AttachmentChunkRow.content).where(
                    AttachmentChunkRow.attachment_id == attachment_id,
                    AttachmentChunkRow.sequence == sequence,
                )
            )
        if chunk is None:
            return
        yield chunk
        sequence += 1
