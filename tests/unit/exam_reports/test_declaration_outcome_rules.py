"""What the declaration system is told once a report is approved, and how revenue adds up."""

from __future__ import annotations

from dataclasses import replace

import pytest
from review_builders import CLEAN, FINDING, NOW, SAM, examination, submitted

from customs_kit.errors import InvalidArgument
from exam_reports.domain.declaration_outcomes import ReleaseDecision, declaration_outcome
from exam_reports.domain.exam_reports import (
    ExamReportForm,
    Money,
    approved_report,
    check_national_currency,
    total_of,
)


def _decision(form: ExamReportForm) -> ReleaseDecision:
    approved = approved_report(submitted(form), SAM, NOW)
    return declaration_outcome(approved, examination()).release_decision


def test_goods_with_nothing_found_are_released() -> None:
    assert _decision(CLEAN) is ReleaseDecision.RELEASED


def test_goods_whose_duties_were_amended_are_held_until_they_are_paid() -> None:
    amended = replace(FINDING, penalty_recommended=False, revenue_found=Money("KRW", 120_000, 0))

    assert _decision(amended) is ReleaseDecision.HELD


def test_goods_with_a_penalty_recommended_are_held() -> None:
    assert _decision(replace(FINDING, revenue_found=None)) is ReleaseDecision.HELD


def test_a_discrepancy_that_changes_neither_duties_nor_calls_for_a_penalty_releases() -> None:
    settled = replace(FINDING, penalty_recommended=False, revenue_found=None)

    assert _decision(settled) is ReleaseDecision.RELEASED


def test_seized_goods_are_seized_whatever_else_the_report_says() -> None:
    seized = replace(
        FINDING,
        merchandise_seized=True,
        seizure_case_number="SZ-9",
        revenue_found=Money("KRW", 5, 0),
    )

    approved = approved_report(submitted(seized), SAM, NOW)
    outcome = declaration_outcome(approved, examination())

    assert outcome.release_decision is ReleaseDecision.SEIZED
    assert outcome.seizure_case_number == "SZ-9"
    assert outcome.amended_duties == Money("KRW", 5, 0)


def test_an_unapproved_report_has_no_outcome_yet() -> None:
    with pytest.raises(ValueError, match="not approved"):
        declaration_outcome(submitted(CLEAN), examination())


def test_revenue_adds_up_exactly_across_the_nanos() -> None:
    amounts = [Money("KRW", 1_250_000, 500_000_000), None, Money("KRW", 49_999, 500_000_000)]

    assert total_of(amounts) == Money("KRW", 1_300_000, 0)
    assert total_of([None]) is None


def test_a_revenue_in_a_foreign_currency_is_refused_naming_its_field() -> None:
    foreign = replace(FINDING, revenue_found=Money("USD", 900, 0))

    with pytest.raises(InvalidArgument) as raised:
        check_national_currency(foreign, "KRW")

    assert [v.field for v in raised.value.field_violations] == [
        "exam_report.revenue_found.currency_code"
    ]
    check_national_currency(replace(FINDING, revenue_found=Money("KRW", 900, 0)), "KRW")
