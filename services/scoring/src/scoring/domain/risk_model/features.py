"""The model's features: declaration fields, unit values, and past outcomes by party and commodity.

Leakage is prevented by construction. Training rows are visited in lodgement
order, one calendar day (UTC) at a time: every row of a day is encoded from the
tables as they stood at the end of the previous day, and only then are that
day's outcomes added. A row therefore never sees its own outcome, another row
of its own day, or anything lodged later. Scoring encodes from the tables as
they stood at the end of training. Rates are smoothed towards the running
overall rate, so a party seen once does not get a rate of 0 or 1.

A declaration with several goods items is described by its item of highest
customs value (ties: the lowest item number), plus the item count and totals;
amounts are taken in whatever currency they are declared in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

from scoring.domain.declaration import Declaration, DeclarationItem

#: What a row is looked up by: the parties, the commodity and its declared amounts.
#: Amounts are kept to three significant digits ("value", "mass") and as bands
#: of half a natural-log unit ("value_band", "mass_band"): the same goods
#: declared again at the same value or mass is what undervaluation schemes
#: repeat, and what the public data set's infringements share most.
_CONTEXT = (
    "importer",
    "declarant",
    "seller",
    "courier",
    "hs6",
    "origin",
    "dispatch",
    "office",
    "tax_type",
    "value",
    "mass",
    "value_band",
    "mass_band",
)

#: Whose past outcomes are looked up, one table each: issue 11's parties,
#: commodity, origin and office and their combinations, then the commodity
#: with its route and declared amounts.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("importer", ("importer",)),
    ("declarant", ("declarant",)),
    ("seller", ("seller",)),
    ("courier", ("courier",)),
    ("hs6", ("hs6",)),
    ("origin", ("origin",)),
    ("office", ("office",)),
    ("importer_hs6", ("importer", "hs6")),
    ("declarant_importer", ("declarant", "importer")),
    ("seller_hs6", ("seller", "hs6")),
    ("origin_hs6", ("origin", "hs6")),
    ("hs6_dispatch", ("hs6", "dispatch")),
    ("hs6_tax_type", ("hs6", "tax_type")),
    ("hs6_value_band", ("hs6", "value_band")),
    ("hs6_mass_band", ("hs6", "mass_band")),
    ("hs6_dispatch_value_band", ("hs6", "dispatch", "value_band")),
    ("value", ("value",)),
    ("hs6_value", ("hs6", "value")),
    ("hs6_mass", ("hs6", "mass")),
    ("value_mass", ("value", "mass")),
)
_FAMILY_FIELDS = tuple(tuple(_CONTEXT.index(name) for name in fields) for _, fields in FAMILIES)
_BAND = 0.5


def _code(name: str) -> Callable[[Declaration, DeclarationItem], str]:
    def code(declaration: Declaration, _: DeclarationItem) -> str:
        return str(getattr(declaration, name))

    return code


def _item_code(name: str) -> Callable[[Declaration, DeclarationItem], str]:
    def code(_: Declaration, item: DeclarationItem) -> str:
        return str(getattr(item, name))

    return code


#: Low-cardinality codes, given to the trees as their index in the training vocabulary.
CODES: tuple[tuple[str, Callable[[Declaration, DeclarationItem], str]], ...] = (
    ("office_code", _code("office_code")),
    ("procedure_code", _code("procedure_code")),
    ("import_type_code", _code("import_type_code")),
    ("import_use_code", _code("import_use_code")),
    ("payment_type_code", _code("payment_type_code")),
    ("transport_mode_code", _code("transport_mode_code")),
    ("dispatch_country_code", _code("dispatch_country_code")),
    ("origin_country_code", _item_code("origin_country_code")),
    ("origin_indicator_code", _item_code("origin_indicator_code")),
    ("tax_type_code", _item_code("tax_type_code")),
    ("hs2", lambda _, item: item.hs_code[:2]),
    ("hs4", lambda _, item: item.hs_code[:4]),
)

_NUMERIC = (
    "item_count",
    "tax_rate_percent",
    "log_net_mass_kg",
    "log_customs_value",
    "log_total_customs_value",
    "log_unit_value",
    "has_seller",
    "has_courier",
    "same_origin_and_dispatch",
    "unit_value_z_hs6",
    "unit_value_seen_hs6",
)

FEATURE_NAMES: tuple[str, ...] = (
    _NUMERIC
    + tuple(name for name, _ in CODES)
    + tuple(
        f"{family}_{suffix}"
        for family, _ in FAMILIES
        for suffix in ("infringement_rate", "examined", "declared")
    )
)

#: Codes never seen in training (and absent parties) are -1 to the trees.
_UNKNOWN = -1.0


def main_item(declaration: Declaration) -> DeclarationItem:
    """The item of highest customs value (ties: lowest item number)."""
    return min(declaration.items, key=lambda item: (-item.customs_value.amount, item.item_number))


def _band(amount: float) -> str:
    return str(math.floor(math.log1p(max(amount, 0.0)) / _BAND))


@dataclass(frozen=True)
class Described:
    """What the encoding needs of one declaration, computed once per row."""

    keys: tuple[str, ...]
    codes: tuple[str, ...]
    numbers: tuple[float, ...]
    hs6: str
    log_unit_value: float | None


def describe(declaration: Declaration) -> Described:
    """The lookup keys (one per family, "" when a part is absent), codes and numbers."""
    item = main_item(declaration)
    value = float(item.customs_value.amount)
    mass = item.net_mass_kg
    context = (
        declaration.importer.id,
        declaration.declarant.id if declaration.declarant is not None else "",
        declaration.seller.id if declaration.seller is not None else "",
        declaration.courier.id if declaration.courier is not None else "",
        item.hs_code[:6],
        item.origin_country_code,
        declaration.dispatch_country_code,
        declaration.office_code,
        item.tax_type_code,
        f"{value:.3g}",
        f"{mass:.3g}",
        _band(value),
        _band(mass),
    )
    keys = tuple(
        "|".join(parts) if all(parts) else ""
        for parts in ([context[index] for index in fields] for fields in _FAMILY_FIELDS)
    )
    log_unit = math.log(value / mass) if mass > 0 and value > 0 else None
    total = float(sum(i.customs_value.amount for i in declaration.items))
    numbers = (
        float(len(declaration.items)),
        item.tax_rate_percent,
        math.log1p(max(mass, 0.0)),
        math.log1p(max(value, 0.0)),
        math.log1p(max(total, 0.0)),
        log_unit if log_unit is not None else _UNKNOWN,
    )
    flags = (
        float(bool(context[2])),
        float(bool(context[3])),
        float(item.origin_country_code == declaration.dispatch_country_code),
    )
    codes = tuple(code(declaration, item) for _, code in CODES)
    return Described(keys, codes, numbers + flags, context[4], log_unit)


@dataclass
class EncodingTables:
    """Everything scoring needs besides the trees: vocabularies and outcome tallies.

    ``outcomes[family][key]`` is ``[declared, examined, infringed]``;
    ``unit_values[hs6]`` is ``[count, sum, sum of squares]`` of the log unit value.
    """

    smoothing: float
    vocabularies: dict[str, dict[str, int]]
    outcomes: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    unit_values: dict[str, list[float]] = field(default_factory=dict)
    examined: int = 0
    infringed: int = 0

    @classmethod
    def empty(cls, described: Iterable[Described], smoothing: float) -> EncodingTables:
        """Tables with no outcomes yet and the code vocabularies of ``described``.

        The vocabularies hold identifiers only, never outcomes, so building
        them from every training row reveals nothing about any label.
        """
        seen: list[set[str]] = [set() for _ in CODES]
        for row in described:
            for values, code in zip(seen, row.codes, strict=True):
                values.add(code)
        vocabularies = {
            name: {value: index for index, value in enumerate(sorted(values))}
            for (name, _), values in zip(CODES, seen, strict=True)
        }
        return cls(
            smoothing=smoothing,
            vocabularies=vocabularies,
            outcomes={family: {} for family, _ in FAMILIES},
        )

    @property
    def prior(self) -> float:
        """The overall infringement rate of the examined rows so far (0.5 before any)."""
        return (self.infringed + 0.5) / (self.examined + 1.0)

    def vector(self, declaration: Declaration) -> list[float]:
        """The feature values of ``declaration``, in :data:`FEATURE_NAMES` order."""
        return self.vector_of(describe(declaration))

    def vector_of(self, row: Described) -> list[float]:
        """The feature values of a described declaration."""
        z, seen = 0.0, 0.0
        tally = self.unit_values.get(row.hs6)
        if tally is not None and row.log_unit_value is not None:
            count, total, squares = tally
            mean = total / count
            spread = math.sqrt(max(squares / count - mean * mean, 0.0) + 0.01)
            z, seen = (row.log_unit_value - mean) / spread, count
        values = [*row.numbers, z, seen]
        for (name, _), code in zip(CODES, row.codes, strict=True):
            values.append(float(self.vocabularies[name].get(code, _UNKNOWN)))
        prior, smoothing = self.prior, self.smoothing
        for (family, _), key in zip(FAMILIES, row.keys, strict=True):
            found = self.outcomes[family].get(key) if key else None
            if found is None:
                values += (prior, 0.0, 0.0)
            else:
                declared, examined, infringed = found
                rate = (infringed + smoothing * prior) / (examined + smoothing)
                values += (rate, float(examined), float(declared))
        return values

    def add(self, row: Described, examined: bool, infringement: bool) -> None:
        """Counts one more lodged declaration and, when examined, its outcome."""
        for (family, _), key in zip(FAMILIES, row.keys, strict=True):
            if not key:
                continue
            tally = self.outcomes[family].setdefault(key, [0, 0, 0])
            tally[0] += 1
            if examined:
                tally[1] += 1
                tally[2] += int(infringement)
        if examined:
            self.examined += 1
            self.infringed += int(infringement)
        if row.log_unit_value is not None:
            tally_uv = self.unit_values.setdefault(row.hs6, [0.0, 0.0, 0.0])
            tally_uv[0] += 1
            tally_uv[1] += row.log_unit_value
            tally_uv[2] += row.log_unit_value * row.log_unit_value

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (keys sorted by the serialiser, so deterministic)."""
        return {
            "smoothing": self.smoothing,
            "vocabularies": self.vocabularies,
            "outcomes": self.outcomes,
            "unit_values": self.unit_values,
            "examined": self.examined,
            "infringed": self.infringed,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> EncodingTables:
        """The tables of :meth:`to_json`'s output."""
        return cls(
            smoothing=float(document["smoothing"]),
            vocabularies=document["vocabularies"],
            outcomes=document["outcomes"],
            unit_values=document["unit_values"],
            examined=int(document["examined"]),
            infringed=int(document["infringed"]),
        )


def lodgement_day(declaration: Declaration) -> date:
    """The UTC calendar day of lodgement: the unit of time the encoding moves by."""
    return declaration.lodgement_time.astimezone(UTC).date()


def time_ordered_vectors(
    rows: Sequence[tuple[Declaration, Described, bool, bool]], tables: EncodingTables
) -> list[list[float]]:
    """Feature vectors of ``rows`` (declaration, its description, examined, infringement).

    ``rows`` must be in lodgement order. Each row is encoded from ``tables``
    as they stood before its day; ``tables`` end up holding every row.
    """
    vectors: list[list[float]] = []
    start = 0
    while start < len(rows):
        day = lodgement_day(rows[start][0])
        end = start
        while end < len(rows) and lodgement_day(rows[end][0]) == day:
            end += 1
        vectors.extend(tables.vector_of(described) for _, described, _, _ in rows[start:end])
        for _, described, examined, infringement in rows[start:end]:
            tables.add(described, examined, infringement)
        start = end
    return vectors
