"""What callers ask the criteria service to do, decoded from requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from criteria.domain.model import (
    Actor,
    CriterionContent,
    CriterionDraft,
    Document,
    NamedListContent,
    RiskProfileContent,
)

#: An edit of the latest content of a criterion (the update mask applied to it).
CriterionPatch = Callable[[CriterionContent], CriterionDraft]
#: An edit of the content of a named list.
NamedListPatch = Callable[[NamedListContent], NamedListContent]
#: An edit of the content of a risk profile (the update mask applied to it).
RiskProfilePatch = Callable[[RiskProfileContent], RiskProfileContent]


@dataclass(frozen=True)
class CreateRiskProfile:
    """Create a risk profile; an empty ``profile_id`` lets the service choose."""

    profile_id: str
    content: RiskProfileContent
    actor: Actor


@dataclass(frozen=True)
class UpdateRiskProfile:
    """Change a risk profile."""

    profile_id: str
    etag: str
    patch: RiskProfilePatch
    actor: Actor


@dataclass(frozen=True)
class CreateCriterion:
    """Create a criterion in DRAFT; an empty ``criterion_id`` lets the service choose."""

    criterion_id: str
    draft: CriterionDraft
    actor: Actor


@dataclass(frozen=True)
class UpdateCriterion:
    """Write a new revision of a criterion."""

    criterion_id: str
    etag: str
    patch: CriterionPatch
    reason: str
    actor: Actor


@dataclass(frozen=True)
class SubmitCriterion:
    """Submit the latest revision for approval."""

    criterion_id: str
    etag: str
    comment: str
    actor: Actor


@dataclass(frozen=True)
class ApproveCriterion:
    """Approve the submitted revision."""

    criterion_id: str
    etag: str
    revision: int
    impact_analysis: str
    capacity_justification: str
    comment: str
    actor: Actor


@dataclass(frozen=True)
class DecideCriterion:
    """Reject, suspend, reactivate or retire a criterion, with a reason."""

    criterion_id: str
    etag: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class CreateNamedList:
    """Create a named list; an empty ``list_id`` lets the service choose."""

    list_id: str
    content: NamedListContent
    actor: Actor


@dataclass(frozen=True)
class UpdateNamedList:
    """Write a new revision of a named list."""

    list_id: str
    etag: str
    patch: NamedListPatch
    reason: str
    actor: Actor


@dataclass(frozen=True)
class AnalyzeImpact:
    """Replay a criterion revision (the latest) over the last ``lookback_days`` days."""

    criterion_id: str
    revision: int
    lookback_days: int
    actor: Actor


@dataclass(frozen=True)
class DeleteNamedList:
    """Delete a named list that no criterion still in use references."""

    list_id: str
    etag: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class DecideRecommendation:
    """Accept or dismiss a recommendation with a reason.

    ``selection_percent`` and ``treatment`` (an encoded Treatment) replace what
    an accepted recommendation suggests; ``None`` keeps the suggestion.
    """

    recommendation_id: str
    etag: str
    reason: str
    actor: Actor
    selection_percent: float | None = None
    treatment: Document | None = None
