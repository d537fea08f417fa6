"""The goods declaration as the selectivity review reads it.

One frozen value per lodged version: the header, the parties and the goods
items with their values, duties and documents. Amounts are exact decimals;
masses, quantities and rates are the floats the declaration system sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from customs_kit.errors import FieldViolation, InvalidArgument
from scoring.domain.currencies import ISO_4217_CODES


@dataclass(frozen=True)
class Money:
    """An exact amount in one ISO 4217 currency."""

    currency_code: str
    amount: Decimal


@dataclass(frozen=True)
class Party:
    """A person or company named in a declaration, by trader-register identifier."""

    id: str
    name: str = ""
    address: str = ""
    country_code: str = ""


@dataclass(frozen=True)
class TransportDocument:
    """The bill of lading, air waybill or equivalent."""

    type_code: str
    number: str


@dataclass(frozen=True)
class Duty:
    """One duty or tax assessed on an item."""

    tax_type_code: str
    rate_percent: float
    amount: Money


@dataclass(frozen=True)
class ItemDocument:
    """A document produced in support of an item (licence, certificate...)."""

    type_code: str
    reference: str = ""
    issuing_country_code: str = ""


@dataclass(frozen=True)
class DeclarationItem:
    """One goods item. Empty strings and ``None`` mean "not declared"."""

    item_number: int
    hs_code: str
    origin_country_code: str
    net_mass_kg: float
    customs_value: Money
    description: str = ""
    origin_indicator_code: str = ""
    quantity: float | None = None
    supplementary_unit_code: str = ""
    gross_mass_kg: float | None = None
    statistical_value: Money | None = None
    tax_type_code: str = ""
    tax_rate_percent: float = 0.0
    duties: tuple[Duty, ...] = ()
    documents: tuple[ItemDocument, ...] = ()


@dataclass(frozen=True)
class Declaration:
    """One version of one import declaration, as lodged."""

    declaration_number: str
    version: int
    office_code: str
    procedure_code: str
    lodgement_time: datetime
    importer: Party
    transport_mode_code: str
    dispatch_country_code: str
    items: tuple[DeclarationItem, ...]
    import_type_code: str = ""
    import_use_code: str = ""
    payment_type_code: str = ""
    declarant: Party | None = None
    seller: Party | None = None
    carrier: Party | None = None
    courier: Party | None = None
    conveyance_id: str = ""
    transport_document: TransportDocument | None = None
    container_numbers: tuple[str, ...] = ()


def check_currencies(declaration: Declaration, field: str = "declaration") -> None:
    """Refuses amounts in a currency that ISO 4217 does not define.

    The contract's pattern only checks the shape (three capital letters); a
    made-up code would make every monetary criterion silently miss the item.
    Raises ``InvalidArgument`` (reason ``UNKNOWN_CURRENCY``) naming each
    offending field under ``field``.
    """
    violations: list[FieldViolation] = []

    def check(money: Money | None, path: str) -> None:
        if money is not None and money.currency_code not in ISO_4217_CODES:
            violations.append(
                FieldViolation(
                    f"{path}.currency_code",
                    f"{money.currency_code!r} is not an ISO 4217 currency code",
                )
            )

    for index, item in enumerate(declaration.items):
        path = f"{field}.items[{index}]"
        check(item.customs_value, f"{path}.customs_value")
        check(item.statistical_value, f"{path}.statistical_value")
        for duty_index, duty in enumerate(item.duties):
            check(duty.amount, f"{path}.duties[{duty_index}].amount")
    if violations:
        raise InvalidArgument(violations, reason="UNKNOWN_CURRENCY")
