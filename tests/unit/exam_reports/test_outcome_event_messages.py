"""The events an approved report sends: built from the receivers' messages, valid for them."""

from __future__ import annotations

from dataclasses import replace

import protovalidate
import pytest
from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.scoring.v1 import scoring_service_pb2
from google.protobuf.message import Message
from review_builders import ANNA, CLEAN, FINDING, NOW, SAM, examination, submitted

from exam_reports.adapters.events import OutboundEvent, outcome_events
from exam_reports.domain.exam_reports import ExamReport, ExamReportForm, approved_report
from exam_reports.domain.examinations import (
    Examination,
    TraderReference,
    open_override_examination,
)
from exam_reports.domain.selectivity import Channel, ExaminationLevel

_REQUESTS: dict[str, type[Message]] = {
    "criteria": criteria_service_pb2.IngestExaminationOutcomeEventRequest,
    "compliance": compliance_service_pb2.IngestExaminationOutcomeEventRequest,
    "audit-referral": audit_referral_service_pb2.IngestExaminationFindingEventRequest,
    "scoring": scoring_service_pb2.IngestExaminationOutcomeEventRequest,
}


def _approved(form: ExamReportForm) -> ExamReport:
    return approved_report(submitted(form), SAM, NOW)


def _received(events: list[OutboundEvent]) -> dict[str, Message]:
    """Each event parsed as its receiver parses it, after checking the receiver accepts it."""
    received = {}
    for event in events:
        request = _REQUESTS[event.destination]()
        request.ParseFromString(event.payload)
        assert protovalidate.collect_violations(request) == [], event.destination
        assert request.event_id == event.event_id  # type: ignore[attr-defined]
        assert event.method.endswith(type(request).__name__.removesuffix("Request"))
        received[event.destination] = request
    return received


@pytest.mark.parametrize(
    ("form", "task"),
    [
        (FINDING, examination()),
        (CLEAN, examination(random=True, criteria=())),
        (FINDING, examination(channel=Channel.YELLOW, level=ExaminationLevel.NONE)),
        (replace(FINDING, merchandise_seized=True, seizure_case_number="SZ/1"), examination()),
    ],
)
def test_every_event_is_valid_for_its_receiver(form: ExamReportForm, task: Examination) -> None:
    _received(outcome_events(_approved(form), task))


def test_a_finding_with_a_penalty_goes_to_all_three_with_the_same_facts() -> None:
    report = _approved(FINDING)

    received = _received(outcome_events(report, examination()))

    criteria = received["criteria"].outcome  # type: ignore[attr-defined]
    compliance = received["compliance"].examination_outcome  # type: ignore[attr-defined]
    finding = received["audit-referral"].examination_finding  # type: ignore[attr-defined]
    assert {criteria.examination_report, compliance.exam_report, finding.exam_report} == {
        "examReports/r-1"
    }
    assert criteria.declarant_id == "BRK-5"
    assert (criteria.discrepancy_found, criteria.penalty_recommended) == (True, True)
    assert compliance.carrier.number == "CAR-9"
    [discrepancy] = compliance.discrepancies
    assert (discrepancy.found_value.units, discrepancy.found_value.nanos) == (31_000, 500_000_000)
    assert finding.discrepancies[0].description == "Undervalued handsets"
    assert list(finding.matched_criteria) == ["criteria/cigarettes-2402"]
    # criteria, compliance, audit_referral and scoring (which learns from outcomes).
    assert len({event.event_id for event in outcome_events(report, examination())}) == 4


def test_a_random_examination_is_flagged_as_such_and_nothing_is_referred() -> None:
    received = _received(outcome_events(_approved(CLEAN), examination(random=True, criteria=())))

    assert set(received) == {"criteria", "compliance", "scoring"}
    assert received["compliance"].examination_outcome.random_selection  # type: ignore[attr-defined]
    assert received["criteria"].outcome.randomly_selected  # type: ignore[attr-defined]


def test_an_examination_opened_by_an_override_is_officer_initiated() -> None:
    task = open_override_examination(
        "e-1",
        override_id="o-1",
        declaration_number="DCL-1",
        declaration_version=0,
        office_id="PORT1",
        importer=TraderReference("IMP-77", "Acme Imports"),
        channel=Channel.RED,
        level=ExaminationLevel.FULL,
        officer_id=ANNA.id,
        supervisor_id=SAM.id,
        now=NOW,
    )

    received = _received(outcome_events(_approved(FINDING), task))

    # Criteria's contract needs a known declaration version; 0 means "latest, unknown".
    assert set(received) == {"compliance", "audit-referral"}
    assert received["compliance"].examination_outcome.assessment == ""  # type: ignore[attr-defined]
    with_version = replace(task, declaration_version=3)
    criteria = _received(outcome_events(_approved(FINDING), with_version))["criteria"]
    assert criteria.outcome.officer_initiated  # type: ignore[attr-defined]


def test_a_report_not_approved_publishes_nothing() -> None:
    with pytest.raises(ValueError, match="not approved"):
        outcome_events(submitted(FINDING), examination())
