"""Which criteria the committee's report shows, who did what, and how it is rendered."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from criteria.domain.history import ChangeKind, FieldChange, HistoryEntry
from criteria.domain.model import CriterionState
from criteria.domain.outcomes import Amount
from criteria.domain.oversight import (
    Decision,
    DisparityFinding,
    DisparitySection,
    OversightCriterion,
    OversightReport,
    PeriodChange,
    Standing,
    StateChange,
    analyst_activity,
    applied_during,
    approvals,
    standing,
)
from criteria.domain.performance import CriterionPerformance, Interval
from criteria.domain.recommendations import RecommendationState
from criteria.domain.report_export import CSV_COLUMNS, render_csv, render_text

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)
DRAFT, ACTIVE = CriterionState.DRAFT, CriterionState.ACTIVE
SUSPENDED, RETIRED = CriterionState.SUSPENDED, CriterionState.RETIRED


def at(days: int) -> datetime:
    return START + timedelta(days=days)


def test_a_criterion_active_at_the_end_of_the_period_is_reported() -> None:
    timeline = [StateChange(at(-30), DRAFT, 0), StateChange(at(-20), ACTIVE, 1)]

    assert standing(timeline, START, END) == Standing(ACTIVE, 1, None)


def test_a_criterion_suspended_in_the_period_is_reported_with_when() -> None:
    timeline = [StateChange(at(-20), ACTIVE, 1), StateChange(at(10), SUSPENDED, 1)]

    assert standing(timeline, START, END) == Standing(SUSPENDED, 1, at(10))


def test_a_criterion_retired_before_the_period_or_never_approved_is_left_out() -> None:
    retired_before = [StateChange(at(-20), ACTIVE, 1), StateChange(at(-5), RETIRED, 1)]
    never_approved = [StateChange(at(1), DRAFT, 0)]
    approved_after = [StateChange(at(40), ACTIVE, 1)]

    assert standing(retired_before, START, END) is None
    assert standing(never_approved, START, END) is None
    assert standing(approved_after, START, END) is None


def test_a_criterion_is_applied_during_a_period_it_was_active_for_part_of() -> None:
    assert applied_during([StateChange(at(-5), ACTIVE, 1)], START, END)
    assert applied_during([StateChange(at(5), ACTIVE, 1)], START, END)
    assert not applied_during(
        [StateChange(at(-9), ACTIVE, 1), StateChange(at(-5), RETIRED, 1)], START, END
    )
    assert not applied_during([StateChange(at(35), ACTIVE, 1)], START, END)


def entry(
    sequence: int, resource: str, kind: ChangeKind, actor: str, *notes: FieldChange
) -> HistoryEntry:
    return HistoryEntry(
        sequence, resource, kind, actor, (), at(sequence), "", notes, "0" * 64, "f" * 64
    )


def test_approvals_credit_the_revision_author_and_name_the_cited_analysis() -> None:
    approved = entry(
        3,
        "criteria/cigarettes",
        ChangeKind.APPROVED,
        "rita",
        FieldChange("impact_analysis", "", '"criteria/cigarettes/impactAnalyses/a1"'),
        FieldChange("capacity_justification", "", '"port campaign"'),
    )
    changes = [
        PeriodChange(entry(1, "criteria/cigarettes", ChangeKind.CREATED, "ana"), 1, "ana"),
        PeriodChange(entry(2, "criteria/cigarettes", ChangeKind.SUBMITTED, "ana"), 1, "ana"),
        PeriodChange(approved, 1, "ana"),
        PeriodChange(entry(4, "criteria/cigarettes", ChangeKind.SUSPENDED, "sam"), 1, "ana"),
        PeriodChange(entry(5, "namedLists/infringers", ChangeKind.UPDATED, "omar"), 0, ""),
        PeriodChange(entry(6, "criteria/cigarettes", ChangeKind.EXPIRED, "system"), 1, "ana"),
    ]

    (approval,) = approvals(changes)
    activity = {
        a.analyst: a
        for a in analyst_activity(changes, [Decision("omar", RecommendationState.DISMISSED)])
    }

    assert (approval.author, approval.approver, approval.revision) == ("ana", "rita", 1)
    assert approval.impact_analysis == "criteria/cigarettes/impactAnalyses/a1"
    assert approval.capacity_justification == "port campaign"
    assert set(activity) == {"ana", "sam", "omar"}
    ana = activity["ana"]
    assert (ana.criteria_created, ana.submissions, ana.approvals_received) == (1, 1, 1)
    assert activity["sam"].suspensions == 1
    assert activity["omar"].named_list_changes == 1
    assert activity["omar"].recommendations_dismissed == 1


def _report() -> OversightReport:
    performance = CriterionPerformance(
        criterion="criteria/paper",
        title='Paper, "tissue" rolls',
        office_code="",
        start_time=START,
        end_time=END,
        examinations=12,
        discrepancies=3,
        hit_rate=0.25,
        hit_rate_interval=Interval(0.0889, 0.5323, 0.95),
        random_examinations=40,
        random_discrepancies=4,
        random_discrepancy_rate=0.1,
        lift=2.5,
        seizures=1,
        penalties_recommended=0,
        revenue_found=Amount("KRW", 1250, 500_000_000),
        audit_findings=0,
        audit_duty_assessed=None,
        consecutive_negative_results=2,
        last_discrepancy_time=at(3),
    )
    criteria = (
        OversightCriterion(
            "paper",
            'Paper, "tissue" rolls',
            "riskProfiles/paper",
            "RISK_AREA_VALUATION",
            Standing(SUSPENDED, 2, at(20)),
            performance,
        ),
    )
    return OversightReport(
        START,
        END,
        END,
        criteria,
        (entry(1, "criteria/paper", ChangeKind.CREATED, "ana"),),
        (),
        (),
        (),
        True,
        "ab" * 32,
    )


def test_the_csv_export_is_one_quoted_row_per_criterion_with_crlf_line_ends() -> None:
    content = render_csv(_report())

    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert content.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert content.endswith("\r\n")
    (row,) = rows
    assert row["title"] == 'Paper, "tissue" rolls'
    assert (row["state"], row["risk_area"], row["examinations"]) == ("suspended", "valuation", "12")
    assert (row["revenue_found"], row["revenue_currency"]) == ("1250.50", "KRW")
    assert (row["lift"], row["audit_duty_assessed"]) == ("2.5000", "")


def test_the_text_export_has_sections_and_aligned_columns() -> None:
    text = render_text(_report())

    assert "CRITERIA OVERSIGHT REPORT" in text
    assert f"History:    intact (head hash {'ab' * 32})" in text
    for heading in ("1. Criteria", "2. Approvals", "3. Activity", "4. Changes", "5. Recomm"):
        assert f"\n{heading}" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("Criterion "))
    head, rule, row = lines[header : header + 3]
    assert set(rule.strip()) <= {"-", " "}
    assert head.index("Exams") + len("Exams") == row.index("12") + len("12")
    assert "1250.50 KRW" in row
    assert "8.9-53.2 %" in row


def _with_disparity(report: OversightReport) -> OversightReport:
    finding = DisparityFinding(
        "selection", "origin_country", "CN", 2.87, 0.0004, ("criteria/paper", "criteria/other")
    )
    return replace(report, disparity=DisparitySection(True, 480, 120, (finding,)))


def test_the_exports_show_disparity_findings_and_the_criteria_driving_them() -> None:
    report = _with_disparity(_report())

    text = render_text(report)
    (row,) = csv.DictReader(io.StringIO(render_csv(report), newline=""))

    section = text[text.index("\n6. Disparity") :]
    assert "(1)" in section.splitlines()[1]
    assert "480 declarations, 120 random-examination outcomes" in section
    finding = next(line for line in section.splitlines() if "origin_country" in line)
    assert finding.split()[:5] == ["selection", "origin_country", "CN", "2.87", "0.0004"]
    assert finding.rstrip().endswith("criteria/paper, criteria/other")
    assert row["disparity_findings"] == "origin_country=CN (2.87)"


def test_a_report_without_scoring_says_its_disparity_section_is_unavailable() -> None:
    text = render_text(_report())
    (row,) = csv.DictReader(io.StringIO(render_csv(_report()), newline=""))

    assert "6. Disparity: segments selected more than their risk justifies\n" in text
    assert "Not available: scoring did not answer" in text
    assert row["disparity_findings"] == ""
