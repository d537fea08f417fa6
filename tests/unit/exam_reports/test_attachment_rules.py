"""What an upload must be to be kept: exactly the announced size and SHA-256."""

from __future__ import annotations

import hashlib

import pytest
from review_builders import NOW

from customs_kit.errors import AlreadyExists, InvalidArgument
from exam_reports.domain.attachments import (
    MAX_ATTACHMENT_BYTES,
    AttachmentParent,
    ContentReceiver,
    UploadHeader,
    stored_attachment,
)

_CONTENT = b"\xff\xd8\xff\xe0 a photograph of cartons"


def _header(content: bytes = _CONTENT, **changes: object) -> UploadHeader:
    fields: dict[str, object] = {
        "parent": AttachmentParent.EXAM_REPORT,
        "parent_id": "r-1",
        "attachment_id": "a-1",
        "filename": "IMG_1.jpg",
        "media_type": "image/jpeg",
        "size_bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "description": "",
    }
    fields.update(changes)
    return UploadHeader(**fields)  # type: ignore[arg-type]


def _receive(header: UploadHeader, *chunks: bytes) -> tuple[bytes, ...]:
    receiver = ContentReceiver(header)
    for chunk in chunks:
        receiver.add(chunk)
    return receiver.content()


def test_content_that_matches_its_header_is_kept_in_its_chunks() -> None:
    assert _receive(_header(), _CONTENT[:10], _CONTENT[10:]) == (_CONTENT[:10], _CONTENT[10:])


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        ((_CONTENT[:-1] + b"!",), "ATTACHMENT_DIGEST_MISMATCH"),
        ((_CONTENT[:-1],), "ATTACHMENT_SIZE_MISMATCH"),
        ((_CONTENT, b"more"), "ATTACHMENT_SIZE_MISMATCH"),
    ],
)
def test_content_that_differs_from_its_header_is_refused(
    chunks: tuple[bytes, ...], reason: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        _receive(_header(), *chunks)

    assert raised.value.reason == reason


def test_a_file_over_the_limit_is_refused_before_any_content() -> None:
    with pytest.raises(InvalidArgument):
        ContentReceiver(_header(size_bytes=MAX_ATTACHMENT_BYTES + 1))


def test_a_repeated_upload_finds_its_first_copy_and_other_content_is_refused() -> None:
    first, is_new = stored_attachment(None, _header(), "anna", NOW)
    again, again_new = stored_attachment(first, _header(), "anna", NOW)

    assert is_new
    assert not again_new
    assert again is first
    assert first.name == "examReports/r-1/attachments/a-1"
    with pytest.raises(AlreadyExists):
        stored_attachment(first, _header(b"another photo"), "anna", NOW)
    with pytest.raises(AlreadyExists):
        stored_attachment(first, _header(parent_id="r-2"), "anna", NOW)
