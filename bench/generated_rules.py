"""Realistic active criteria generated from the value distributions of the data set.

The shapes follow what risk analysts write (issue 3, step 2), skewed toward
HS prefixes, countries and traders: a heading from a country of origin, a
trader watch, a heading with a unit value below its reference band, a
chapter from a country of dispatch above a value, an any_of of headings with
a mass or tax-rate range, an office and heading unless the origin is
certified, goods descriptions with keywords, named-list members, and a few
criteria that require no particular code at all.

Values are drawn from the data set's own values with weights that grow with
the square root of their frequency: popular codes get more criteria than rare
ones, but an administration does not write a thousand criteria on its single
most frequent subheading. Everything is a pure function of the declarations
and the random seed, so the engine benchmark and the server see the same rules.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from customs.common.v1 import selection_rule_pb2 as rule_pb2
from customs.criteria.v1 import (
    criteria_service_pb2,
    criterion_pb2,
    named_list_pb2,
    risk_profile_pb2,
)
from customs.scoring.v1 import declaration_pb2

Condition = rule_pb2.Condition

UNIT_VALUE_LIST = "namedLists/unit-value-bands"
RISKY_IMPORTERS_LIST = "namedLists/risky-importers"
SENSITIVE_HEADINGS_LIST = "namedLists/sensitive-headings"
KEYWORDS = ("counterfeit", "replica", "used", "parts", "samples", "gift", "battery", "powder")


@dataclass(frozen=True)
class _Pool:
    """Values of one data element with their cumulative sampling weights."""

    values: list[str]
    cumulative_weights: list[float]

    @classmethod
    def of(cls, counts: Counter[str]) -> _Pool:
        values = sorted(value for value in counts if value)
        return cls(values, list(itertools.accumulate(math.sqrt(counts[v]) for v in values)))

    def pick(self, rng: random.Random, count: int = 1) -> list[str]:
        chosen: list[str] = []
        while len(chosen) < min(count, len(self.values)):
            value = rng.choices(self.values, cum_weights=self.cumulative_weights)[0]
            if value not in chosen:
                chosen.append(value)
        return chosen


@dataclass(frozen=True)
class DataProfile:
    """The value distributions of the declarations criteria are written against."""

    hs6: _Pool
    hs4: _Pool
    hs2: _Pool
    origins: _Pool
    dispatch: _Pool
    importers: _Pool
    declarants: _Pool
    sellers: _Pool
    offices: _Pool
    indicators: _Pool
    #: (10th, 90th) percentile of KRW per kg of each frequent subheading.
    value_per_kg: dict[str, tuple[float, float]]
    #: Deciles of item values in KRW.
    value_deciles: list[float]

    @classmethod
    def of(cls, declarations: Sequence[declaration_pb2.Declaration]) -> DataProfile:
        counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        per_kg: defaultdict[str, list[float]] = defaultdict(list)
        values: list[float] = []
        for declaration in declarations:
            counts["office"][declaration.office_code] += 1
            counts["dispatch"][declaration.dispatch_country_code] += 1
            counts["importer"][declaration.importer.id] += 1
            counts["declarant"][declaration.declarant.id] += 1
            counts["seller"][declaration.seller.id] += 1
            for item in declaration.items:
                hs = item.hs_code
                counts["hs6"][hs[:6]] += 1
                counts["hs4"][hs[:4]] += 1
                counts["hs2"][hs[:2]] += 1
                counts["origin"][item.origin_country_code] += 1
                counts["indicator"][item.origin_indicator_code] += 1
                value = item.customs_value.units + item.customs_value.nanos / 1e9
                values.append(value)
                if item.net_mass_kg > 0 and value > 0:
                    per_kg[hs[:6]].append(value / item.net_mass_kg)
        bands = {}
        for hs, samples in per_kg.items():
            if len(samples) >= 20:
                deciles = statistics.quantiles(samples, n=10)
                bands[hs] = (deciles[0], deciles[-1])
        return cls(
            hs6=_Pool.of(counts["hs6"]),
            hs4=_Pool.of(counts["hs4"]),
            hs2=_Pool.of(counts["hs2"]),
            origins=_Pool.of(counts["origin"]),
            dispatch=_Pool.of(counts["dispatch"]),
            importers=_Pool.of(counts["importer"]),
            declarants=_Pool.of(counts["declarant"]),
            sellers=_Pool.of(counts["seller"]),
            offices=_Pool.of(counts["office"]),
            indicators=_Pool.of(counts["indicator"]),
            value_per_kg=bands,
            value_deciles=statistics.quantiles(values, n=10),
        )


# --- condition builders --------------------------------------------------------------


def _code_in(element: str, values: Sequence[str]) -> Condition:
    return Condition(
        predicate=rule_pb2.Predicate(
            code_in=rule_pb2.CodeInPredicate(element=f"CODE_ELEMENT_{element}", values=list(values))
        )
    )


def _hs(*prefixes: str) -> Condition:
    return Condition(
        predicate=rule_pb2.Predicate(
            hs_code_prefix=rule_pb2.HsCodePrefixPredicate(prefixes=list(prefixes))
        )
    )


def _range(
    element: str, low: float | None = None, high: float | None = None, currency: str = ""
) -> Condition:
    numeric = rule_pb2.NumericRangePredicate(
        element=f"NUMERIC_ELEMENT_{element}", currency_code=currency
    )
    if low is not None:
        numeric.min = low
    if high is not None:
        numeric.max = high
    return Condition(predicate=rule_pb2.Predicate(numeric_range=numeric))


def _in_list(element: str, named_list: str) -> Condition:
    return Condition(
        predicate=rule_pb2.Predicate(
            in_named_list=rule_pb2.NamedListPredicate(
                element=f"CODE_ELEMENT_{element}", named_list=named_list
            )
        )
    )


def _all(*conditions: Condition) -> Condition:
    return Condition(all_of=rule_pb2.ConditionList(conditions=list(conditions)))


def _any(*conditions: Condition) -> Condition:
    return Condition(any_of=rule_pb2.ConditionList(conditions=list(conditions)))


def _none(*conditions: Condition) -> Condition:
    return Condition(none_of=rule_pb2.ConditionList(conditions=list(conditions)))


# --- shapes --------------------------------------------------------------------------

_Shape = Callable[[random.Random, DataProfile], Condition]


def _heading_from_origin(rng: random.Random, data: DataProfile) -> Condition:
    prefix = data.hs6.pick(rng)[0] if rng.random() < 0.6 else data.hs4.pick(rng)[0]
    return _all(_hs(prefix), _code_in("ITEM_ORIGIN_COUNTRY", data.origins.pick(rng, 2)))


def _trader_watch(rng: random.Random, data: DataProfile) -> Condition:
    # Brokers lodge for thousands of importers: a broker is watched far more seldom.
    element, pool = rng.choices(
        [("IMPORTER", data.importers), ("SELLER", data.sellers), ("DECLARANT", data.declarants)],
        [0.7, 0.25, 0.05],
    )[0]
    return _code_in(element, pool.pick(rng, rng.randint(1, 5)))


def _undervalued(rng: random.Random, data: DataProfile) -> Condition:
    prefix = rng.choice(sorted(data.value_per_kg))
    return _all(
        _hs(prefix),
        Condition(
            predicate=rule_pb2.Predicate(
                unit_value=rule_pb2.UnitValuePredicate(
                    basis="UNIT_VALUE_BASIS_PER_KG",
                    comparison="UNIT_VALUE_COMPARISON_BELOW_BAND",
                    named_list=UNIT_VALUE_LIST,
                    tolerance_percent=rng.choice((0.0, 10.0, 25.0)),
                )
            )
        ),
    )


def _chapter_from_country_above_value(rng: random.Random, data: DataProfile) -> Condition:
    return _all(
        _code_in("DISPATCH_COUNTRY", data.dispatch.pick(rng)),
        _hs(data.hs4.pick(rng)[0]),
        _range("ITEM_CUSTOMS_VALUE", low=rng.choice(data.value_deciles[5:]), currency="KRW"),
    )


def _headings_with_mass_or_rate(rng: random.Random, data: DataProfile) -> Condition:
    headings = _hs(*data.hs4.pick(rng, rng.randint(2, 4)))
    refinement = (
        _range("ITEM_NET_MASS_KG", low=rng.choice((100.0, 1_000.0, 10_000.0)))
        if rng.random() < 0.5
        else _range("ITEM_TAX_RATE_PERCENT", low=rng.choice((8.0, 13.0, 30.0)))
    )
    return _all(headings, refinement)


def _office_heading_unless_certified(rng: random.Random, data: DataProfile) -> Condition:
    return _all(
        _code_in("OFFICE", data.offices.pick(rng)),
        _hs(data.hs6.pick(rng)[0]),
        _none(_code_in("ITEM_ORIGIN_INDICATOR", data.indicators.pick(rng))),
    )


def _described_goods(rng: random.Random, data: DataProfile) -> Condition:
    return _all(
        _hs(data.hs4.pick(rng)[0]),
        Condition(
            predicate=rule_pb2.Predicate(
                description_keywords=rule_pb2.DescriptionKeywordsPredicate(
                    keywords=rng.sample(KEYWORDS, 2)
                )
            )
        ),
    )


def _listed(rng: random.Random, data: DataProfile) -> Condition:
    if rng.random() < 0.5:
        return _all(_in_list("IMPORTER", RISKY_IMPORTERS_LIST), _hs(data.hs2.pick(rng)[0]))
    return _all(
        _in_list("ITEM_HS_CODE", SENSITIVE_HEADINGS_LIST),
        _code_in("ITEM_ORIGIN_COUNTRY", data.origins.pick(rng)),
        _code_in("IMPORTER", data.importers.pick(rng, 3)),
    )


def _either_party(rng: random.Random, data: DataProfile) -> Condition:
    return _any(
        _code_in("IMPORTER", data.importers.pick(rng, 2)),
        _code_in("SELLER", data.sellers.pick(rng, 2)),
    )


def _unscoped(rng: random.Random, data: DataProfile) -> Condition:
    """No code required at all: the engine evaluates these on every declaration."""
    return _all(
        _range("ITEM_VALUE_PER_KG", high=rng.choice((10.0, 50.0)), currency="KRW"),
        _range("ITEM_TAX_RATE_PERCENT", low=rng.choice((20.0, 40.0))),
    )


_SHAPES: tuple[tuple[_Shape, float], ...] = (
    (_heading_from_origin, 0.30),
    (_trader_watch, 0.20),
    (_undervalued, 0.10),
    (_chapter_from_country_above_value, 0.08),
    (_headings_with_mass_or_rate, 0.08),
    (_office_heading_unless_certified, 0.08),
    (_described_goods, 0.05),
    (_listed, 0.06),
    (_either_party, 0.048),
    (_unscoped, 0.002),
)

_RISK_AREAS = [name for name, number in risk_profile_pb2.RiskArea.items() if number]
_TREATMENTS = (
    rule_pb2.Treatment(channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_FULL"),
    rule_pb2.Treatment(
        channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_COMMERCIAL_SAMPLE"
    ),
    rule_pb2.Treatment(channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_ENFORCEMENT"),
    rule_pb2.Treatment(
        channel="CHANNEL_YELLOW",
        documents_to_check=[
            rule_pb2.DocumentRequirement(document_type_code="N380", description="Invoice")
        ],
    ),
    rule_pb2.Treatment(
        channel="CHANNEL_YELLOW",
        documents_to_check=[
            rule_pb2.DocumentRequirement(document_type_code="N954", description="Origin")
        ],
        also_refer_to_audit=True,
    ),
    rule_pb2.Treatment(channel="CHANNEL_BLUE"),
)


def generate_criteria(
    count: int, data: DataProfile, seed: int = 2026
) -> list[criterion_pb2.ActiveCriterion]:
    """``count`` active criteria, the same for the same data and seed."""
    rng = random.Random(seed)
    shapes = [shape for shape, _ in _SHAPES]
    weights = [weight for _, weight in _SHAPES]
    criteria = []
    for number in range(count):
        shape = rng.choices(shapes, weights)[0]
        criteria.append(
            criterion_pb2.ActiveCriterion(
                name=f"criteria/bench-{number:06d}",
                revision=1,
                title=f"Generated criterion {number} ({shape.__name__.strip('_')})",
                risk_profile="riskProfiles/bench",
                risk_area=rng.choice(_RISK_AREAS),
                rule=rule_pb2.SelectionRule(
                    condition=shape(rng, data),
                    treatment=rng.choice(_TREATMENTS),
                    selection_percent=rng.choice((100.0, 50.0, 20.0, 10.0, 5.0, 1.0, 0.5)),
                    mandatory=rng.random() < 0.05,
                    approved_traders=rng.choice(
                        (
                            "APPROVED_TRADER_SCOPE_INCLUDED",
                            "APPROVED_TRADER_SCOPE_EXCLUDED",
                        )
                    ),
                    priority=rng.randint(1, 100),
                    examiner_instructions="Examine the goods against the documents.",
                ),
            )
        )
    return criteria


def generate_named_lists(data: DataProfile, seed: int = 2026) -> list[named_list_pb2.NamedList]:
    """The lists the generated criteria refer to: bands, risky importers, sensitive headings."""
    rng = random.Random(seed)
    return [
        named_list_pb2.NamedList(
            name=UNIT_VALUE_LIST,
            title="Unit value reference bands",
            kind="NAMED_LIST_KIND_UNIT_VALUE_BANDS",
            revision=1,
            unit_value_bands=[
                named_list_pb2.UnitValueBand(
                    hs_code_prefix=hs,
                    basis="UNIT_VALUE_BASIS_PER_KG",
                    currency_code="KRW",
                    lower=low,
                    upper=high,
                )
                for hs, (low, high) in sorted(data.value_per_kg.items())
            ],
        ),
        named_list_pb2.NamedList(
            name=RISKY_IMPORTERS_LIST,
            title="Risky importers",
            kind="NAMED_LIST_KIND_COMPANIES",
            revision=1,
            entries=[
                named_list_pb2.NamedListEntry(value=value)
                for value in data.importers.pick(rng, 200)
            ],
        ),
        named_list_pb2.NamedList(
            name=SENSITIVE_HEADINGS_LIST,
            title="Sensitive headings",
            kind="NAMED_LIST_KIND_COMMODITIES",
            revision=1,
            entries=[
                named_list_pb2.NamedListEntry(value=value) for value in data.hs4.pick(rng, 50)
            ],
        ),
    ]


def snapshot_messages(
    revision: int,
    criteria: Sequence[criterion_pb2.ActiveCriterion],
    named_lists: Sequence[named_list_pb2.NamedList],
) -> list[criteria_service_pb2.WatchActiveCriteriaResponse]:
    """The active-criteria stream messages of a full snapshot, as criteria sends them."""
    response = criteria_service_pb2.WatchActiveCriteriaResponse
    return [
        response(
            revision=revision,
            snapshot_start=criteria_service_pb2.SnapshotStart(
                criteria_count=len(criteria), named_lists_count=len(named_lists)
            ),
        ),
        *(response(revision=revision, criterion=criterion) for criterion in criteria),
        *(response(revision=revision, named_list=named_list) for named_list in named_lists),
        response(revision=revision, snapshot_end=criteria_service_pb2.SnapshotEnd()),
    ]
