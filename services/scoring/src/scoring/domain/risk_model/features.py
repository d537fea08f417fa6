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

_Key = Callable[[Declaration, DeclarationItem], str]


def _party(name: str) -> _Key:
    def key(declaration: Declaration, _: DeclarationItem) -> str:
        party = getattr(declaration, name)
        return party.id if party is not None else ""

    return key


def _hs6(_: Declaration, item: DeclarationItem) -> str:
    return item.hs_code[:6]


def _origin(_: Declaration, item: DeclarationItem) -> str:
    return item.origin_country_code


def _office(declaration: Declaration, _: DeclarationItem) -> str:
    return declaration.office_code


def _pair(first: _Key, second: _Key) -> _Key:
    def key(declaration: Declaration, item: DeclarationItem) -> str:
        a, b = first(declaration, item), second(declaration, item)
        return f"{a}|{b}" if a and b else ""

    return key


#: Whose past outcomes are looked up, one table each (issue 11's list).
FAMILIES: tuple[tuple[str, _Key], ...] = (
    ("importer", _party("importer")),
    ("declarant", _party("declarant")),
    ("seller", _party("seller")),
    ("courier", _party("courier")),
    ("hs6", _hs6),
    ("origin", _origin),
    ("office", _office),
    ("importer_hs6", _pair(_party("importer"), _hs6)),
    ("declarant_importer", _pair(_party("declarant"), _party("importer"))),
    ("seller_hs6", _pair(_party("seller"), _hs6)),
    ("origin_hs6", _pair(_origin, _hs6)),
)


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
    "unit_value_z_hs6",
    "unit_value_seen_hs6",
    "has_seller",
    "has_courier",
    "same_origin_and_dispatch",
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


def _log_unit_value(item: DeclarationItem) -> float | None:
    value = float(item.customs_value.amount)
    if item.net_mass_kg <= 0 or value <= 0:
        return None
    return math.log(value / item.net_mass_kg)


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
    def empty(cls, declarations: Iterable[Declaration], smoothing: float) -> EncodingTables:
        """Tables with no outcomes yet and the code vocabularies of ``declarations``.

        The vocabularies hold identifiers only, never outcomes, so building
        them from every training row reveals nothing about any label.
        """
        seen: dict[str, set[str]] = {name: set() for name, _ in CODES}
        for declaration in declarations:
            item = main_item(declaration)
            for name, code in CODES:
                seen[name].add(code(declaration, item))
        vocabularies = {
            name: {value: index for index, value in enumerate(sorted(values))}
            for name, values in seen.items()
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
        item = main_item(declaration)
        log_unit = _log_unit_value(item)
        hs6 = item.hs_code[:6]
        z, seen = 0.0, 0.0
        tally = self.unit_values.get(hs6)
        if tally is not None and log_unit is not None:
            count, total, squares = tally
            mean = total / count
            spread = math.sqrt(max(squares / count - mean * mean, 0.0) + 0.01)
            z, seen = (log_unit - mean) / spread, count
        value = float(item.customs_value.amount)
        values = [
            float(len(declaration.items)),
            item.tax_rate_percent,
            math.log1p(max(item.net_mass_kg, 0.0)),
            math.log1p(max(value, 0.0)),
            math.log1p(max(float(sum(i.customs_value.amount for i in declaration.items)), 0.0)),
            log_unit if log_unit is not None else _UNKNOWN,
            z,
            seen,
            float(declaration.seller is not None and bool(declaration.seller.id)),
            float(declaration.courier is not None and bool(declaration.courier.id)),
            float(item.origin_country_code == declaration.dispatch_country_code),
        ]
        for name, code in CODES:
            values.append(float(self.vocabularies[name].get(code(declaration, item), _UNKNOWN)))
        prior, smoothing = self.prior, self.smoothing
        for family, key in FAMILIES:
            found = self.outcomes[family].get(key(declaration, item)) if key else None
            if found is None:
                values += (prior, 0.0, 0.0)
            else:
                declared, examined, infringed = found
                rate = (infringed + smoothing * prior) / (examined + smoothing)
                values += (rate, float(examined), float(declared))
        return values

    def add(self, declaration: Declaration, examined: bool, infringement: bool) -> None:
        """Counts one more lodged declaration and, when examined, its outcome."""
        item = main_item(declaration)
        for family, key in FAMILIES:
            name = key(declaration, item)
            if not name:
                continue
            tally = self.outcomes[family].setdefault(name, [0, 0, 0])
            tally[0] += 1
            if examined:
                tally[1] += 1
                tally[2] += int(infringement)
        if examined:
            self.examined += 1
            self.infringed += int(infringement)
        log_unit = _log_unit_value(item)
        if log_unit is not None:
            tally_uv = self.unit_values.setdefault(item.hs_code[:6], [0.0, 0.0, 0.0])
            tally_uv[0] += 1
            tally_uv[1] += log_unit
            tally_uv[2] += log_unit * log_unit

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
    rows: Sequence[tuple[Declaration, bool, bool]], tables: EncodingTables
) -> list[list[float]]:
    """Feature vectors of ``rows`` (declaration, examined, infringement), leakage-free.

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
        vectors.extend(tables.vector(declaration) for declaration, _, _ in rows[start:end])
        for declaration, examined, infringement in rows[start:end]:
            tables.add(declaration, examined, infringement)
        start = end
    return vectors
