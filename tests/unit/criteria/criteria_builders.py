"""Domain objects for the criteria unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from criteria.domain import lifecycle
from criteria.domain.impact import CapacityExceedance, ImpactAnalysis
from criteria.domain.model import (
    Actor,
    Criterion,
    CriterionContent,
    CriterionDraft,
    Document,
    NamedListUse,
    RuleFacts,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MAX_ANALYSIS_AGE = timedelta(days=30)
ANA = Actor("ana", ("analyst",))
OMAR = Actor("omar", ("analyst",))
RITA = Actor("rita", ("rmc",))
SAM = Actor("sam", ("supervisor",))


def content(*, end: datetime | None = None, start: datetime | None = None) -> CriterionContent:
    return CriterionContent(
        risk_profile="riskProfiles/cigarettes",
        title="Cigarettes under false description",
        description="",
        rule=Document(b"rule"),
        validity_start=start,
        validity_end=end,
        campaign_tag="",
    )


def draft(
    *uses: NamedListUse, depth: int = 1, predicates: int = 1, end: datetime | None = None
) -> CriterionDraft:
    return CriterionDraft(content(end=end), RuleFacts(depth, predicates, uses))


def new(author: Actor = ANA, *, end: datetime | None = None) -> Criterion:
    return lifecycle.new_criterion("cigarettes", content(end=end), "RISK_AREA_REVENUE", author, NOW)


def submitted(author: Actor = ANA, *, end: datetime | None = None) -> Criterion:
    return lifecycle.submit(new(author, end=end), NOW, "").criterion


def analysis(
    criterion: Criterion,
    *,
    revision: int | None = None,
    made: datetime = NOW,
    exceeded: tuple[CapacityExceedance, ...] = (),
) -> ImpactAnalysis:
    """An impact analysis of ``criterion`` (its latest revision unless ``revision``)."""
    return ImpactAnalysis(
        id="a1",
        criterion_id=criterion.id,
        criterion_revision=revision or criterion.revision,
        start_time=made - timedelta(days=7),
        end_time=made,
        declarations_replayed=0,
        hits=0,
        selections=0,
        office_days=(),
        capacity_exceedances=exceeded,
        overlaps=(),
        scoring_criteria_revision=1,
        requested_by="ana",
        create_time=made,
    )


def approval(
    criterion: Criterion,
    approver: Actor = RITA,
    when: datetime = NOW,
    *,
    cited: ImpactAnalysis | None = None,
    justification: str = "",
) -> lifecycle.Transition:
    """Approval of the latest revision citing ``cited`` (by default a fresh analysis of it)."""
    cited = cited or analysis(criterion, made=when)
    return lifecycle.approve(
        criterion,
        approver,
        revision=criterion.revision,
        impact_analysis=cited.name,
        analysis=cited,
        analysis_max_age=MAX_ANALYSIS_AGE,
        capacity_justification=justification,
        comment="",
        now=when,
    )


def approve(criterion: Criterion, approver: Actor = RITA, when: datetime = NOW) -> Criterion:
    return approval(criterion, approver, when).criterion


def active(*, end: datetime | None = None) -> Criterion:
    return approve(submitted(end=end))


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)
