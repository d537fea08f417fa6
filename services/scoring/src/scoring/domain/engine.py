"""The indexed selectivity engine: only the criteria that could hit are evaluated.

The active criteria are compiled into an index by the codes each one
requires. For every condition tree the compiler derives a *key set*: codes
(an office, an importer, an HS prefix, an origin country, a word of the goods
description...) at least one of which the declaration must carry whenever
the tree is true. ``all_of`` takes the most selective key set of its
operands, ``any_of`` the union of its operands' (and is unindexable when one
operand is), ``none_of``, numeric ranges, unit values and ``codes_equal``
are unindexable. A criterion is filed under every key of its key set, or in
a short list evaluated for every declaration when it has none.

An assessment looks up the declaration's own codes (the header's, then each
item's, with every prefix of its HS code) and fully evaluates only the
criteria found, with the reference evaluator's own condition and decision
logic, so the result is identical to :func:`scoring.domain.evaluator.evaluate`
by construction: the key set is a necessary condition, never a sufficient one.

An engine is immutable. A change of one criterion gives a new engine that
shares everything but the buckets it touches, so a revision is compiled
aside and swapped in with one assignment while assessments keep running on
the engine they started with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from scoring.domain.assessment import Decision
from scoring.domain.declaration import Declaration, DeclarationItem
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import Evaluation, Subject, codes, conclude, holds, words
from scoring.domain.rules import (
    AllOf,
    AnyOf,
    CodeElement,
    CodeIn,
    Condition,
    Criterion,
    DescriptionKeywords,
    HsCodePrefix,
    InNamedList,
    NamedList,
    NamedListKind,
    RulesSnapshot,
)

#: An index key: (tag, code). Tags are small integers rather than enum members
#: because hashing an enum member runs Python code, and keys are hashed on
#: every lookup of the hot path.
_Key = tuple[int, str]

_TAGS: Mapping[CodeElement, int] = {element: tag for tag, element in enumerate(CodeElement)}
_HS_PREFIX = -1
_WORD = -2
_HEADER_ELEMENTS = tuple(
    (element, _TAGS[element]) for element in CodeElement if not element.is_item
)
_ITEM_ELEMENTS = tuple((element, _TAGS[element]) for element in CodeElement if element.is_item)

# Rough share of declarations carrying one given code of each element: only
# used to choose the most selective operand of an all_of, never for results.
_SHARE_BY_ELEMENT: Mapping[CodeElement, float] = {
    CodeElement.OFFICE: 0.1,
    CodeElement.PROCEDURE: 0.5,
    CodeElement.IMPORT_TYPE: 0.3,
    CodeElement.IMPORT_USE: 0.3,
    CodeElement.PAYMENT_TYPE: 0.3,
    CodeElement.TRANSPORT_MODE: 0.4,
    CodeElement.DISPATCH_COUNTRY: 0.1,
    CodeElement.DECLARANT: 0.002,
    CodeElement.IMPORTER: 0.0005,
    CodeElement.SELLER: 0.0005,
    CodeElement.SELLER_COUNTRY: 0.1,
    CodeElement.CARRIER: 0.01,
    CodeElement.COURIER: 0.02,
    CodeElement.ITEM_HS_CODE: 0.0005,
    CodeElement.ITEM_ORIGIN_COUNTRY: 0.1,
    CodeElement.ITEM_ORIGIN_INDICATOR: 0.25,
    CodeElement.ITEM_TAX_TYPE: 0.2,
    CodeElement.ITEM_SUPPLEMENTARY_UNIT: 0.3,
    CodeElement.ITEM_DOCUMENT_TYPE: 0.2,
}
_SHARE_BY_TAG: Mapping[int, float] = {_TAGS[e]: share for e, share in _SHARE_BY_ELEMENT.items()}
_WORD_SHARE = 0.01
# A chapter (2 digits) covers a few percent of items, each further pair of
# digits roughly a tenth of that.
_HS_SHARE_PER_DIGIT_PAIR = 0.1
_HS_CHAPTER_SHARE = 0.03


def _key_share(key: _Key) -> float:
    tag, code = key
    if tag == _HS_PREFIX:
        pairs_beyond_chapter = max(len(code) / 2 - 1, -1.0)
        return _HS_CHAPTER_SHARE * float(_HS_SHARE_PER_DIGIT_PAIR**pairs_beyond_chapter)
    if tag == _WORD:
        return _WORD_SHARE
    return _SHARE_BY_TAG[tag]


@dataclass(frozen=True)
class _KeySet:
    """Codes at least one of which a subject carries whenever a condition holds.

    Empty means the condition can never hold. ``share`` estimates how many
    subjects carry one of them (lower is more selective).
    """

    keys: frozenset[_Key]
    share: float

    @classmethod
    def of(cls, keys: Iterable[_Key]) -> _KeySet:
        frozen = frozenset(keys)
        return cls(frozen, sum(_key_share(key) for key in frozen))


def _key_set(condition: Condition, named_lists: Mapping[str, NamedList]) -> _KeySet | None:
    """The key set of ``condition``, or None when it cannot be indexed."""
    match condition:
        case AllOf(conditions):
            options = [_key_set(child, named_lists) for child in conditions]
            return min(
                (option for option in options if option is not None),
                key=lambda option: option.share,
                default=None,
            )
        case AnyOf(conditions):
            union: set[_Key] = set()
            for child in conditions:
                option = _key_set(child, named_lists)
                if option is None:
                    return None
                union |= option.keys
            return _KeySet.of(union)
        case CodeIn(element, values):
            tag = _TAGS[element]
            return _KeySet.of((tag, value) for value in values)
        case HsCodePrefix(prefixes):
            return _KeySet.of((_HS_PREFIX, prefix) for prefix in prefixes)
        case InNamedList(element, name):
            return _named_list_keys(element, named_lists.get(name))
        case DescriptionKeywords(keywords, match_all):
            return _keyword_keys(keywords, match_all)
    # none_of, numeric ranges, unit values and codes_equal hold on declarations
    # that carry no particular code.
    return None


def _named_list_keys(element: CodeElement, named_list: NamedList | None) -> _KeySet:
    if named_list is None:
        return _KeySet.of(())
    if element is CodeElement.ITEM_HS_CODE and named_list.kind is NamedListKind.COMMODITIES:
        # The evaluator matches commodity entries of 2 to 10 digits as HS prefixes.
        return _KeySet.of(
            (_HS_PREFIX, entry) for entry in named_list.entries if 2 <= len(entry) <= 10
        )
    tag = _TAGS[element]
    return _KeySet.of((tag, entry) for entry in named_list.entries)


def _keyword_keys(keywords: tuple[str, ...], match_all: bool) -> _KeySet | None:
    # A keyword is found as a run of words, so its first word is among the
    # description's words; a keyword without words is never found.
    phrases = [words(keyword) for keyword in keywords]
    if not match_all:
        return _KeySet.of((_WORD, phrase[0]) for phrase in phrases if phrase)
    if not phrases:
        # all() of nothing: true of every described item.
        return None
    if not all(phrases):
        return _KeySet.of(())
    return _KeySet.of([(_WORD, max(phrases, key=lambda phrase: len(phrase[0]))[0])])


class _Entry:
    """One indexed criterion. Compared by identity: set operations stay in C."""

    __slots__ = ("condition", "criterion")

    def __init__(self, criterion: Criterion) -> None:
        self.criterion = criterion
        self.condition = criterion.rule.condition


_Index = dict[_Key, tuple[_Entry, ...]]


@dataclass(frozen=True)
class IndexStatistics:
    """How the active criteria are indexed."""

    criteria: int
    #: Criteria evaluated for every declaration (no key set).
    unindexed: int
    #: Criteria whose condition can never hold (e.g. an empty named list).
    unsatisfiable: int
    keys: int


@dataclass(frozen=True)
class _Placement:
    """Where one criterion is filed, so that a change can take it out again."""

    entry: _Entry
    #: Whether the criterion is evaluated per item (else once, on the header).
    item_level: bool
    #: None: evaluated for every declaration; empty: never.
    keys: frozenset[_Key] | None


class SelectivityEngine:
    """The active criteria compiled into an index; immutable.

    Build one with :meth:`compile`; derive the engine of the next revision
    with :meth:`with_criterion` and the other ``with``/``without`` methods.
    """

    def __init__(
        self,
        snapshot: RulesSnapshot,
        placements: dict[str, _Placement],
        header_index: _Index,
        item_index: _Index,
        header_always: tuple[_Entry, ...],
        item_always: tuple[_Entry, ...],
    ) -> None:
        self._snapshot = snapshot
        self._placements = placements
        self._header_index = header_index
        self._item_index = item_index
        self._header_always = header_always
        self._item_always = item_always

    @classmethod
    def compile(cls, snapshot: RulesSnapshot) -> SelectivityEngine:
        """The engine of ``snapshot`` (linear in its size; run it off the event loop)."""
        placements = {
            name: _place(criterion, snapshot.named_lists)
            for name, criterion in snapshot.criteria.items()
        }
        header_index: dict[_Key, list[_Entry]] = {}
        item_index: dict[_Key, list[_Entry]] = {}
        header_always: list[_Entry] = []
        item_always: list[_Entry] = []
        for placement in placements.values():
            is_item = placement.item_level
            if placement.keys is None:
                (item_always if is_item else header_always).append(placement.entry)
                continue
            index = item_index if is_item else header_index
            for key in placement.keys:
                index.setdefault(key, []).append(placement.entry)
        return cls(
            snapshot,
            placements,
            {key: tuple(entries) for key, entries in header_index.items()},
            {key: tuple(entries) for key, entries in item_index.items()},
            tuple(header_always),
            tuple(item_always),
        )

    @property
    def snapshot(self) -> RulesSnapshot:
        """The rules this engine applies."""
        return self._snapshot

    @property
    def statistics(self) -> IndexStatistics:
        """How the criteria are indexed (for logs and benchmarks)."""
        placements = self._placements.values()
        unindexed = sum(1 for placement in placements if placement.keys is None)
        unsatisfiable = sum(1 for placement in placements if placement.keys == frozenset())
        return IndexStatistics(
            criteria=len(self._placements),
            unindexed=unindexed,
            unsatisfiable=unsatisfiable,
            keys=len(self._header_index) + len(self._item_index),
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

    # Never mutated once built, so a change copies (dict.copy, which is fast) and
    # replaces only the buckets it touches.

    def _without(self, snapshot: RulesSnapshot, name: str) -> SelectivityEngine:
        placements = self._placements.copy()
        old = placements.pop(name, None)
        header_index, item_index = self._header_index, self._item_index
        header_always, item_always = self._header_always, self._item_always
        if old is not None:
            is_item = old.item_level
            if old.keys is None:
                if is_item:
                    item_always = tuple(e for e in item_always if e is not old.entry)
                else:
                    header_always = tuple(e for e in header_always if e is not old.entry)
            elif old.keys:
                index = (item_index if is_item else header_index).copy()
                for key in old.keys:
                    remaining = tuple(e for e in index[key] if e is not old.entry)
                    if remaining:
                        index[key] = remaining
                    else:
                        del index[key]
                if is_item:
                    item_index = index
                else:
                    header_index = index
        return SelectivityEngine(
            snapshot,
            placements,
            header_index,
            item_index,
            header_always,
            item_always,
        )

    def _with(self, placement: _Placement) -> SelectivityEngine:
        placements = self._placements.copy()
        placements[placement.entry.criterion.name] = placement
        header_index, item_index = self._header_index, self._item_index
        header_always, item_always = self._header_always, self._item_always
        is_item = placement.item_level
        if placement.keys is None:
            if is_item:
                item_always = (*item_always, placement.entry)
            else:
                header_always = (*header_always, placement.entry)
        elif placement.keys:
            index = (item_index if is_item else header_index).copy()
            for key in placement.keys:
                index[key] = (*index.get(key, ()), placement.entry)
            if is_item:
                item_index = index
            else:
                header_index = index
        return SelectivityEngine(
            self._snapshot,
            placements,
            header_index,
            item_index,
            header_always,
            item_always,
        )

    # --- assessment ----------------------------------------------------------------

    def assess(
        self, declaration: Declaration, seed: SelectionSeed, *, importer_approved: bool = False
    ) -> Decision:
        """The decision :func:`scoring.domain.evaluator.assess` gives, found through the index."""
        return self.evaluate(declaration, seed, importer_approved=importer_approved).decision

    def evaluate(
        self,
        declaration: Declaration,
        seed: SelectionSeed,
        *,
        importer_approved: bool = False,
        explain: bool = False,
    ) -> Evaluation:
        """The evaluation :func:`scoring.domain.evaluator.evaluate` gives."""
        return conclude(
            declaration,
            seed,
            self._matches(declaration),
            importer_approved=importer_approved,
            explain=explain,
        )

    def candidate_count(self, declaration: Declaration) -> int:
        """How many (criterion, header or item) evaluations an assessment performs."""
        return sum(len(candidates) for _, candidates in self._candidates(declaration))

    def _matches(self, declaration: Declaration) -> Iterator[tuple[Criterion, Subject]]:
        moment = declaration.lodgement_time
        for subject, candidates in self._candidates(declaration):
            for entry in candidates:
                criterion = entry.criterion
                if criterion.is_valid_at(moment) and holds(entry.condition, subject):
                    yield criterion, subject

    def _candidates(self, declaration: Declaration) -> Iterator[tuple[Subject, set[_Entry]]]:
        """Each subject (the header, then every item) with the criteria to evaluate on it."""
        named_lists = self._snapshot.named_lists
        header = Subject(declaration, None, named_lists)
        header_keys = [
            (tag, code) for element, tag in _HEADER_ELEMENTS for code in codes(element, header)
        ]
        found = set(self._header_always)
        index = self._header_index
        for key in header_keys:
            bucket = index.get(key)
            if bucket is not None:
                found.update(bucket)
        yield header, found
        if not self._item_index and not self._item_always:
            return
        index = self._item_index
        # Item-level criteria filed under a header code are candidates on every item.
        shared = set(self._item_always)
        for key in header_keys:
            bucket = index.get(key)
            if bucket is not None:
                shared.update(bucket)
        for item in declaration.items:
            subject = Subject(declaration, item, named_lists)
            found = set(shared)
            for key in _item_keys(item, subject):
                bucket = index.get(key)
                if bucket is not None:
                    found.update(bucket)
            yield subject, found


def _item_keys(item: DeclarationItem, subject: Subject) -> Iterator[_Key]:
    hs_code = item.hs_code
    for length in range(len(hs_code) + 1):
        yield _HS_PREFIX, hs_code[:length]
    for element, tag in _ITEM_ELEMENTS:
        for code in codes(element, subject):
            yield tag, code
    if item.description:
        for word in words(item.description):
            yield _WORD, word


def _place(criterion: Criterion, named_lists: Mapping[str, NamedList]) -> _Placement:
    key_set = _key_set(criterion.rule.condition, named_lists)
    return _Placement(
        entry=_Entry(criterion),
        item_level=criterion.rule.item_level,
        keys=None if key_set is None else key_set.keys,
    )
