"""The lifecycle of a criterion under four-eyes control.

draft → submitted → active ⇄ suspended, → retired from anywhere, → expired at
the end of the validity window. Editing a criterion that has an applied
revision (active, suspended or expired) creates an amendment that goes through
submission and approval while scoring keeps applying the approved revision.

Every function here returns the criterion after the change and what it means
for scoring; it changes nothing itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from criteria.domain.history import ChangeKind, FieldChange
from criteria.domain.impact import CapacityExceedance, ImpactAnalysis
from criteria.domain.model import (
    Actor,
    AmendmentState,
    Criterion,
    CriterionContent,
    CriterionState,
    Revision,
)
from customs_kit.errors import (
    Aborted,
    FailedPrecondition,
    PermissionDenied,
    PreconditionViolation,
)

#: Roles whose holders may approve, reject and reactivate criteria.
APPROVER_ROLES = ("rmc", "supervisor")

_APPLIED_BEFORE = (CriterionState.ACTIVE, CriterionState.SUSPENDED, CriterionState.EXPIRED)


class Publication(Enum):
    """What a change means for the active set streamed to scoring."""

    NONE = "none"
    PUBLISH = "publish"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    """A criterion after a change, with what to record and to tell scoring.

    ``notes`` are recorded beside the field differences (e.g. the impact
    analysis an approver cites).
    """

    criterion: Criterion
    kind: ChangeKind
    reason: str
    publication: Publication = Publication.NONE
    notes: tuple[FieldChange, ...] = ()

    @property
    def new_revision(self) -> Revision | None:
        """The content revision this change created, if any."""
        return self.criterion.latest if self.kind is ChangeKind.UPDATED else None


def check_etag(current: str, given: str) -> None:
    """Raises ``Aborted`` (ETAG_MISMATCH) unless ``given`` is the current etag."""
    if given != current:
        raise Aborted("ETAG_MISMATCH", "the etag is not the current one: read again and retry")


def new_criterion(
    criterion_id: str,
    content: CriterionContent,
    risk_area: str,
    author: Actor,
    now: datetime,
) -> Criterion:
    """A criterion in DRAFT, revision 1, written by ``author``."""
    return Criterion(
        id=criterion_id,
        author=author.subject,
        create_time=now,
        version=1,
        state=CriterionState.DRAFT,
        amendment_state=AmendmentState.NONE,
        latest=Revision(1, content, author.subject, now, risk_area),
        active=None,
        approver="",
        approve_time=None,
        update_time=now,
    )


def _changed(criterion: Criterion, now: datetime, **changes: Any) -> Criterion:
    return replace(criterion, version=criterion.version + 1, update_time=now, **changes)


def update(
    criterion: Criterion,
    content: CriterionContent,
    risk_area: str,
    editor: Actor,
    now: datetime,
    reason: str,
) -> Transition:
    """A new content revision.

    A draft stays a draft and a submitted criterion returns to draft; a criterion
    with an applied revision gets a draft amendment and stays applied as it was.
    """
    if criterion.state is CriterionState.RETIRED:
        raise FailedPrecondition("CRITERION_RETIRED", f"{criterion.name} is retired")
    revision = Revision(criterion.revision + 1, content, editor.subject, now, risk_area)
    if criterion.state in _APPLIED_BEFORE:
        state, amendment = criterion.state, AmendmentState.DRAFT
    else:
        state, amendment = CriterionState.DRAFT, AmendmentState.NONE
    after = _changed(criterion, now, latest=revision, state=state, amendment_state=amendment)
    return Transition(after, ChangeKind.UPDATED, reason)


def submit(criterion: Criterion, now: datetime, comment: str) -> Transition:
    """Submits the latest revision (a draft, or a draft amendment) for approval."""
    if criterion.state is CriterionState.DRAFT:
        after = _changed(criterion, now, state=CriterionState.SUBMITTED)
    elif criterion.state in _APPLIED_BEFORE and criterion.amendment_state is AmendmentState.DRAFT:
        after = _changed(criterion, now, amendment_state=AmendmentState.SUBMITTED)
    else:
        raise FailedPrecondition(
            "NOTHING_TO_SUBMIT", f"{criterion.name} has no draft revision to submit"
        )
    return Transition(after, ChangeKind.SUBMITTED, comment)


def _awaits_approval(criterion: Criterion) -> bool:
    return (
        criterion.state is CriterionState.SUBMITTED
        or criterion.amendment_state is AmendmentState.SUBMITTED
    )


def _check_four_eyes(criterion: Criterion, actor: Actor, authors: set[str], action: str) -> None:
    check_four_eyes(criterion.name, "a criterion", actor, authors, action)


def check_four_eyes(
    resource: str, kind: str, actor: Actor, authors: set[str], action: str, wrote: str = "wrote"
) -> None:
    """Four eyes: only an approver who is none of ``authors`` may ``action`` ``resource``.

    Shared by every governed resource (criteria, risk model versions), so one
    rule decides who may approve what. Raises ``PermissionDenied``.
    """
    if not actor.has_any(*APPROVER_ROLES):
        raise PermissionDenied(
            "APPROVER_ROLE_REQUIRED", f"only rmc or supervisor may {action} {kind}"
        )
    if actor.subject in authors:
        raise PermissionDenied(
            "SELF_APPROVAL",
            f"{actor.subject!r} {wrote} {resource} and may not {action} it: "
            "another member of the committee or a supervisor must",
        )


def approve(
    criterion: Criterion,
    approver: Actor,
    *,
    revision: int,
    impact_analysis: str,
    analysis: ImpactAnalysis | None,
    analysis_max_age: timedelta,
    capacity_justification: str,
    comment: str,
    now: datetime,
) -> Transition:
    """Makes the submitted revision the applied one: the criterion becomes ACTIVE.

    The approver must hold an approver role and have written neither the
    criterion nor the revision (four eyes). ``impact_analysis`` is the name of
    the analysis the approver reviewed and ``analysis`` what is stored under
    that name (``None`` if nothing): it must analyse exactly this revision, be
    at most ``analysis_max_age`` old, and, if the revision would push offices
    above their examination capacity, the approver must justify going ahead.
    """
    _check_four_eyes(criterion, approver, {criterion.author, criterion.latest.author}, "approve")
    if not _awaits_approval(criterion):
        raise FailedPrecondition("NOT_SUBMITTED", f"nothing of {criterion.name} awaits approval")
    if revision != criterion.revision:
        raise FailedPrecondition(
            "REVISION_MISMATCH",
            f"revision {revision} is not the submitted revision {criterion.revision}",
        )
    cited = _check_analysis(criterion, impact_analysis, analysis, analysis_max_age, now)
    if criterion.latest.content.ended_by(now):
        raise FailedPrecondition(
            "VALIDITY_ENDED", f"the validity window of {criterion.name} has ended"
        )
    justification = capacity_justification.strip()
    exceeded = cited.capacity_exceedances
    if exceeded and not justification:
        raise FailedPrecondition(
            "CAPACITY_EXCEEDED",
            f"{cited.name} shows {len(exceeded)} office(s) above examination capacity: "
            "approve with a capacity_justification, or lower the selection",
            [_capacity_violation(exceedance) for exceedance in exceeded],
        )
    after = _changed(
        criterion,
        now,
        state=CriterionState.ACTIVE,
        amendment_state=AmendmentState.NONE,
        active=criterion.latest,
        approver=approver.subject,
        approve_time=now,
    )
    notes = [FieldChange("impact_analysis", "", _json_string(impact_analysis))]
    if exceeded:
        offices = [exceedance.office_code for exceedance in exceeded]
        notes.append(
            FieldChange("capacity_exceeded_offices", "", json.dumps(offices, ensure_ascii=False))
        )
    if justification:
        notes.append(FieldChange("capacity_justification", "", _json_string(justification)))
    return Transition(after, ChangeKind.APPROVED, comment, Publication.PUBLISH, tuple(notes))


def _check_analysis(
    criterion: Criterion,
    cited: str,
    analysis: ImpactAnalysis | None,
    max_age: timedelta,
    now: datetime,
) -> ImpactAnalysis:
    """The cited analysis if it analyses the submitted revision and is recent enough."""
    if analysis is None or analysis.name != cited:
        problem = f"is not an impact analysis of {criterion.name}"
    elif analysis.criterion_revision != criterion.revision:
        problem = (
            f"analyses revision {analysis.criterion_revision}, "
            f"not the submitted revision {criterion.revision}"
        )
    else:
        problem = ""
    if analysis is None or problem:
        raise FailedPrecondition(
            "IMPACT_ANALYSIS_REQUIRED",
            f"{cited} {problem}: run AnalyzeImpact on revision {criterion.revision} first",
            [PreconditionViolation("IMPACT_ANALYSIS", cited, problem)],
        )
    age = now - analysis.create_time
    if age > max_age:
        problem = f"was made {_days(age)} ago; the limit is {_days(max_age)}"
        raise FailedPrecondition(
            "IMPACT_ANALYSIS_STALE",
            f"{cited} {problem}: run AnalyzeImpact again",
            [PreconditionViolation("IMPACT_ANALYSIS", cited, problem)],
        )
    return analysis


def _days(age: timedelta) -> str:
    return f"{age.total_seconds() / 86400:.1f} days"


def _capacity_violation(exceedance: CapacityExceedance) -> PreconditionViolation:
    worst = exceedance.worst_utilisation_percent
    level = "without capacity" if math.isinf(worst) else f"at {worst:.0f} % of capacity"
    return PreconditionViolation(
        "CAPACITY",
        f"offices/{exceedance.office_code}",
        f"above examination capacity on {exceedance.days_exceeded} day(s); "
        f"worst {exceedance.worst_day} {level}",
    )


def reject(criterion: Criterion, rejecter: Actor, reason: str, now: datetime) -> Transition:
    """Returns the submitted revision to its author as a draft."""
    _check_four_eyes(criterion, rejecter, {criterion.author, criterion.latest.author}, "reject")
    if criterion.state is CriterionState.SUBMITTED:
        after = _changed(criterion, now, state=CriterionState.DRAFT)
    elif criterion.amendment_state is AmendmentState.SUBMITTED:
        after = _changed(criterion, now, amendment_state=AmendmentState.DRAFT)
    else:
        raise FailedPrecondition("NOT_SUBMITTED", f"nothing of {criterion.name} awaits approval")
    return Transition(after, ChangeKind.REJECTED, reason)


def suspend(criterion: Criterion, reason: str, now: datetime) -> Transition:
    """Withdraws an ACTIVE criterion from scoring until it is reactivated."""
    if criterion.state is not CriterionState.ACTIVE:
        raise FailedPrecondition("NOT_ACTIVE", f"{criterion.name} is not active")
    after = _changed(criterion, now, state=CriterionState.SUSPENDED)
    return Transition(after, ChangeKind.SUSPENDED, reason, Publication.WITHDRAW)


def reactivate(criterion: Criterion, actor: Actor, reason: str, now: datetime) -> Transition:
    """Returns a SUSPENDED criterion to scoring with its applied revision."""
    active = criterion.active
    _check_four_eyes(criterion, actor, {active.author} if active else set(), "reactivate")
    if criterion.state is not CriterionState.SUSPENDED or active is None:
        raise FailedPrecondition("NOT_SUSPENDED", f"{criterion.name} is not suspended")
    if active.content.ended_by(now):
        raise FailedPrecondition(
            "VALIDITY_ENDED", f"the validity window of {criterion.name} has ended"
        )
    after = _changed(criterion, now, state=CriterionState.ACTIVE)
    return Transition(after, ChangeKind.REACTIVATED, reason, Publication.PUBLISH)


def retire(criterion: Criterion, reason: str, now: datetime) -> Transition:
    """Ends a criterion for good; a pending amendment lapses."""
    if criterion.state is CriterionState.RETIRED:
        raise FailedPrecondition("CRITERION_RETIRED", f"{criterion.name} is already retired")
    after = _changed(
        criterion, now, state=CriterionState.RETIRED, amendment_state=AmendmentState.NONE
    )
    publication = Publication.WITHDRAW if criterion.applied else Publication.NONE
    return Transition(after, ChangeKind.RETIRED, reason, publication)


def expire(criterion: Criterion, now: datetime) -> Transition | None:
    """EXPIRED for an ACTIVE or SUSPENDED criterion whose applied window has closed."""
    if criterion.state not in (CriterionState.ACTIVE, CriterionState.SUSPENDED):
        return None
    if criterion.active is None or not criterion.active.content.ended_by(now):
        return None
    after = _changed(criterion, now, state=CriterionState.EXPIRED)
    publication = Publication.WITHDRAW if criterion.applied else Publication.NONE
    return Transition(after, ChangeKind.EXPIRED, "validity window ended", publication)


def _json_string(value: str) -> str:
    # FieldChange values are proto3 JSON, in which a string is a JSON string literal.
    return json.dumps(value, ensure_ascii=False)
