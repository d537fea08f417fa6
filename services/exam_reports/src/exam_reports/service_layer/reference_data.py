"""Use cases of the reference data: offices, facilities, capacity, officers, shifts.

Creates run inside ``run_idempotent`` (the servicer wraps them), so they take
the unit of work and do not commit; everything else owns its transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PreconditionViolation,
)
from customs_kit.pagination import clamp_page_size
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.repositories import (
    Examinations,
    Facilities,
    Officers,
    Offices,
    Shifts,
)
from exam_reports.domain.officers import (
    Officer,
    OfficerRole,
    Shift,
    check_deletable,
    check_no_overlap,
    updated_officer,
)
from exam_reports.domain.offices import (
    MAX_CAPACITY_DAYS,
    DateRange,
    ExaminationCapacity,
    ExaminationFacility,
    FacilityCapability,
    Office,
    OfficeCapacity,
    new_office,
    office_capacity,
    updated_facility,
    updated_office,
)
from exam_reports.service_layer.capacity_feed import publish_capacity_limit
from exam_reports.service_layer.common import (
    Page,
    Pager,
    check_etag,
    decode_time,
    encode_time,
    page_of,
    position_field,
)
from exam_reports.service_layer.examinations import assign_waiting_examinations

_log = structlog.get_logger(__name__)


# --- offices -----------------------------------------------------------------------------


async def get_office(database: Database, office_id: str) -> Office:
    """The office; NOT_FOUND if it does not exist."""
    async with database.unit_of_work() as uow:
        office = await Offices(uow.session).get(office_id)
    if office is None:
        raise NotFound("office", f"offices/{office_id}")
    return office


async def list_offices(
    database: Database, pager: Pager, *, page_size: int, page_token: str, show_inactive: bool
) -> Page[Office]:
    """Offices ordered by code."""
    limit = clamp_page_size(page_size)
    query = {"list": "offices", "show_inactive": show_inactive}
    position = pager.position(page_token, query)
    after = None if position is None else position_field(position, "id", str)
    async with database.unit_of_work() as uow:
        offices = await Offices(uow.session).page(
            after=after, limit=limit + 1, show_inactive=show_inactive
        )
    return page_of(offices, limit, pager, query, lambda office: {"id": office.id})


async def create_office(
    uow: UnitOfWork,
    *,
    office_id: str,
    display_name: str,
    time_zone: str,
    address: str,
    active: bool,
) -> Office:
    """A new office; ALREADY_EXISTS if the code is taken."""
    office = new_office(office_id, display_name, time_zone, address, active, utcnow())
    await Offices(uow.session).add(office)
    await publish_capacity_limit(uow, office_id)
    _log.info("office_created", office=office_id)
    return office


async def update_office(
    database: Database, office_id: str, etag: str, changes: Mapping[str, Any]
) -> Office:
    """The office with ``changes`` applied; NOT_FOUND, or ABORTED on a stale etag."""
    async with database.unit_of_work() as uow:
        offices = Offices(uow.session)
        office = await offices.get(office_id, for_update=True)
        if office is None:
            raise NotFound("office", f"offices/{office_id}")
        check_etag(etag, office.version)
        office = updated_office(office, changes, utcnow())
        await offices.update(office)
        await publish_capacity_limit(uow, office_id)
        await uow.commit()
    _log.info("office_updated", office=office_id, fields=sorted(changes))
    return office


# --- facilities --------------------------------------------------------------------------


async def get_facility(database: Database, office_id: str, facility_id: str) -> ExaminationFacility:
    """The facility; NOT_FOUND if it does not exist."""
    async with database.unit_of_work() as uow:
        facility = await Facilities(uow.session).get(office_id, facility_id)
    if facility is None:
        raise NotFound(
            "examination facility", f"offices/{office_id}/examinationFacilities/{facility_id}"
        )
    return facility


async def list_facilities(
    database: Database,
    pager: Pager,
    *,
    office_id: str | None,
    page_size: int,
    page_token: str,
    capability: FacilityCapability | None,
    show_inactive: bool,
) -> Page[ExaminationFacility]:
    """Facilities of one office (or all, ``office_id`` None) ordered by resource name."""
    limit = clamp_page_size(page_size)
    query = {
        "list": "facilities",
        "office": office_id,
        "capability": None if capability is None else capability.value,
        "show_inactive": show_inactive,
    }
    position = pager.position(page_token, query)
    after = (
        None
        if position is None
        else (position_field(position, "office", str), position_field(position, "id", str))
    )
    async with database.unit_of_work() as uow:
        facilities = await Facilities(uow.session).page(
            office_id=office_id,
            after=after,
            limit=limit + 1,
            capability=capability,
            show_inactive=show_inactive,
        )
    return page_of(
        facilities,
        limit,
        pager,
        query,
        lambda facility: {"office": facility.office_id, "id": facility.id},
    )


async def create_facility(
    uow: UnitOfWork,
    *,
    office_id: str,
    facility_id: str,
    display_name: str,
    address: str,
    capabilities: tuple[FacilityCapability, ...],
    daily_capacities: tuple[ExaminationCapacity, ...],
    active: bool,
) -> ExaminationFacility:
    """A new facility; NOT_FOUND without the office, ALREADY_EXISTS if the ID is taken."""
    if await Offices(uow.session).get(office_id) is None:
        raise NotFound("office", f"offices/{office_id}")
    now = utcnow()
    facility = ExaminationFacility(
        office_id=office_id,
        id=facility_id,
        display_name=display_name,
        address=address,
        capabilities=capabilities,
        daily_capacities=daily_capacities,
        active=active,
        create_time=now,
        update_time=now,
    )
    await Facilities(uow.session).add(facility)
    await publish_capacity_limit(uow, office_id)
    _log.info("examination_facility_created", office=office_id, facility=facility_id)
    return facility


async def update_facility(
    database: Database,
    office_id: str,
    facility_id: str,
    etag: str,
    changes: Mapping[str, Any],
) -> ExaminationFacility:
    """The facility with ``changes`` applied; NOT_FOUND, or ABORTED on a stale etag."""
    async with database.unit_of_work() as uow:
        facilities = Facilities(uow.session)
        facility = await facilities.get(office_id, facility_id, for_update=True)
        if facility is None:
            raise NotFound(
                "examination facility", f"offices/{office_id}/examinationFacilities/{facility_id}"
            )
        check_etag(etag, facility.version)
        facility = updated_facility(facility, changes, utcnow())
        await facilities.update(facility)
        await publish_capacity_limit(uow, office_id)
        await uow.commit()
    _log.info(
        "examination_facility_updated",
        office=office_id,
        facility=facility_id,
        fields=sorted(changes),
    )
    return facility


# --- capacity ----------------------------------------------------------------------------


async def get_office_capacity(
    database: Database, office_id: str, start_date: str, end_date: str
) -> OfficeCapacity:
    """The office's capacity and its use per day; NOT_FOUND without the office."""
    days = DateRange.parse(start_date, end_date, max_days=MAX_CAPACITY_DAYS)
    async with database.unit_of_work() as uow:
        office = await Offices(uow.session).get(office_id)
        if office is None:
            raise NotFound("office", f"offices/{office_id}")
        begin, end = days.bounds(office.zone)
        facilities = await Facilities(uow.session).of_offices([office_id])
        opened = await Examinations(uow.session).opened_between([office_id], begin, end)
    return office_capacity(office, facilities[office_id], opened[office_id], days)


async def list_office_capacities(
    database: Database,
    pager: Pager,
    *,
    start_date: str,
    end_date: str,
    page_size: int,
    page_token: str,
) -> Page[OfficeCapacity]:
    """The capacity of every active office per day, ordered by office code."""
    days = DateRange.parse(start_date, end_date, max_days=MAX_CAPACITY_DAYS)
    limit = clamp_page_size(page_size)
    query = {"list": "office_capacities", "start": start_date, "end": end_date}
    position = pager.position(page_token, query)
    after = None if position is None else position_field(position, "id", str)
    async with database.unit_of_work() as uow:
        offices = await Offices(uow.session).page(after=after, limit=limit + 1, show_inactive=False)
        shown = offices[:limit]
        if not shown:
            return Page([], "")
        ids = [office.id for office in shown]
        facilities = await Facilities(uow.session).of_offices(ids)
        # One query for the page, from the earliest start to the latest end over
        # the offices' time zones; each office then counts only its own days.
        bounds = [days.bounds(office.zone) for office in shown]
        opened = await Examinations(uow.session).opened_between(
            ids, min(begin for begin, _ in bounds), max(end for _, end in bounds)
        )
    capacities = [
        office_capacity(office, facilities[office.id], opened[office.id], days) for office in shown
    ]
    next_token = pager.token({"id": shown[-1].id}, query) if len(offices) > limit else ""
    return Page(capacities, next_token)


# --- officers ----------------------------------------------------------------------------


async def get_officer(database: Database, officer_id: str) -> Officer:
    """The officer; NOT_FOUND if it does not exist."""
    async with database.unit_of_work() as uow:
        officer = await Officers(uow.session).get(officer_id)
    if officer is None:
        raise NotFound("officer", f"officers/{officer_id}")
    return officer


async def list_officers(
    database: Database,
    pager: Pager,
    *,
    page_size: int,
    page_token: str,
    office_id: str | None,
    role: OfficerRole | None,
    show_inactive: bool,
) -> Page[Officer]:
    """Officers ordered by ID."""
    limit = clamp_page_size(page_size)
    query = {
        "list": "officers",
        "office": office_id,
        "role": None if role is None else role.value,
        "show_inactive": show_inactive,
    }
    position = pager.position(page_token, query)
    after = None if position is None else position_field(position, "id", str)
    async with database.unit_of_work() as uow:
        officers = await Officers(uow.session).page(
            after=after,
            limit=limit + 1,
            office_id=office_id,
            role=role,
            show_inactive=show_inactive,
        )
    return page_of(officers, limit, pager, query, lambda officer: {"id": officer.id})


async def _require_open_office(uow: UnitOfWork, office_id: str, field: str) -> None:
    office = await Offices(uow.session).get(office_id)
    if office is None or not office.active:
        raise FailedPrecondition(
            "OFFICE_NOT_ACTIVE",
            f"offices/{office_id} does not exist or is inactive",
            [
                PreconditionViolation(
                    "OFFICE_NOT_ACTIVE", f"offices/{office_id}", f"{field} must be an active office"
                )
            ],
        )


async def create_officer(
    uow: UnitOfWork,
    *,
    officer_id: str,
    display_name: str,
    badge_number: str,
    office_id: str,
    role: OfficerRole,
    subject: str,
    active: bool,
) -> Officer:
    """A new officer; ALREADY_EXISTS if the ID or subject is taken, FAILED_PRECONDITION
    if the office does not exist or is inactive."""
    officers = Officers(uow.session)
    await _ensure_officer_free(officers, officer_id, subject)
    await _require_open_office(uow, office_id, "officer.office")
    now = utcnow()
    officer = Officer(
        id=officer_id,
        display_name=display_name,
        badge_number=badge_number,
        office_id=office_id,
        role=role,
        subject=subject,
        active=active,
        create_time=now,
        update_time=now,
    )
    await officers.add(officer)
    _log.info("officer_created", officer=officer_id, office=office_id, role=role.value)
    return officer


async def _ensure_officer_free(officers: Officers, officer_id: str, subject: str) -> None:
    # Checked before inserting so the error names what is taken; the unique
    # constraints still decide a race between two creates.
    if await officers.get(officer_id) is not None:
        raise AlreadyExists("officer", f"officers/{officer_id}")
    holder = await officers.by_subject(subject)
    if holder is not None:
        raise AlreadyExists("officer", f"officers/{holder.id}", reason="SUBJECT_TAKEN")


async def update_officer(
    database: Database, officer_id: str, etag: str, changes: Mapping[str, Any]
) -> Officer:
    """The officer with ``changes`` applied; NOT_FOUND, ABORTED on a stale etag,
    FAILED_PRECONDITION for a transfer to an unknown or inactive office."""
    async with database.unit_of_work() as uow:
        officers = Officers(uow.session)
        officer = await officers.get(officer_id, for_update=True)
        if officer is None:
            raise NotFound("officer", f"officers/{officer_id}")
        check_etag(etag, officer.version)
        if "office_id" in changes and changes["office_id"] != officer.office_id:
            await _require_open_office(uow, changes["office_id"], "officer.office")
        if "subject" in changes and changes["subject"] != officer.subject:
            holder = await officers.by_subject(changes["subject"])
            if holder is not None:
                raise AlreadyExists("officer", f"officers/{holder.id}", reason="SUBJECT_TAKEN")
        officer = updated_officer(officer, changes, utcnow())
        await officers.update(officer)
        await uow.commit()
    _log.info("officer_updated", officer=officer_id, fields=sorted(changes))
    return officer


# --- shifts ------------------------------------------------------------------------------


async def list_shifts(
    database: Database,
    pager: Pager,
    *,
    officer_id: str | None,
    office_id: str | None,
    window_start: datetime | None,
    window_end: datetime | None,
    page_size: int,
    page_token: str,
) -> Page[Shift]:
    """Shifts ordered by start time, of one officer or of all (``officer_id`` None)."""
    limit = clamp_page_size(page_size)
    query = {
        "list": "shifts",
        "officer": officer_id,
        "office": office_id,
        "from": None if window_start is None else encode_time(window_start),
        "to": None if window_end is None else encode_time(window_end),
    }
    position = pager.position(page_token, query)
    after = (
        None
        if position is None
        else (
            decode_time(position_field(position, "start", int)),
            position_field(position, "id", str),
        )
    )
    async with database.unit_of_work() as uow:
        shifts = await Shifts(uow.session).page(
            officer_id=officer_id,
            office_id=office_id,
            window_start=window_start,
            window_end=window_end,
            after=after,
            limit=limit + 1,
        )
    return page_of(
        shifts,
        limit,
        pager,
        query,
        lambda shift: {"start": encode_time(shift.start_time), "id": shift.id},
    )


async def create_shift(
    uow: UnitOfWork,
    *,
    officer_id: str,
    office_id: str | None,
    start_time: datetime,
    end_time: datetime,
) -> Shift:
    """A new shift; NOT_FOUND without the officer, FAILED_PRECONDITION for an unknown or
    inactive office or an overlap (``SHIFT_OVERLAPS``).

    A shift that is already running picks up the office's unassigned tasks at
    once, so an officer registered as on duty gets the work waiting for them.
    """
    officer = await Officers(uow.session).get(officer_id)
    if officer is None:
        raise NotFound("officer", f"officers/{officer_id}")
    office = office_id or officer.office_id
    await _require_open_office(uow, office, "shift.office")
    now = utcnow()
    shift = Shift(
        id=str(uuid.uuid4()),
        officer_id=officer_id,
        office_id=office,
        start_time=start_time,
        end_time=end_time,
        create_time=now,
    )
    shifts = Shifts(uow.session)
    check_no_overlap(shift, await shifts.overlapping(officer_id, start_time, end_time))
    await shifts.add(shift)
    _log.info("shift_created", officer=officer_id, office=office, shift=shift.id)
    if shift.covers(now) and officer.active:
        await assign_waiting_examinations(uow, office, now)
    return shift


async def delete_shift(database: Database, officer_id: str, shift_id: str) -> None:
    """Removes a shift that has not started; NOT_FOUND, or FAILED_PRECONDITION once started."""
    async with database.unit_of_work() as uow:
        shifts = Shifts(uow.session)
        shift = await shifts.get(officer_id, shift_id)
        if shift is None:
            raise NotFound("shift", f"officers/{officer_id}/shifts/{shift_id}")
        check_deletable(shift, utcnow())
        await shifts.delete(shift)
        await uow.commit()
    _log.info("shift_deleted", officer=officer_id, shift=shift_id)
