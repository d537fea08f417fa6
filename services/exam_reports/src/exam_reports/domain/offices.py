"""Offices, their examination facilities, and the daily capacity computed from both.

Capacity is not stored per day: it is the sum of the active facilities' daily
capacities, set against the examinations opened on each calendar day in the
office's time zone. That is what scoring and criteria read to keep selection
rates within what the officers can actually examine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from customs_kit.errors import FieldViolation, InvalidArgument
from exam_reports.domain.selectivity import ExaminationType

#: The longest capacity range one call may ask for (start day + 91 days).
MAX_CAPACITY_DAYS = 92


@dataclass(frozen=True)
class Office:
    """A customs office; its ID is the office code used on declarations."""

    id: str
    display_name: str
    time_zone: str
    address: str
    active: bool
    create_time: datetime
    update_time: datetime
    version: int = 1

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone, in which its calendar days are counted."""
        return ZoneInfo(self.time_zone)


def check_time_zone(time_zone: str, field: str) -> None:
    """Raises ``InvalidArgument`` on ``field`` unless ``time_zone`` is a known IANA zone."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            [FieldViolation(field, f"{time_zone!r} is not an IANA time zone")]
        ) from None


def new_office(
    office_id: str, display_name: str, time_zone: str, address: str, active: bool, now: datetime
) -> Office:
    """A new office; ``time_zone`` must be a known IANA zone."""
    check_time_zone(time_zone, "office.time_zone")
    return Office(office_id, display_name, time_zone, address, active, now, now)


def updated_office(office: Office, changes: Mapping[str, Any], now: datetime) -> Office:
    """``office`` with the attributes in ``changes`` replaced (an update's field mask)."""
    if "time_zone" in changes:
        check_time_zone(changes["time_zone"], "office.time_zone")
    return replace(office, **changes, update_time=now, version=office.version + 1)


class FacilityCapability(Enum):
    """Equipment or an authorisation an examination facility has."""

    CONTAINER_UNLOADING = "CONTAINER_UNLOADING"
    HAZARDOUS_MATERIALS = "HAZARDOUS_MATERIALS"
    REFRIGERATED_GOODS = "REFRIGERATED_GOODS"
    LIVE_ANIMALS = "LIVE_ANIMALS"
    NON_INTRUSIVE_INSPECTION = "NON_INTRUSIVE_INSPECTION"
    BULK_CARGO = "BULK_CARGO"
    CONVEYANCE_SEARCH = "CONVEYANCE_SEARCH"


@dataclass(frozen=True)
class ExaminationCapacity:
    """How many examinations of one type a facility completes per calendar day."""

    type: ExaminationType
    examinations_per_day: int


@dataclass(frozen=True)
class ExaminationFacility:
    """An approved place at an office where cargo is made available for examination."""

    office_id: str
    id: str
    display_name: str
    address: str
    capabilities: tuple[FacilityCapability, ...]
    daily_capacities: tuple[ExaminationCapacity, ...]
    active: bool
    create_time: datetime
    update_time: datetime
    version: int = 1


def updated_facility(
    facility: ExaminationFacility, changes: Mapping[str, Any], now: datetime
) -> ExaminationFacility:
    """``facility`` with the attributes in ``changes`` replaced (an update's field mask)."""
    return replace(facility, **changes, update_time=now, version=facility.version + 1)


@dataclass(frozen=True)
class DateRange:
    """Calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @classmethod
    def parse(cls, start_date: str, end_date: str, *, max_days: int) -> DateRange:
        """The range of two ISO dates; raises ``InvalidArgument`` naming the bad field."""
        start = _parse_date(start_date, "start_date")
        end = _parse_date(end_date, "end_date")
        if end < start:
            raise InvalidArgument([FieldViolation("end_date", "must not be before start_date")])
        if (end - start).days + 1 > max_days:
            raise InvalidArgument(
                [FieldViolation("end_date", f"the range must not exceed {max_days} days")]
            )
        return cls(start, end)

    @property
    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants where the range begins and ends (exclusive) in ``zone``."""
        begin = datetime.combine(self.start, datetime.min.time(), zone)
        end = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), zone)
        return begin, end


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            [FieldViolation(field, f"{value!r} is not a calendar date")]
        ) from None


@dataclass(frozen=True)
class OpenedExamination:
    """What capacity counts of one examination: when it was decided, its type, whether done."""

    decide_time: datetime
    type: ExaminationType
    completed: bool


@dataclass(frozen=True)
class CapacityUsage:
    """Capacity of one examination type on one day and how much of it is taken."""

    type: ExaminationType
    capacity: int
    opened: int
    completed: int

    @property
    def remaining(self) -> int:
        """``capacity - opened``; negative when the office is over capacity."""
        return self.capacity - self.opened


@dataclass(frozen=True)
class DailyCapacity:
    """The usage of every examination type of an office on one calendar day."""

    date: date
    usages: tuple[CapacityUsage, ...]


@dataclass(frozen=True)
class OfficeCapacity:
    """An office's capacity over a range of days."""

    office_id: str
    days: tuple[DailyCapacity, ...]


def office_capacity(
    office: Office,
    facilities: Iterable[ExaminationFacility],
    examinations: Iterable[OpenedExamination],
    days: DateRange,
) -> OfficeCapacity:
    """The capacity of ``office`` per day of ``days``.

    Capacity per type is the sum over the *active* facilities (a closed facility
    examines nothing); examinations are counted on the calendar day of their
    decision in the office's time zone. A day lists every type that has capacity
    or opened examinations, so an office examining beyond what it declared shows
    up as negative remaining capacity rather than disappearing.
    """
    capacity: Counter[ExaminationType] = Counter()
    for facility in facilities:
        if facility.active:
            for entry in facility.daily_capacities:
                capacity[entry.type] += entry.examinations_per_day
    zone = office.zone
    opened: Counter[tuple[date, ExaminationType]] = Counter()
    completed: Counter[tuple[date, ExaminationType]] = Counter()
    for examination in examinations:
        key = (examination.decide_time.astimezone(zone).date(), examination.type)
        opened[key] += 1
        if examination.completed:
            completed[key] += 1
    result = []
    for day in days.days:
        types = set(capacity) | {kind for (when, kind) in opened if when == day}
        usages = tuple(
            CapacityUsage(
                type=kind,
                capacity=capacity[kind],
                opened=opened[(day, kind)],
                completed=completed[(day, kind)],
            )
            for kind in sorted(types, key=lambda kind: kind.sort_key)
        )
        result.append(DailyCapacity(day, usages))
    return OfficeCapacity(office.id, tuple(result))


@dataclass(frozen=True)
class CapacityLimit:
    """What a selectivity system needs to keep an office within its capacity.

    The office's time zone (its days are counted in it) and its daily capacity
    per examination type, summed over its active facilities; types without
    capacity are left out. It is the same every day, so it changes only when
    the office or one of its facilities does.
    """

    office_id: str
    time_zone: str
    active: bool
    capacities: tuple[ExaminationCapacity, ...]


def capacity_limit(office: Office, facilities: Iterable[ExaminationFacility]) -> CapacityLimit:
    """The capacity limit of ``office`` with ``facilities`` (all of its facilities)."""
    capacity: Counter[ExaminationType] = Counter()
    for facility in facilities:
        if facility.active:
            for entry in facility.daily_capacities:
                capacity[entry.type] += entry.examinations_per_day
    return CapacityLimit(
        office.id,
        office.time_zone,
        office.active,
        tuple(
            ExaminationCapacity(kind, capacity[kind])
            for kind in sorted(capacity, key=lambda kind: kind.sort_key)
            if capacity[kind] > 0
        ),
    )
