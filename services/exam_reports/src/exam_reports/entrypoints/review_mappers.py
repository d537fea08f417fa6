"""Protobuf messages to domain objects and back, for reviews, overrides, files and analytics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from customs.common.v1 import money_pb2
from customs.exam_reports.v1 import (
    declaration_outcome_pb2,
    exam_report_pb2,
    integrity_pb2,
    intelligence_note_pb2,
    override_pb2,
)
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from customs_kit.changefeed import Change, FeedEvent, SnapshotEnded, SnapshotEntry, SnapshotStarted
from customs_kit.checkpoints import AnchorCheck, AnchorState
from customs_kit.errors import FieldViolation, InvalidArgument
from exam_reports.domain.attachments import Attachment, AttachmentParent, UploadHeader
from exam_reports.domain.exam_reports import ExamReportFilter, ExamReportState, Money
from exam_reports.domain.examinations import TraderReference
from exam_reports.domain.integrity import MetricTest, OfficerIntegrity
from exam_reports.domain.intelligence import (
    IntelligenceNote,
    IntelligenceNoteFilter,
    IntelligenceTopic,
)
from exam_reports.domain.overrides import (
    Override,
    OverrideFilter,
    OverrideKind,
    OverrideRequest,
    OverrideState,
)
from exam_reports.entrypoints.mappers import (
    channel_from_proto,
    channel_to_proto,
    enum_from_proto,
    enum_to_proto,
    id_of,
    level_from_proto,
    level_to_proto,
    optional_id,
    timestamp_of,
    trader_to_proto,
)
from exam_reports.service_layer.common import etag_of
from exam_reports.service_layer.integrity import OfficerIntegrityReport

# --- exam reports ------------------------------------------------------------------------

#: Fields of ExamReport the server fills; a supervisor cannot ask the officer to fix them.
_OUTPUT_ONLY = frozenset(
    {
        "name",
        "state",
        "officer_signature",
        "supervisor_signature",
        "corrections",
        "submission_count",
        "submit_time",
        "create_time",
        "update_time",
        "etag",
    }
)


def _names_a_field(descriptor: Any, path: str) -> bool:
    current: Descriptor | None = descriptor
    for part in path.split("."):
        if current is None or part not in current.fields_by_name:
            return False
        field: FieldDescriptor = current.fields_by_name[part]
        current = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
    return True


def correction_fields(paths: Iterable[str]) -> tuple[str, ...]:
    """The fields a return names, each a form field of ExamReport; INVALID_ARGUMENT otherwise.

    The officer's tablet highlights these boxes, so a path that names nothing
    (a typo) would send the officer looking for a box that is not there.
    """
    listed = tuple(paths)
    descriptor = exam_report_pb2.ExamReport.DESCRIPTOR
    violations = [
        FieldViolation(f"fields[{index}]", f"{path!r} is not a field of the report form")
        for index, path in enumerate(listed)
        if path.split(".")[0] in _OUTPUT_ONLY or not _names_a_field(descriptor, path)
    ]
    if violations:
        raise InvalidArgument(violations)
    return listed


def exam_report_filter(request: pb2.ListExamReportsRequest) -> ExamReportFilter:
    """The filter of a ListExamReports request."""
    return ExamReportFilter(
        office_id=optional_id(request.office, "offices"),
        states=frozenset(
            state
            for state in (
                enum_from_proto(
                    exam_report_pb2.ExamReportState, "EXAM_REPORT_STATE_", value, ExamReportState
                )
                for value in request.states
            )
            if state is not None
        ),
        inspecting_officer_id=optional_id(request.inspecting_officer, "officers"),
        examination_id=optional_id(request.examination, "examinations"),
        discrepancy_found=(
            request.discrepancy_found if request.HasField("discrepancy_found") else None
        ),
    )


# --- overrides ---------------------------------------------------------------------------


def override_request(override: override_pb2.Override) -> OverrideRequest:
    """What a RequestOverride asks; output-only fields of the message are ignored."""
    designated = (
        channel_from_proto(override.designated_channel) if override.designated_channel else None
    )
    return OverrideRequest(
        examination_id=optional_id(override.examination, "examinations"),
        requested_channel=channel_from_proto(override.requested_channel),
        requested_level=level_from_proto(override.requested_examination_level),
        reason=override.reason,
        declaration_number=override.declaration_number,
        declaration_version=override.declaration_version,
        office_id=id_of(override.office, "offices") if override.office else "",
        importer=(
            TraderReference(override.importer.number, override.importer.display_name)
            if override.HasField("importer")
            else None
        ),
        designated_channel=designated,
    )


def override_to_proto(override: Override) -> override_pb2.Override:
    """The ``Override`` message."""
    return override_pb2.Override(
        name=f"overrides/{override.id}",
        examination=f"examinations/{override.examination_id}" if override.examination_id else "",
        declaration_number=override.declaration_number,
        declaration_version=override.declaration_version,
        office=f"offices/{override.office_id}",
        importer=trader_to_proto(override.importer),
        designated_channel=channel_to_proto(override.designated_channel),
        designated_examination_level=level_to_proto(override.designated_level),
        requested_channel=channel_to_proto(override.requested_channel),
        requested_examination_level=level_to_proto(override.requested_level),
        kind=enum_to_proto("OVERRIDE_KIND_", override.kind),
        reason=override.reason,
        state=enum_to_proto("OVERRIDE_STATE_", override.state),
        requester=f"officers/{override.requester_id}",
        decided_by=f"officers/{override.decided_by}" if override.decided_by else "",
        decision_comment=override.decision_comment,
        decide_time=timestamp_of(override.decide_time),
        resulting_examination=(
            f"examinations/{override.resulting_examination_id}"
            if override.resulting_examination_id
            else ""
        ),
        create_time=timestamp_of(override.create_time),
        update_time=timestamp_of(override.update_time),
        etag=etag_of(override.version),
    )


def override_filter(request: pb2.ListOverridesRequest) -> OverrideFilter:
    """The filter of a ListOverrides request."""
    return OverrideFilter(
        office_id=optional_id(request.office, "offices"),
        states=frozenset(
            state
            for state in (
                enum_from_proto(override_pb2.OverrideState, "OVERRIDE_STATE_", value, OverrideState)
                for value in request.states
            )
            if state is not None
        ),
        requester_id=optional_id(request.requester, "officers"),
        kind=enum_from_proto(
            override_pb2.OverrideKind, "OVERRIDE_KIND_", request.kind, OverrideKind
        ),
    )


# --- attachments -------------------------------------------------------------------------


def attachment_parent(name: str) -> tuple[AttachmentParent, str]:
    """(kind, ID) of a parent name ``examReports/{id}`` or ``intelligenceNotes/{id}``."""
    collection, _, parent_id = name.partition("/")
    return AttachmentParent(collection), parent_id


def attachment_ids(name: str) -> tuple[AttachmentParent, str, str]:
    """(parent kind, parent ID, attachment ID) of an attachment's resource name."""
    collection, parent_id, _, attachment_id = name.split("/")
    return AttachmentParent(collection), parent_id, attachment_id


def upload_header(header: exam_report_pb2.AttachmentUploadHeader) -> UploadHeader:
    """The domain header of a (validated) upload header."""
    parent, parent_id = attachment_parent(header.parent)
    return UploadHeader(
        parent=parent,
        parent_id=parent_id,
        attachment_id=header.attachment_id,
        filename=header.filename,
        media_type=header.media_type,
        size_bytes=header.size_bytes,
        sha256=header.sha256,
        description=header.description,
    )


def attachment_to_proto(attachment: Attachment) -> exam_report_pb2.Attachment:
    """The ``Attachment`` message."""
    return exam_report_pb2.Attachment(
        name=attachment.name,
        filename=attachment.filename,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        description=attachment.description,
        uploaded_by=f"officers/{attachment.uploaded_by}",
        create_time=timestamp_of(attachment.create_time),
    )


# --- intelligence notes ------------------------------------------------------------------


def topic_from_proto(value: int) -> IntelligenceTopic | None:
    """The domain topic, or None when unspecified."""
    return enum_from_proto(
        intelligence_note_pb2.IntelligenceTopic, "INTELLIGENCE_TOPIC_", value, IntelligenceTopic
    )


def intelligence_note_to_proto(note: IntelligenceNote) -> intelligence_note_pb2.IntelligenceNote:
    """The ``IntelligenceNote`` message, naming the files uploaded to it."""
    name = f"intelligenceNotes/{note.id}"
    return intelligence_note_pb2.IntelligenceNote(
        name=name,
        office=f"offices/{note.office_id}",
        topic=enum_to_proto("INTELLIGENCE_TOPIC_", note.topic),
        text=note.text,
        declaration_numbers=list(note.declaration_numbers),
        trader_numbers=list(note.trader_numbers),
        exam_report=f"examReports/{note.exam_report_id}" if note.exam_report_id else "",
        author=f"officers/{note.author_officer_id}",
        attachments=[f"{name}/attachments/{each}" for each in note.attachments],
        create_time=timestamp_of(note.create_time),
    )


def intelligence_note_filter(request: pb2.ListIntelligenceNotesRequest) -> IntelligenceNoteFilter:
    """The filter of a ListIntelligenceNotes request."""
    return IntelligenceNoteFilter(
        office_id=optional_id(request.office, "offices"),
        topic=topic_from_proto(request.topic),
        trader_number=request.trader_number or None,
        declaration_number=request.declaration_number or None,
    )


# --- integrity ---------------------------------------------------------------------------


def _metric_test_to_proto(test: MetricTest) -> integrity_pb2.MetricTest:
    return integrity_pb2.MetricTest(
        metric=enum_to_proto("INTEGRITY_METRIC_", test.metric),
        officer_value=test.officer_value,
        peer_value=test.peer_value,
        method=enum_to_proto("INTEGRITY_TEST_METHOD_", test.method),
        z_score=test.z_score,
        p_value=test.p_value,
        flagged=test.flagged,
    )


def _officer_integrity_to_proto(entry: OfficerIntegrity) -> integrity_pb2.OfficerIntegrity:
    activity = entry.activity
    return integrity_pb2.OfficerIntegrity(
        officer=f"officers/{activity.officer_id}",
        display_name=activity.display_name,
        days_on_duty=activity.days_on_duty,
        examinations=activity.examinations,
        examinations_per_day=activity.examinations_per_day,
        discrepancies=activity.discrepancies,
        override_requests=activity.override_requests,
        green_examined=activity.green_examined,
        red_released_without_examination=activity.red_released,
        tests=[_metric_test_to_proto(test) for test in entry.tests],
        flagged=entry.flagged,
        revenue_found=money_to_proto(activity.revenue_found),
    )


def money_to_proto(money: Money | None) -> money_pb2.Money | None:
    """The ``Money`` message, or None (the field left unset)."""
    if money is None:
        return None
    return money_pb2.Money(currency_code=money.currency_code, units=money.units, nanos=money.nanos)


def integrity_report_to_proto(
    report: OfficerIntegrityReport,
) -> integrity_pb2.OfficerIntegrityReport:
    """The ``OfficerIntegrityReport`` message."""
    norms = report.analysis.norms
    return integrity_pb2.OfficerIntegrityReport(
        office=f"offices/{report.office_id}",
        start_date=report.period.start.isoformat(),
        end_date=report.period.end.isoformat(),
        significance_level=report.significance_level,
        min_examinations=report.min_examinations,
        norms=integrity_pb2.OfficeNorms(
            officers=norms.officers,
            examinations=norms.examinations,
            mean_examinations_per_day=norms.mean_examinations_per_day,
            stddev_examinations_per_day=norms.stddev_examinations_per_day,
            discrepancy_rate=norms.discrepancy_rate,
            override_rate=norms.override_rate,
            green_examined_rate=norms.green_examined_rate,
            red_released_rate=norms.red_released_rate,
            revenue_found=money_to_proto(norms.revenue_found),
        ),
        officers=[_officer_integrity_to_proto(entry) for entry in report.analysis.officers],
    )


# --- the declaration system's outcome stream ---------------------------------------------


def declaration_outcome_watch_message(event: FeedEvent) -> pb2.WatchDeclarationOutcomesResponse:
    """The stream message of ``event``; outcomes are stored as ``DeclarationOutcome`` messages."""
    match event:
        case SnapshotStarted(revision):
            return pb2.WatchDeclarationOutcomesResponse(
                revision=revision, snapshot_start=pb2.DeclarationOutcomesSnapshotStart()
            )
        case SnapshotEntry(revision, change):
            return _outcome_message(revision, change)
        case SnapshotEnded(revision):
            return pb2.WatchDeclarationOutcomesResponse(
                revision=revision, snapshot_end=pb2.DeclarationOutcomesSnapshotEnd()
            )
        case Change(revision):
            return _outcome_message(revision, event)
    raise TypeError(f"not a feed event: {event!r}")


def _outcome_message(revision: int, change: Change) -> pb2.WatchDeclarationOutcomesResponse:
    if change.payload is None:
        raise ValueError(f"a declaration outcome is never removed ({change.key})")
    return pb2.WatchDeclarationOutcomesResponse(
        revision=revision,
        declaration_outcome=declaration_outcome_pb2.DeclarationOutcome.FromString(change.payload),
    )


def decision_log_verification(
    anchored: AnchorCheck, verify_time: datetime
) -> pb2.DecisionLogVerification:
    """The decision log's check, compared with its latest checkpoint, as the contract says."""
    verification = anchored.verification
    message = pb2.DecisionLogVerification(
        intact=verification.intact,
        entries_verified=verification.entries_verified,
        first_invalid_sequence=verification.first_invalid_sequence,
        first_invalid_resource=verification.first_invalid_resource,
        problem=verification.problem,
        head_hash=verification.head_hash,
        rewritten=anchored.state is AnchorState.REWRITTEN,
        anchor_state=f"DECISION_LOG_ANCHOR_STATE_{anchored.state.value}",
    )
    message.verify_time.FromDatetime(verify_time)
    if anchored.checkpoint is not None:
        message.checkpoint_sequence = anchored.checkpoint.sequence
        message.checkpoint_head_hash = anchored.checkpoint.head_hash
        message.checkpoint_sign_time.FromDatetime(anchored.checkpoint.sign_time)
    return message
