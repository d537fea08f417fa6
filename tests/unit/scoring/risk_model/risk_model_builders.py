"""Small labelled histories for the risk-model unit tests, with a signal planted in them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from scoring.domain.declaration import Declaration, DeclarationItem, Money, Party
from scoring.domain.risk_model import LabelledDeclaration

START = datetime(2020, 1, 1, 12, tzinfo=UTC)


def declaration(
    number: str,
    day: int,
    *,
    importer: str = "IMP0",
    hs_code: str = "440890",
    value: str = "372254.4",
    mass: float = 108.0,
) -> Declaration:
    """A one-item declaration lodged ``day`` days after 2020-01-01."""
    return Declaration(
        declaration_number=number,
        version=1,
        office_code="30",
        procedure_code="B",
        lodgement_time=START + timedelta(days=day),
        importer=Party(importer),
        declarant=Party("DEC0"),
        seller=Party("SEL0"),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=(
            DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                origin_country_code="BE",
                net_mass_kg=mass,
                customs_value=Money("KRW", Decimal(value)),
                tax_type_code="A",
                tax_rate_percent=8.0,
            ),
        ),
    )


def labelled(
    declaration: Declaration, infringement: bool, *, examined: bool = True
) -> LabelledDeclaration:
    """``declaration`` with its examination outcome (revenue 10 % of its value if infringing)."""
    value = declaration.items[0].customs_value.amount
    return LabelledDeclaration(
        declaration=declaration,
        examined=examined,
        infringement=infringement and examined,
        severity=1 if infringement and examined else 0,
        revenue=value / 10 if infringement and examined else Decimal(0),
    )


def history(count: int = 600, days: int = 120, seed: int = 7) -> list[LabelledDeclaration]:
    """``count`` declarations over ``days`` days; importers BAD* infringe 90 % of the time.

    Everyone else infringes 10 % of the time, so a model that learns from the
    parties' past ranks the BAD importers first.
    """
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        bad = rng.random() < 0.2
        importer = f"BAD{rng.randrange(10)}" if bad else f"IMP{rng.randrange(60)}"
        rows.append(
            labelled(
                declaration(
                    f"D{number:06d}",
                    rng.randrange(days),
                    importer=importer,
                    hs_code=rng.choice(("440890", "690722", "850440", "392690")),
                    value=str(rng.randrange(1_000, 5_000_000)),
                    mass=float(rng.randrange(1, 20_000)),
                ),
                rng.random() < (0.9 if bad else 0.1),
            )
        )
    return rows
