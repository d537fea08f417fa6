"""The rules of the appendix 1 form, as the server applies them on submission."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from customs_kit.errors import FailedPrecondition, InvalidArgument
from exam_reports.domain.exam_reports import (
    CarrierData,
    Discrepancy,
    DiscrepancyType,
    DriverData,
    ExamReportForm,
    ExamReportState,
    IdentityDocument,
    IdentityDocumentType,
    Money,
    Quantity,
    check_matches_examination,
    check_override_approved_before_examination,
    check_submission,
    resent_submission,
    submission_violations,
    submitted_report,
)
from exam_reports.domain.examinations import (
    Examination,
    ExaminationReason,
    SelectedCriterion,
    SelectivityDecision,
    TraderReference,
    open_examination,
)
from exam_reports.domain.officers import Officer, OfficerRole
from exam_reports.domain.selectivity import Channel, ExaminationLevel

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
EXAMINED = NOW - timedelta(hours=1)
SIGNED = NOW - timedelta(minutes=10)

CLEAN = ExamReportForm(
    examination_id="e-1",
    declaration_number="DCL-1",
    customs_office_id="PORT1",
    importer_name="Acme Imports",
    importer_number="IMP-77",
    broker_name="Fast Brokers",
    inspecting_officer_id="anna",
    reason=ExaminationReason.CRITERIA,
    examination_time=EXAMINED,
    discrepancy_found=False,
    intelligence_information="none found",
)

WITH_DISCREPANCY = replace(
    CLEAN,
    discrepancy_found=True,
    discrepancy_detail="Declared 5,000 kg frozen chicken parts, found 6,000 kg.",
    discrepancies=(
        Discrepancy(
            type=DiscrepancyType.QUANTITY,
            item_number=1,
            declared_quantity=Quantity(5000, "KGM"),
            found_quantity=Quantity(6000, "KGM"),
        ),
    ),
    penalty_recommended=True,
    merchandise_seized=False,
    carrier=CarrierData(display_name="Road Co Ltd", address="1 Depot Road"),
    driver=DriverData(
        full_name="John Kamau Otieno",
        date_of_birth="1980-04-02",
        nationality="KE",
        identity_document=IdentityDocument(IdentityDocumentType.PASSPORT, "A1234567"),
    ),
)


def fields(form: ExamReportForm, sign_time: datetime = SIGNED) -> list[str]:
    return [violation.field for violation in submission_violations(form, sign_time, NOW)]


def test_a_complete_form_without_discrepancy_passes() -> None:
    assert fields(CLEAN) == []


def test_a_complete_form_with_a_discrepancy_passes() -> None:
    assert fields(WITH_DISCREPANCY) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"declaration_number": ""}, "exam_report.declaration_number"),
        ({"customs_office_id": ""}, "exam_report.customs_office"),
        ({"importer_name": "  "}, "exam_report.importer_name"),
        ({"importer_number": ""}, "exam_report.importer_number"),
        ({"broker_name": ""}, "exam_report.broker_name"),
        ({"inspecting_officer_id": ""}, "exam_report.inspecting_officer"),
        ({"reason": None}, "exam_report.reason"),
        ({"examination_time": None}, "exam_report.examination_time"),
        ({"discrepancy_found": None}, "exam_report.discrepancy_found"),
        ({"intelligence_information": ""}, "exam_report.intelligence_information"),
    ],
)
def test_every_box_outside_the_shaded_area_is_mandatory(
    change: dict[str, object], field: str
) -> None:
    assert fields(replace(CLEAN, **change)) == [field]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"discrepancy_detail": "overage"}, "exam_report.discrepancy_detail"),
        ({"discrepancies": ()}, "exam_report.discrepancies"),
        ({"penalty_recommended": None}, "exam_report.penalty_recommended"),
        ({"merchandise_seized": None}, "exam_report.merchandise_seized"),
        ({"carrier": CarrierData(address="1 Depot Road")}, "exam_report.carrier.display_name"),
        ({"carrier": CarrierData(display_name="Road Co")}, "exam_report.carrier.address"),
    ],
)
def test_a_discrepancy_makes_the_shaded_area_mandatory(
    change: dict[str, object], field: str
) -> None:
    assert fields(replace(WITH_DISCREPANCY, **change)) == [field]


def test_a_discrepancy_needs_the_full_driver_data() -> None:
    assert fields(replace(WITH_DISCREPANCY, driver=DriverData())) == [
        "exam_report.driver.full_name",
        "exam_report.driver.date_of_birth",
        "exam_report.driver.nationality",
        "exam_report.driver.identity_document.type",
        "exam_report.driver.identity_document.number",
    ]


def test_seized_merchandise_needs_the_case_or_seizure_number() -> None:
    seized = replace(WITH_DISCREPANCY, merchandise_seized=True)

    assert fields(seized) == ["exam_report.seizure_case_number"]
    assert fields(replace(seized, seizure_case_number="SZ-114")) == []


def test_without_a_discrepancy_there_are_no_findings_and_no_seizure() -> None:
    form = replace(CLEAN, discrepancies=WITH_DISCREPANCY.discrepancies, merchandise_seized=True)

    assert fields(form) == ["exam_report.discrepancies", "exam_report.merchandise_seized"]


def test_without_a_discrepancy_the_shaded_area_may_stay_empty() -> None:
    assert fields(replace(CLEAN, carrier=CarrierData(), driver=DriverData())) == []


def test_reason_other_needs_a_written_reason_and_the_approval() -> None:
    other = replace(CLEAN, reason=ExaminationReason.OTHER)

    assert fields(other) == ["exam_report.other_reason", "exam_report.override"]
    assert (
        fields(replace(other, other_reason="Seal differs from the B/L", override_id="ov-1")) == []
    )


@pytest.mark.parametrize(
    ("discrepancy", "field"),
    [
        (Discrepancy(type=None), "type"),
        (
            Discrepancy(DiscrepancyType.QUANTITY, found_quantity=Quantity(1, "NAR")),
            "declared_quantity",
        ),
        (Discrepancy(DiscrepancyType.VALUE, declared_value=Money("USD", 10, 0)), "found_value"),
        (Discrepancy(DiscrepancyType.CLASSIFICATION, declared_hs_code="610910"), "found_hs_code"),
        (Discrepancy(DiscrepancyType.ORIGIN, declared_origin_country="CN"), "found_origin_country"),
    ],
)
def test_each_finding_carries_what_proves_its_type(discrepancy: Discrepancy, field: str) -> None:
    form = replace(WITH_DISCREPANCY, discrepancies=(*WITH_DISCREPANCY.discrepancies, discrepancy))

    assert fields(form) == [f"exam_report.discrepancies[1].{field}"]


def test_findings_described_only_in_words_need_no_figures() -> None:
    form = replace(
        WITH_DISCREPANCY,
        discrepancies=(Discrepancy(DiscrepancyType.CONCEALMENT, description="false floor"),),
    )

    assert fields(form) == []


def test_the_signature_cannot_precede_the_examination_or_lie_in_the_future() -> None:
    assert fields(CLEAN, sign_time=EXAMINED - timedelta(minutes=1)) == ["sign_time"]
    assert fields(CLEAN, sign_time=NOW + timedelta(hours=1)) == ["sign_time"]
    # A tablet clock a little ahead of the server's is tolerated.
    assert fields(CLEAN, sign_time=NOW + timedelta(minutes=2)) == []


def test_an_examination_in_the_future_is_refused() -> None:
    later = NOW + timedelta(hours=2)

    assert "exam_report.examination_time" in fields(
        replace(CLEAN, examination_time=later), sign_time=later
    )


def test_check_submission_raises_with_every_violation_at_once() -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_submission(replace(CLEAN, broker_name="", importer_number=""), SIGNED, NOW)

    assert [v.field for v in raised.value.field_violations] == [
        "exam_report.importer_number",
        "exam_report.broker_name",
    ]


def _examination(*, criteria: tuple[str, ...], random: bool) -> Examination:
    decision = SelectivityDecision(
        assessment="assessments/a-1",
        declaration_number="DCL-1",
        declaration_version=1,
        office_id="PORT1",
        importer=TraderReference("IMP-77", "Acme Imports"),
        broker=None,
        carrier=None,
        channel=Channel.RED,
        examination_level=ExaminationLevel.COMMERCIAL_SAMPLE,
        documents_to_check=(),
        examiner_instructions=("Open five cartons.",),
        random_selection=random,
        matched_criteria=criteria,
        selected_criteria=tuple(SelectedCriterion(name, 1, 0) for name in criteria),
        decide_time=NOW - timedelta(hours=3),
    )
    return open_examination("e-1", "event-1", decision, NOW - timedelta(hours=3))


def test_the_header_must_match_the_examination() -> None:
    examination = _examination(criteria=("criteria/c-1",), random=False)

    check_matches_examination(CLEAN, examination)
    with pytest.raises(FailedPrecondition) as raised:
        check_matches_examination(
            replace(CLEAN, importer_number="IMP-99", customs_office_id="AIRPORT"),
            examination,
        )

    assert raised.value.reason == "REPORT_DOES_NOT_MATCH_EXAMINATION"
    assert len(raised.value.violations) == 2


def test_the_reason_must_be_how_the_system_designated_the_shipment() -> None:
    by_criteria = _examination(criteria=("criteria/c-1",), random=False)
    by_both = _examination(criteria=("criteria/c-1",), random=True)
    random_form = replace(CLEAN, reason=ExaminationReason.RANDOM)

    with pytest.raises(FailedPrecondition):
        check_matches_examination(random_form, by_criteria)
    check_matches_examination(random_form, by_both)
    check_matches_examination(CLEAN, by_both)


def test_reason_other_naming_an_override_that_does_not_exist_is_refused() -> None:
    other = replace(CLEAN, reason=ExaminationReason.OTHER, other_reason="x" * 20, override_id="o")

    with pytest.raises(FailedPrecondition) as raised:
        check_override_approved_before_examination(other, None)

    assert raised.value.reason == "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION"
    check_override_approved_before_examination(CLEAN, None)


ANNA = Officer(
    "anna", "Anna Wanjiru", "B-17", "PORT1", OfficerRole.INSPECTOR, "anna", True, NOW, NOW
)


def test_a_resent_submission_returns_the_stored_report_whatever_its_state() -> None:
    report = submitted_report(None, "r-1", CLEAN, ANNA, SIGNED, "fp-1", NOW)

    assert resent_submission(None, "fp-1") is None
    assert resent_submission(report, "fp-1") is report
    approved = replace(report, state=ExamReportState.APPROVED)
    assert resent_submission(approved, "fp-1") is approved


def test_a_submitted_report_cannot_be_replaced_by_other_content() -> None:
    report = submitted_report(None, "r-1", CLEAN, ANNA, SIGNED, "fp-1", NOW)

    with pytest.raises(FailedPrecondition) as raised:
        resent_submission(report, "fp-2")

    assert raised.value.reason == "REPORT_ALREADY_SUBMITTED"


def test_a_returned_report_is_resubmitted_with_corrections() -> None:
    first = submitted_report(None, "r-1", CLEAN, ANNA, SIGNED, "fp-1", NOW)
    returned = replace(first, state=ExamReportState.RETURNED)

    assert resent_submission(returned, "fp-2") is None
    again = submitted_report(returned, "r-1", CLEAN, ANNA, NOW, "fp-2", NOW)
    assert again.state is ExamReportState.SUBMITTED
    assert again.submission_count == 2
    assert again.version == first.version + 1
