"""The oversight report for the Risk Management Committee's monthly meeting.

Steps 19 and 20 of the handbook ask the committee to see what the criteria
did and who changed them: which were applied in the period and with what
results, every recorded change and approval, each analyst's activity, the
recommendations still awaiting a decision, and whether the history is intact.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from criteria.domain.history import ChangeKind, HistoryEntry
from criteria.domain.model import SYSTEM_SUBJECT, CriterionState
from criteria.domain.performance import CriterionPerformance
from criteria.domain.recommendations import Recommendation, RecommendationState
from customs_kit.checkpoints import AnchorCheck

_INACTIVE = frozenset({CriterionState.SUSPENDED, CriterionState.RETIRED, CriterionState.EXPIRED})


@dataclass(frozen=True)
class StateChange:
    """A criterion's state and applied revision from ``time`` on (one recorded version)."""

    time: datetime
    state: CriterionState
    active_revision: int


@dataclass(frozen=True)
class Standing:
    """Where a criterion stood at the end of a period.

    ``inactivate_time`` is when it last stopped being applied during the
    period; ``None`` if it did not.
    """

    state: CriterionState
    active_revision: int
    inactivate_time: datetime | None


def standing(timeline: Sequence[StateChange], start: datetime, end: datetime) -> Standing | None:
    """The criterion's standing if it was active at ``end`` or inactivated in the period.

    ``timeline`` is its versions in order; those at or after ``end`` are ignored.
    """
    before_end = [change for change in timeline if change.time < end]
    if not before_end:
        return None
    inactivated = None
    for previous, current in pairwise(before_end):
        if (
            previous.state is CriterionState.ACTIVE
            and current.state in _INACTIVE
            and start <= current.time
        ):
            inactivated = current.time
    last = before_end[-1]
    if last.state is not CriterionState.ACTIVE and inactivated is None:
        return None
    return Standing(last.state, last.active_revision, inactivated)


def applied_during(timeline: Sequence[StateChange], start: datetime, end: datetime) -> bool:
    """Whether the criterion was ACTIVE at some time in ``[start, end)``."""
    state_at_start = None
    for change in timeline:
        if change.time <= start:
            state_at_start = change.state
        elif change.time < end and change.state is CriterionState.ACTIVE:
            return True
    return state_at_start is CriterionState.ACTIVE


@dataclass(frozen=True)
class OversightCriterion:
    """One criterion of the report with its results for the period."""

    criterion_id: str
    title: str
    risk_profile: str
    risk_area: str
    standing: Standing
    performance: CriterionPerformance


@dataclass(frozen=True)
class OversightApproval:
    """One approval of the period: who wrote the revision, who approved it, on what basis."""

    criterion: str
    revision: int
    author: str
    approver: str
    approve_time: datetime
    impact_analysis: str
    capacity_justification: str


@dataclass(frozen=True)
class PeriodChange:
    """A history entry of the period with the criterion revision it concerns, if any.

    ``revision`` and ``revision_author`` are the criterion's latest revision
    right after the change (the one approved or rejected); 0 and "" for
    profiles and lists.
    """

    entry: HistoryEntry
    revision: int
    revision_author: str


@dataclass(frozen=True)
class AnalystActivity:
    """One person's activity in the period."""

    analyst: str
    criteria_created: int = 0
    revisions: int = 0
    submissions: int = 0
    approvals_received: int = 0
    rejections_received: int = 0
    suspensions: int = 0
    retirements: int = 0
    named_list_changes: int = 0
    recommendations_accepted: int = 0
    recommendations_dismissed: int = 0


@dataclass(frozen=True)
class Decision:
    """A recommendation decided in the period, by whom."""

    decided_by: str
    state: RecommendationState


@dataclass(frozen=True)
class DisparityFinding:
    """A segment selected significantly more than its risk justifies (scoring's monitor).

    ``dimension`` is ``origin_country``, ``importer_size``, ``approved_trader``,
    ``office`` or ``transport_mode``; ``driving_criteria`` are criterion names.
    """

    selector: str
    dimension: str
    segment: str
    disparity_ratio: float
    adjusted_p_value: float
    driving_criteria: tuple[str, ...]


@dataclass(frozen=True)
class DisparitySection:
    """The period's disparity findings; ``available`` False when scoring did not answer."""

    available: bool
    declarations: int = 0
    random_outcomes: int = 0
    findings: tuple[DisparityFinding, ...] = ()

    def findings_of(self, criterion: str) -> tuple[DisparityFinding, ...]:
        """The findings that name ``criterion`` (``criteria/{id}``) among their drivers."""
        return tuple(f for f in self.findings if criterion in f.driving_criteria)


@dataclass(frozen=True)
class OversightReport:
    """The committee's view of ``[start_time, end_time)``."""

    start_time: datetime
    end_time: datetime
    generate_time: datetime
    criteria: tuple[OversightCriterion, ...]
    changes: tuple[HistoryEntry, ...]
    approvals: tuple[OversightApproval, ...]
    analysts: tuple[AnalystActivity, ...]
    pending_recommendations: tuple[Recommendation, ...]
    history_intact: bool
    history_head_hash: str
    #: The history compared with the latest signed checkpoint audit_referral keeps.
    history_anchor: AnchorCheck | None = None
    #: Disparity monitoring of the period (from scoring, where the decisions are).
    disparity: DisparitySection = DisparitySection(available=False)


def _note(entry: HistoryEntry, path: str) -> str:
    for change in entry.field_changes:
        if change.path == path and change.new_value:
            value = json.loads(change.new_value)
            return value if isinstance(value, str) else change.new_value
    return ""


def approvals(changes: Iterable[PeriodChange]) -> tuple[OversightApproval, ...]:
    """The approvals among the period's changes, in order."""
    return tuple(
        OversightApproval(
            criterion=change.entry.resource,
            revision=change.revision,
            author=change.revision_author,
            approver=change.entry.actor,
            approve_time=change.entry.change_time,
            impact_analysis=_note(change.entry, "impact_analysis"),
            capacity_justification=_note(change.entry, "capacity_justification"),
        )
        for change in changes
        if change.entry.kind is ChangeKind.APPROVED
    )


_ACTOR_COUNTERS = {
    ChangeKind.SUBMITTED: "submissions",
    ChangeKind.SUSPENDED: "suspensions",
    ChangeKind.RETIRED: "retirements",
}
_AUTHOR_COUNTERS = {
    ChangeKind.APPROVED: "approvals_received",
    ChangeKind.REJECTED: "rejections_received",
}
_LIST_KINDS = frozenset({ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.DELETED})


def analyst_activity(
    changes: Iterable[PeriodChange], decisions: Iterable[Decision]
) -> tuple[AnalystActivity, ...]:
    """Each person's activity (the system's own changes left out), by subject."""
    counts: dict[str, Counter[str]] = {}

    def count(subject: str, counter: str) -> None:
        if subject and subject != SYSTEM_SUBJECT:
            counts.setdefault(subject, Counter())[counter] += 1

    for change in changes:
        entry = change.entry
        if entry.resource.startswith("criteria/"):
            if entry.kind is ChangeKind.CREATED:
                count(entry.actor, "criteria_created")
            elif entry.kind is ChangeKind.UPDATED:
                count(entry.actor, "revisions")
            elif entry.kind in _ACTOR_COUNTERS:
                count(entry.actor, _ACTOR_COUNTERS[entry.kind])
            elif entry.kind in _AUTHOR_COUNTERS:
                count(change.revision_author, _AUTHOR_COUNTERS[entry.kind])
        elif entry.resource.startswith("namedLists/") and entry.kind in _LIST_KINDS:
            count(entry.actor, "named_list_changes")
    for decision in decisions:
        if decision.state is RecommendationState.ACCEPTED:
            count(decision.decided_by, "recommendations_accepted")
        elif decision.state is RecommendationState.DISMISSED:
            count(decision.decided_by, "recommendations_dismissed")
    return tuple(
        AnalystActivity(
            analyst=subject,
            criteria_created=tally["criteria_created"],
            revisions=tally["revisions"],
            submissions=tally["submissions"],
            approvals_received=tally["approvals_received"],
            rejections_received=tally["rejections_received"],
            suspensions=tally["suspensions"],
            retirements=tally["retirements"],
            named_list_changes=tally["named_list_changes"],
            recommendations_accepted=tally["recommendations_accepted"],
            recommendations_dismissed=tally["recommendations_dismissed"],
        )
        for subject, tally in sorted(counts.items())
    )
