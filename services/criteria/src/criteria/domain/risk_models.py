"""Risk model versions governed like criteria: draft, submitted, one active, rollback.

Scoring trains a version and reports it; here it is drafted, submitted with
its impact analysis, approved by someone who neither trained nor submitted
it (the criteria's four-eyes rule), and made the one active version. The
version it replaced is kept SUPERSEDED so that a rollback is one call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from criteria.domain.lifecycle import check_four_eyes
from criteria.domain.model import Actor
from customs_kit.errors import Aborted, FailedPrecondition


class RiskModelState(Enum):
    """The governance state; values are the contract's enum names."""

    DRAFT = "RISK_MODEL_STATE_DRAFT"
    PENDING_APPROVAL = "RISK_MODEL_STATE_PENDING_APPROVAL"
    ACTIVE = "RISK_MODEL_STATE_ACTIVE"
    SUPERSEDED = "RISK_MODEL_STATE_SUPERSEDED"
    RETIRED = "RISK_MODEL_STATE_RETIRED"


@dataclass(frozen=True)
class RiskModel:
    """One version; ``card`` and ``impact`` are the contract's messages, serialized.

    ``previous`` is the version that was active when this one was activated:
    the one a rollback returns to.
    """

    name: str
    state: RiskModelState
    digest: str
    trainer: str
    card: bytes
    create_time: datetime
    update_time: datetime
    version: int = 1
    score_threshold: float = 0.0
    impact: bytes | None = None
    submitted_by: str = ""
    approved_by: str = ""
    previous: str = ""
    activate_time: datetime | None = None

    @property
    def etag(self) -> str:
        """Changes with every recorded change of the version."""
        return hashlib.sha256(f"{self.name}#{self.version}".encode()).hexdigest()[:16]

    def fields(self) -> dict[str, str]:
        """The recorded fields, as the history compares them."""
        return {
            "state": self.state.value,
            "digest": self.digest,
            "trainer": self.trainer,
            "score_threshold": repr(self.score_threshold),
            "submitted_by": self.submitted_by,
            "approved_by": self.approved_by,
            "previous": self.previous,
        }


def check_etag(model: RiskModel, etag: str) -> None:
    """An empty etag skips the check; another one must match. Raises ``Aborted``."""
    if etag and etag != model.etag:
        raise Aborted("ETAG_MISMATCH", f"{model.name} changed since it was read")


def _changed(model: RiskModel, now: datetime, **changes: object) -> RiskModel:
    return replace(model, update_time=now, version=model.version + 1, **changes)  # type: ignore[arg-type]


def submit(
    model: RiskModel, actor: Actor, threshold: float, impact: bytes, now: datetime
) -> RiskModel:
    """DRAFT → PENDING_APPROVAL with its threshold and impact analysis."""
    if model.state is not RiskModelState.DRAFT:
        raise FailedPrecondition("NOT_DRAFT", f"{model.name} is {model.state.name}, not DRAFT")
    return _changed(
        model,
        now,
        state=RiskModelState.PENDING_APPROVAL,
        score_threshold=threshold,
        impact=impact,
        submitted_by=actor.subject,
    )


def _check_pending(model: RiskModel) -> None:
    if model.state is not RiskModelState.PENDING_APPROVAL:
        raise FailedPrecondition(
            "NOT_SUBMITTED", f"{model.name} is {model.state.name}: nothing awaits approval"
        )


def _check_second_person(model: RiskModel, actor: Actor, action: str) -> None:
    check_four_eyes(
        model.name,
        "a risk model",
        actor,
        {model.trainer, model.submitted_by},
        action,
        wrote="trained or submitted",
    )


def approve(
    model: RiskModel, actor: Actor, active: RiskModel | None, now: datetime
) -> tuple[RiskModel, RiskModel | None]:
    """PENDING_APPROVAL → ACTIVE; the active version (if any) becomes SUPERSEDED."""
    _check_pending(model)
    _check_second_person(model, actor, "approve")
    activated = _changed(
        model,
        now,
        state=RiskModelState.ACTIVE,
        approved_by=actor.subject,
        previous=active.name if active else "",
        activate_time=now,
    )
    superseded = _changed(active, now, state=RiskModelState.SUPERSEDED) if active else None
    return activated, superseded


def reject(model: RiskModel, actor: Actor, now: datetime) -> RiskModel:
    """PENDING_APPROVAL → RETIRED."""
    _check_pending(model)
    _check_second_person(model, actor, "reject")
    return _changed(model, now, state=RiskModelState.RETIRED)


def rollback(
    active: RiskModel | None, previous: RiskModel | None, now: datetime
) -> tuple[RiskModel, RiskModel]:
    """The active version → RETIRED, the one it superseded → ACTIVE again."""
    if active is None:
        raise FailedPrecondition("NO_ACTIVE_RISK_MODEL", "no risk model version is active")
    if previous is None or previous.state is not RiskModelState.SUPERSEDED:
        raise FailedPrecondition(
            "NO_PREVIOUS_RISK_MODEL",
            f"{active.name} superseded no version that could be activated again",
        )
    return (
        _changed(active, now, state=RiskModelState.RETIRED),
        _changed(previous, now, state=RiskModelState.ACTIVE, activate_time=now),
    )


#: Drift beyond which a retraining is recommended (PSI over 0.25 is a large shift).
DRIFT_LIMIT = 0.25


@dataclass(frozen=True)
class RiskModelPerformance:
    """A version measured over a period (scoring computes it, from the random arm)."""

    scored: int
    random_examined: int
    random_flagged: int
    random_flagged_hits: int
    precision: float
    precision_lower: float
    precision_upper: float
    validation_precision: float
    population_stability_index: float

    @property
    def retrain_recommended(self) -> bool:
        """Precision on the random arm is credibly below validation, or scores drifted.

        Credibly: even the upper end of the 95 % interval is below the card's
        precision, so a handful of random examinations does not trigger it.
        """
        dropped = self.random_flagged > 0 and self.precision_upper < self.validation_precision
        return dropped or self.population_stability_index > DRIFT_LIMIT
