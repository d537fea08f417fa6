"""Recorded declarations, reporting periods, and what verification findings mean."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from compliance.domain.declarations import (
    AssessedDeclaration,
    AssessedItem,
    Channel,
    hs_level,
    record_assessment,
)
from compliance.domain.interventions import audited_role, findings_needing_intervention
from compliance.domain.outcomes import (
    ALL_AREAS,
    AuditFinding,
    AuditFindingAction,
    AuditOutcome,
    AuditSelectionBasis,
    ComplianceArea,
    DiscrepancyType,
    ExaminationDiscrepancy,
    ExaminationOutcome,
)
from compliance.domain.periods import Period, period
from compliance.domain.traders import TraderRole
from compliance.domain.values import Amount, Party
from compliance.entrypoints.mappers import amount, money
from customs_kit.errors import InvalidArgument

LODGED = datetime(2025, 3, 10, 9, tzinfo=UTC)


def eur(value: str) -> Amount:
    return Amount("EUR", Decimal(value))


def assessed(
    *items: AssessedItem, version: int = 1, decided: datetime = LODGED
) -> AssessedDeclaration:
    return AssessedDeclaration(
        assessment_id="A1",
        declaration_number="D1",
        declaration_version=version,
        office_id="BEANR",
        lodgement_time=LODGED,
        importer=Party("IMP1", "Importer One"),
        exporter=None,
        broker=Party("B1"),
        carrier=None,
        items=items,
        channel=Channel.GREEN,
        examination_level=None,
        random_selection=False,
        decide_time=decided,
    )


def goods(value: str = "100", duties: str = "10", currency: str = "EUR") -> AssessedItem:
    return AssessedItem(
        1, "610910", "CN", Amount(currency, Decimal(value)), Amount(currency, Decimal(duties)), 10
    )


def test_a_record_totals_its_items_exactly() -> None:
    record = record_assessment(assessed(goods("0.10", "0.01"), goods("0.20", "0.02")), LODGED)

    assert record.total_customs_value == Decimal("0.30")
    assert record.total_duties == Decimal("0.03")
    assert record.currency == "EUR"
    assert record.current


def test_a_declaration_in_two_currencies_cannot_be_recorded() -> None:
    with pytest.raises(InvalidArgument) as raised:
        record_assessment(assessed(goods(), goods(currency="USD")), LODGED)

    assert raised.value.reason == "MIXED_CURRENCIES"
    field = raised.value.field_violations[0].field
    assert field == "assessed_declaration.items[1].customs_value.currency_code"


def test_the_parties_of_a_declaration_are_named_with_their_roles() -> None:
    parties = assessed(goods()).parties()

    assert parties == [
        (TraderRole.IMPORTER, Party("IMP1", "Importer One")),
        (TraderRole.BROKER, Party("B1")),
    ]


def test_a_higher_version_or_a_later_decision_replaces_a_record() -> None:
    first = record_assessment(assessed(goods()), LODGED)
    amended = record_assessment(assessed(goods(), version=2), LODGED)
    reassessed = record_assessment(assessed(goods(), decided=LODGED + timedelta(hours=1)), LODGED)

    assert amended.replaces(first.version)
    assert reassessed.replaces(first.version)
    assert not first.replaces(amended.version)
    assert not first.replaces(first.version)


def test_commodities_are_grouped_at_six_digits_unless_asked_otherwise() -> None:
    assert hs_level(0) == 6
    assert hs_level(4) == 4
    with pytest.raises(InvalidArgument):
        hs_level(3)


def test_a_period_covers_whole_utc_days() -> None:
    march = period("2025-03-01", "2025-03-31", max_days=366)

    assert march.days == 31
    assert march.contains(datetime(2025, 3, 31, 23, 59, tzinfo=UTC))
    assert not march.contains(datetime(2025, 4, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2025-02-30", "2025-03-01", "start_date"),
        ("2025-03-02", "2025-03-01", "end_date"),
        ("2024-01-01", "2025-01-01", "end_date"),
    ],
)
def test_an_impossible_or_too_long_period_names_the_field(start: str, end: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        period(start, end, max_days=366)

    assert raised.value.field_violations[0].field == field


def test_a_leap_year_fits_in_a_ranking_period() -> None:
    assert period("2024-01-01", "2024-12-31", max_days=366) == Period(
        date(2024, 1, 1), date(2024, 12, 31)
    )


def examination(*discrepancies: ExaminationDiscrepancy, found: bool = True) -> ExaminationOutcome:
    return ExaminationOutcome(
        exam_report_id="R1",
        examination_id="X1",
        assessment_id="A1",
        declaration_number="D1",
        declaration_version=1,
        office_id="BEANR",
        importer=Party("IMP1"),
        broker=None,
        carrier=None,
        channel="RED",
        examination_level="COMMERCIAL_SAMPLE",
        random_selection=True,
        discrepancy_found=found,
        discrepancies=discrepancies,
        penalty_recommended=False,
        merchandise_seized=False,
        approve_time=LODGED,
        examine_time=LODGED,
    )


def test_examination_discrepancies_are_read_as_compliance_areas() -> None:
    value = ExaminationDiscrepancy(DiscrepancyType.VALUE, 1, "", "")
    short = ExaminationDiscrepancy(DiscrepancyType.QUANTITY, None, "", "")

    assert examination(value, short).noncompliant_areas == {
        ComplianceArea.DOCUMENTARY,
        ComplianceArea.TRANSPORT,
    }
    assert examination(found=False).noncompliant_areas == frozenset()


def test_a_discrepancy_reported_without_detail_counts_against_every_area() -> None:
    assert examination().noncompliant_areas == ALL_AREAS


def finding(
    *numbers: str, unpaid: str | None = None, action: AuditFindingAction = AuditFindingAction.NONE
) -> AuditFinding:
    return AuditFinding(
        finding="auditCases/C1/findings/F1",
        discrepancy_types=(DiscrepancyType.ORIGIN,),
        declaration_numbers=numbers,
        description="Preference claimed without a certificate of origin.",
        unpaid_duty=eur(unpaid) if unpaid else None,
        action=action,
    )


def audit(*findings: AuditFinding) -> AuditOutcome:
    return AuditOutcome(
        audit_case="auditCases/C1",
        trader=Party("IMP1"),
        selection_basis=AuditSelectionBasis.RANDOM,
        audited_declaration_numbers=("D1", "D2"),
        compliant=not findings,
        findings=findings,
        total_unpaid_duty=None,
        report_time=LODGED,
    )


def test_an_audit_finding_applies_to_the_declarations_it_names() -> None:
    report = audit(finding("D2", unpaid="150.00"))

    assert report.noncompliant_areas_of("D1") == frozenset()
    assert report.noncompliant_areas_of("D2") == {
        ComplianceArea.DOCUMENTARY,
        ComplianceArea.REVENUE,
    }


def test_a_finding_about_the_traders_procedures_applies_to_every_audited_declaration() -> None:
    report = audit(finding())

    assert report.noncompliant_areas_of("D1") == {ComplianceArea.DOCUMENTARY}
    assert report.noncompliant_areas_of("D2") == {ComplianceArea.DOCUMENTARY}


def test_only_findings_calling_for_an_intervention_open_one() -> None:
    wanted = finding("D1", action=AuditFindingAction.COMPLIANCE_INTERVENTION)
    penalty = replace(finding("D2"), action=AuditFindingAction.ADMINISTRATIVE_PENALTY)

    assert findings_needing_intervention(audit(wanted, penalty)) == [wanted]


def test_an_audited_trader_is_counselled_as_importer_before_broker() -> None:
    assert audited_role(frozenset({TraderRole.BROKER, TraderRole.IMPORTER})) is TraderRole.IMPORTER
    assert audited_role(frozenset({TraderRole.CARRIER, TraderRole.BROKER})) is TraderRole.BROKER
    assert audited_role(frozenset()) is TraderRole.IMPORTER


@pytest.mark.parametrize("text", ["1234.56", "-1234.56", "0.000000001", "-0.5", "0"])
def test_money_crosses_the_wire_exactly_with_one_sign(text: str) -> None:
    wire = money(eur(text))

    assert amount(wire) == eur(text)
    assert wire.units * wire.nanos >= 0
