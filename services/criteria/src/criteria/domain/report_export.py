"""The oversight report as a committee reads it: plain text, or CSV for a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from criteria.domain.outcomes import Amount
from criteria.domain.oversight import OversightCriterion, OversightReport
from customs_kit.checkpoints import AnchorCheck, AnchorState

_RULE = "=" * 78
_ENUM_PREFIXES = (
    "RISK_AREA_",
    "CRITERION_STATE_",
    "RECOMMENDATION_KIND_",
    "CHANGE_KIND_",
)

#: The CSV columns, one row per criterion.
CSV_COLUMNS = (
    "criterion",
    "title",
    "risk_profile",
    "risk_area",
    "state",
    "active_revision",
    "inactivate_time",
    "examinations",
    "discrepancies",
    "hit_rate",
    "hit_rate_lower_95",
    "hit_rate_upper_95",
    "random_examinations",
    "random_discrepancies",
    "random_discrepancy_rate",
    "lift",
    "seizures",
    "penalties_recommended",
    "revenue_found",
    "revenue_currency",
    "audit_findings",
    "audit_duty_assessed",
    "audit_duty_currency",
    "consecutive_negative_results",
    "last_discrepancy_time",
    "disparity_findings",
)


def _label(enum_name: str) -> str:
    for prefix in _ENUM_PREFIXES:
        if enum_name.startswith(prefix):
            return enum_name.removeprefix(prefix).lower().replace("_", " ")
    return enum_name


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _decimal(amount: Amount | None) -> str:
    if amount is None:
        return ""
    value = (Decimal(amount.units) + Decimal(amount.nanos).scaleb(-9)).normalize()
    exponent = value.as_tuple().exponent
    # Cents at least (1250.50), every significant digit beyond them (0.125).
    return f"{value:.2f}" if isinstance(exponent, int) and exponent >= -2 else f"{value:f}"


def _money(amount: Amount | None) -> str:
    return f"{_decimal(amount)} {amount.currency_code}" if amount is not None else "-"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: frozenset[int]) -> str:
    if not rows:
        return "  (none)"
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        aligned = (
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        )
        return ("  " + "  ".join(aligned)).rstrip()

    separator = "  " + "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), separator, *(line(row) for row in rows)])


def _section(number: int, title: str, count: int | None, body: str) -> str:
    heading = f"{number}. {title}" + (f" ({count})" if count is not None else "")
    return f"{heading}\n{'-' * len(heading)}\n{body}"


def _criterion_row(item: OversightCriterion) -> list[str]:
    p = item.performance
    interval = p.hit_rate_interval
    return [
        f"criteria/{item.criterion_id}",
        item.title,
        _label(item.risk_area),
        _label(item.standing.state.value),
        str(item.standing.active_revision),
        str(p.examinations),
        str(p.discrepancies),
        _percent(p.hit_rate),
        f"{interval.lower * 100:.1f}-{interval.upper * 100:.1f} %",
        _percent(p.random_discrepancy_rate) if p.random_examinations else "-",
        f"{p.lift:.2f}" if p.lift is not None else "-",
        str(p.seizures),
        _money(p.revenue_found),
        str(p.audit_findings),
        str(p.consecutive_negative_results),
        _time(item.standing.inactivate_time) or "-",
    ]


_ANCHOR_NOTES = {
    AnchorState.ANCHORED: "the history agrees with it",
    AnchorState.REWRITTEN: "THE HISTORY WAS REWRITTEN since it was signed",
    AnchorState.CHECKPOINT_INVALID: "NOT SIGNED by this service's key",
    AnchorState.CHAIN_BROKEN: "not compared: the history is broken before it",
}
_UNCOMPARED = {
    AnchorState.NO_CHECKPOINT: "none kept by audit-referral yet",
    AnchorState.KEEPER_UNAVAILABLE: "audit-referral unreachable: history checked on its own",
    AnchorState.UNANCHORED: "none: no signing key is configured",
}


def _checkpoint(anchor: AnchorCheck | None) -> str:
    """The latest signed checkpoint of the history's head and how the history compares."""
    if anchor is None or anchor.checkpoint is None:
        state = anchor.state if anchor is not None else AnchorState.UNANCHORED
        return _UNCOMPARED.get(state, "none")
    checkpoint = anchor.checkpoint
    return (
        f"sequence {checkpoint.sequence}, head hash {checkpoint.head_hash}, signed "
        f"{_time(checkpoint.sign_time)}, kept by audit-referral: {_ANCHOR_NOTES[anchor.state]}"
    )


def render_text(report: OversightReport) -> str:
    """The report as sectioned plain text with aligned columns."""
    if report.history_intact:
        history = f"intact (head hash {report.history_head_hash or 'none'})"
    else:
        history = "NOT INTACT: the history was altered; run VerifyHistory before relying on it"
    header = "\n".join(
        [
            _RULE,
            "CRITERIA OVERSIGHT REPORT",
            _RULE,
            f"Period:     {_time(report.start_time)} to {_time(report.end_time)} (end excluded)",
            f"Generated:  {_time(report.generate_time)}",
            f"History:    {history}",
            f"Checkpoint: {_checkpoint(report.history_anchor)}",
        ]
    )
    criteria = _table(
        [
            "Criterion",
            "Title",
            "Risk area",
            "State",
            "Rev",
            "Exams",
            "Discr",
            "Hit rate",
            "95 % CI",
            "Random",
            "Lift",
            "Seized",
            "Revenue found",
            "Audits",
            "Neg run",
            "Inactivated",
        ],
        [_criterion_row(item) for item in report.criteria],
        frozenset({4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}),
    )
    approvals = _table(
        ["Criterion", "Rev", "Author", "Approver", "Approved", "Impact analysis", "Justification"],
        [
            [
                a.criterion,
                str(a.revision),
                a.author,
                a.approver,
                _time(a.approve_time),
                a.impact_analysis.rpartition("/")[2],
                a.capacity_justification or "-",
            ]
            for a in report.approvals
        ],
        frozenset({1}),
    )
    analysts = _table(
        [
            "Analyst",
            "Created",
            "Revisions",
            "Submitted",
            "Approved",
            "Rejected",
            "Suspended",
            "Retired",
            "Lists",
            "Rec accepted",
            "Rec dismissed",
        ],
        [
            [
                a.analyst,
                *(
                    str(n)
                    for n in (
                        a.criteria_created,
                        a.revisions,
                        a.submissions,
                        a.approvals_received,
                        a.rejections_received,
                        a.suspensions,
                        a.retirements,
                        a.named_list_changes,
                        a.recommendations_accepted,
                        a.recommendations_dismissed,
                    )
                ),
            ]
            for a in report.analysts
        ],
        frozenset(range(1, 11)),
    )
    changes = _table(
        ["Seq", "Time", "Resource", "Change", "Actor", "Reason"],
        [
            [
                str(e.sequence),
                _time(e.change_time),
                e.resource,
                _label(e.kind.value),
                e.actor,
                " ".join(e.reason.split()),
            ]
            for e in report.changes
        ],
        frozenset({0}),
    )
    pending = _table(
        ["Recommendation", "Criterion", "Kind", "Trader", "Created", "Rationale"],
        [
            [
                r.name,
                r.criterion,
                _label(r.kind.value),
                r.trader_id or "-",
                _time(r.create_time),
                r.rationale,
            ]
            for r in report.pending_recommendations
        ],
        frozenset(),
    )
    disparity = report.disparity
    if not disparity.available:
        disparity_body = "  Not available: scoring did not answer; ask for the report again."
    else:
        disparity_body = (
            f"  {disparity.declarations} declarations, {disparity.random_outcomes} random-"
            "examination outcomes. A segment is flagged when\n"
            "  its selection rate relative to the rest exceeds its random-arm hit rate\n"
            "  relative to the rest (one-sided test, Benjamini-Hochberg adjusted p < 0.05).\n\n"
            + _table(
                ["Selector", "Dimension", "Segment", "Disparity", "Adj. p", "Driving criteria"],
                [
                    [
                        f.selector,
                        f.dimension,
                        f.segment,
                        f"{f.disparity_ratio:.2f}",
                        f"{f.adjusted_p_value:.3g}",
                        ", ".join(f.driving_criteria) or "-",
                    ]
                    for f in disparity.findings
                ],
                frozenset({3, 4}),
            )
        )
    sections = [
        header,
        _section(1, "Criteria active or inactivated in the period", len(report.criteria), criteria),
        _section(2, "Approvals", len(report.approvals), approvals),
        _section(3, "Activity by analyst", None, analysts),
        _section(4, "Changes recorded", len(report.changes), changes),
        _section(5, "Recommendations pending", len(report.pending_recommendations), pending),
        _section(
            6,
            "Disparity: segments selected more than their risk justifies",
            len(disparity.findings) if disparity.available else None,
            disparity_body,
        ),
    ]
    return "\n\n".join(sections) + "\n"


def render_csv(report: OversightReport) -> str:
    """The report's criteria as RFC 4180 CSV (CRLF line ends, a header row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.criteria:
        p = item.performance
        writer.writerow(
            [
                f"criteria/{item.criterion_id}",
                item.title,
                item.risk_profile,
                _label(item.risk_area),
                _label(item.standing.state.value),
                item.standing.active_revision,
                _iso(item.standing.inactivate_time),
                p.examinations,
                p.discrepancies,
                f"{p.hit_rate:.4f}",
                f"{p.hit_rate_interval.lower:.4f}",
                f"{p.hit_rate_interval.upper:.4f}",
                p.random_examinations,
                p.random_discrepancies,
                f"{p.random_discrepancy_rate:.4f}",
                f"{p.lift:.4f}" if p.lift is not None else "",
                p.seizures,
                p.penalties_recommended,
                _decimal(p.revenue_found),
                p.revenue_found.currency_code if p.revenue_found else "",
                p.audit_findings,
                _decimal(p.audit_duty_assessed),
                p.audit_duty_assessed.currency_code if p.audit_duty_assessed else "",
                p.consecutive_negative_results,
                _iso(p.last_discrepancy_time),
                "; ".join(
                    f"{f.dimension}={f.segment} ({f.disparity_ratio:.2f})"
                    for f in report.disparity.findings_of(f"criteria/{item.criterion_id}")
                ),
            ]
        )
    return buffer.getvalue()
