"""Use case of the officer integrity report (step 19): gather the period's facts, analyse."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from customs_kit.db import Database
from customs_kit.errors import NotFound
from exam_reports.adapters.overrides import Overrides
from exam_reports.adapters.repositories import ExamReports, Officers, Offices, Shifts
from exam_reports.domain.exam_reports import Money, total_of
from exam_reports.domain.integrity import (
    DEFAULT_MIN_EXAMINATIONS,
    DEFAULT_SIGNIFICANCE_LEVEL,
    MAX_PERIOD_DAYS,
    IntegrityAnalysis,
    OfficerActivity,
    analyse_integrity,
    days_on_duty,
)
from exam_reports.domain.offices import DateRange
from exam_reports.domain.overrides import OverrideKind, OverrideState


@dataclass(frozen=True)
class OfficerIntegrityReport:
    """The analysis of one office over one period, with the parameters it used."""

    office_id: str
    period: DateRange
    significance_level: float
    min_examinations: int
    analysis: IntegrityAnalysis


async def officer_integrity_report(
    database: Database,
    office_id: str,
    start_date: str,
    end_date: str,
    *,
    significance_level: float,
    min_examinations: int,
) -> OfficerIntegrityReport:
    """Every officer of the office against their peers over [start_date, end_date].

    Computed on request from the stored shifts, approved reports (with the
    revenue each assessed) and overrides, in the office's calendar. Officers are those with a day on
    duty, an examination or an override request at the office in the period.
    INVALID_ARGUMENT for a period over 366 days; NOT_FOUND for an unknown office.
    """
    period = DateRange.parse(start_date, end_date, max_days=MAX_PERIOD_DAYS)
    async with database.unit_of_work() as uow:
        office = await Offices(uow.session).get(office_id)
        if office is None:
            raise NotFound("office", f"offices/{office_id}")
        begin, end = period.bounds(office.zone)
        shifts = await Shifts(uow.session).at_office(office_id, begin, end)
        approved = await ExamReports(uow.session).approved_at_office(office_id, begin, end)
        overrides = await Overrides(uow.session).of_office(office_id, begin, end)
        worked: defaultdict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for shift in shifts:
            worked[shift.officer_id].append((shift.start_time, shift.end_time))
        examinations = Counter(author for author, _, _ in approved)
        discrepancies = Counter(author for author, found, _ in approved if found)
        revenue: defaultdict[str, list[Money]] = defaultdict(list)
        for author, _, found_revenue in approved:
            if found_revenue is not None:
                revenue[author].append(found_revenue)

        def within(moment: datetime | None) -> bool:
            return moment is not None and begin <= moment < end

        requests = Counter(o.requester_id for o in overrides if within(o.create_time))
        approved_overrides = [
            o for o in overrides if o.state is OverrideState.APPROVED and within(o.decide_time)
        ]
        green = Counter(
            o.requester_id
            for o in approved_overrides
            if o.kind is OverrideKind.EXAMINE_UNDESIGNATED
        )
        red = Counter(
            o.requester_id
            for o in approved_overrides
            if o.kind is OverrideKind.RELEASE_WITHOUT_EXAMINATION
        )
        officer_ids = set(worked) | set(examinations) | set(requests)
        officers = await Officers(uow.session).many(officer_ids)
    activities = [
        OfficerActivity(
            officer_id=officer_id,
            display_name=officers[officer_id].display_name if officer_id in officers else "",
            days_on_duty=days_on_duty(worked[officer_id], office.zone, period.start, period.end),
            examinations=examinations[officer_id],
            discrepancies=discrepancies[officer_id],
            override_requests=requests[officer_id],
            green_examined=green[officer_id],
            red_released=red[officer_id],
            revenue_found=total_of(revenue[officer_id]),
        )
        for officer_id in sorted(officer_ids)
    ]
    alpha = significance_level or DEFAULT_SIGNIFICANCE_LEVEL
    minimum = min_examinations or DEFAULT_MIN_EXAMINATIONS
    return OfficerIntegrityReport(
        office_id=office_id,
        period=period,
        significance_level=alpha,
        min_examinations=minimum,
        analysis=analyse_integrity(activities, alpha, minimum),
    )
