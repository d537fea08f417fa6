"""Domain objects the review, override and outcome unit tests start from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from exam_reports.domain.exam_reports import (
    CarrierData,
    Discrepancy,
    DiscrepancyType,
    DriverData,
    ExamReport,
    ExamReportForm,
    IdentityDocument,
    IdentityDocumentType,
    Money,
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


def officer(officer_id: str, role: OfficerRole = OfficerRole.INSPECTOR) -> Officer:
    """An active officer of PORT1 whose badge is ``B-{id}``."""
    return Officer(
        id=officer_id,
        display_name=f"Officer {officer_id}",
        badge_number=f"B-{officer_id}",
        office_id="PORT1",
        role=role,
        subject=officer_id,
        active=True,
        create_time=NOW,
        update_time=NOW,
    )


ANNA = officer("anna")
SAM = officer("sam", OfficerRole.SUPERVISOR)
SARA = officer("sara", OfficerRole.SUPERVISOR)


def examination(
    *,
    criteria: tuple[str, ...] = ("criteria/cigarettes-2402",),
    random: bool = False,
    channel: Channel = Channel.RED,
    level: ExaminationLevel = ExaminationLevel.ENFORCEMENT,
    assigned_to: str = "anna",
) -> Examination:
    """A task for DCL-1 at PORT1, assigned to ``assigned_to``."""
    decision = SelectivityDecision(
        assessment="assessments/6f1c2b7e-0d5a-4f7c-9a51-3c2f8e9d0a11",
        declaration_number="DCL-1",
        declaration_version=1,
        office_id="PORT1",
        importer=TraderReference("IMP-77", "Acme Imports"),
        broker=TraderReference("BRK-5", "Fast Brokers"),
        carrier=None,
        channel=channel,
        examination_level=level,
        documents_to_check=(),
        examiner_instructions=("Open five cartons.",),
        random_selection=random,
        matched_criteria=criteria,
        selected_criteria=tuple(SelectedCriterion(name, 1, 0) for name in criteria),
        decide_time=NOW - timedelta(hours=3),
    )
    opened = open_examination("e-1", "event-1", decision, NOW - timedelta(hours=3))
    return opened.assigned_to(assigned_to, NOW - timedelta(hours=3))


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

FINDING = replace(
    CLEAN,
    discrepancy_found=True,
    discrepancy_detail="Declared USD 10,000 of handsets; the invoice found says USD 31,000.",
    discrepancies=(
        Discrepancy(
            type=DiscrepancyType.VALUE,
            item_number=2,
            description="Undervalued handsets",
            declared_value=Money("USD", 10_000, 0),
            found_value=Money("USD", 31_000, 500_000_000),
        ),
    ),
    penalty_recommended=True,
    merchandise_seized=False,
    carrier=CarrierData(display_name="Road Co Ltd", address="1 Depot Road", carrier_number="CAR-9"),
    driver=DriverData(
        full_name="John Kamau Otieno",
        date_of_birth="1980-04-02",
        nationality="KE",
        identity_document=IdentityDocument(IdentityDocumentType.PASSPORT, "A1234567"),
    ),
)


def submitted(form: ExamReportForm = CLEAN, author: Officer = ANNA) -> ExamReport:
    """``form`` as ``author`` submitted it."""
    return submitted_report(None, "r-1", form, author, SIGNED, "fp-1", NOW)
