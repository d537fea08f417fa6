"""Photos and document scans: uploaded by client stream, checked, stored, streamed back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
from customs.exam_reports.v1 import exam_report_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import (
    BoundStub,
    Client,
    Desk,
    clean_report,
    create_officer,
    reason,
    violated_fields,
)

from customs_kit.auth import Role

_PHOTO = bytes(range(256)) * 10_000  # 2.5 MB, more than two 1 MiB chunks
_MIB = 1024 * 1024


def _header(
    parent: str,
    content: bytes,
    *,
    attachment_id: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> pb2.UploadAttachmentRequest:
    return pb2.UploadAttachmentRequest(
        header=exam_report_pb2.AttachmentUploadHeader(
            parent=parent,
            attachment_id=attachment_id or str(uuid.uuid4()),
            filename="IMG_0042.jpg",
            media_type="image/jpeg",
            size_bytes=len(content) if size is None else size,
            sha256=sha256 or hashlib.sha256(content).hexdigest(),
            description="Cartons behind the false wall",
        )
    )


def _chunks(content: bytes) -> list[pb2.UploadAttachmentRequest]:
    return [
        pb2.UploadAttachmentRequest(chunk=content[start : start + _MIB])
        for start in range(0, len(content), _MIB)
    ]


async def _stream(
    messages: Sequence[pb2.UploadAttachmentRequest],
) -> AsyncIterator[pb2.UploadAttachmentRequest]:
    for message in messages:
        yield message


async def _upload(
    officer: BoundStub, messages: Sequence[pb2.UploadAttachmentRequest]
) -> exam_report_pb2.Attachment:
    response = await officer.UploadAttachment(_stream(messages))
    return response.attachment


async def _draft(desk: Desk, report: exam_report_pb2.ExamReport | None = None) -> str:
    """Saves a draft for anna's task; its resource name."""
    report_id = str(uuid.uuid4())
    await desk.anna.SaveExamReportDraft(
        pb2.SaveExamReportDraftRequest(
            exam_report_id=report_id,
            exam_report=report or exam_report_pb2.ExamReport(examination=desk.examination),
        )
    )
    return f"examReports/{report_id}"


async def _download(reader: BoundStub, name: str) -> tuple[exam_report_pb2.Attachment, bytes]:
    responses = [
        response
        async for response in reader.DownloadAttachment(pb2.DownloadAttachmentRequest(name=name))
    ]
    first, *rest = responses
    assert first.WhichOneof("content") == "attachment"
    assert all(len(r.chunk) <= _MIB for r in rest)
    return first.attachment, b"".join(r.chunk for r in rest)


async def test_a_photo_uploaded_in_chunks_is_stored_and_streamed_back_intact(
    desk: Desk,
) -> None:
    report = await _draft(desk)

    stored = await _upload(desk.anna, [_header(report, _PHOTO), *_chunks(_PHOTO)])

    assert stored.name.startswith(f"{report}/attachments/")
    assert (stored.size_bytes, stored.sha256) == (len(_PHOTO), hashlib.sha256(_PHOTO).hexdigest())
    assert stored.uploaded_by == "officers/anna"
    metadata, content = await _download(desk.sam, stored.name)
    assert metadata == stored
    assert content == _PHOTO
    read = await desk.anna.GetAttachment(pb2.GetAttachmentRequest(name=stored.name))
    assert read.attachment == stored


async def test_an_attachment_whose_hash_does_not_match_is_refused_and_not_stored(
    desk: Desk,
) -> None:
    report = await _draft(desk)
    attachment_id = str(uuid.uuid4())
    tampered = _PHOTO[:-1] + b"\x00"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(
            desk.anna,
            [
                _header(report, _PHOTO, attachment_id=attachment_id),
                *_chunks(tampered),
            ],
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(raised.value) == "ATTACHMENT_DIGEST_MISMATCH"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await desk.sam.GetAttachment(
            pb2.GetAttachmentRequest(name=f"{report}/attachments/{attachment_id}")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_more_content_than_announced_is_refused(desk: Desk) -> None:
    report = await _draft(desk)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [_header(report, _PHOTO, size=1000), *_chunks(_PHOTO)])

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(raised.value) == "ATTACHMENT_SIZE_MISMATCH"


async def test_a_truncated_upload_is_refused(desk: Desk) -> None:
    report = await _draft(desk)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [_header(report, _PHOTO), *_chunks(_PHOTO)[:1]])

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(raised.value) == "ATTACHMENT_SIZE_MISMATCH"


async def test_a_file_over_the_size_limit_is_refused_before_its_content(desk: Desk) -> None:
    report = await _draft(desk)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [_header(report, b"x", size=26_214_401)])

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["header.size_bytes"]


async def test_the_stream_must_start_with_the_header_and_have_only_one(desk: Desk) -> None:
    report = await _draft(desk)

    for messages in (
        [*_chunks(b"abc"), _header(report, b"abc")],
        [_header(report, b"abc"), _header(report, b"abc"), *_chunks(b"abc")],
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _upload(desk.anna, messages)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(raised.value) == ["header"]


async def test_an_upload_repeated_after_a_lost_response_stores_one_file(desk: Desk) -> None:
    report = await _draft(desk)
    messages = [_header(report, b"scan"), *_chunks(b"scan")]

    first = await _upload(desk.anna, messages)
    again = await _upload(desk.anna, messages)

    assert again == first
    other = [_header(report, b"other", attachment_id=first.name.rsplit("/", 1)[1])]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [*other, *_chunks(b"other")])
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_a_report_lists_only_attachments_uploaded_to_it(desk: Desk) -> None:
    report_name = await _draft(desk)
    report_id = report_name.removeprefix("examReports/")
    photo = await _upload(desk.anna, [_header(report_name, b"photo"), *_chunks(b"photo")])
    form = clean_report(desk.examination)
    form.attachments.append(f"{report_name}/attachments/{uuid.uuid4()}")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.submit(form, report_id)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "ATTACHMENT_NOT_UPLOADED"
    form.ClearField("attachments")
    form.attachments.append(photo.name)
    submitted = await desk.submit(form, report_id)
    assert list(submitted.attachments) == [photo.name]


async def test_a_signed_report_gains_no_attachment(desk: Desk) -> None:
    report_name = await _draft(desk)
    await desk.submit(clean_report(desk.examination), report_name.removeprefix("examReports/"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [_header(report_name, b"late"), *_chunks(b"late")])

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "REPORT_NOT_EDITABLE"


async def test_only_the_author_uploads_and_officers_read_only_their_own_files(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "ben")
    ben = client.as_(Role.OFFICER, subject="ben")
    report = await _draft(desk)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _upload(ben, [_header(report, b"x"), *_chunks(b"x")])
    stored = await _upload(desk.anna, [_header(report, b"x"), *_chunks(b"x")])
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await ben.GetAttachment(pb2.GetAttachmentRequest(name=stored.name))
    with pytest.raises(grpc.aio.AioRpcError) as not_streamed:
        await _download(ben, stored.name)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    assert not_streamed.value.code() == grpc.StatusCode.NOT_FOUND
    analyst = client.as_(Role.ANALYST, subject="ana")
    assert (await _download(analyst, stored.name))[1] == b"x"


async def test_a_file_for_a_report_that_does_not_exist_is_not_found(desk: Desk) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _upload(desk.anna, [_header(f"examReports/{uuid.uuid4()}", b"x"), *_chunks(b"x")])

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
