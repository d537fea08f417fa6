"""Builders of realistic declarations and criteria for the scoring unit tests.

Defaults follow the first row of the public customs-declarations data set
(an item of HS 440890 from Belgium lodged at office 30); the data set itself
is read only through :func:`dataset_declarations`, never copied here.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from customs.common.v1 import money_pb2
from customs.scoring.v1 import declaration_pb2

from scoring.domain.declaration import Declaration, DeclarationItem, Money, Party
from scoring.domain.draws import SelectionSeed
from scoring.domain.rules import (
    ApprovedTraderScope,
    Channel,
    Condition,
    Criterion,
    DocumentRequirement,
    ExaminationLevel,
    NamedList,
    RulesSnapshot,
    SelectionRule,
    Treatment,
)

SEED = SelectionSeed(b"unit-test-selection-seed-0123456789")
LODGED = datetime(2020, 1, 1, 12, tzinfo=UTC)

_REPO_ROOT = Path(__file__).resolve().parents[3]
_DATASET = _REPO_ROOT.parent / "shared" / "data" / "customs-declarations" / "train.csv"


def krw(amount: str | int) -> Money:
    """An amount in Korean won, the data set's currency."""
    return Money("KRW", Decimal(amount))


def item(number: int = 1, **overrides: Any) -> DeclarationItem:
    """A goods item; keyword arguments replace the defaults."""
    base = DeclarationItem(
        item_number=number,
        hs_code="440890",
        origin_country_code="BE",
        origin_indicator_code="G",
        net_mass_kg=108.0,
        customs_value=krw("372254.4"),
        tax_type_code="FEU1",
        tax_rate_percent=0.0,
    )
    return replace(base, **overrides)


def declaration(*items: DeclarationItem, **overrides: Any) -> Declaration:
    """A declaration (one default item unless ``items`` are given)."""
    base = Declaration(
        declaration_number="97061800",
        version=1,
        office_code="30",
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        lodgement_time=LODGED,
        declarant=Party("ZZR1LT6"),
        importer=Party("QLRUBN9"),
        seller=Party("0VKY2BR"),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=items or (item(),),
    )
    return replace(base, **overrides)


def criterion(
    name: str,
    condition: Condition,
    *,
    channel: Channel = Channel.RED,
    level: ExaminationLevel | None = None,
    documents: tuple[DocumentRequirement, ...] = (),
    also_refer_to_audit: bool = False,
    percent: float = 100.0,
    priority: int = 50,
    revision: int = 1,
    instructions: str | None = None,
    mandatory: bool = False,
    approved_traders: ApprovedTraderScope = ApprovedTraderScope.INCLUDED,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Criterion:
    """A criterion ``criteria/{name}``; RED defaults to a commercial-sample examination."""
    if level is None:
        level = (
            ExaminationLevel.COMMERCIAL_SAMPLE if channel is Channel.RED else ExaminationLevel.NONE
        )
    if channel is Channel.YELLOW and not documents:
        documents = (DocumentRequirement("N380", "Commercial invoice"),)
    return Criterion(
        name=f"criteria/{name}",
        revision=revision,
        title=f"Criterion {name}",
        rule=SelectionRule(
            condition=condition,
            treatment=Treatment(channel, level, documents, also_refer_to_audit),
            selection_percent=percent,
            approved_traders=approved_traders,
            priority=priority,
            examiner_instructions=instructions or f"Examine the goods ({name}).",
            mandatory=mandatory,
        ),
        validity_start=valid_from,
        validity_end=valid_until,
    )


def rules(
    *criteria: Criterion, named_lists: tuple[NamedList, ...] = (), revision: int = 7
) -> RulesSnapshot:
    """A rules snapshot holding ``criteria`` and ``named_lists``."""
    return RulesSnapshot.of(revision, list(criteria), list(named_lists))


def _money(amount: str) -> money_pb2.Money:
    value = Decimal(amount).quantize(Decimal("1e-9"))
    units = int(value)
    nanos = int((value - units) * 1_000_000_000)
    return money_pb2.Money(currency_code="KRW", units=units, nanos=nanos)


def dataset_messages(limit: int) -> list[declaration_pb2.Declaration]:
    """The first ``limit`` declarations of the data set, mapped as declaration.proto says.

    Skips the test when the data set is not beside the repository.
    """
    if not _DATASET.is_file():
        pytest.skip(f"the customs-declarations data set is not at {_DATASET}")
    messages: list[declaration_pb2.Declaration] = []
    with _DATASET.open(newline="") as handle:
        rows = csv.DictReader(handle)
        grouped = itertools.groupby(rows, key=lambda row: row["Declaration ID"])
        for number, group in itertools.islice(grouped, limit):
            messages.append(_message(number, list(group)))
    return messages


def _message(number: str, rows: list[dict[str, str]]) -> declaration_pb2.Declaration:
    first = rows[0]
    message = declaration_pb2.Declaration(
        declaration_number=number,
        version=1,
        office_code=first["Office ID"],
        procedure_code=first["Process Type"],
        import_type_code=first["Import Type"],
        import_use_code=first["Import Use"],
        payment_type_code=first["Payment Type"],
        transport_mode_code=first["Mode of Transport"],
        declarant=declaration_pb2.Party(id=first["Declarant ID"]),
        importer=declaration_pb2.Party(id=first["Importer ID"]),
        dispatch_country_code=first["Country of Departure"],
    )
    message.lodgement_time.FromDatetime(
        datetime.fromisoformat(first["Date"]).replace(hour=12, tzinfo=UTC)
    )
    if first["Seller ID"]:
        message.seller.id = first["Seller ID"]
    if first["Courier ID"]:
        message.courier.id = first["Courier ID"]
    for index, row in enumerate(rows, start=1):
        message.items.add(
            item_number=index,
            hs_code=row["HS6 Code"],
            origin_country_code=row["Country of Origin"],
            origin_indicator_code=row["Country of Origin Indicator"],
            tax_rate_percent=float(row["Tax Rate"]),
            tax_type_code=row["Tax Type"],
            net_mass_kg=float(row["Net Mass"]),
            customs_value=_money(row["Item Price"]),
        )
    return message


def numbered(count: int) -> Iterator[Declaration]:
    """``count`` one-item declarations with distinct numbers (for draw statistics)."""
    base = declaration()
    for number in range(count):
        yield replace(base, declaration_number=f"D{number:08d}")
