"""Reads the public customs-declarations data set as scoring Declaration messages.

The data set (one CSV row per goods item) stays outside the repository, at
``../shared/data/customs-declarations/`` beside the repository root unless
``CUSTOMS_DECLARATIONS_DIR`` names another directory. Rows are grouped by
Declaration ID into one declaration each (items numbered from 1 in row
order, version 1) and every column is mapped as the header comment of
protos/customs/scoring/v1/declaration.proto documents. The outcome columns
(Fraud, Critical Fraud) are examination results, not declaration data, and
are left out.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from customs.common.v1 import money_pb2
from customs.scoring.v1 import declaration_pb2

#: The data set's files, in date order (2020, then the first quarter of 2021).
FILES = ("train.csv", "valid.csv")
_NANO = Decimal("1e-9")
_NANOS_PER_UNIT = 1_000_000_000
_CURRENCY = "KRW"


def dataset_directory() -> Path:
    """``CUSTOMS_DECLARATIONS_DIR``, else ``../shared/data/customs-declarations`` of the repo."""
    configured = os.environ.get("CUSTOMS_DECLARATIONS_DIR", "")
    if configured:
        return Path(configured)
    repository = Path(__file__).resolve().parents[1]
    return repository.parent / "shared" / "data" / "customs-declarations"


def read_declarations(
    directory: Path | None = None, files: Sequence[str] = FILES
) -> Iterator[declaration_pb2.Declaration]:
    """Every declaration of ``files``, in order of first appearance.

    Raises ``FileNotFoundError`` naming the directory when a file is missing.
    """
    root = directory or dataset_directory()
    rows_by_declaration: dict[str, list[dict[str, str]]] = {}
    for name in files:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(
                f"customs-declarations data set file {path} not found "
                "(set CUSTOMS_DECLARATIONS_DIR to its directory)"
            )
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows_by_declaration.setdefault(row["Declaration ID"], []).append(row)
    for number, rows in rows_by_declaration.items():
        yield declaration_message(number, rows)


def declaration_message(number: str, rows: Sequence[dict[str, str]]) -> declaration_pb2.Declaration:
    """The declaration ``number`` made of its rows (the header is read from the first)."""
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
    # No time of day in the data set: noon UTC keeps the date in Asia/Seoul.
    lodged = datetime.fromisoformat(first["Date"]).replace(hour=12, tzinfo=UTC)
    message.lodgement_time.FromDatetime(lodged)
    if first["Seller ID"]:
        message.seller.id = first["Seller ID"]
    if first["Courier ID"]:
        message.courier.id = first["Courier ID"]
    for item_number, row in enumerate(rows, start=1):
        message.items.add(
            item_number=item_number,
            hs_code=row["HS6 Code"],
            origin_country_code=row["Country of Origin"],
            origin_indicator_code=row["Country of Origin Indicator"],
            tax_rate_percent=float(row["Tax Rate"]),
            tax_type_code=row["Tax Type"],
            net_mass_kg=float(row["Net Mass"]),
            customs_value=krw(row["Item Price"]),
        )
    return message


def krw(amount: str) -> money_pb2.Money:
    """An Item Price in won, rounded to nanos (the data set's float artefacts lie below)."""
    nanos = int(Decimal(amount).quantize(_NANO, rounding=ROUND_HALF_EVEN) / _NANO)
    units, remainder = divmod(nanos, _NANOS_PER_UNIT)
    return money_pb2.Money(currency_code=_CURRENCY, units=units, nanos=remainder)
