"""Attachments: photos and document scans uploaded to a report or an intelligence note.

A tablet on a poor network uploads a file in chunks after announcing its size
and SHA-256. The server keeps the file only if what arrived is exactly what
was announced, so a truncated or corrupted upload is refused and leaves
nothing behind; the tablet simply sends it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from customs_kit.errors import AlreadyExists, FieldViolation, InvalidArgument

#: The largest file one upload may carry (the contract's limit, 25 MiB).
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


class AttachmentParent(Enum):
    """What an attachment belongs to; the values are the parents' collection names."""

    EXAM_REPORT = "examReports"
    INTELLIGENCE_NOTE = "intelligenceNotes"


@dataclass(frozen=True)
class Attachment:
    """A stored file's metadata; its content is kept beside it, in upload order."""

    parent: AttachmentParent
    parent_id: str
    id: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    description: str
    uploaded_by: str
    create_time: datetime

    @property
    def name(self) -> str:
        """The resource name ``{parent collection}/{parent}/attachments/{attachment}``."""
        return f"{self.parent.value}/{self.parent_id}/attachments/{self.id}"


@dataclass(frozen=True)
class UploadHeader:
    """What the client announced before sending the content."""

    parent: AttachmentParent
    parent_id: str
    attachment_id: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    description: str


def _size_mismatch(declared: int, received: int) -> InvalidArgument:
    return InvalidArgument(
        [FieldViolation("header.size_bytes", f"announced {declared} bytes but {received} arrived")],
        reason="ATTACHMENT_SIZE_MISMATCH",
    )


class ContentReceiver:
    """Collects the chunks of one upload and checks them against the header.

    The size is checked as chunks arrive, so a client that sends more than it
    announced is stopped at once instead of filling the server's memory.
    """

    def __init__(self, header: UploadHeader) -> None:
        if not 0 < header.size_bytes <= MAX_ATTACHMENT_BYTES:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "header.size_bytes", f"must be from 1 to {MAX_ATTACHMENT_BYTES} bytes"
                    )
                ]
            )
        self._header = header
        self._digest = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._received = 0

    def add(self, chunk: bytes) -> None:
        """Takes the next chunk; INVALID_ARGUMENT ``ATTACHMENT_SIZE_MISMATCH`` past the size."""
        self._received += len(chunk)
        if self._received > self._header.size_bytes:
            raise _size_mismatch(self._header.size_bytes, self._received)
        self._digest.update(chunk)
        self._chunks.append(chunk)

    def content(self) -> tuple[bytes, ...]:
        """The chunks, once complete and intact.

        INVALID_ARGUMENT ``ATTACHMENT_SIZE_MISMATCH`` if fewer bytes arrived than
        announced, ``ATTACHMENT_DIGEST_MISMATCH`` if their SHA-256 is not the one
        announced.
        """
        if self._received != self._header.size_bytes:
            raise _size_mismatch(self._header.size_bytes, self._received)
        actual = self._digest.hexdigest()
        if actual != self._header.sha256:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "header.sha256",
                        f"announced {self._header.sha256} but the content's SHA-256 is {actual}",
                    )
                ],
                reason="ATTACHMENT_DIGEST_MISMATCH",
            )
        return tuple(self._chunks)


def stored_attachment(
    existing: Attachment | None, header: UploadHeader, uploader_id: str, now: datetime
) -> tuple[Attachment, bool]:
    """The attachment ``header`` describes, and whether it is new (to be stored).

    The attachment ID is the client's, so an upload repeated after a lost
    response finds its first copy, which is returned and nothing is stored
    again; the same ID with other content (or for another parent) is refused
    with ALREADY_EXISTS.
    """
    if existing is None:
        return (
            Attachment(
                parent=header.parent,
                parent_id=header.parent_id,
                id=header.attachment_id,
                filename=header.filename,
                media_type=header.media_type,
                size_bytes=header.size_bytes,
                sha256=header.sha256,
                description=header.description,
                uploaded_by=uploader_id,
                create_time=now,
            ),
            True,
        )
    if (existing.parent, existing.parent_id, existing.sha256) == (
        header.parent,
        header.parent_id,
        header.sha256,
    ):
        return existing, False
    raise AlreadyExists("attachment", existing.name)
