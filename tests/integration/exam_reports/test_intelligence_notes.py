"""Intelligence notes: forwarded to the analysts with or without an examination."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from customs.exam_reports.v1 import exam_report_pb2, intelligence_note_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import Client, Desk, clean_report, create_officer, reason

from customs_kit.auth import Role


def _note(**fields: object) -> pb2.FileIntelligenceNoteRequest:
    note = intelligence_note_pb2.IntelligenceNote(
        office="offices/PORT1",
        topic=intelligence_note_pb2.INTELLIGENCE_TOPIC_VALUATION,
        text="IMP-77 declared frozen chicken at a third of its usual unit value.",
        declaration_numbers=["DCL-0001"],
        trader_numbers=["IMP-77", "BRK-5"],
    )
    for field, value in fields.items():
        setattr(note, field, value)
    return pb2.FileIntelligenceNoteRequest(request_id=str(uuid.uuid4()), intelligence_note=note)


async def test_a_note_filed_without_an_examination_reaches_the_analysts(
    client: Client, desk: Desk
) -> None:
    request = _note()

    filed = (await desk.anna.FileIntelligenceNote(request)).intelligence_note
    again = (await desk.anna.FileIntelligenceNote(request)).intelligence_note

    assert again == filed
    assert filed.author == "officers/anna"
    assert filed.exam_report == ""
    analyst = client.as_(Role.ANALYST, subject="ana")
    by_trader = await analyst.ListIntelligenceNotes(
        pb2.ListIntelligenceNotesRequest(trader_number="BRK-5")
    )
    by_topic = await analyst.ListIntelligenceNotes(
        pb2.ListIntelligenceNotesRequest(topic=intelligence_note_pb2.INTELLIGENCE_TOPIC_SMUGGLING)
    )
    assert [note.name for note in by_trader.intelligence_notes] == [filed.name]
    assert list(by_topic.intelligence_notes) == []
    read = await analyst.GetIntelligenceNote(pb2.GetIntelligenceNoteRequest(name=filed.name))
    assert read.intelligence_note == filed


async def test_a_note_names_a_report_of_its_author_and_takes_files(
    client: Client, desk: Desk
) -> None:
    report = await desk.submit(clean_report(desk.examination))
    filed = (await desk.anna.FileIntelligenceNote(_note(exam_report=report.name))).intelligence_note
    content = b"%PDF-1.7 invoice"

    async def upload() -> AsyncIterator[pb2.UploadAttachmentRequest]:
        yield pb2.UploadAttachmentRequest(
            header=exam_report_pb2.AttachmentUploadHeader(
                parent=filed.name,
                attachment_id=str(uuid.uuid4()),
                filename="invoice.pdf",
                media_type="application/pdf",
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
        yield pb2.UploadAttachmentRequest(chunk=content)

    attachment = (await desk.anna.UploadAttachment(upload())).attachment

    assert filed.exam_report == report.name
    read = await desk.anna.GetIntelligenceNote(pb2.GetIntelligenceNoteRequest(name=filed.name))
    assert list(read.intelligence_note.attachments) == [attachment.name]
    await create_officer(client, "ben")
    ben = client.as_(Role.OFFICER, subject="ben")
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await ben.GetIntelligenceNote(pb2.GetIntelligenceNoteRequest(name=filed.name))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await ben.FileIntelligenceNote(_note(exam_report=report.name))
    assert not_theirs.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_note_from_someone_not_in_the_officer_register_is_refused(
    client: Client, desk: Desk
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER, subject="stranger").FileIntelligenceNote(_note())

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "NOT_AN_OFFICER"
