"""The reference selectivity evaluator: every active criterion, one after the other.

A pure function of (rules snapshot, declaration, seed, importer status), so
that a stored decision can be replayed exactly and so that it can serve as
the test oracle of any faster engine.

Semantics (common/v1/selection_rule.proto):

* A condition tree that reads no item data element is evaluated once, for
  the header, and hits with item number 0. A tree that reads any item element
  is evaluated once per item, with header elements read from the header: the
  criterion hits on every item for which the whole tree is true. So all item
  conditions of an ``all_of`` must hold on the same item, and ``none_of`` is
  true for an item none of whose conditions hold.
* A predicate on an absent element or an uncomputable value is false.
* A criterion applies when the lodgement time is in ``[start, end)`` of its
  validity window.
* Each hit gets its own keyed draw and is selected when draw < percent / 100;
  a criterion that excludes approved traders never selects theirs.
* The channel is the highest by precedence RED > YELLOW > BLUE > GREEN among
  the selected treatments (GREEN when none); the examination level is the
  highest among RED selections; the declaration is referred to audit when a
  selected treatment is BLUE or asks for it.
* A ``risk_model_score`` predicate reads the risk model's score given to the
  assessment; without a score it is false.
* Risk score (engine version 1): 101 minus the best (lowest) priority among
  all hits, selected or not; 0 without hits. It orders work lists and never
  changes the channel.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scoring.domain.assessment import (
    CriterionHit,
    Decision,
    DocumentCheck,
    ExaminerInstruction,
    HitOutcome,
)
from scoring.domain.declaration import Declaration, DeclarationItem, Money, Party
from scoring.domain.draws import SelectionSeed
from scoring.domain.rules import (
    AllOf,
    AnyOf,
    ApprovedTraderScope,
    Channel,
    CodeElement,
    CodeIn,
    CodesEqual,
    Condition,
    Criterion,
    DescriptionKeywords,
    DocumentRequirement,
    ExaminationLevel,
    HsCodePrefix,
    InNamedList,
    NamedList,
    NamedListKind,
    NoneOf,
    NumericElement,
    NumericRange,
    Predicate,
    RiskModelScore,
    RulesSnapshot,
    SelectionRule,
    UnitValue,
    UnitValueBand,
    UnitValueBasis,
    UnitValueComparison,
)

_WORD = re.compile(r"\w+")
#: The narration's capacity sentence, which the capacity step replaces by what it did.
NO_CAPACITY_STEP = "No office capacity limit applied."
#: The narration's random-draw sentence, which the random step replaces by its draws.
NO_RANDOM_STEP = "No random examination rate applied."


@dataclass(frozen=True)
class PredicateResult:
    """One leaf test of a condition tree, with the value it saw."""

    path: str
    test: str
    observed_value: str
    result: bool


@dataclass(frozen=True)
class CriterionEvaluation:
    """Why one criterion hit, and what its draw made of the hit."""

    hit: CriterionHit
    predicate_results: tuple[PredicateResult, ...]
    draw: float

    @property
    def threshold(self) -> float:
        """The draw must be below this to select: selection percent / 100."""
        return self.hit.selection_percent / 100.0


@dataclass(frozen=True)
class Evaluation:
    """The decision with, for each hit, the tests and the draw behind it."""

    decision: Decision
    criterion_evaluations: tuple[CriterionEvaluation, ...]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Subject:
    """What one evaluation of a condition tree reads: the header and maybe one item."""

    declaration: Declaration
    item: DeclarationItem | None
    named_lists: Mapping[str, NamedList]
    #: The risk model's score of the declaration (0 to 1), None when not given.
    risk_score: float | None = None


def assess(
    snapshot: RulesSnapshot,
    declaration: Declaration,
    seed: SelectionSeed,
    *,
    importer_approved: bool = False,
    risk_score: float | None = None,
) -> Decision:
    """The selectivity decision on ``declaration`` under ``snapshot``."""
    return evaluate(
        snapshot, declaration, seed, importer_approved=importer_approved, risk_score=risk_score
    ).decision


def evaluate(
    snapshot: RulesSnapshot,
    declaration: Declaration,
    seed: SelectionSeed,
    *,
    importer_approved: bool = False,
    explain: bool = False,
    risk_score: float | None = None,
) -> Evaluation:
    """The decision and (with ``explain``) the predicate-by-predicate reasons of each hit."""
    matches = (
        (criterion, subject)
        for criterion in snapshot.criteria.values()
        if criterion.is_valid_at(declaration.lodgement_time)
        for subject in _subjects(criterion, declaration, snapshot.named_lists, risk_score)
        if holds(criterion.rule.condition, subject)
    )
    return conclude(
        declaration, seed, matches, importer_approved=importer_approved, explain=explain
    )


def conclude(
    declaration: Declaration,
    seed: SelectionSeed,
    matches: Iterable[tuple[Criterion, Subject]],
    *,
    importer_approved: bool,
    explain: bool,
) -> Evaluation:
    """The evaluation made of the (criterion, subject) pairs whose condition holds.

    Shared by this evaluator and the indexed engine, so that the two differ
    only in which pairs they find, never in draws, order or decision.
    """
    found: list[tuple[Criterion, CriterionHit, float, tuple[PredicateResult, ...]]] = []
    for criterion, subject in matches:
        item_number = 0 if subject.item is None else subject.item.item_number
        draw = seed.criterion_draw(
            criterion.name,
            criterion.revision,
            declaration.declaration_number,
            declaration.version,
            item_number,
        )
        hit = make_hit(
            criterion,
            item_number,
            outcome(criterion.rule, importer_approved, functools.partial(float, draw)),
        )
        results = (
            tuple(_explain_tree(criterion.rule.condition, subject, "condition")) if explain else ()
        )
        found.append((criterion, hit, draw, results))
    # (criterion, item) is unique, so this order is total whatever the snapshot's order.
    found.sort(key=lambda entry: (entry[1].priority, entry[1].criterion, entry[1].item_number))
    decision = decide(
        [hit for _, hit, _, _ in found],
        [
            (hit, criterion.rule.examiner_instructions)
            for criterion, hit, _, _ in found
            if hit.outcome is HitOutcome.SELECTED
        ],
        importer_approved=importer_approved,
    )
    evaluations = tuple(
        CriterionEvaluation(hit=hit, predicate_results=results, draw=draw)
        for _, hit, draw, results in found
    )
    steps = tuple(_narrate(decision, evaluations)) if explain else ()
    return Evaluation(decision, evaluations, steps)


def _subjects(
    criterion: Criterion,
    declaration: Declaration,
    named_lists: Mapping[str, NamedList],
    risk_score: float | None,
) -> Iterator[Subject]:
    if not criterion.rule.item_level:
        yield Subject(declaration, None, named_lists, risk_score)
        return
    for item in declaration.items:
        yield Subject(declaration, item, named_lists, risk_score)


def outcome(rule: SelectionRule, importer_approved: bool, draw: Callable[[], float]) -> HitOutcome:
    """What becomes of a hit of ``rule``; ``draw`` is only called when the draw decides.

    A draw lies in [0, 1), so 100 % always selects and 0 % never does: the
    keyed hash is computed only for the percentages in between.
    """
    if importer_approved and rule.approved_traders is ApprovedTraderScope.EXCLUDED:
        return HitOutcome.APPROVED_TRADER_EXCLUDED
    percent = rule.selection_percent
    if percent >= 100.0:
        return HitOutcome.SELECTED
    if percent <= 0.0:
        return HitOutcome.NOT_DRAWN
    return HitOutcome.SELECTED if draw() < percent / 100.0 else HitOutcome.NOT_DRAWN


def make_hit(criterion: Criterion, item_number: int, hit_outcome: HitOutcome) -> CriterionHit:
    """The hit of ``criterion`` on the header (item 0) or one item."""
    rule = criterion.rule
    return CriterionHit(
        criterion=criterion.name,
        criterion_revision=criterion.revision,
        title=criterion.title,
        item_number=item_number,
        treatment=rule.treatment,
        selection_percent=rule.selection_percent,
        mandatory=rule.mandatory,
        priority=rule.priority,
        outcome=hit_outcome,
    )


def decide(
    hits: Sequence[CriterionHit],
    selected: Sequence[tuple[CriterionHit, str]],
    *,
    importer_approved: bool,
) -> Decision:
    """The decision made of the hits, in their order (priority, criterion, item).

    ``selected`` is the hits whose outcome is SELECTED, in the same order,
    each with its criterion's examiner instructions: the caller has them at
    hand while it walks the hits, so the decision never walks them again.
    """
    treatments = [hit.treatment for hit, _ in selected]
    # Membership in a list compares members by identity, in C: an enum's own
    # hash (for a max by precedence) runs Python code, for every hit.
    channels = [treatment.channel for treatment in treatments]
    channel = next((c for c in _BY_PRECEDENCE if c in channels), Channel.GREEN)
    level = ExaminationLevel.NONE
    if channel is Channel.RED:
        levels = [treatment.examination_level for treatment in treatments]
        level = next(lvl for lvl in _BY_RANK if lvl in levels)
    return Decision(
        channel=channel,
        examination_level=level,
        refer_to_audit=any(treatment.refers_to_audit for treatment in treatments),
        documents_to_check=merge_documents([hit for hit, _ in selected]),
        examiner_instructions=tuple(
            ExaminerInstruction(hit.item_number, text) for hit, text in selected
        ),
        criterion_hits=tuple(hits),
        risk_score=float(101 - min([hit.priority for hit in hits])) if hits else 0.0,
        importer_approved_trader=importer_approved,
    )


_BY_PRECEDENCE = sorted(Channel, key=lambda channel: channel.precedence, reverse=True)
_BY_RANK = sorted(ExaminationLevel, key=lambda level: level.rank, reverse=True)


def merge_documents(selected: Sequence[CriterionHit]) -> tuple[DocumentCheck, ...]:
    """One check per document type, for the union of the items that need it.

    A header hit asks for the document for the whole declaration, which
    covers every item (an empty item list).
    """
    descriptions: dict[str, str] = {}
    items: dict[str, set[int] | None] = {}
    for hit in selected:
        for document in hit.treatment.documents_to_check:
            code = document.document_type_code
            if not descriptions.get(code):
                descriptions[code] = document.description
            if hit.item_number == 0:
                items[code] = None
            elif code not in items:
                items[code] = {hit.item_number}
            elif (numbers := items[code]) is not None:
                numbers.add(hit.item_number)
    return tuple(
        DocumentCheck(
            DocumentRequirement(code, descriptions[code]),
            () if numbers is None else tuple(sorted(numbers)),
        )
        for code, numbers in items.items()
    )


# --- conditions --------------------------------------------------------------------


def holds(condition: Condition, subject: Subject) -> bool:
    """Whether ``condition`` is true of ``subject``."""
    match condition:
        case AllOf(conditions):
            return all(holds(child, subject) for child in conditions)
        case AnyOf(conditions):
            return any(holds(child, subject) for child in conditions)
        case NoneOf(conditions):
            return not any(holds(child, subject) for child in conditions)
    return test(condition, subject)


def test(predicate: Predicate, subject: Subject) -> bool:
    """Whether the leaf ``predicate`` is true of ``subject``."""
    match predicate:
        case CodeIn(element, values):
            return any(value in values for value in codes(element, subject))
        case HsCodePrefix(prefixes):
            return subject.item is not None and subject.item.hs_code.startswith(prefixes)
        case NumericRange(element, minimum, maximum, currency_code):
            return _within(number(element, currency_code, subject), minimum, maximum)
        case RiskModelScore(minimum, maximum):
            return _within(subject.risk_score, minimum, maximum)
        case UnitValue():
            return _unit_value_outside_band(predicate, subject)
        case DescriptionKeywords(keywords, match_all):
            return _keywords_match(keywords, match_all, subject)
        case InNamedList(element, named_list):
            return _in_named_list(element, named_list, subject)
        case CodesEqual(first, second):
            return not set(codes(first, subject)).isdisjoint(codes(second, subject))
    raise TypeError(f"not a predicate: {predicate!r}")


def _within(value: float | None, minimum: float | None, maximum: float | None) -> bool:
    return (
        value is not None
        and (minimum is None or minimum <= value)
        and (maximum is None or value <= maximum)
    )


def codes(element: CodeElement, subject: Subject) -> tuple[str, ...]:
    """The element's values: none when absent, several for the item's documents."""
    read_header = _HEADER_CODES.get(element)
    if read_header is not None:
        value = read_header(subject.declaration)
    elif subject.item is None:
        return ()
    elif element is CodeElement.ITEM_DOCUMENT_TYPE:
        return tuple(document.type_code for document in subject.item.documents)
    else:
        value = _ITEM_CODES[element](subject.item)
    return (value,) if value else ()


def _party_id(party: Party | None) -> str:
    return party.id if party else ""


# Readers by element, built once: codes() runs for every leaf of every criterion tested.
_HEADER_CODES: Mapping[CodeElement, Callable[[Declaration], str]] = {
    CodeElement.OFFICE: lambda declaration: declaration.office_code,
    CodeElement.PROCEDURE: lambda declaration: declaration.procedure_code,
    CodeElement.IMPORT_TYPE: lambda declaration: declaration.import_type_code,
    CodeElement.IMPORT_USE: lambda declaration: declaration.import_use_code,
    CodeElement.PAYMENT_TYPE: lambda declaration: declaration.payment_type_code,
    CodeElement.TRANSPORT_MODE: lambda declaration: declaration.transport_mode_code,
    CodeElement.DISPATCH_COUNTRY: lambda declaration: declaration.dispatch_country_code,
    CodeElement.DECLARANT: lambda declaration: _party_id(declaration.declarant),
    CodeElement.IMPORTER: lambda declaration: _party_id(declaration.importer),
    CodeElement.SELLER: lambda declaration: _party_id(declaration.seller),
    CodeElement.SELLER_COUNTRY: lambda declaration: (
        declaration.seller.country_code if declaration.seller else ""
    ),
    CodeElement.CARRIER: lambda declaration: _party_id(declaration.carrier),
    CodeElement.COURIER: lambda declaration: _party_id(declaration.courier),
}
_ITEM_CODES: Mapping[CodeElement, Callable[[DeclarationItem], str]] = {
    CodeElement.ITEM_HS_CODE: lambda item: item.hs_code,
    CodeElement.ITEM_ORIGIN_COUNTRY: lambda item: item.origin_country_code,
    CodeElement.ITEM_ORIGIN_INDICATOR: lambda item: item.origin_indicator_code,
    CodeElement.ITEM_TAX_TYPE: lambda item: item.tax_type_code,
    CodeElement.ITEM_SUPPLEMENTARY_UNIT: lambda item: item.supplementary_unit_code,
}


def _in_currency(money: Money | None, currency_code: str) -> Decimal | None:
    return money.amount if money and money.currency_code == currency_code else None


def number(element: NumericElement, currency_code: str, subject: Subject) -> float | None:
    """The element's value, or None when absent, uncomputable or in another currency."""
    if element.is_item:
        return None if subject.item is None else _item_number(element, currency_code, subject.item)
    declaration = subject.declaration
    match element:
        case NumericElement.DECLARATION_ITEM_COUNT:
            return float(len(declaration.items))
        case NumericElement.DECLARATION_CONTAINER_COUNT:
            return float(len(declaration.container_numbers))
        case NumericElement.DECLARATION_CUSTOMS_VALUE:
            return _sum([_in_currency(i.customs_value, currency_code) for i in declaration.items])
    raise TypeError(f"not a header numeric element: {element!r}")


def _item_number(
    element: NumericElement, currency_code: str, item: DeclarationItem
) -> float | None:
    match element:
        case NumericElement.ITEM_CUSTOMS_VALUE:
            return _as_float(_in_currency(item.customs_value, currency_code))
        case NumericElement.ITEM_STATISTICAL_VALUE:
            return _as_float(_in_currency(item.statistical_value, currency_code))
        case NumericElement.ITEM_NET_MASS_KG:
            # The contract defines a net mass of 0 as "not declared".
            return item.net_mass_kg or None
        case NumericElement.ITEM_GROSS_MASS_KG:
            return item.gross_mass_kg
        case NumericElement.ITEM_QUANTITY:
            return item.quantity
        case NumericElement.ITEM_TAX_RATE_PERCENT:
            return item.tax_rate_percent
        case NumericElement.ITEM_DUTY_AMOUNT:
            # No duties is an amount of 0 in any currency; duties in another
            # currency than the predicate's cannot be added up with it.
            return _sum([_in_currency(duty.amount, currency_code) for duty in item.duties])
        case NumericElement.ITEM_VALUE_PER_KG:
            return _ratio(_in_currency(item.customs_value, currency_code), item.net_mass_kg)
        case NumericElement.ITEM_VALUE_PER_UNIT:
            return _ratio(_in_currency(item.customs_value, currency_code), item.quantity)
    raise TypeError(f"not an item numeric element: {element!r}")


def _sum(amounts: Sequence[Decimal | None]) -> float | None:
    """The exact sum, or None when any amount is missing (e.g. in another currency)."""
    total = Decimal(0)
    for amount in amounts:
        if amount is None:
            return None
        total += amount
    return float(total)


def _as_float(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


def _ratio(amount: Decimal | None, divisor: float | None) -> float | None:
    if amount is None or not divisor:
        return None
    return float(amount) / divisor


def _band(predicate: UnitValue, subject: Subject) -> UnitValueBand | None:
    """The item's reference band: longest matching HS prefix, then its own origin first."""
    item = subject.item
    named_list = subject.named_lists.get(predicate.named_list)
    if item is None or named_list is None:
        return None
    hs_code, by_prefix = item.hs_code, named_list.bands_by_prefix
    # Bands of one prefix keep their list order, so ties go to the first listed.
    candidates = [
        band
        for length in range(len(hs_code) + 1)
        for band in by_prefix.get(hs_code[:length], ())
        if band.basis is predicate.basis
        and band.origin_country_code in ("", item.origin_country_code)
        and (
            predicate.basis is UnitValueBasis.PER_KG
            or band.supplementary_unit_code == item.supplementary_unit_code
        )
    ]
    return max(
        candidates,
        key=lambda band: (len(band.hs_code_prefix), band.origin_country_code != ""),
        default=None,
    )


def _unit_value(predicate: UnitValue, band: UnitValueBand, item: DeclarationItem) -> float | None:
    """The item's value in the band's currency per kg or per unit, if computable."""
    value = next(
        (
            money.amount
            for money in (item.customs_value, item.statistical_value)
            if money is not None and money.currency_code == band.currency_code
        ),
        None,
    )
    divisor = item.net_mass_kg if predicate.basis is UnitValueBasis.PER_KG else item.quantity
    return _ratio(value, divisor)


def _unit_value_outside_band(predicate: UnitValue, subject: Subject) -> bool:
    band = _band(predicate, subject)
    if band is None or subject.item is None:
        return False
    value = _unit_value(predicate, band, subject.item)
    if value is None:
        return False
    tolerance = predicate.tolerance_percent / 100.0
    below = value < band.lower * (1.0 - tolerance)
    above = value > band.upper * (1.0 + tolerance)
    match predicate.comparison:
        case UnitValueComparison.BELOW_BAND:
            return below
        case UnitValueComparison.ABOVE_BAND:
            return above
        case UnitValueComparison.OUTSIDE_BAND:
            return below or above
    raise TypeError(f"not a comparison: {predicate.comparison!r}")


def words(text: str) -> list[str]:
    """The words of ``text`` as keywords are matched: NFKC-normalised, case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _contains_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    if not phrase:
        return False
    width = len(phrase)
    return any(
        list(words[start : start + width]) == list(phrase)
        for start in range(len(words) - width + 1)
    )


def _keywords_match(keywords: Sequence[str], match_all: bool, subject: Subject) -> bool:
    if subject.item is None or not subject.item.description:
        return False
    description = words(subject.item.description)
    found = (_contains_phrase(description, words(keyword)) for keyword in keywords)
    return all(found) if match_all else any(found)


def _in_named_list(element: CodeElement, name: str, subject: Subject) -> bool:
    named_list = subject.named_lists.get(name)
    if named_list is None:
        return False
    values = codes(element, subject)
    if element is CodeElement.ITEM_HS_CODE and named_list.kind is NamedListKind.COMMODITIES:
        # Entries of a commodity list are HS prefixes of 2 to 10 digits.
        return any(
            code[:length] in named_list.entries
            for code in values
            for length in range(2, min(len(code), 10) + 1)
        )
    return any(value in named_list.entries for value in values)


# --- explanations ------------------------------------------------------------------


def _explain_tree(condition: Condition, subject: Subject, path: str) -> Iterator[PredicateResult]:
    """Every leaf of the tree in order (no short-circuit), with its path and result."""
    match condition:
        case AllOf(conditions) | AnyOf(conditions) | NoneOf(conditions):
            kind = {AllOf: "all_of", AnyOf: "any_of", NoneOf: "none_of"}[type(condition)]
            for index, child in enumerate(conditions):
                child_path = (
                    f"{kind}[{index}]" if path == "condition" else f"{path}.{kind}[{index}]"
                )
                yield from _explain_tree(child, subject, child_path)
            return
    yield PredicateResult(
        path=path,
        test=_describe(condition),
        observed_value=_observed(condition, subject),
        result=test(condition, subject),
    )


def _element_name(element: CodeElement | NumericElement) -> str:
    return element.name.lower().replace("_", " ")


def _bounds(minimum: float | None, maximum: float | None, currency_code: str = "") -> str:
    currency = f" {currency_code}" if currency_code else ""
    if minimum is not None and maximum is not None:
        return f"between {minimum:g} and {maximum:g}{currency}"
    if minimum is not None:
        return f"at least {minimum:g}{currency}"
    return f"at most {maximum:g}{currency}"


def _describe(predicate: Predicate) -> str:
    """The test in words, for analysts reading an explanation."""
    match predicate:
        case CodeIn(element, values):
            return f"{_element_name(element)} is one of {', '.join(sorted(values))}"
        case HsCodePrefix(prefixes):
            return f"HS code starts with {' or '.join(prefixes)}"
        case NumericRange(element, minimum, maximum, currency_code):
            return f"{_element_name(element)} is {_bounds(minimum, maximum, currency_code)}"
        case RiskModelScore(minimum, maximum):
            return f"risk model score is {_bounds(minimum, maximum)}"
        case UnitValue(basis, comparison, named_list, tolerance):
            side = comparison.name.lower().replace("_", " ")
            per = "kg" if basis is UnitValueBasis.PER_KG else "unit"
            return f"value per {per} is {side} of {named_list} (tolerance {tolerance:g} %)"
        case DescriptionKeywords(keywords, match_all):
            quantifier = "all of" if match_all else "any of"
            return f"description contains {quantifier} {', '.join(repr(k) for k in keywords)}"
        case InNamedList(element, named_list):
            return f"{_element_name(element)} is in {named_list}"
        case CodesEqual(first, second):
            return f"{_element_name(first)} equals {_element_name(second)}"
    raise TypeError(f"not a predicate: {predicate!r}")


def _observed(predicate: Predicate, subject: Subject) -> str:
    """The declaration's value the predicate tested, as text ("absent" when there is none)."""
    match predicate:
        case CodeIn(element) | InNamedList(element):
            return ", ".join(codes(element, subject)) or "absent"
        case HsCodePrefix():
            return subject.item.hs_code if subject.item else "absent"
        case NumericRange(element, _, _, currency_code):
            value = number(element, currency_code, subject)
            return "absent" if value is None else f"{value:g}"
        case RiskModelScore():
            return "absent" if subject.risk_score is None else f"{subject.risk_score:g}"
        case UnitValue():
            band = _band(predicate, subject)
            if band is None or subject.item is None:
                return "no reference band"
            value = _unit_value(predicate, band, subject.item)
            shown = "not computable" if value is None else f"{value:g} {band.currency_code}"
            return f"{shown} (band {band.lower:g}-{band.upper:g} {band.currency_code})"
        case DescriptionKeywords():
            return subject.item.description if subject.item and subject.item.description else ""
        case CodesEqual(first, second):
            left = ", ".join(codes(first, subject)) or "absent"
            right = ", ".join(codes(second, subject)) or "absent"
            return f"{left} / {right}"
    raise TypeError(f"not a predicate: {predicate!r}")


def _narrate(decision: Decision, evaluations: Sequence[CriterionEvaluation]) -> Iterator[str]:
    if not evaluations:
        yield "No active criterion hit the declaration."
    for evaluation in evaluations:
        hit = evaluation.hit
        where = f"item {hit.item_number}" if hit.item_number else "the declaration"
        verdict = {
            HitOutcome.SELECTED: f"selected for {hit.treatment.channel.name}",
            HitOutcome.NOT_DRAWN: "not selected",
            HitOutcome.APPROVED_TRADER_EXCLUDED: "not selected: it excludes approved traders",
            HitOutcome.DOWNGRADED: "selected, then downgraded for lack of capacity",
        }[hit.outcome]
        yield (
            f"{hit.criterion} (revision {hit.criterion_revision}, priority {hit.priority}) hit "
            f"{where}; draw {evaluation.draw:.6f} against {evaluation.threshold:.6f}: {verdict}."
        )
    yield NO_RANDOM_STEP
    yield NO_CAPACITY_STEP
    if decision.channel is Channel.GREEN:
        yield "Nothing selected: channel GREEN."
    else:
        level = (
            f" at level {decision.examination_level.name}"
            if decision.channel is Channel.RED
            else ""
        )
        yield (
            f"Channel {decision.channel.name}{level} by precedence RED > YELLOW > BLUE > GREEN "
            f"over {len(decision.selected_hits)} selected hit(s)."
        )
    if decision.refer_to_audit:
        yield "Referred to post-clearance audit."
