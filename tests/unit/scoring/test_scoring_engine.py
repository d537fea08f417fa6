"""The indexed engine decides exactly as the linear reference evaluator, only faster.

Random criteria over every predicate kind, nested all_of / any_of / none_of,
header and item elements, named lists and validity windows, against random
declarations whose values come from small pools so that criteria hit often.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scoring_builders import LODGED, SEED, criterion, declaration, item, rules

from scoring.domain.declaration import (
    Declaration,
    DeclarationItem,
    Duty,
    ItemDocument,
    Money,
    Party,
)
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import evaluate
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
    RiskModelScore,
    RulesSnapshot,
    UnitValue,
    UnitValueBand,
    UnitValueBasis,
    UnitValueComparison,
)

# --- value pools -------------------------------------------------------------------

COUNTRIES = ("CN", "BE", "VN")
PARTIES = ("P1", "P2", "P3")
HS_CODES = ("440890", "851713", "8517130000", "610910", "2402100000", "240220")
HS_PREFIXES = (
    *sorted({code[:length] for code in HS_CODES for length in range(2, len(code) + 1)}),
    "99",
    "8518",
)
DESCRIPTIONS = (
    "",
    "cotton shirts",
    "Mobile phone",
    "phone mobile",
    "cigarettes",
    "CAFÉ, cotton",
    "Shirts of cotton; mobile phone covers",
)
KEYWORDS = ("cotton", "COTTON shirts", "mobile phone", "Phone", "CAFÉ", "cigars", "", "--")
CURRENCIES = ("KRW", "USD")
AMOUNTS = (Decimal(0), Decimal(100), Decimal("372254.4"), Decimal(1_000_000))
NUMBERS = (0.0, 1.0, 2.0, 5.0, 100.0, 3446.8, 372254.4, 1e6)

CODE_POOLS: dict[CodeElement, tuple[str, ...]] = {
    CodeElement.OFFICE: ("30", "40"),
    CodeElement.PROCEDURE: ("B", "A"),
    CodeElement.IMPORT_TYPE: ("11", "87"),
    CodeElement.IMPORT_USE: ("21", "11"),
    CodeElement.PAYMENT_TYPE: ("11", "43"),
    CodeElement.TRANSPORT_MODE: ("10", "40"),
    CodeElement.DISPATCH_COUNTRY: COUNTRIES,
    CodeElement.DECLARANT: PARTIES,
    CodeElement.IMPORTER: PARTIES,
    CodeElement.SELLER: PARTIES,
    CodeElement.SELLER_COUNTRY: COUNTRIES,
    CodeElement.CARRIER: PARTIES,
    CodeElement.COURIER: PARTIES,
    CodeElement.ITEM_HS_CODE: HS_CODES,
    CodeElement.ITEM_ORIGIN_COUNTRY: COUNTRIES,
    CodeElement.ITEM_ORIGIN_INDICATOR: ("G", "Y"),
    CodeElement.ITEM_TAX_TYPE: ("A", "FCN1"),
    CodeElement.ITEM_SUPPLEMENTARY_UNIT: ("NAR", "LTR"),
    CodeElement.ITEM_DOCUMENT_TYPE: ("N380", "N954"),
}
LIST_NAMES = (
    "namedLists/companies",
    "namedLists/countries",
    "namedLists/commodities",
    "namedLists/codes",
    "namedLists/unit_value_bands",
    "namedLists/missing",
)


# Every strategy is built once, at import, and leaves are sampled whole from
# prepared pools: hypothesis's cost is per strategy built and per draw, and it
# would otherwise dwarf the evaluations under test.
_CODES = {element: st.sampled_from(pool) for element, pool in CODE_POOLS.items()}
_OPTIONAL_CODES = {element: st.sampled_from(("", *pool)) for element, pool in CODE_POOLS.items()}
_MONEYS = [Money(currency, amount) for currency in CURRENCIES for amount in AMOUNTS]
_MONEY = st.sampled_from(_MONEYS)

# --- rules ---------------------------------------------------------------------------


def _ranges(element: NumericElement) -> list[NumericRange]:
    currencies = CURRENCIES if element.is_monetary else ("",)
    bounds = [(low, high) for low in (None, *NUMBERS) for high in (None, *NUMBERS)]
    return [
        NumericRange(element, low, high, currency)
        for low, high in bounds[1:]
        for currency in currencies
    ]


_PREDICATE_POOLS: tuple[list[Condition], ...] = (
    [
        CodeIn(element, frozenset(values))
        for element, pool in CODE_POOLS.items()
        for values in [*((code,) for code in pool), *itertools.combinations(pool, 2)]
    ],
    [
        HsCodePrefix(prefixes)
        for prefixes in [*((p,) for p in HS_PREFIXES), *itertools.combinations(HS_PREFIXES[::3], 2)]
    ],
    [predicate for element in NumericElement for predicate in _ranges(element)],
    [
        UnitValue(basis, comparison, name, tolerance)
        for basis in UnitValueBasis
        for comparison in UnitValueComparison
        for name in ("namedLists/unit_value_bands", "namedLists/missing")
        for tolerance in (0.0, 10.0)
    ],
    [
        DescriptionKeywords(keywords, match_all)
        for keywords in [(), *((k,) for k in KEYWORDS), *itertools.combinations(KEYWORDS[::2], 2)]
        for match_all in (False, True)
    ],
    [InNamedList(element, name) for element in CodeElement for name in LIST_NAMES],
    [CodesEqual(first, second) for first in CodeElement for second in CodeElement],
    [
        RiskModelScore(low, high)
        for low in (None, 0.0, 0.5, 0.8)
        for high in (None, 0.5, 1.0)
        if low is not None or high is not None
    ],
)
_CODE_INS, _HS_PREFIXES, _RANGES, _UNIT_VALUES, _KEYWORDS, _IN_LISTS, _EQUALS, _SCORES = (
    st.sampled_from(pool) for pool in _PREDICATE_POOLS
)
# Weighted toward the predicates the index files criteria by, so that most
# criteria go through the index rather than the always-evaluated list.
_PREDICATES: st.SearchStrategy[Condition] = st.one_of(
    _CODE_INS,
    _CODE_INS,
    _CODE_INS,
    _HS_PREFIXES,
    _HS_PREFIXES,
    _HS_PREFIXES,
    _IN_LISTS,
    _KEYWORDS,
    _RANGES,
    _UNIT_VALUES,
    _EQUALS,
    _SCORES,
)


def _combine(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    operands = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(AllOf, operands),
        st.builds(AllOf, operands),
        st.builds(AnyOf, operands),
        st.builds(AnyOf, operands),
        st.builds(NoneOf, operands),
        # Empty operand lists too: all_of() is true, any_of() false, none_of() true.
        st.sampled_from((AllOf(()), AnyOf(()), NoneOf(()))),
    )


_CONDITIONS = st.recursive(_PREDICATES, _combine, max_leaves=5)
_SCOPES = st.one_of(_CODE_INS, _HS_PREFIXES, _IN_LISTS, _KEYWORDS)
# Most real criteria require a scope (a trader, a heading, an origin) and
# refine it; random trees alone would rarely go through the index.
_SCOPED = st.builds(
    lambda scope, refinements: AllOf((scope, *refinements)),
    st.one_of(_SCOPES, st.lists(_SCOPES, min_size=2, max_size=3).map(lambda o: AnyOf(tuple(o)))),
    st.lists(_CONDITIONS, max_size=2),
)
_CRITERION_CONDITIONS = st.one_of(_CONDITIONS, _SCOPED, _SCOPED)
_MOMENTS = (None, LODGED - timedelta(days=1), LODGED, LODGED + timedelta(days=1))
_DOCUMENT_CHOICES = (
    (),
    (DocumentRequirement("N380", "Commercial invoice"),),
    (DocumentRequirement("N380", "Commercial invoice"), DocumentRequirement("N954", "")),
)
# Whole combinations are sampled in one draw: hypothesis's cost is per draw.
_TREATMENTS = st.sampled_from(
    [
        (Channel.RED, level, docs)
        for level in list(ExaminationLevel)[1:]
        for docs in _DOCUMENT_CHOICES
    ]
    + [
        (channel, None, docs)
        for channel in (Channel.YELLOW, Channel.BLUE)
        for docs in _DOCUMENT_CHOICES
    ]
)
_FLAGS = st.sampled_from(
    [
        (audit, mandatory, scope)
        for audit in (False, True)
        for mandatory in (False, True)
        for scope in ApprovedTraderScope
    ]
)
# Few priorities, so that hits are often ordered by name.
_SELECTION = st.sampled_from(
    [
        (percent, priority, revision)
        for percent in (0.0, 30.0, 100.0)
        for priority in (1, 50, 100)
        for revision in (1, 2, 3)
    ]
)
_VALIDITY = st.sampled_from([(start, end) for start in _MOMENTS for end in _MOMENTS])


@dataclass(frozen=True)
class _CriterionSpec:
    """Everything of a criterion but its name, which the snapshot assigns."""

    condition: Condition
    treatment: tuple[Channel, ExaminationLevel | None, tuple[DocumentRequirement, ...]]
    flags: tuple[bool, bool, ApprovedTraderScope]
    selection: tuple[float, int, int]
    validity: tuple[datetime | None, datetime | None]

    def named(self, name: str) -> Criterion:
        channel, level, documents = self.treatment
        also_refer_to_audit, mandatory, approved_traders = self.flags
        percent, priority, revision = self.selection
        valid_from, valid_until = self.validity
        return criterion(
            name,
            self.condition,
            channel=channel,
            level=level,
            documents=documents,
            also_refer_to_audit=also_refer_to_audit,
            percent=percent,
            priority=priority,
            revision=revision,
            mandatory=mandatory,
            approved_traders=approved_traders,
            valid_from=valid_from,
            valid_until=valid_until,
        )


_CRITERION_SPECS = st.builds(
    _CriterionSpec, _CRITERION_CONDITIONS, _TREATMENTS, _FLAGS, _SELECTION, _VALIDITY
)

_BANDS = [
    UnitValueBand(prefix, basis, currency, lower, upper, origin, unit)
    for prefix, basis, currency, (lower, upper), origin, unit in itertools.product(
        ("44", "4408", "851713", "8517130000", "61", "99"),
        UnitValueBasis,
        CURRENCIES,
        ((1.0, 3500.0), (3000.0, 50_000.0)),
        ("", "BE", "CN"),
        ("", "NAR"),
    )
]


def _entries(kind: NamedListKind, pool: tuple[str, ...]) -> st.SearchStrategy[NamedList]:
    subsets = [frozenset(c) for size in (1, 2, 3) for c in itertools.combinations(pool, size)]
    return st.builds(
        NamedList,
        name=st.just(f"namedLists/{kind.name.lower()}"),
        kind=st.just(kind),
        revision=st.integers(1, 3),
        entries=st.sampled_from(subsets),
    )


_NAMED_LISTS = (
    _entries(NamedListKind.COMPANIES, PARTIES),
    _entries(NamedListKind.COUNTRIES, COUNTRIES),
    # Entries outside 2 to 10 digits are never matched as HS prefixes.
    _entries(NamedListKind.COMMODITIES, ("44", "4408", "851713", "61", "8", "85171300001")),
    _entries(NamedListKind.CODES, ("30", "B", "G", "A", "N954", "440890")),
    st.builds(
        NamedList,
        name=st.just("namedLists/unit_value_bands"),
        kind=st.just(NamedListKind.UNIT_VALUE_BANDS),
        revision=st.integers(1, 3),
        unit_value_bands=st.lists(st.sampled_from(_BANDS), max_size=3).map(tuple),
    ),
)
_ANY_NAMED_LIST = st.one_of(_NAMED_LISTS)


_MOSTLY = st.sampled_from((True, True, True, False))


@st.composite
def snapshots(draw: st.DrawFn) -> RulesSnapshot:
    specs = draw(st.lists(_CRITERION_SPECS, max_size=6))
    lists = [draw(strategy) for strategy in _NAMED_LISTS if draw(_MOSTLY)]
    return rules(
        *(spec.named(f"c{index}") for index, spec in enumerate(specs)),
        named_lists=tuple(lists),
    )


# --- declarations --------------------------------------------------------------------

_ITEMS = st.builds(
    item,
    st.just(1),
    hs_code=_CODES[CodeElement.ITEM_HS_CODE],
    origin_country_code=_CODES[CodeElement.ITEM_ORIGIN_COUNTRY],
    origin_indicator_code=_OPTIONAL_CODES[CodeElement.ITEM_ORIGIN_INDICATOR],
    net_mass_kg=st.sampled_from((0.0, 1.0, 108.0)),
    gross_mass_kg=st.sampled_from((None, 108.0, 110.0)),
    quantity=st.sampled_from((None, 0.0, 5.0, 100.0)),
    supplementary_unit_code=_OPTIONAL_CODES[CodeElement.ITEM_SUPPLEMENTARY_UNIT],
    customs_value=_MONEY,
    statistical_value=st.sampled_from([None, *_MONEYS]),
    tax_type_code=_OPTIONAL_CODES[CodeElement.ITEM_TAX_TYPE],
    tax_rate_percent=st.sampled_from((0.0, 1.0, 8.0)),
    duties=st.sampled_from(
        [
            (),
            (Duty("A", 8.0, _MONEYS[1]),),
            (Duty("A", 8.0, _MONEYS[2]), Duty("VAT", 10.0, _MONEYS[3])),
            (Duty("A", 8.0, _MONEYS[2]), Duty("VAT", 10.0, _MONEYS[7])),
        ]
    ),
    documents=st.sampled_from(
        [
            (),
            (ItemDocument("N380"),),
            (ItemDocument("N954"), ItemDocument("C100")),
            (ItemDocument(""),),
        ]
    ),
    description=st.sampled_from(DESCRIPTIONS),
)
_PARTIES = st.sampled_from(
    [None, Party(""), *(Party(p, country_code=c) for p in PARTIES for c in ("", *COUNTRIES))]
)


def _numbered(goods: list[DeclarationItem]) -> tuple[DeclarationItem, ...]:
    return tuple(replace(good, item_number=number) for number, good in enumerate(goods, 1))


_DECLARATIONS = st.builds(
    lambda goods, **header: declaration(*goods, **header),
    # No items at all as well: item-level criteria then have nothing to hit.
    st.lists(_ITEMS, max_size=3).map(_numbered),
    declaration_number=st.sampled_from(("D1", "D2")),
    version=st.integers(1, 2),
    office_code=_CODES[CodeElement.OFFICE],
    procedure_code=_CODES[CodeElement.PROCEDURE],
    import_type_code=_OPTIONAL_CODES[CodeElement.IMPORT_TYPE],
    import_use_code=_OPTIONAL_CODES[CodeElement.IMPORT_USE],
    payment_type_code=_OPTIONAL_CODES[CodeElement.PAYMENT_TYPE],
    transport_mode_code=_CODES[CodeElement.TRANSPORT_MODE],
    dispatch_country_code=_CODES[CodeElement.DISPATCH_COUNTRY],
    importer=st.builds(Party, _CODES[CodeElement.IMPORTER]),
    declarant=_PARTIES,
    seller=_PARTIES,
    carrier=_PARTIES,
    courier=_PARTIES,
    container_numbers=st.sampled_from([(), ("MSCU1234565",), ("MSCU1234565", "TGHU7654321")]),
)


# --- properties ----------------------------------------------------------------------


def _examples(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@_examples(2_300)
# Edges random draws reach seldom: the empty combinations, a keyword-less
# match_all (true of any described item), a full-length HS prefix, commodity
# entries too short or too long to be prefixes, a document without type.
@example(
    snapshot=rules(
        criterion("all-of-nothing", AllOf(())),
        criterion("any-of-nothing", AnyOf(())),
        criterion("no-keywords", DescriptionKeywords((), match_all=True)),
        criterion("full-code", HsCodePrefix(("8517130000",))),
        criterion("odd-entries", InNamedList(CodeElement.ITEM_HS_CODE, "namedLists/odd")),
        criterion("untyped", CodeIn(CodeElement.ITEM_DOCUMENT_TYPE, frozenset({""}))),
        named_lists=(
            NamedList(
                "namedLists/odd", NamedListKind.COMMODITIES, 1, frozenset({"8", "85171300001"})
            ),
        ),
    ),
    lodged=[
        declaration(
            item(1, hs_code="8517130000", description="cotton", documents=(ItemDocument(""),)),
            item(2, hs_code="85171300001"),
        )
    ],
    approved=False,
    score=None,
)
@given(
    snapshot=snapshots(),
    lodged=st.lists(_DECLARATIONS, min_size=1, max_size=2),
    approved=st.booleans(),
    score=st.sampled_from((None, 0.0, 0.5, 0.8, 1.0)),
)
def test_the_indexed_engine_decides_exactly_as_the_linear_evaluator(
    snapshot: RulesSnapshot, lodged: list[Declaration], approved: bool, score: float | None
) -> None:
    engine = SelectivityEngine.compile(snapshot)

    for lodgement in lodged:
        explained = evaluate(
            snapshot, lodgement, SEED, importer_approved=approved, explain=True, risk_score=score
        )
        assert (
            engine.evaluate(
                lodgement, SEED, importer_approved=approved, explain=True, risk_score=score
            )
            == explained
        )
        assert (
            engine.assess(lodgement, SEED, importer_approved=approved, risk_score=score)
            == explained.decision
        )


#: Upserts of criteria and lists, and removals (by name), in stream order.
_CHANGES = st.lists(
    st.one_of(
        st.builds(
            lambda spec, name: spec.named(name),
            _CRITERION_SPECS,
            st.sampled_from(("c0", "c1", "c2", "c3")),
        ),
        _ANY_NAMED_LIST,
        st.sampled_from(("criteria/c0", "criteria/c1", "criteria/c2")),
        st.sampled_from(LIST_NAMES[:-1]),
    ),
    max_size=6,
)


@_examples(700)
@given(start=snapshots(), stream=_CHANGES, lodged=st.lists(_DECLARATIONS, min_size=1, max_size=2))
def test_an_engine_changed_revision_by_revision_decides_as_one_compiled_afresh(
    start: RulesSnapshot, stream: list[Criterion | NamedList | str], lodged: list[Declaration]
) -> None:
    engine = SelectivityEngine.compile(start)
    for revision, change in enumerate(stream, start=start.revision + 1):
        if isinstance(change, Criterion):
            engine = engine.with_criterion(revision, change)
        elif isinstance(change, NamedList):
            engine = engine.with_named_list(revision, change)
        elif change.startswith("criteria/"):
            engine = engine.without_criterion(revision, change)
        else:
            engine = engine.without_named_list(revision, change)

    for lodgement in lodged:
        assert engine.assess(lodgement, SEED) == evaluate(engine.snapshot, lodgement, SEED).decision


# --- the index -----------------------------------------------------------------------


def test_an_assessment_evaluates_only_the_criteria_that_could_hit() -> None:
    importers = [
        criterion(f"importer-{n}", CodeIn(CodeElement.IMPORTER, frozenset({f"IMP{n:05d}"})))
        for n in range(1_000)
    ]
    headings = [
        criterion(
            f"heading-{n}",
            AllOf(
                (
                    HsCodePrefix((f"{n:04d}",)),
                    NumericRange(NumericElement.ITEM_NET_MASS_KG, minimum=100.0),
                )
            ),
        )
        for n in range(1_000, 2_000)
    ]
    lodgement = declaration(
        item(1, hs_code="1234567890"), importer=Party("IMP00042"), declaration_number="X1"
    )
    engine = SelectivityEngine.compile(rules(*importers, *headings))

    assert engine.candidate_count(lodgement) == 2
    assert [hit.criterion for hit in engine.assess(lodgement, SEED).criterion_hits] == [
        "criteria/heading-1234",
        "criteria/importer-42",
    ]


def test_criteria_without_a_required_code_are_still_evaluated_for_every_declaration() -> None:
    heavy = criterion(
        "heavy", NumericRange(NumericElement.ITEM_NET_MASS_KG, minimum=100.0), priority=10
    )
    not_belgian = criterion(
        "not-belgian", NoneOf((CodeIn(CodeElement.DISPATCH_COUNTRY, frozenset({"BE"})),))
    )
    engine = SelectivityEngine.compile(rules(heavy, not_belgian))

    assert (engine.statistics.unindexed, engine.statistics.bounded) == (1, 1)
    assert [hit.criterion for hit in engine.assess(declaration(), SEED).criterion_hits] == [
        "criteria/heavy"
    ]
    assert [
        hit.criterion
        for hit in engine.assess(declaration(dispatch_country_code="CN"), SEED).criterion_hits
    ] == ["criteria/heavy", "criteria/not-belgian"]


def test_a_listed_trader_added_to_a_named_list_is_found_through_the_index() -> None:
    watched = criterion("watched", InNamedList(CodeElement.IMPORTER, "namedLists/watch"))
    watch_list = NamedList("namedLists/watch", NamedListKind.COMPANIES, 1, frozenset({"OTHER"}))
    engine = SelectivityEngine.compile(rules(watched, named_lists=(watch_list,)))

    assert engine.assess(declaration(), SEED).criterion_hits == ()

    listed = NamedList("namedLists/watch", NamedListKind.COMPANIES, 2, frozenset({"QLRUBN9"}))
    engine = engine.with_named_list(8, listed)

    assert [hit.criterion for hit in engine.assess(declaration(), SEED).criterion_hits] == [
        "criteria/watched"
    ]
    assert engine.snapshot.revision == 8
