"""Reporting periods: whole lodgement days, counted in UTC.

Statistics and measurements are asked for by calendar day (``YYYY-MM-DD``).
Lodgement times are instants; a day is taken in UTC so that every replica and
every database draws the same boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from customs_kit.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True)
class Period:
    """The lodgement days from ``first_day`` to ``last_day``, both included."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return start_of(self.first_day)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return end_of(self.last_day)

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last_day - self.first_day).days + 1

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` falls on one of the period's days."""
        return self.start <= instant < self.end


def start_of(day: date) -> datetime:
    """The first instant of ``day``."""
    return datetime.combine(day, time.min, UTC)


def end_of(day: date) -> datetime:
    """The first instant after ``day``."""
    return start_of(day + timedelta(days=1))


def parse_day(text: str, field: str) -> date:
    """The day written ``YYYY-MM-DD``; raises ``InvalidArgument`` on ``field`` otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, f"{text!r} is not a calendar day")]) from None


def period(
    start: str,
    end: str,
    *,
    max_days: int | None = None,
    start_field: str = "start_date",
    end_field: str = "end_date",
) -> Period:
    """The period from ``start`` to ``end`` (inclusive), at most ``max_days`` long if given.

    Raises ``InvalidArgument`` naming the offending field when a day does not
    exist (``2025-02-30``), the end is before the start, or the period is longer
    than ``max_days``.
    """
    first_day = parse_day(start, start_field)
    last_day = parse_day(end, end_field)
    if last_day < first_day:
        raise InvalidArgument([FieldViolation(end_field, f"must not be before {start_field}")])
    found = Period(first_day, last_day)
    if max_days is not None and found.days > max_days:
        raise InvalidArgument(
            [
                FieldViolation(
                    end_field,
                    f"the period covers {found.days} days; at most {max_days} are allowed",
                )
            ],
            reason="PERIOD_TOO_LONG",
        )
    return found
