"""Domain objects for the criteria unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from criteria.domain import lifecycle
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


def approve(criterion: Criterion, approver: Actor = RITA, when: datetime = NOW) -> Criterion:
    return lifecycle.approve(
        criterion,
        approver,
        revision=criterion.revision,
        impact_analysis=f"{criterion.name}/impactAnalyses/a1",
        capacity_justification="",
        comment="",
        now=when,
    ).criterion


def active(*, end: datetime | None = None) -> Criterion:
    return approve(submitted(end=end))


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)
