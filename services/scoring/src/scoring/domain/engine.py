"""The compiled selectivity engine: only the criteria that could hit are touched.

Each active criterion is planned once (:mod:`scoring.domain.criterion_plans`):
filed under the keys of its most selective anchor (codes, HS prefixes of any
length, named-list entries, words; or a pair of two of them), or under a
threshold of a numeric bound kept sorted, or on a short list checked for
every subject; what the anchor does not guarantee is compiled into one
closure. An assessment reads the declaration into slots once per subject
(the header, then each item), looks up only the key kinds some criterion is
filed under, bisects the thresholds, and runs the compiled checks of the
candidates found. Its cost grows with the candidates and the hits, not with
the criteria that cannot match.

The decision is made by the reference evaluator's own
:func:`scoring.domain.evaluator.decide`, from the hits in the evaluator's
order, so it is identical to :func:`scoring.domain.evaluator.evaluate`'s.
:meth:`SelectivityEngine.assess` keeps a hit as a tuple until the hits are
sorted, draws only the hits whose outcome depends on a draw, builds each
:class:`CriterionHit` once per criterion, item and outcome, and builds
reasons only when an explanation is asked for
(:meth:`SelectivityEngine.evaluate`).

An engine is immutable. A change of one criterion gives a new engine that
shares everything but the buckets it touches, so a revision is compiled
aside and swapped in with one assignment while assessments keep running on
the engine they started with.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scoring.domain.assessment import CriterionHit, Decision, HitOutcome
from scoring.domain.criterion_plans import (
    CODE_SLOTS,
    HEADER_SLOTS,
    MULTI_VALUED,
    WORD,
    BoundGroup,
    Check,
    Key,
    Plan,
    Slots,
    bound_reader,
    bound_reads_items,
    header_slots,
    item_slots,
    plan,
)
from scoring.domain.declaration import Declaration
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import (
    Evaluation,
    Subject,
    conclude,
    decide,
    make_hit,
    words,
)
from scoring.domain.rules import (
    ApprovedTraderScope,
    CodeElement,
    Criterion,
    NamedList,
    RulesSnapshot,
)

#: Hits on items past this number are built afresh each time rather than kept.
_KEPT_ITEMS = 16


#: Outcomes by the small code an assessment sorts and caches hits with.
_OUTCOMES = (HitOutcome.SELECTED, HitOutcome.NOT_DRAWN, HitOutcome.APPROVED_TRADER_EXCLUDED)
_SELECTED, _NOT_DRAWN, _EXCLUDED = range(3)


class _Entry:
    """One filed criterion. Compared by identity: set operations stay in C.

    Holds, read once, what :func:`scoring.domain.evaluator.outcome` reads of
    its rule, so that a hit costs a draw (when the percentage needs one) and
    a tuple, and its :class:`CriterionHit` is built only once it is asked for.
    """

    __slots__ = (
        "check",
        "criterion",
        "excluded",
        "fixed",
        "hits",
        "instructions",
        "name",
        "priority",
        "revision",
        "threshold",
        "windowed",
    )

    def __init__(self, criterion: Criterion, check: Check | None) -> None:
        rule = criterion.rule
        self.criterion = criterion
        self.check = check
        self.windowed = criterion.validity_start is not None or criterion.validity_end is not None
        self.name = criterion.name
        self.revision = criterion.revision
        self.priority = rule.priority
        self.instructions = rule.examiner_instructions
        self.excluded = rule.approved_traders is ApprovedTraderScope.EXCLUDED
        percent = rule.selection_percent
        # As outcome(): 100 % always selects, 0 % never does, only the rest draws.
        self.fixed = _SELECTED if percent >= 100.0 else _NOT_DRAWN
        self.threshold = None if percent >= 100.0 or percent <= 0.0 else percent / 100.0
        #: Hits already built, by item number and outcome: a hit is a value of
        #: those two alone, and a popular criterion hits thousands of times.
        self.hits: dict[int, CriterionHit] = {}

    def hit(self, item_number: int, code: int) -> CriterionHit:
        """The hit of this criterion on ``item_number`` (0: the header) with outcome ``code``."""
        if item_number >= _KEPT_ITEMS:
            return make_hit(self.criterion, item_number, _OUTCOMES[code])
        key = item_number * 3 + code
        kept = self.hits.get(key)
        if kept is None:
            kept = self.hits[key] = make_hit(self.criterion, item_number, _OUTCOMES[code])
        return kept


@dataclass(frozen=True)
class _Bounds:
    """The criteria filed under one bound group, by threshold ascending."""

    thresholds: tuple[float, ...]
    entries: tuple[_Entry, ...]
    #: "min": found when threshold <= value; "max": when value <= threshold.
    side: str

    def found(self, value: float) -> tuple[_Entry, ...]:
        if self.side == "min":
            return self.entries[: bisect.bisect_right(self.thresholds, value)]
        return self.entries[bisect.bisect_left(self.thresholds, value) :]

    def with_entry(self, threshold: float, entry: _Entry) -> _Bounds:
        at = bisect.bisect_right(self.thresholds, threshold)
        return _Bounds(
            (*self.thresholds[:at], threshold, *self.thresholds[at:]),
            (*self.entries[:at], entry, *self.entries[at:]),
            self.side,
        )

    def without_entry(self, entry: _Entry) -> _Bounds:
        kept = [
            (t, e) for t, e in zip(self.thresholds, self.entries, strict=True) if e is not entry
        ]
        return _Bounds(tuple(t for t, _ in kept), tuple(e for _, e in kept), self.side)


@dataclass(frozen=True)
class _Level:
    """The criteria evaluated once per header, or once per item; never mutated."""

    buckets: dict[Key, tuple[_Entry, ...]] = field(default_factory=dict)
    #: How many keys of each kind (a slot, or a pair of slots) are filed.
    kinds: dict[tuple[int, ...], int] = field(default_factory=dict)
    bounds: dict[BoundGroup, _Bounds] = field(default_factory=dict)
    always: tuple[_Entry, ...] = ()

    def filed(self, placement: _Placement) -> _Level:
        buckets, kinds, bounds, always = self.buckets, self.kinds, self.bounds, self.always
        if placement.plan.keys:
            buckets, kinds = buckets.copy(), kinds.copy()
            for key in placement.plan.keys:
                buckets[key] = (*buckets.get(key, ()), placement.entry)
                kind = _kind(key)
                kinds[kind] = kinds.get(kind, 0) + 1
        elif placement.plan.bound is not None:
            group, threshold = placement.plan.bound
            bounds = bounds.copy()
            existing = bounds.get(group) or _Bounds((), (), group[-1])
            bounds[group] = existing.with_entry(threshold, placement.entry)
        elif placement.plan.keys is None:
            always = (*always, placement.entry)
        return _Level(buckets, kinds, bounds, always)

    def unfiled(self, placement: _Placement) -> _Level:
        buckets, kinds, bounds, always = self.buckets, self.kinds, self.bounds, self.always
        entry = placement.entry
        if placement.plan.keys:
            buckets, kinds = buckets.copy(), kinds.copy()
            for key in placement.plan.keys:
                remaining = tuple(e for e in buckets[key] if e is not entry)
                if remaining:
                    buckets[key] = remaining
                else:
                    del buckets[key]
                kind = _kind(key)
                kinds[kind] -= 1
                if not kinds[kind]:
                    del kinds[kind]
        elif placement.plan.bound is not None:
            group = placement.plan.bound[0]
            bounds = bounds.copy()
            left = bounds[group].without_entry(entry)
            if left.entries:
                bounds[group] = left
            else:
                del bounds[group]
        elif placement.plan.keys is None:
            always = tuple(e for e in always if e is not entry)
        return _Level(buckets, kinds, bounds, always)


def _kind(key: Key) -> tuple[int, ...]:
    return (key[0],) if len(key) == 2 else (key[0], key[1])


def _level_of(placements: Mapping[str, _Placement], item_level: bool) -> _Level:
    """A level filed in one pass (a change files one placement at a time)."""
    buckets: dict[Key, list[_Entry]] = {}
    kinds: dict[tuple[int, ...], int] = {}
    bound_lists: dict[BoundGroup, list[tuple[float, int, _Entry]]] = {}
    always: list[_Entry] = []
    for position, placement in enumerate(placements.values()):
        if placement.item_level is not item_level:
            continue
        keys, bound = placement.plan.keys, placement.plan.bound
        if keys:
            for key in keys:
                buckets.setdefault(key, []).append(placement.entry)
                kind = _kind(key)
                kinds[kind] = kinds.get(kind, 0) + 1
        elif bound is not None:
            bound_lists.setdefault(bound[0], []).append((bound[1], position, placement.entry))
        elif keys is None:
            always.append(placement.entry)
    bounds = {}
    for group, filed in bound_lists.items():
        filed.sort(key=lambda entry: (entry[0], entry[1]))
        bounds[group] = _Bounds(
            tuple(threshold for threshold, _, _ in filed),
            tuple(entry for _, _, entry in filed),
            group[-1],
        )
    return _Level(
        {key: tuple(entries) for key, entries in buckets.items()}, kinds, bounds, tuple(always)
    )


@dataclass(frozen=True)
class IndexStatistics:
    """How the active criteria are indexed."""

    criteria: int
    #: Criteria checked on every declaration (no anchor).
    unindexed: int
    #: Criteria whose condition can never hold (e.g. an empty named list).
    unsatisfiable: int
    keys: int
    #: Criteria found through a sorted threshold of a numeric bound.
    bounded: int = 0


@dataclass(frozen=True)
class _Placement:
    """Where one criterion is filed, so that a change can take it out again."""

    entry: _Entry
    #: Whether the criterion is evaluated per item (else once, on the header).
    item_level: bool
    plan: Plan


def _place(criterion: Criterion, named_lists: Mapping[str, NamedList]) -> _Placement:
    criterion_plan = plan(criterion, named_lists)
    return _Placement(
        _Entry(criterion, criterion_plan.check), criterion.rule.item_level, criterion_plan
    )


@dataclass(frozen=True)
class _Lookups:
    """What an assessment looks up, derived from the kinds of keys filed."""

    header_kinds: tuple[tuple[int, ...], ...]
    #: Item-level kinds made of header slots only: looked up once per declaration.
    shared_kinds: tuple[tuple[int, ...], ...]
    item_kinds: tuple[tuple[int, ...], ...]
    header_bounds: tuple[tuple[_Reader, _Bounds], ...]
    shared_bounds: tuple[tuple[_Reader, _Bounds], ...]
    item_bounds: tuple[tuple[_Reader, _Bounds], ...]
    words: bool

    @classmethod
    def of(cls, header: _Level, items: _Level) -> _Lookups:
        shared = [kind for kind in items.kinds if all(s in HEADER_SLOTS for s in kind)]
        own = [kind for kind in items.kinds if kind not in shared]
        return cls(
            header_kinds=tuple(kind for kind in header.kinds if kind[0] not in MULTI_VALUED),
            shared_kinds=tuple(shared),
            item_kinds=tuple(kind for kind in own if kind != (WORD,)),
            header_bounds=tuple((bound_reader(g), b) for g, b in header.bounds.items()),
            shared_bounds=tuple(
                (bound_reader(g), b) for g, b in items.bounds.items() if not bound_reads_items(g)
            ),
            item_bounds=tuple(
                (bound_reader(g), b) for g, b in items.bounds.items() if bound_reads_items(g)
            ),
            words=(WORD,) in items.kinds,
        )


#: Reads a bound group's value of a subject (None when absent).
_Reader = Callable[[Slots, Subject], Any]
#: A candidate set for one subject: the subject, its slots and the entries found.
_Candidates = tuple[Subject, Slots, set[_Entry]]


class SelectivityEngine:
    """The active criteria compiled into an index; immutable.

    Build one with :meth:`compile`; derive the engine of the next revision
    with :meth:`with_criterion` and the other ``with``/``without`` methods.
    """

    def __init__(
        self,
        snapshot: RulesSnapshot,
        placements: dict[str, _Placement],
        header: _Level,
        items: _Level,
    ) -> None:
        self._snapshot = snapshot
        self._placements = placements
        self._header = header
        self._items = items
        self._lookups = _Lookups.of(header, items)

    @classmethod
    def compile(cls, snapshot: RulesSnapshot) -> SelectivityEngine:
        """The engine of ``snapshot`` (linear in its size; run it off the event loop)."""
        placements = {
            name: _place(criterion, snapshot.named_lists)
            for name, criterion in snapshot.criteria.items()
        }
        return cls(
            snapshot,
            placements,
            _level_of(placements, item_level=False),
            _level_of(placements, item_level=True),
        )

    @property
    def snapshot(self) -> RulesSnapshot:
        """The rules this engine applies."""
        return self._snapshot

    @property
    def statistics(self) -> IndexStatistics:
        """How the criteria are indexed (for logs and benchmarks)."""
        plans = [placement.plan for placement in self._placements.values()]
        return IndexStatistics(
            criteria=len(plans),
            unindexed=sum(1 for p in plans if p.keys is None and p.bound is None),
            unsatisfiable=sum(1 for p in plans if p.keys == frozenset()),
            keys=len(self._header.buckets) + len(self._items.buckets),
            bounded=sum(1 for p in plans if p.bound is not None),
        )

    # --- revisions -----------------------------------------------------------------

    def with_criterion(self, revision: int, criterion: Criterion) -> SelectivityEngine:
        """The engine at ``revision`` with ``criterion`` added or replaced."""
        engine = self._without(self._snapshot.with_criterion(revision, criterion), criterion.name)
        return engine._with(_place(criterion, engine._snapshot.named_lists))

    def without_criterion(self, revision: int, name: str) -> SelectivityEngine:
        """The engine at ``revision`` without the criterion ``name``."""
        return self._without(self._snapshot.without_criterion(revision, name), name)

    def with_named_list(self, revision: int, named_list: NamedList) -> SelectivityEngine:
        """The engine at ``revision`` with ``named_list`` added or replaced.

        Recompiles everything (criteria are filed by list entries); lists
        change seldom, so run it off the event loop like :meth:`compile`.
        """
        return SelectivityEngine.compile(self._snapshot.with_named_list(revision, named_list))

    def without_named_list(self, revision: int, name: str) -> SelectivityEngine:
        """The engine at ``revision`` without the named list ``name`` (recompiles)."""
        return SelectivityEngine.compile(self._snapshot.without_named_list(revision, name))

    def _without(self, snapshot: RulesSnapshot, name: str) -> SelectivityEngine:
        placements = self._placements.copy()
        old = placements.pop(name, None)
        header, items = self._header, self._items
        if old is not None:
            if old.item_level:
                items = items.unfiled(old)
            else:
                header = header.unfiled(old)
        return SelectivityEngine(snapshot, placements, header, items)

    def _with(self, placement: _Placement) -> SelectivityEngine:
        placements = self._placements.copy()
        placements[placement.entry.criterion.name] = placement
        header, items = self._header, self._items
        if placement.item_level:
            items = items.filed(placement)
        else:
            header = header.filed(placement)
        return SelectivityEngine(self._snapshot, placements, header, items)

    # --- assessment ----------------------------------------------------------------

    def assess(
        self,
        declaration: Declaration,
        seed: SelectionSeed,
        *,
        importer_approved: bool = False,
        risk_score: float | None = None,
    ) -> Decision:
        """The decision :func:`scoring.domain.evaluator.assess` gives, found through the index.

        A hit is first a tuple (priority, criterion name, item number,
        outcome code, entry): sorted as such, it is in the evaluator's order,
        and (criterion, item) is unique so the entry is never compared. Its
        outcome is :func:`scoring.domain.evaluator.outcome`'s, written out
        over the entry's fields. Only then are the hits and the instructions
        of the selected ones read, in one pass.
        """
        number, version = declaration.declaration_number, declaration.version
        moment = declaration.lodgement_time
        draw = seed.criterion_draw
        found: list[tuple[int, str, int, int, _Entry]] = []
        append = found.append
        for subject, slots, candidates in self._candidates(declaration, risk_score):
            item_number = 0 if subject.item is None else subject.item.item_number
            for entry in candidates:
                if entry.windowed and not entry.criterion.is_valid_at(moment):
                    continue
                check = entry.check
                if check is not None and not check(slots, subject):
                    continue
                threshold = entry.threshold
                if importer_approved and entry.excluded:
                    code = _EXCLUDED
                elif threshold is None:
                    code = entry.fixed
                elif draw(entry.name, entry.revision, number, version, item_number) < threshold:
                    code = _SELECTED
                else:
                    code = _NOT_DRAWN
                append((entry.priority, entry.name, item_number, code, entry))
        found.sort()
        hits = []
        selected = []
        for _, _, item_number, code, entry in found:
            hit = entry.hit(item_number, code)
            hits.append(hit)
            if code == _SELECTED:
                selected.append((hit, entry.instructions))
        return decide(hits, selected, importer_approved=importer_approved)

    def evaluate(
        self,
        declaration: Declaration,
        seed: SelectionSeed,
        *,
        importer_approved: bool = False,
        explain: bool = False,
        risk_score: float | None = None,
    ) -> Evaluation:
        """The evaluation :func:`scoring.domain.evaluator.evaluate` gives, draws and reasons."""
        return conclude(
            declaration,
            seed,
            (
                (entry.criterion, subject)
                for entry, subject in self._matches(declaration, risk_score)
            ),
            importer_approved=importer_approved,
            explain=explain,
        )

    def candidate_count(self, declaration: Declaration) -> int:
        """How many (criterion, header or item) checks an assessment performs."""
        return sum(len(found) for _, _, found in self._candidates(declaration, None))

    def _matches(
        self, declaration: Declaration, risk_score: float | None
    ) -> Iterator[tuple[_Entry, Subject]]:
        moment = declaration.lodgement_time
        for subject, slots, found in self._candidates(declaration, risk_score):
            for entry in found:
                if entry.windowed and not entry.criterion.is_valid_at(moment):
                    continue
                check = entry.check
                if check is None or check(slots, subject):
                    yield entry, subject

    def _candidates(
        self, declaration: Declaration, risk_score: float | None
    ) -> Iterator[_Candidates]:
        """Each subject (the header, then every item) with the criteria to check on it."""
        lookups = self._lookups
        named_lists = self._snapshot.named_lists
        header = Subject(declaration, None, named_lists, risk_score)
        slots = header_slots(declaration)
        header_level, item_level = self._header, self._items
        found = set(header_level.always)
        _look_up(header_level.buckets, lookups.header_kinds, slots, found)
        for read, bounds in lookups.header_bounds:
            _bisect(bounds, read(slots, header), found)
        yield header, slots, found
        if not item_level.buckets and not item_level.bounds and not item_level.always:
            return
        shared = set(item_level.always)
        _look_up(item_level.buckets, lookups.shared_kinds, slots, shared)
        for read, bounds in lookups.shared_bounds:
            _bisect(bounds, read(slots, header), shared)
        for item in declaration.items:
            subject = Subject(declaration, item, named_lists, risk_score)
            own = item_slots(slots, item)
            found = shared.copy()
            buckets = item_level.buckets
            _look_up(buckets, lookups.item_kinds, own, found)
            for code in own[_DOCUMENT_SLOT]:
                bucket = buckets.get((_DOCUMENT_SLOT, code))
                if bucket is not None:
                    found.update(bucket)
            if lookups.words and item.description:
                for word in words(item.description):
                    bucket = buckets.get((WORD, word))
                    if bucket is not None:
                        found.update(bucket)
            for read, bounds in lookups.item_bounds:
                _bisect(bounds, read(own, subject), found)
            yield subject, own, found


_DOCUMENT_SLOT = CODE_SLOTS[CodeElement.ITEM_DOCUMENT_TYPE]


def _look_up(
    buckets: dict[Key, tuple[_Entry, ...]],
    kinds: tuple[tuple[int, ...], ...],
    slots: Slots,
    found: set[_Entry],
) -> None:
    """Adds the entries filed under the subject's keys of ``kinds`` to ``found``."""
    get = buckets.get
    for kind in kinds:
        if len(kind) == 1:
            code = slots[kind[0]]
            if code is None:
                continue
            bucket = get((kind[0], code))
        else:
            first, second = slots[kind[0]], slots[kind[1]]
            if first is None or second is None:
                continue
            bucket = get((kind[0], kind[1], first, second))
        if bucket is not None:
            found.update(bucket)


def _bisect(bounds: _Bounds, value: float | None, found: set[_Entry]) -> None:
    if value is not None:
        found.update(bounds.found(value))
