"""Value types shared by referrals, audit cases and findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from customs_kit.errors import Aborted, FailedPrecondition, PreconditionViolation

_NANOS_PER_UNIT = 1_000_000_000


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount: ``units + nanos / 1e9`` of ``currency_code`` (same sign on both)."""

    currency_code: str
    units: int
    nanos: int

    @classmethod
    def from_nanos(cls, currency_code: str, total_nanos: int) -> Money:
        """The amount of ``total_nanos`` billionths of a unit."""
        sign = -1 if total_nanos < 0 else 1
        units, nanos = divmod(abs(total_nanos), _NANOS_PER_UNIT)
        return cls(currency_code, sign * units, sign * nanos)

    @property
    def total_nanos(self) -> int:
        """The amount in billionths of a unit, for exact arithmetic."""
        return self.units * _NANOS_PER_UNIT + self.nanos

    @property
    def is_zero(self) -> bool:
        """Whether the amount is nothing."""
        return self.total_nanos == 0

    def __str__(self) -> str:
        sign = "-" if self.total_nanos < 0 else ""
        units, nanos = divmod(abs(self.total_nanos), _NANOS_PER_UNIT)
        fraction = f"{nanos:09d}".rstrip("0").ljust(2, "0")
        return f"{sign}{units}.{fraction} {self.currency_code}"


def sum_money(amounts: Iterable[Money], *, subject: str) -> Money | None:
    """The sum of ``amounts``, or None when there are none.

    Amounts in different currencies cannot be added without an exchange rate
    the audit does not have, so they are refused (``MIXED_CURRENCIES``).
    """
    total: Money | None = None
    for amount in amounts:
        if total is None:
            total = amount
            continue
        if amount.currency_code != total.currency_code:
            raise FailedPrecondition(
                "MIXED_CURRENCIES",
                f"amounts in {total.currency_code} and {amount.currency_code} cannot be added",
                [
                    PreconditionViolation(
                        "CURRENCY",
                        subject,
                        "every amount must be in the same (national) currency",
                    )
                ],
            )
        total = Money.from_nanos(total.currency_code, total.total_nanos + amount.total_nanos)
    return total


@dataclass(frozen=True)
class DeclarationRef:
    """One declaration version at its office of lodgement (version 0: the latest)."""

    number: str
    version: int
    office: str


@dataclass(frozen=True)
class PartyRef:
    """A trader as written on a declaration: its number (the trader ID) and name."""

    number: str
    display_name: str


def etag_of(version: int) -> str:
    """The etag clients send back to prove which version they last read."""
    return f"v{version}"


def check_etag(resource_name: str, version: int, etag: str) -> None:
    """Raises ``Aborted`` unless ``etag`` is the etag of ``version``."""
    if etag != etag_of(version):
        raise Aborted(
            "ETAG_MISMATCH",
            f"{resource_name} changed since it was read (etag {etag!r} is stale); read it again",
        )


def unique_in_order(values: Iterable[str]) -> tuple[str, ...]:
    """``values`` without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(values))
