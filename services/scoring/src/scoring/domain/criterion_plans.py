"""How the engine finds and checks one criterion: its anchor and its compiled check.

A subject (the header, or the header with one item) is read once into a flat
list of *slots*: one per coded data element, one per HS prefix length, the
full HS code and a cache of computed numbers. A criterion's condition is a
conjunction of conjuncts (a top-level ``all_of`` is flattened); the compiler

* derives from each conjunct the keys that could anchor it: ``(slot, code)``
  pairs at least one of which the subject carries whenever the conjunct
  holds (codes, HS prefixes of every length, named-list entries, a word of a
  keyword), or a bound of a numeric element or of the risk model's score;
* picks the most selective anchor by an estimate of how many subjects carry
  it: a pair of two conjuncts' codes (an HS prefix *and* an origin, say)
  when both are exact, else the single best key set, else a bound, else none
  (the criterion is then checked on every subject);
* compiles every conjunct the anchor does not already guarantee into one
  closure over the slots, so that checking a candidate is a few list reads
  and comparisons, never a walk of the condition tree.

The anchor is a necessary condition and the check the rest of the tree, so a
criterion hits exactly when :func:`scoring.domain.evaluator.holds` is true.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring.domain.declaration import Declaration, DeclarationItem
from scoring.domain.evaluator import Subject, number, test, words
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
    NoneOf,
    NumericElement,
    NumericRange,
    RiskModelScore,
)

# --- slots ---------------------------------------------------------------------------

#: The slot of each coded element: its code, or None when absent (the item's
#: documents: the tuple of their type codes).
CODE_SLOTS: Mapping[CodeElement, int] = {element: slot for slot, element in enumerate(CodeElement)}
_HS_MAX = 10
#: The slot of the item's HS code cut to each length (None when shorter).
HS_SLOTS: Mapping[int, int] = {
    length: len(CODE_SLOTS) + length - 1 for length in range(1, _HS_MAX + 1)
}
#: The item's HS code as declared (even empty), None for the header.
HS_RAW = len(CODE_SLOTS) + _HS_MAX
#: Numbers computed on demand, by (element, currency), for this subject only.
NUMBERS = HS_RAW + 1
SLOT_COUNT = NUMBERS + 1
#: Pseudo-slots of multi-valued keys: a word of the goods description.
WORD = -1
_DOCUMENTS = CODE_SLOTS[CodeElement.ITEM_DOCUMENT_TYPE]
#: Slots that hold several codes at once, so they only anchor alone.
MULTI_VALUED = frozenset({_DOCUMENTS, WORD})
HEADER_SLOTS = frozenset(slot for element, slot in CODE_SLOTS.items() if not element.is_item)

_HEADER_READERS: tuple[tuple[int, Callable[[Declaration], str]], ...] = (
    (CODE_SLOTS[CodeElement.OFFICE], lambda d: d.office_code),
    (CODE_SLOTS[CodeElement.PROCEDURE], lambda d: d.procedure_code),
    (CODE_SLOTS[CodeElement.IMPORT_TYPE], lambda d: d.import_type_code),
    (CODE_SLOTS[CodeElement.IMPORT_USE], lambda d: d.import_use_code),
    (CODE_SLOTS[CodeElement.PAYMENT_TYPE], lambda d: d.payment_type_code),
    (CODE_SLOTS[CodeElement.TRANSPORT_MODE], lambda d: d.transport_mode_code),
    (CODE_SLOTS[CodeElement.DISPATCH_COUNTRY], lambda d: d.dispatch_country_code),
    (CODE_SLOTS[CodeElement.DECLARANT], lambda d: d.declarant.id if d.declarant else ""),
    (CODE_SLOTS[CodeElement.IMPORTER], lambda d: d.importer.id if d.importer else ""),
    (CODE_SLOTS[CodeElement.SELLER], lambda d: d.seller.id if d.seller else ""),
    (CODE_SLOTS[CodeElement.SELLER_COUNTRY], lambda d: d.seller.country_code if d.seller else ""),
    (CODE_SLOTS[CodeElement.CARRIER], lambda d: d.carrier.id if d.carrier else ""),
    (CODE_SLOTS[CodeElement.COURIER], lambda d: d.courier.id if d.courier else ""),
)
_ORIGIN = CODE_SLOTS[CodeElement.ITEM_ORIGIN_COUNTRY]
_INDICATOR = CODE_SLOTS[CodeElement.ITEM_ORIGIN_INDICATOR]
_TAX_TYPE = CODE_SLOTS[CodeElement.ITEM_TAX_TYPE]
_UNIT = CODE_SLOTS[CodeElement.ITEM_SUPPLEMENTARY_UNIT]
_HS_CODE = CODE_SLOTS[CodeElement.ITEM_HS_CODE]

Slots = list[Any]


def header_slots(declaration: Declaration) -> Slots:
    """The slots of the header subject (every item slot absent)."""
    slots: Slots = [None] * SLOT_COUNT
    for slot, read in _HEADER_READERS:
        slots[slot] = read(declaration) or None
    slots[_DOCUMENTS] = ()
    slots[NUMBERS] = {}
    return slots


def item_slots(header: Slots, item: DeclarationItem) -> Slots:
    """The slots of the subject of ``item``: the header's, then the item's own."""
    slots = header.copy()
    hs_code = item.hs_code
    slots[_HS_CODE] = hs_code or None
    slots[HS_RAW] = hs_code
    for length in range(1, min(len(hs_code), _HS_MAX) + 1):
        slots[HS_SLOTS[length]] = hs_code[:length]
    slots[_ORIGIN] = item.origin_country_code or None
    slots[_INDICATOR] = item.origin_indicator_code or None
    slots[_TAX_TYPE] = item.tax_type_code or None
    slots[_UNIT] = item.supplementary_unit_code or None
    slots[_DOCUMENTS] = tuple(document.type_code for document in item.documents)
    slots[NUMBERS] = {}
    return slots


# --- checks --------------------------------------------------------------------------

#: A compiled test: true when the subject, read into slots, satisfies it.
Check = Callable[[Slots, Subject], bool]
_ABSENT = object()


def _cached_number(element: NumericElement, currency: str) -> Callable[[Slots, Subject], Any]:
    key = (element, currency)

    def read(slots: Slots, subject: Subject) -> Any:
        cache = slots[NUMBERS]
        value = cache.get(key, _ABSENT)
        if value is _ABSENT:
            value = cache[key] = number(element, currency, subject)
        return value

    return read


def _score(_: Slots, subject: Subject) -> float | None:
    return subject.risk_score


def _bounded(read: Callable[[Slots, Subject], Any], low: float | None, high: float | None) -> Check:
    if high is None:
        assert low is not None
        return lambda slots, subject: (value := read(slots, subject)) is not None and low <= value
    if low is None:
        return lambda slots, subject: (value := read(slots, subject)) is not None and value <= high
    return lambda slots, subject: (
        (value := read(slots, subject)) is not None and low <= value <= high
    )


def _code_check(slot: int, values: frozenset[str]) -> Check:
    if slot == _DOCUMENTS:
        return lambda slots, _: not values.isdisjoint(slots[slot])
    if len(values) == 1:
        (only,) = values
        return lambda slots, _: slots[slot] == only
    return lambda slots, _: slots[slot] in values


def _all(checks: Sequence[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda slots, subject: first(slots, subject) and second(slots, subject)
    return lambda slots, subject: all(check(slots, subject) for check in checks)


def compile_check(condition: Condition) -> Check:
    """``condition`` as one closure over the slots, true exactly when ``holds`` is."""
    match condition:
        case AllOf(conditions):
            if not conditions:
                return lambda _slots, _subject: True
            return _all([compile_check(child) for child in conditions])
        case AnyOf(conditions):
            checks = [compile_check(child) for child in conditions]
            return lambda slots, subject: any(check(slots, subject) for check in checks)
        case NoneOf(conditions):
            checks = [compile_check(child) for child in conditions]
            return lambda slots, subject: not any(check(slots, subject) for check in checks)
        case CodeIn(element, values):
            return _code_check(CODE_SLOTS[element], values)
        case HsCodePrefix(prefixes):
            return lambda slots, _: (
                (code := slots[HS_RAW]) is not None and code.startswith(prefixes)
            )
        case NumericRange(element, minimum, maximum, currency_code) if (
            minimum is not None or maximum is not None
        ):
            return _bounded(_cached_number(element, currency_code), minimum, maximum)
        case RiskModelScore(minimum, maximum) if minimum is not None or maximum is not None:
            return _bounded(_score, minimum, maximum)
    # Unit values, keywords, named lists, codes_equal, and unbounded ranges:
    # the evaluator's own leaf test.
    predicate = condition
    return lambda _, subject: test(predicate, subject)


# --- anchors -------------------------------------------------------------------------

#: A single key: (slot, code). A pair key: (slot, slot, code, code), slots ascending.
Key = tuple[Any, ...]
#: A bound group: a numeric element (with its currency) or the score, and its side.
BoundGroup = tuple[Any, ...]

# Rough share of subjects carrying one given code of each element: only used
# to choose a criterion's anchor, never for results.
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
_SHARE_BY_SLOT: dict[int, float] = {CODE_SLOTS[e]: share for e, share in _SHARE_BY_ELEMENT.items()}
# A chapter (2 digits) covers a few percent of items, each further digit
# roughly a third of that.
_SHARE_BY_SLOT.update(
    {slot: min(1.0, 0.03 * 0.3 ** (length - 2)) for length, slot in HS_SLOTS.items()}
)
_SHARE_BY_SLOT[WORD] = 0.01
#: A bound is taken as holding for half the subjects: any code anchors better.
_BOUND_SHARE = 0.5
#: Pairs of key sets beyond this many keys are not worth filing.
_MAX_PAIR_KEYS = 64


def _share(keys: frozenset[Key]) -> float:
    return sum(_SHARE_BY_SLOT[key[0]] for key in keys)


@dataclass(frozen=True)
class _Keys:
    """Keys at least one of which a subject carries whenever a conjunct holds.

    ``exact``: carrying one of them is also sufficient, so the conjunct needs
    no check once found through them.
    """

    keys: frozenset[Key]
    exact: bool

    @property
    def pairable(self) -> bool:
        return self.exact and all(key[0] not in MULTI_VALUED for key in self.keys)


def _keys(condition: Condition, named_lists: Mapping[str, NamedList]) -> _Keys | None:
    """The anchor keys of ``condition``, or None when it holds without any particular code."""
    match condition:
        case CodeIn(element, values):
            slot = CODE_SLOTS[element]
            return _Keys(frozenset((slot, value) for value in values), True)
        case HsCodePrefix(prefixes):
            if not all(1 <= len(prefix) <= _HS_MAX for prefix in prefixes):
                return None
            return _Keys(frozenset((HS_SLOTS[len(p)], p) for p in prefixes), True)
        case InNamedList(element, name):
            return _named_list_keys(element, named_lists.get(name))
        case DescriptionKeywords(keywords, match_all):
            return _keyword_keys(keywords, match_all)
        case AllOf(conditions):
            options = [_keys(child, named_lists) for child in conditions]
            best = min(
                (option for option in options if option is not None),
                key=lambda option: _share(option.keys),
                default=None,
            )
            return None if best is None else _Keys(best.keys, False)
        case AnyOf(conditions):
            union: set[Key] = set()
            for child in conditions:
                option = _keys(child, named_lists)
                if option is None:
                    return None
                union |= option.keys
            return _Keys(frozenset(union), False)
    # none_of, numeric ranges, unit values, codes_equal and the score hold on
    # subjects that carry no particular code.
    return None


def _named_list_keys(element: CodeElement, named_list: NamedList | None) -> _Keys:
    if named_list is None:
        return _Keys(frozenset(), True)
    if element is CodeElement.ITEM_HS_CODE and named_list.kind is NamedListKind.COMMODITIES:
        # The evaluator matches commodity entries of 2 to 10 digits as HS prefixes.
        return _Keys(
            frozenset(
                (HS_SLOTS[len(entry)], entry)
                for entry in named_list.entries
                if 2 <= len(entry) <= _HS_MAX
            ),
            True,
        )
    slot = CODE_SLOTS[element]
    return _Keys(frozenset((slot, entry) for entry in named_list.entries), True)


def _keyword_keys(keywords: tuple[str, ...], match_all: bool) -> _Keys | None:
    # A keyword is found as a run of words, so its first word is among the
    # description's words; a keyword without words is never found.
    phrases = [words(keyword) for keyword in keywords]
    if not match_all:
        return _Keys(frozenset((WORD, phrase[0]) for phrase in phrases if phrase), False)
    if not phrases:
        # all() of nothing: true of every described item.
        return None
    if not all(phrases):
        return _Keys(frozenset(), False)
    longest = max(phrases, key=lambda phrase: len(phrase[0]))
    return _Keys(frozenset({(WORD, longest[0])}), False)


def _bound(condition: Condition) -> tuple[BoundGroup, float] | None:
    """The group and threshold under which a bound conjunct is filed, if it is one."""
    match condition:
        case NumericRange(element, minimum, maximum, currency_code):
            if minimum is not None and not math.isnan(minimum):
                return ("number", element, currency_code, "min"), minimum
            if maximum is not None and not math.isnan(maximum):
                return ("number", element, currency_code, "max"), maximum
        case RiskModelScore(minimum, maximum):
            if minimum is not None:
                return ("score", "min"), minimum
            if maximum is not None:
                return ("score", "max"), maximum
    return None


def bound_reader(group: BoundGroup) -> Callable[[Slots, Subject], Any]:
    """What the subject holds for a bound group (None when absent)."""
    if group[0] == "score":
        return _score
    _, element, currency, _side = group
    return _cached_number(element, currency)


def bound_reads_items(group: BoundGroup) -> bool:
    """Whether the group's value is read from the item (else from the header)."""
    return group[0] == "number" and bool(group[1].is_item)


# --- plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Where one criterion is filed and what is left to check once it is found.

    Exactly one of: ``keys`` (found through any of them; empty: never hits),
    ``bound`` (found when the subject's value passes the threshold), or
    neither (checked on every subject).
    """

    keys: frozenset[Key] | None
    bound: tuple[BoundGroup, float] | None
    #: None when the anchor alone decides.
    check: Check | None


def _conjuncts(condition: Condition) -> list[Condition]:
    if isinstance(condition, AllOf) and condition.conditions:
        return [leaf for child in condition.conditions for leaf in _conjuncts(child)]
    return [condition]


def _pair(first: frozenset[Key], second: frozenset[Key]) -> frozenset[Key] | None:
    if len(first) * len(second) > _MAX_PAIR_KEYS:
        return None
    pairs = set()
    for one in first:
        for other in second:
            if one[0] == other[0]:
                # Two codes of one slot: a subject carries both only when they
                # are the same code, which a single key files as well.
                return None
            low, high = (one, other) if one[0] < other[0] else (other, one)
            pairs.add((low[0], high[0], low[1], high[1]))
    return frozenset(pairs)


def plan(criterion: Criterion, named_lists: Mapping[str, NamedList]) -> Plan:
    """The anchor and compiled check of ``criterion``."""
    conjuncts = _conjuncts(criterion.rule.condition)
    options = [(index, _keys(c, named_lists)) for index, c in enumerate(conjuncts)]
    keyed = [(index, option) for index, option in options if option is not None]
    best: tuple[float, frozenset[Key], set[int]] | None = None
    for index, option in keyed:
        share = _share(option.keys)
        if best is None or share < best[0]:
            best = (share, option.keys, {index} if option.exact else set())
    pairable = [(index, option) for index, option in keyed if option.pairable and option.keys]
    for position, (index, option) in enumerate(pairable):
        for other_index, other in pairable[position + 1 :]:
            share = _share(option.keys) * _share(other.keys)
            if best is not None and share >= best[0]:
                continue
            pairs = _pair(option.keys, other.keys)
            if pairs is not None:
                best = (share, pairs, {index, other_index})
    if best is not None:
        _, keys, covered = best
        if not keys:
            return Plan(frozenset(), None, None)
        return Plan(keys, None, _check_of(conjuncts, covered))
    for conjunct in conjuncts:
        bound = _bound(conjunct)
        if bound is not None:
            # The index only narrows by the threshold: the full range stays checked.
            return Plan(None, bound, _check_of(conjuncts, set()))
    return Plan(None, None, _check_of(conjuncts, set()))


def _check_of(conjuncts: list[Condition], covered: set[int]) -> Check | None:
    rest = [compile_check(c) for index, c in enumerate(conjuncts) if index not in covered]
    return _all(rest) if rest else None
