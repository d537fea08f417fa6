"""The decision on one declaration version, and the stored assessment around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from scoring.domain.declaration import Declaration
from scoring.domain.rules import Channel, DocumentRequirement, ExaminationLevel, Treatment

if TYPE_CHECKING:
    # The capacity step builds on Decision, so it can only be imported here for types.
    from scoring.domain.capacity import CapacityDowngrade, CapacitySnapshot
    from scoring.domain.random_examinations import RandomDraw
    from scoring.domain.training import RiskScore

#: The version of the selectivity engine recorded with every decision.
ENGINE_VERSION = "1"


class HitOutcome(Enum):
    """What became of a criterion hit."""

    SELECTED = "SELECTED"
    NOT_DRAWN = "NOT_DRAWN"
    APPROVED_TRADER_EXCLUDED = "APPROVED_TRADER_EXCLUDED"
    DOWNGRADED = "DOWNGRADED"


@dataclass(frozen=True)
class CriterionHit:
    """One criterion whose condition was true, for the header (item 0) or one item."""

    criterion: str
    criterion_revision: int
    title: str
    item_number: int
    treatment: Treatment
    selection_percent: float
    mandatory: bool
    priority: int
    outcome: HitOutcome


@dataclass(frozen=True)
class DocumentCheck:
    """A document to verify, for some items (or the whole declaration when empty)."""

    document: DocumentRequirement
    item_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExaminerInstruction:
    """Plain words for the examining officer; item 0 is the whole declaration."""

    item_number: int
    text: str


@dataclass(frozen=True)
class ChannelFloor:
    """The decision on the same consignment whose channel a re-lodgement keeps."""

    assessment: str
    declaration_number: str
    version: int
    channel: Channel
    examination_level: ExaminationLevel


@dataclass(frozen=True)
class Decision:
    """The channel and everything the officer and the other services need to act on it.

    ``examiner_instructions`` has one entry per selected hit, in the order of
    :attr:`selected_hits` (priority, then criterion name, then item).
    """

    channel: Channel
    examination_level: ExaminationLevel
    refer_to_audit: bool
    documents_to_check: tuple[DocumentCheck, ...]
    examiner_instructions: tuple[ExaminerInstruction, ...]
    criterion_hits: tuple[CriterionHit, ...]
    risk_score: float
    importer_approved_trader: bool
    randomly_selected: bool = False
    capacity_downgrades: tuple[CapacityDowngrade, ...] = ()
    random_draws: tuple[RandomDraw, ...] = ()
    #: The earlier decision on the same consignment this one kept the channel of.
    channel_floor: ChannelFloor | None = None

    @property
    def selected_hits(self) -> tuple[CriterionHit, ...]:
        """The hits whose treatment applies."""
        return tuple(hit for hit in self.criterion_hits if hit.outcome is HitOutcome.SELECTED)


@dataclass(frozen=True)
class ReplayRecord:
    """The revisions of every input that, with the declaration and the seed, made the decision.

    A revision of 0 means the input was not available: no trader profile had
    been received from compliance (every importer is then taken as not
    approved), no random examination rate or capacity policy had been set.
    """

    criteria_revision: int
    named_lists_revision: int
    seed_id: str
    engine_version: str = ENGINE_VERSION
    trader_profiles_revision: int = 0
    random_examination_rates_revision: int = 0
    capacity_policies_revision: int = 0
    #: The office capacity the decision saw; None for decisions older than the capacity step.
    capacity: CapacitySnapshot | None = None
    #: How the random draws were keyed (random_examinations.*_DRAW_SCHEME); 1 for
    #: decisions recorded before the scheme was.
    random_draw_scheme: int = 1


@dataclass(frozen=True)
class Assessment:
    """The stored, immutable result of the selectivity review of one declaration version.

    ``declaration_content`` is the declaration exactly as received (its
    deterministic wire form), kept to answer with it and to tell a harmless
    re-send from a conflicting one.
    """

    assessment_id: str
    declaration: Declaration
    declaration_content: bytes
    decision: Decision
    replay: ReplayRecord
    create_time: datetime
    #: The risk model's score; None when no model was active.
    risk: RiskScore | None = None

    @property
    def name(self) -> str:
        """The resource name, ``assessments/{assessment}``."""
        return f"assessments/{self.assessment_id}"


def decision_differences(stored: Decision, replayed: Decision) -> list[str]:
    """What differs between a stored decision and its replay, one sentence each."""
    differences: list[str] = []
    for label, old, new in (
        ("channel", stored.channel.name, replayed.channel.name),
        (
            "examination level",
            stored.examination_level.name,
            replayed.examination_level.name,
        ),
        ("audit referral", stored.refer_to_audit, replayed.refer_to_audit),
        ("risk score", stored.risk_score, replayed.risk_score),
        ("random selection", stored.randomly_selected, replayed.randomly_selected),
    ):
        if old != new:
            differences.append(f"{label} was {old}, replay gives {new}")

    def keyed(hits: tuple[CriterionHit, ...]) -> dict[tuple[str, int], CriterionHit]:
        return {(hit.criterion, hit.item_number): hit for hit in hits}

    old_hits, new_hits = keyed(stored.criterion_hits), keyed(replayed.criterion_hits)
    for key in sorted(old_hits.keys() | new_hits.keys()):
        criterion, item = key
        where = f"{criterion} on item {item}" if item else criterion
        old_hit, new_hit = old_hits.get(key), new_hits.get(key)
        if new_hit is None:
            differences.append(f"{where} hit, but does not hit in the replay")
        elif old_hit is None:
            differences.append(f"{where} did not hit, but hits in the replay")
        elif old_hit != new_hit:
            differences.append(
                f"{where} hit with outcome {old_hit.outcome.name} at revision "
                f"{old_hit.criterion_revision}; the replay gives {new_hit.outcome.name} at "
                f"revision {new_hit.criterion_revision}"
            )
    if stored.documents_to_check != replayed.documents_to_check:
        differences.append("the documents to check differ")
    if stored.examiner_instructions != replayed.examiner_instructions:
        differences.append("the examiner instructions differ")
    if stored.capacity_downgrades != replayed.capacity_downgrades:
        differences.append("the capacity downgrades differ")
    if stored.random_draws != replayed.random_draws:
        differences.append("the random draws differ")
    return differences
