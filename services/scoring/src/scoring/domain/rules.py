"""The selection rule language (common/v1/selection_rule.proto) and the rules snapshot.

A criterion is a condition tree over the declaration's data elements, a
treatment, a selection percentage and plain-language instructions. The
scoring service holds the active criteria and the named lists they refer to
as one immutable :class:`RulesSnapshot` per revision of the criteria stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from types import MappingProxyType
from typing import TypeVar


class Channel(Enum):
    """The lane a declaration is routed to."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    BLUE = "BLUE"

    @property
    def precedence(self) -> int:
        """Higher wins when several selections apply: RED > YELLOW > BLUE > GREEN."""
        return _CHANNEL_PRECEDENCE[self]


_CHANNEL_PRECEDENCE = {Channel.GREEN: 0, Channel.BLUE: 1, Channel.YELLOW: 2, Channel.RED: 3}


class ExaminationLevel(Enum):
    """The intensity of a physical examination; ``NONE`` for every other channel."""

    NONE = "NONE"
    COMMERCIAL_SAMPLE = "COMMERCIAL_SAMPLE"
    ENFORCEMENT = "ENFORCEMENT"
    FULL = "FULL"

    @property
    def rank(self) -> int:
        """Higher is more intensive: FULL > ENFORCEMENT > COMMERCIAL_SAMPLE."""
        return _LEVEL_RANK[self]


_LEVEL_RANK = {
    ExaminationLevel.NONE: 0,
    ExaminationLevel.COMMERCIAL_SAMPLE: 1,
    ExaminationLevel.ENFORCEMENT: 2,
    ExaminationLevel.FULL: 3,
}


class CodeElement(Enum):
    """A coded data element; the ``ITEM_`` ones are read from the item under evaluation."""

    OFFICE = "OFFICE"
    PROCEDURE = "PROCEDURE"
    IMPORT_TYPE = "IMPORT_TYPE"
    IMPORT_USE = "IMPORT_USE"
    PAYMENT_TYPE = "PAYMENT_TYPE"
    TRANSPORT_MODE = "TRANSPORT_MODE"
    DISPATCH_COUNTRY = "DISPATCH_COUNTRY"
    DECLARANT = "DECLARANT"
    IMPORTER = "IMPORTER"
    SELLER = "SELLER"
    SELLER_COUNTRY = "SELLER_COUNTRY"
    CARRIER = "CARRIER"
    COURIER = "COURIER"
    ITEM_HS_CODE = "ITEM_HS_CODE"
    ITEM_ORIGIN_COUNTRY = "ITEM_ORIGIN_COUNTRY"
    ITEM_ORIGIN_INDICATOR = "ITEM_ORIGIN_INDICATOR"
    ITEM_TAX_TYPE = "ITEM_TAX_TYPE"
    ITEM_SUPPLEMENTARY_UNIT = "ITEM_SUPPLEMENTARY_UNIT"
    ITEM_DOCUMENT_TYPE = "ITEM_DOCUMENT_TYPE"

    @property
    def is_item(self) -> bool:
        """Whether the element is read from an item rather than the header."""
        return self.name.startswith("ITEM_")


class NumericElement(Enum):
    """A numeric data element, declared or computed."""

    ITEM_CUSTOMS_VALUE = "ITEM_CUSTOMS_VALUE"
    ITEM_STATISTICAL_VALUE = "ITEM_STATISTICAL_VALUE"
    ITEM_NET_MASS_KG = "ITEM_NET_MASS_KG"
    ITEM_GROSS_MASS_KG = "ITEM_GROSS_MASS_KG"
    ITEM_QUANTITY = "ITEM_QUANTITY"
    ITEM_TAX_RATE_PERCENT = "ITEM_TAX_RATE_PERCENT"
    ITEM_DUTY_AMOUNT = "ITEM_DUTY_AMOUNT"
    ITEM_VALUE_PER_KG = "ITEM_VALUE_PER_KG"
    ITEM_VALUE_PER_UNIT = "ITEM_VALUE_PER_UNIT"
    DECLARATION_ITEM_COUNT = "DECLARATION_ITEM_COUNT"
    DECLARATION_CUSTOMS_VALUE = "DECLARATION_CUSTOMS_VALUE"
    DECLARATION_CONTAINER_COUNT = "DECLARATION_CONTAINER_COUNT"

    @property
    def is_item(self) -> bool:
        """Whether the element is read from an item rather than the header."""
        return self.name.startswith("ITEM_")

    @property
    def is_monetary(self) -> bool:
        """Whether the element is an amount, compared only in the predicate's currency."""
        return self in _MONETARY


_MONETARY = frozenset(
    {
        NumericElement.ITEM_CUSTOMS_VALUE,
        NumericElement.ITEM_STATISTICAL_VALUE,
        NumericElement.ITEM_DUTY_AMOUNT,
        NumericElement.ITEM_VALUE_PER_KG,
        NumericElement.ITEM_VALUE_PER_UNIT,
        NumericElement.DECLARATION_CUSTOMS_VALUE,
    }
)


class UnitValueBasis(Enum):
    """What a unit value is computed per."""

    PER_KG = "PER_KG"
    PER_UNIT = "PER_UNIT"


class UnitValueComparison(Enum):
    """Which side of its reference band a unit value must fall on to match."""

    BELOW_BAND = "BELOW_BAND"
    ABOVE_BAND = "ABOVE_BAND"
    OUTSIDE_BAND = "OUTSIDE_BAND"


class ApprovedTraderScope(Enum):
    """Whether a rule also selects declarations of approved traders."""

    INCLUDED = "INCLUDED"
    EXCLUDED = "EXCLUDED"


class NamedListKind(Enum):
    """What a named list holds."""

    COMPANIES = "COMPANIES"
    DECLARANTS = "DECLARANTS"
    COUNTRIES = "COUNTRIES"
    COMMODITIES = "COMMODITIES"
    UNIT_VALUE_BANDS = "UNIT_VALUE_BANDS"
    CODES = "CODES"


@dataclass(frozen=True)
class CodeIn:
    """True when the element's value is one of ``values`` (exact, case-sensitive)."""

    element: CodeElement
    values: frozenset[str]


@dataclass(frozen=True)
class HsCodePrefix:
    """True when the item's HS code starts with one of ``prefixes``."""

    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class NumericRange:
    """True when ``minimum <= value <= maximum`` (an unset bound is open)."""

    element: NumericElement
    minimum: float | None = None
    maximum: float | None = None
    currency_code: str = ""


@dataclass(frozen=True)
class UnitValue:
    """True when the item's unit value lies outside its reference band."""

    basis: UnitValueBasis
    comparison: UnitValueComparison
    named_list: str
    tolerance_percent: float = 0.0


@dataclass(frozen=True)
class DescriptionKeywords:
    """True when the goods description contains the keywords (whole words, any case)."""

    keywords: tuple[str, ...]
    match_all: bool = False


@dataclass(frozen=True)
class InNamedList:
    """True when the element's value is an entry of the named list."""

    element: CodeElement
    named_list: str


@dataclass(frozen=True)
class CodesEqual:
    """True when both elements are present and hold the same value."""

    first: CodeElement
    second: CodeElement


@dataclass(frozen=True)
class RiskModelScore:
    """True when ``minimum <= score <= maximum`` for the risk model's score of the declaration.

    The score (0 to 1) is an input of the assessment, not a data element: a
    declaration assessed without one never matches (an unset bound is open).
    """

    minimum: float | None = None
    maximum: float | None = None


Predicate = (
    CodeIn
    | HsCodePrefix
    | NumericRange
    | UnitValue
    | DescriptionKeywords
    | InNamedList
    | CodesEqual
    | RiskModelScore
)


@dataclass(frozen=True)
class AllOf:
    """True when every condition is true."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one condition is true."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class NoneOf:
    """True when no condition is true (NOT, with one condition)."""

    conditions: tuple[Condition, ...]


Condition = AllOf | AnyOf | NoneOf | Predicate


def reads_items(condition: Condition) -> bool:
    """Whether the tree reads any item data element (and is so evaluated per item)."""
    match condition:
        case AllOf(conditions) | AnyOf(conditions) | NoneOf(conditions):
            return any(reads_items(child) for child in conditions)
        case CodeIn(element=element) | InNamedList(element=element):
            return element.is_item
        case NumericRange(element=element):
            return element.is_item
        case CodesEqual(first=first, second=second):
            return first.is_item or second.is_item
        case HsCodePrefix() | UnitValue() | DescriptionKeywords():
            return True
        case RiskModelScore():
            return False
    raise TypeError(f"not a condition: {condition!r}")


@dataclass(frozen=True)
class DocumentRequirement:
    """A document an officer must verify."""

    document_type_code: str
    description: str = ""


@dataclass(frozen=True)
class Treatment:
    """What a selected declaration receives."""

    channel: Channel
    examination_level: ExaminationLevel = ExaminationLevel.NONE
    documents_to_check: tuple[DocumentRequirement, ...] = ()
    also_refer_to_audit: bool = False

    @property
    def refers_to_audit(self) -> bool:
        """BLUE always refers to post-clearance audit; YELLOW and RED when flagged."""
        return self.channel is Channel.BLUE or self.also_refer_to_audit


@dataclass(frozen=True)
class SelectionRule:
    """When a criterion hits, what it does, how often, and what the officer is told."""

    condition: Condition
    treatment: Treatment
    selection_percent: float
    approved_traders: ApprovedTraderScope
    priority: int
    examiner_instructions: str
    mandatory: bool = False
    #: Computed once: whether the condition is evaluated per item.
    item_level: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "item_level", reads_items(self.condition))


@dataclass(frozen=True)
class Criterion:
    """An applied criterion revision, as the criteria service publishes it."""

    name: str
    revision: int
    title: str
    rule: SelectionRule
    validity_start: datetime | None = None
    validity_end: datetime | None = None

    def is_valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in ``[validity_start, validity_end)``.

        Compared with the lodgement time, not the clock, so a replay after the
        criterion expired gives the same result.
        """
        if self.validity_start is not None and moment < self.validity_start:
            return False
        return self.validity_end is None or moment < self.validity_end


@dataclass(frozen=True)
class UnitValueBand:
    """The acceptable unit-value range for an HS prefix, optionally for one origin."""

    hs_code_prefix: str
    basis: UnitValueBasis
    currency_code: str
    lower: float
    upper: float
    origin_country_code: str = ""
    supplementary_unit_code: str = ""


@dataclass(frozen=True)
class NamedList:
    """A list criteria refer to by name: codes, or reference unit-value bands."""

    name: str
    kind: NamedListKind
    revision: int = 0
    entries: frozenset[str] = frozenset()
    unit_value_bands: tuple[UnitValueBand, ...] = ()

    @cached_property
    def bands_by_prefix(self) -> Mapping[str, tuple[UnitValueBand, ...]]:
        """The unit-value bands by HS prefix, in list order (a list can hold thousands)."""
        by_prefix: dict[str, list[UnitValueBand]] = {}
        for band in self.unit_value_bands:
            by_prefix.setdefault(band.hs_code_prefix, []).append(band)
        return MappingProxyType({prefix: tuple(bands) for prefix, bands in by_prefix.items()})


@dataclass(frozen=True)
class RulesSnapshot:
    """The active criteria and named lists as of one revision of the criteria stream.

    Immutable: a change produces a new snapshot, which the service swaps in
    whole, so an assessment never sees half of a change.
    """

    revision: int
    criteria: Mapping[str, Criterion]
    named_lists: Mapping[str, NamedList]

    @classmethod
    def of(
        cls, revision: int, criteria: list[Criterion], named_lists: list[NamedList]
    ) -> RulesSnapshot:
        """A snapshot of ``criteria`` and ``named_lists`` (by name) at ``revision``."""
        return cls(
            revision,
            MappingProxyType({criterion.name: criterion for criterion in criteria}),
            MappingProxyType({named_list.name: named_list for named_list in named_lists}),
        )

    def with_criterion(self, revision: int, criterion: Criterion) -> RulesSnapshot:
        """A new snapshot at ``revision`` with ``criterion`` added or replaced."""
        criteria = _copied(self.criteria)
        criteria[criterion.name] = criterion
        return RulesSnapshot(revision, MappingProxyType(criteria), self.named_lists)

    def without_criterion(self, revision: int, name: str) -> RulesSnapshot:
        """A new snapshot at ``revision`` without the criterion ``name``."""
        criteria = _copied(self.criteria)
        criteria.pop(name, None)
        return RulesSnapshot(revision, MappingProxyType(criteria), self.named_lists)

    def with_named_list(self, revision: int, named_list: NamedList) -> RulesSnapshot:
        """A new snapshot at ``revision`` with ``named_list`` added or replaced."""
        lists = _copied(self.named_lists)
        lists[named_list.name] = named_list
        return RulesSnapshot(revision, self.criteria, MappingProxyType(lists))

    def without_named_list(self, revision: int, name: str) -> RulesSnapshot:
        """A new snapshot at ``revision`` without the named list ``name``."""
        lists = _copied(self.named_lists)
        lists.pop(name, None)
        return RulesSnapshot(revision, self.criteria, MappingProxyType(lists))


_Value = TypeVar("_Value")


def _copied(mapping: Mapping[str, _Value]) -> dict[str, _Value]:
    """A mutable copy, made whole by ``dict.copy``.

    ``dict(view)`` goes key by key (some 50 ms for a hundred thousand criteria),
    as does ``dict(a_dict)`` once that dict has had a key removed.
    """
    if isinstance(mapping, MappingProxyType):
        return mapping.copy()
    return dict(mapping)
