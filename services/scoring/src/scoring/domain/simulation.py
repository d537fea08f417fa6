"""Impact analysis: what candidate criteria would have done to declarations already lodged.

Every stored declaration in the window is assessed twice — under the active
criteria and under the candidate world — with the same seed, so the two
decisions differ only by what the candidate changes. The tallies are what an
analyst and the committee weigh before activation (handbook step 4): hits and
examinations per office per day, the examinations the candidate adds, and how
much of its selection the active criteria already cover.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC

from scoring.domain.assessment import Decision, HitOutcome
from scoring.domain.declaration import Declaration
from scoring.domain.draws import SelectionSeed
from scoring.domain.engine import SelectivityEngine
from scoring.domain.rules import (
    AllOf,
    AnyOf,
    Channel,
    Condition,
    Criterion,
    ExaminationLevel,
    InNamedList,
    NoneOf,
    RulesSnapshot,
    UnitValue,
)

#: How severe a channel is, for "selected for an examination of at least the same channel".
_SEVERITY = {Channel.GREEN: 0, Channel.BLUE: 1, Channel.YELLOW: 2, Channel.RED: 3}
#: The most overlapping active criteria reported per candidate (the contract's limit).
_MAX_OVERLAPS = 20


@dataclass(frozen=True, order=True)
class ExaminationType:
    """Document review (YELLOW) or a physical examination (RED) at one level."""

    channel: Channel
    level: ExaminationLevel


@dataclass(frozen=True)
class ExaminationLoad:
    """Examinations of one type at one office on one day."""

    examination_type: ExaminationType
    added: int
    total: int


@dataclass(frozen=True)
class OfficeDayImpact:
    """The replay result for one office and one calendar day."""

    office_code: str
    day: str
    declarations: int
    candidate_hits: int
    candidate_selections: int
    overlap_with_active: int
    audit_referrals_added: int
    examinations: tuple[ExaminationLoad, ...]


@dataclass(frozen=True)
class CriterionImpact:
    """The replay result for one candidate criterion over the whole window."""

    criterion: str
    hits: int
    selections: int
    #: (active criterion, declarations both selected), most overlapping first.
    overlaps: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Simulation:
    """What the candidate would have done over the replayed declarations."""

    office_days: tuple[OfficeDayImpact, ...]
    criterion_impacts: tuple[CriterionImpact, ...]
    declarations_replayed: int


def referenced_named_lists(condition: Condition) -> Iterator[str]:
    """The names of the named lists a condition tree reads."""
    match condition:
        case AllOf(conditions) | AnyOf(conditions) | NoneOf(conditions):
            for child in conditions:
                yield from referenced_named_lists(child)
        case InNamedList(named_list=name) | UnitValue(named_list=name):
            yield name


def examination_type(decision: Decision) -> ExaminationType | None:
    """The examination a decision orders, if any (GREEN and BLUE order none)."""
    if decision.channel is Channel.YELLOW:
        return ExaminationType(Channel.YELLOW, ExaminationLevel.NONE)
    if decision.channel is Channel.RED:
        return ExaminationType(Channel.RED, decision.examination_level)
    return None


@dataclass
class _OfficeDay:
    declarations: int = 0
    candidate_hits: int = 0
    candidate_selections: int = 0
    overlap_with_active: int = 0
    audit_referrals_added: int = 0
    added: Counter[ExaminationType] = field(default_factory=Counter)
    total: Counter[ExaminationType] = field(default_factory=Counter)
    #: Types ordered without the candidate: listed even when the candidate removes them all.
    active_types: set[ExaminationType] = field(default_factory=set)


@dataclass
class _CriterionTally:
    hits: int = 0
    selections: int = 0
    overlaps: Counter[str] = field(default_factory=Counter)


class Simulator:
    """Replays declarations under the active engine and the candidate world, and tallies.

    ``candidates`` are the names of the candidate criteria inside ``candidate_world``
    (all of it when the candidate replaces the active set, one criterion when it is
    added to it).
    """

    def __init__(
        self,
        active: SelectivityEngine,
        candidate_world: SelectivityEngine,
        candidates: Iterable[str],
        seed: SelectionSeed,
    ) -> None:
        self._active = active
        self._world = candidate_world
        self._candidates = frozenset(candidates)
        self._seed = seed
        self._office_days: defaultdict[tuple[str, str], _OfficeDay] = defaultdict(_OfficeDay)
        self._criteria = {name: _CriterionTally() for name in self._candidates}
        self._replayed = 0

    def replay(self, declarations: Iterable[tuple[Declaration, float | None]]) -> None:
        """Adds ``declarations`` to the tallies, each with the risk score it was assessed with.

        Each is the latest version of its number; its stored score (``None``
        when no model was active) is what both worlds' ``risk_model_score``
        conditions read, as the live assessment read it.
        """
        for declaration, risk_score in declarations:
            self._replay_one(declaration, risk_score)

    def _replay_one(self, declaration: Declaration, risk_score: float | None) -> None:
        # Trader profiles are not held yet, so both worlds treat the importer alike.
        active = self._active.assess(declaration, self._seed, risk_score=risk_score)
        world = self._world.assess(declaration, self._seed, risk_score=risk_score)
        day = declaration.lodgement_time.astimezone(UTC).date().isoformat()
        tally = self._office_days[(declaration.office_code, day)]
        tally.declarations += 1
        self._replayed += 1

        hit = {h.criterion for h in world.criterion_hits if h.criterion in self._candidates}
        selected_hits = [
            h
            for h in world.criterion_hits
            if h.criterion in self._candidates and h.outcome is HitOutcome.SELECTED
        ]
        selected = {h.criterion for h in selected_hits}
        active_selected = {h.criterion for h in active.selected_hits}
        if hit:
            tally.candidate_hits += 1
        if selected_hits:
            tally.candidate_selections += 1
            strongest = max(_SEVERITY[h.treatment.channel] for h in selected_hits)
            if _SEVERITY[active.channel] >= strongest:
                tally.overlap_with_active += 1
        if world.refer_to_audit and not active.refer_to_audit:
            tally.audit_referrals_added += 1

        world_type, active_type = examination_type(world), examination_type(active)
        if active_type is not None:
            tally.active_types.add(active_type)
        if world_type is not None:
            tally.total[world_type] += 1
            if world_type != active_type:
                tally.added[world_type] += 1

        for name in hit:
            self._criteria[name].hits += 1
        for name in selected:
            criterion = self._criteria[name]
            criterion.selections += 1
            for other in active_selected - {name}:
                criterion.overlaps[other] += 1

    def result(self) -> Simulation:
        """The tallies so far, ordered by office and day, and by criterion name."""
        office_days = tuple(
            OfficeDayImpact(
                office_code=office,
                day=day,
                declarations=t.declarations,
                candidate_hits=t.candidate_hits,
                candidate_selections=t.candidate_selections,
                overlap_with_active=t.overlap_with_active,
                audit_referrals_added=t.audit_referrals_added,
                examinations=tuple(
                    ExaminationLoad(kind, added=t.added[kind], total=t.total[kind])
                    for kind in sorted(t.active_types | set(t.total), key=_type_order)
                ),
            )
            for (office, day), t in sorted(self._office_days.items())
        )
        impacts = tuple(
            CriterionImpact(
                criterion=name,
                hits=t.hits,
                selections=t.selections,
                overlaps=tuple(
                    sorted(t.overlaps.items(), key=lambda pair: (-pair[1], pair[0]))[:_MAX_OVERLAPS]
                ),
            )
            for name, t in sorted(self._criteria.items())
        )
        return Simulation(office_days, impacts, self._replayed)


def _type_order(kind: ExaminationType) -> tuple[int, str]:
    return (_SEVERITY[kind.channel], kind.level.name)


def candidate_world(
    active: SelectivityEngine, candidates: Iterable[Criterion], *, replace_active: bool
) -> SelectivityEngine:
    """The engine of the world the candidate creates (compile it off the event loop).

    Replacing: only the candidates, with the active named lists. Adding: the active
    criteria with each candidate added, replacing the active revision of its name.
    """
    snapshot = active.snapshot
    if replace_active:
        return SelectivityEngine.compile(
            RulesSnapshot.of(
                snapshot.revision, list(candidates), list(snapshot.named_lists.values())
            )
        )
    world = active
    for criterion in candidates:
        world = world.with_criterion(snapshot.revision, criterion)
    return world
