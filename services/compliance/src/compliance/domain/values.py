"""Plain values shared by declarations, outcomes and traders: money and parties."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Amount:
    """An exact amount of money in one currency."""

    currency: str
    value: Decimal


@dataclass(frozen=True)
class Party:
    """A trader as written on a declaration: its number and the declared name."""

    number: str
    display_name: str = ""
