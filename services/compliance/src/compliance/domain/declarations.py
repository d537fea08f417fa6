"""Recorded declarations: every assessment scoring made, kept for trade statistics.

Scoring sends every assessment, whatever the channel, so the records cover all
trade (handbook step 15: importers ranked by value, duties and number of
declarations; commodities ranked by collections, tax rate and past
misclassifications; past transactions of a trader). A declaration may be
amended: the newest version replaces the older ones in the statistics, and an
older version that arrives late is kept but never counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from compliance.domain.outcomes import ComplianceArea
from compliance.domain.traders import TraderRole
from compliance.domain.values import Amount, Party
from customs_kit.errors import FieldViolation, InvalidArgument

RECORD_NAME_PREFIX = "declarationRecords/"
ASSESSMENT_NAME_PREFIX = "assessments/"
OFFICE_NAME_PREFIX = "offices/"


class Channel(StrEnum):
    """The selectivity decision."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    BLUE = "BLUE"


class ExaminationLevel(StrEnum):
    """The intensity of a physical (RED) examination."""

    COMMERCIAL_SAMPLE = "COMMERCIAL_SAMPLE"
    ENFORCEMENT = "ENFORCEMENT"
    FULL = "FULL"


@dataclass(frozen=True)
class AssessedItem:
    """One item of an assessed declaration."""

    item_number: int
    hs_code: str
    origin_country: str
    customs_value: Amount
    duties: Amount
    tax_rate: float


@dataclass(frozen=True)
class AssessedDeclaration:
    """One assessment by scoring, as its event carries it."""

    assessment_id: str
    declaration_number: str
    declaration_version: int
    office_id: str
    lodgement_time: datetime
    importer: Party
    exporter: Party | None
    broker: Party | None
    carrier: Party | None
    items: Sequence[AssessedItem]
    channel: Channel
    examination_level: ExaminationLevel | None
    random_selection: bool
    decide_time: datetime

    def parties(self) -> list[tuple[TraderRole, Party]]:
        """Every trader the declaration names, with the role it plays."""
        named = [
            (TraderRole.IMPORTER, self.importer),
            (TraderRole.EXPORTER, self.exporter),
            (TraderRole.BROKER, self.broker),
            (TraderRole.CARRIER, self.carrier),
        ]
        return [(role, party) for role, party in named if party is not None]


@dataclass(frozen=True)
class RecordItem:
    """One item of a recorded declaration, amounts in the record's currency."""

    item_number: int
    hs_code: str
    origin_country: str
    customs_value: Decimal
    duties: Decimal
    tax_rate: float

    @property
    def hs_chapter(self) -> str:
        """The two-digit HS chapter."""
        return self.hs_code[:2]


@dataclass(frozen=True)
class RecordVersion:
    """The version of a declaration a record holds, and when scoring decided it."""

    record_id: str
    declaration_version: int
    decide_time: datetime


@dataclass(frozen=True)
class Verification:
    """What later examinations and audits found about a declaration."""

    examined: bool = False
    discrepancy_found: bool | None = None
    noncompliant_areas: frozenset[ComplianceArea] = frozenset()
    audited: bool = False
    #: When the latest outcome was received; ``None`` before any.
    update_time: datetime | None = None


@dataclass(frozen=True)
class DeclarationRecord:
    """One assessed declaration version as the trade statistics keep it."""

    record_id: str
    declaration_number: str
    declaration_version: int
    office_id: str
    lodgement_time: datetime
    importer_id: str
    exporter_id: str | None
    broker_id: str | None
    carrier_id: str | None
    currency: str
    items: tuple[RecordItem, ...]
    channel: Channel
    examination_level: ExaminationLevel | None
    random_selection: bool
    decide_time: datetime
    #: Whether this is the version the statistics count.
    current: bool
    create_time: datetime
    verification: Verification = field(default_factory=Verification)

    @property
    def name(self) -> str:
        """The resource name ``declarationRecords/{record}``."""
        return f"{RECORD_NAME_PREFIX}{self.record_id}"

    @property
    def assessment(self) -> str:
        """The resource name of the assessment in scoring (it shares the record's id)."""
        return f"{ASSESSMENT_NAME_PREFIX}{self.record_id}"

    @property
    def total_customs_value(self) -> Decimal:
        """The sum of the items' customs values."""
        return sum((item.customs_value for item in self.items), Decimal(0))

    @property
    def total_duties(self) -> Decimal:
        """The sum of the items' duties and taxes."""
        return sum((item.duties for item in self.items), Decimal(0))

    @property
    def version(self) -> RecordVersion:
        """Which version of its declaration this record is."""
        return RecordVersion(self.record_id, self.declaration_version, self.decide_time)

    def replaces(self, other: RecordVersion) -> bool:
        """Whether this version replaces ``other`` in the statistics.

        A higher version wins; for the same version (a re-assessment) the later
        decision wins.
        """
        return (self.declaration_version, self.decide_time) > (
            other.declaration_version,
            other.decide_time,
        )


def record_assessment(assessed: AssessedDeclaration, now: datetime) -> DeclarationRecord:
    """The record of an assessment, current until a newer version arrives.

    Statistics add amounts up, so every amount of one declaration must be in
    one currency (the national currency in which scoring reports statistical
    values); raises ``InvalidArgument`` naming the first amount that is not.
    """
    if not assessed.items:
        raise InvalidArgument(
            [FieldViolation("assessed_declaration.items", "needs at least one item")]
        )
    currency = assessed.items[0].customs_value.currency
    for index, item in enumerate(assessed.items):
        for amount_field, amount in (
            ("customs_value", item.customs_value),
            ("duties", item.duties),
        ):
            if amount.currency != currency:
                raise InvalidArgument(
                    [
                        FieldViolation(
                            f"assessed_declaration.items[{index}].{amount_field}.currency_code",
                            f"is {amount.currency}; every amount of a declaration must be in "
                            f"{currency}",
                        )
                    ],
                    reason="MIXED_CURRENCIES",
                )
    return DeclarationRecord(
        record_id=assessed.assessment_id,
        declaration_number=assessed.declaration_number,
        declaration_version=assessed.declaration_version,
        office_id=assessed.office_id,
        lodgement_time=assessed.lodgement_time,
        importer_id=assessed.importer.number,
        exporter_id=assessed.exporter.number if assessed.exporter else None,
        broker_id=assessed.broker.number if assessed.broker else None,
        carrier_id=assessed.carrier.number if assessed.carrier else None,
        currency=currency,
        items=tuple(
            RecordItem(
                item_number=item.item_number,
                hs_code=item.hs_code,
                origin_country=item.origin_country,
                customs_value=item.customs_value.value,
                duties=item.duties.value,
                tax_rate=item.tax_rate,
            )
            for item in assessed.items
        ),
        channel=assessed.channel,
        examination_level=assessed.examination_level,
        random_selection=assessed.random_selection,
        decide_time=assessed.decide_time,
        current=True,
        create_time=now,
    )


class TraderRankingMetric(StrEnum):
    """What traders are ranked by."""

    DECLARED_VALUE = "DECLARED_VALUE"
    DUTIES_AND_TAXES = "DUTIES_AND_TAXES"
    DECLARATION_COUNT = "DECLARATION_COUNT"
    DISCREPANCY_COUNT = "DISCREPANCY_COUNT"


class CommodityRankingMetric(StrEnum):
    """What commodities are ranked by."""

    COLLECTIONS = "COLLECTIONS"
    TAX_RATE = "TAX_RATE"
    MISCLASSIFICATIONS = "MISCLASSIFICATIONS"
    DECLARED_VALUE = "DECLARED_VALUE"


#: Rankings cover at most a year (a leap year included).
MAX_RANKING_DAYS = 366

HS_LEVELS = frozenset({2, 4, 6, 8, 10})
DEFAULT_HS_LEVEL = 6


def hs_level(digits: int) -> int:
    """The HS level commodities are grouped by: 0 means 6 digits."""
    level = digits or DEFAULT_HS_LEVEL
    if level not in HS_LEVELS:
        raise InvalidArgument([FieldViolation("hs_digits", "must be 0, 2, 4, 6, 8 or 10")])
    return level


@dataclass(frozen=True)
class TraderRanking:
    """One row of a ranked listing of traders."""

    rank: int
    trader_id: str
    display_name: str
    declaration_count: int
    declared_value: Amount
    duties_and_taxes: Amount
    examined_count: int
    discrepancy_count: int


@dataclass(frozen=True)
class CommodityRanking:
    """One row of a ranked listing of commodities."""

    rank: int
    hs_code: str
    item_count: int
    declared_value: Amount
    collections: Amount
    mean_tax_rate: float
    misclassification_count: int
