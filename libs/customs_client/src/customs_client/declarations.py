"""The public customs-declarations data set's CSV columns as scoring ``Declaration`` messages.

One CSV row is one goods item; rows are grouped by ``Declaration ID`` into one
declaration each (items numbered from 1 in row order, version 1), and every
column is mapped as the header comment of
``protos/customs/scoring/v1/declaration.proto`` documents. The outcome columns
(``Fraud``, ``Critical Fraud``) are examination results, not declaration data:
they may be present and are ignored here.

A file is read and checked whole before anything is returned, so a caller
that streams the result sends nothing from a file with a missing column or a
value that is not a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

from customs.common.v1 import money_pb2
from customs.scoring.v1 import declaration_pb2, risk_model_pb2

#: The columns a declaration is made of, in the data set's order.
DECLARATION_COLUMNS = (
    "Declaration ID",
    "Date",
    "Office ID",
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS6 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
)
#: The examination outcome columns, optional in a file of declarations.
OUTCOME_COLUMNS = ("Fraud", "Critical Fraud")
_NUMERIC_COLUMNS = ("Tax Rate", "Net Mass", "Item Price")
_NANO = Decimal("1e-9")
_NANOS_PER_UNIT = 1_000_000_000
_CURRENCY = "KRW"


#: The values each outcome column may hold: Fraud 0/1, Critical Fraud the severity
#: (0 none, 1 infringement, 2 one that may threaten public safety).
_OUTCOME_VALUES = {"Fraud": ("0", "1"), "Critical Fraud": ("0", "1", "2")}


class DatasetError(ValueError):
    """A CSV that is not in the data set's columns; the message names file, line and column."""


def read_declarations_csv(path: Path | str) -> list[declaration_pb2.Declaration]:
    """Every declaration of the CSV at ``path``, in order of first appearance.

    Raises ``DatasetError`` naming the column a header lacks, or the line and
    column of a value that is not what the column holds.
    """
    return list(declarations_of(read_rows(Path(path))))


def read_history_csv(
    path: Path | str,
) -> list[tuple[declaration_pb2.Declaration, risk_model_pb2.HistoryOutcome]]:
    """Every declaration of the CSV at ``path`` with its examination outcome.

    Every row of the data set was examined: ``Fraud`` (0/1) says an item's
    infringement was found, ``Critical Fraud`` (0/1/2) is its severity. A
    declaration's outcome is its worst item's; the revenue found is the duty at
    stake of its infringing items (``Item Price * Tax Rate / 100``, the data set
    having no revenue column). Raises ``DatasetError`` as read_declarations_csv
    does, and for outcome columns that are missing or hold another value.
    """
    source = Path(path)
    rows = list(read_rows(source, required=(*DECLARATION_COLUMNS, *OUTCOME_COLUMNS)))
    for line, row in rows:
        for column, allowed in _OUTCOME_VALUES.items():
            if row[column] not in allowed:
                raise DatasetError(
                    f"{source} line {line}: column {column!r} is not "
                    f"{' or '.join(allowed)}: {row[column]!r}"
                )
    items: dict[str, list[Mapping[str, str]]] = {}
    for _line, row in rows:
        items.setdefault(row["Declaration ID"], []).append(row)
    return [
        (declaration_message(number, declared), outcome_of(declared))
        for number, declared in items.items()
    ]


def outcome_of(rows: Sequence[Mapping[str, str]]) -> risk_model_pb2.HistoryOutcome:
    """The examination outcome of the declaration whose item rows are ``rows``."""
    infringing = [row for row in rows if row["Fraud"] == "1"]
    outcome = risk_model_pb2.HistoryOutcome(examined=True, infringement_found=bool(infringing))
    if infringing:
        outcome.severity = max(int(row["Critical Fraud"]) for row in infringing)
        duty = sum(
            (Decimal(row["Item Price"]) * Decimal(row["Tax Rate"]) / 100 for row in infringing),
            Decimal(0),
        )
        outcome.revenue_found.CopyFrom(krw(str(duty)))
    return outcome


def read_rows(
    path: Path, required: Sequence[str] = DECLARATION_COLUMNS
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of ``path`` with their line numbers, each checked against the columns."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(
                f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                + ", ".join(repr(column) for column in missing)
            )
        for row in reader:
            check_row(path, reader.line_num, row)
            yield reader.line_num, row


def check_row(path: Path, line: int, row: Mapping[str, str | None]) -> None:
    """Raises ``DatasetError`` if a row of ``path`` cannot become a declaration item."""
    for column in DECLARATION_COLUMNS:
        if row.get(column) is None:
            raise DatasetError(f"{path} line {line}: column {column!r} is missing from the row")
    for column in _NUMERIC_COLUMNS:
        value = row[column] or ""
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise DatasetError(f"{path} line {line}: column {column!r} is not a number: {value!r}")
    if not row["Declaration ID"]:
        raise DatasetError(f"{path} line {line}: column 'Declaration ID' is empty")
    try:
        datetime.fromisoformat(row["Date"] or "")
    except ValueError:
        raise DatasetError(
            f"{path} line {line}: column 'Date' is not a date (YYYY-MM-DD): {row['Date']!r}"
        ) from None


def declarations_of(
    rows: Iterable[tuple[int, Mapping[str, str]]],
) -> Iterator[declaration_pb2.Declaration]:
    """The declarations the item rows make up, all rows read before the first is returned."""
    rows_by_declaration: dict[str, list[Mapping[str, str]]] = {}
    for _line, row in rows:
        rows_by_declaration.setdefault(row["Declaration ID"], []).append(row)
    for number, items in rows_by_declaration.items():
        yield declaration_message(number, items)


def declaration_message(
    number: str, rows: Sequence[Mapping[str, str]]
) -> declaration_pb2.Declaration:
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
