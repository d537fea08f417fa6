"""Impact analysis: what one criterion revision would do to each office's examinations.

Handbook step 4: "one component of every risk profile leading to an
examination criterion must be an impact analysis", because a criterion must
not order more examinations than an office's staff and facilities can carry
out. Scoring replays the revision over the declarations already lodged
(:class:`Replay`); exam_reports states each office's daily capacity per
examination type (:data:`Capacities`); :func:`analyse` puts the two side by
side. The analysis is bound to the revision it replayed: an approval must cite
an analysis of exactly the revision it approves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

#: The longest range of days exam_reports answers a capacity read for.
MAX_CAPACITY_RANGE_DAYS = 92


@dataclass(frozen=True, order=True)
class ExaminationType:
    """Document review or a physical examination at one level (the contract's enum names).

    ``level`` is ``EXAMINATION_LEVEL_UNSPECIFIED`` for document review.
    """

    channel: str
    level: str


@dataclass(frozen=True)
class ReplayedLoad:
    """Examinations of one type at an office on a day, as scoring's replay counted them."""

    examination_type: ExaminationType
    #: What the revision adds over the active set.
    added: int
    #: All examinations of the type with the revision applied.
    total: int


@dataclass(frozen=True)
class ReplayedOfficeDay:
    """The replay at one office on one calendar day (``YYYY-MM-DD``)."""

    office_code: str
    day: str
    hits: int
    selections: int
    overlap_with_active: int
    audit_referrals_added: int
    loads: tuple[ReplayedLoad, ...]


@dataclass(frozen=True)
class CriterionOverlap:
    """An active criterion and the declarations it selected that the revision also selected."""

    criterion: str
    shared_selections: int


@dataclass(frozen=True)
class Replay:
    """What scoring reported for the revision added to its active set."""

    declarations_replayed: int
    hits: int
    selections: int
    office_days: tuple[ReplayedOfficeDay, ...]
    overlaps: tuple[CriterionOverlap, ...]
    #: The active-set revision scoring compared with.
    scoring_criteria_revision: int


#: Daily capacity by (office code, day, examination type); a missing key is unknown.
Capacities = Mapping[tuple[str, str, ExaminationType], int]


@dataclass(frozen=True)
class ExaminationLoad:
    """The load of one examination type at an office on a day, against its capacity."""

    examination_type: ExaminationType
    added: int
    total: int
    #: ``None`` when exam_reports states no capacity for the office, day and type.
    capacity: int | None

    @property
    def exceeds_capacity(self) -> bool:
        """Whether the capacity is known and the load is above it."""
        return self.capacity is not None and self.total > self.capacity

    @property
    def pushed_over_by_revision(self) -> bool:
        """Above capacity with examinations the revision adds.

        An office already above capacity under the active set is not the
        revision's doing unless the revision adds to that very load.
        """
        return self.exceeds_capacity and self.added > 0

    @property
    def utilisation_percent(self) -> float:
        """``total`` as a percentage of the capacity (infinite for a capacity of 0)."""
        if self.capacity is None:
            return 0.0
        if self.capacity == 0:
            return math.inf if self.total else 0.0
        return 100.0 * self.total / self.capacity


@dataclass(frozen=True)
class OfficeDayImpact:
    """The revision's effect at one office on one day."""

    office_code: str
    day: str
    hits: int
    selections: int
    overlap_with_active: int
    audit_referrals_added: int
    examinations: tuple[ExaminationLoad, ...]

    @property
    def exceeds_capacity(self) -> bool:
        """Whether any examination type is above its capacity."""
        return any(load.exceeds_capacity for load in self.examinations)


@dataclass(frozen=True)
class CapacityExceedance:
    """The days the revision would push an office above its capacity, and the worst one."""

    office_code: str
    days_exceeded: int
    worst_day: str
    worst_utilisation_percent: float


@dataclass(frozen=True)
class ImpactAnalysis:
    """The stored analysis of one criterion revision."""

    id: str
    criterion_id: str
    criterion_revision: int
    start_time: datetime
    end_time: datetime
    declarations_replayed: int
    hits: int
    selections: int
    office_days: tuple[OfficeDayImpact, ...]
    capacity_exceedances: tuple[CapacityExceedance, ...]
    overlaps: tuple[CriterionOverlap, ...]
    scoring_criteria_revision: int
    requested_by: str
    create_time: datetime

    @property
    def name(self) -> str:
        """``criteria/{criterion}/impactAnalyses/{id}``."""
        return f"criteria/{self.criterion_id}/impactAnalyses/{self.id}"


def lookback_window(now: datetime, lookback_days: int) -> tuple[datetime, datetime]:
    """The lodgement window replayed: the last ``lookback_days`` days, ending ``now``."""
    return now - timedelta(days=lookback_days), now


def capacity_ranges(
    days: Iterable[str], max_days: int = MAX_CAPACITY_RANGE_DAYS
) -> list[tuple[date, date]]:
    """Inclusive ranges of at most ``max_days`` days covering every day of ``days``.

    Each range starts at a replayed day, so a long quiet stretch in the window
    costs no read.
    """
    ranges: list[tuple[date, date]] = []
    for day in sorted({date.fromisoformat(day) for day in days}):
        if ranges and (day - ranges[-1][0]).days < max_days:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def analyse(
    *,
    analysis_id: str,
    criterion_id: str,
    criterion_revision: int,
    window: tuple[datetime, datetime],
    replay: Replay,
    capacities: Capacities,
    requested_by: str,
    now: datetime,
) -> ImpactAnalysis:
    """The analysis of a revision from its replay and the offices' capacities."""
    office_days = tuple(
        OfficeDayImpact(
            office_code=day.office_code,
            day=day.day,
            hits=day.hits,
            selections=day.selections,
            overlap_with_active=day.overlap_with_active,
            audit_referrals_added=day.audit_referrals_added,
            examinations=tuple(
                ExaminationLoad(
                    examination_type=load.examination_type,
                    added=load.added,
                    total=load.total,
                    capacity=capacities.get((day.office_code, day.day, load.examination_type)),
                )
                for load in day.loads
            ),
        )
        for day in sorted(replay.office_days, key=lambda d: (d.office_code, d.day))
    )
    return ImpactAnalysis(
        id=analysis_id,
        criterion_id=criterion_id,
        criterion_revision=criterion_revision,
        start_time=window[0],
        end_time=window[1],
        declarations_replayed=replay.declarations_replayed,
        hits=replay.hits,
        selections=replay.selections,
        office_days=office_days,
        capacity_exceedances=capacity_exceedances(office_days),
        overlaps=replay.overlaps,
        scoring_criteria_revision=replay.scoring_criteria_revision,
        requested_by=requested_by,
        create_time=now,
    )


def capacity_exceedances(office_days: Iterable[OfficeDayImpact]) -> tuple[CapacityExceedance, ...]:
    """Per office, the days the revision pushes a load above capacity, by office code."""
    pushed: dict[str, list[tuple[str, float]]] = {}
    for day in office_days:
        over = [load for load in day.examinations if load.pushed_over_by_revision]
        if over:
            utilisation = max(load.utilisation_percent for load in over)
            pushed.setdefault(day.office_code, []).append((day.day, utilisation))
    exceedances = []
    for office_code in sorted(pushed):
        days = pushed[office_code]
        # The earliest of equally bad days, so the answer does not depend on order.
        worst_day, worst = min(days, key=lambda entry: (-entry[1], entry[0]))
        exceedances.append(CapacityExceedance(office_code, len(days), worst_day, worst))
    return tuple(exceedances)
