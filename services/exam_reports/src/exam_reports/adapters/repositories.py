"""All SQL of the examination service: rows in, domain objects out.

Repositories work inside the caller's unit of work (its session and
transaction) and never commit. Reads meant to be followed by a write take
``for_update=True``: on PostgreSQL the row is locked until the transaction
ends, so two concurrent changes of one task apply one after the other; on
SQLite every write transaction already holds the database's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import is_unique_violation
from customs_kit.errors import AlreadyExists
from exam_reports.adapters.orm import (
    ExaminationRow,
    ExamReportRow,
    FacilityRow,
    OfficeRow,
    OfficerRow,
    ShiftRow,
)
from exam_reports.domain.exam_reports import (
    CarrierData,
    CorrectionRequest,
    Discrepancy,
    DiscrepancyType,
    DriverData,
    ExamReport,
    ExamReportFilter,
    ExamReportForm,
    ExamReportState,
    IdentityDocument,
    IdentityDocumentType,
    Money,
    Quantity,
    Signature,
)
from exam_reports.domain.examinations import (
    DONE_STATES,
    UNREPORTED_STATES,
    WORK_STATES,
    Assignment,
    Examination,
    ExaminationFilter,
    ExaminationReason,
    ExaminationState,
    RequiredDocument,
    SelectedCriterion,
    TraderReference,
)
from exam_reports.domain.officers import AssignmentCandidate, Officer, OfficerRole, Shift
from exam_reports.domain.offices import (
    ExaminationCapacity,
    ExaminationFacility,
    FacilityCapability,
    Office,
    OpenedExamination,
)
from exam_reports.domain.selectivity import (
    CapacityDowngrade,
    Channel,
    ExaminationLevel,
    ExaminationType,
)


async def _insert(
    session: AsyncSession, statement: Any, constraint: str, kind: str, name: str
) -> None:
    """Runs an insert; a duplicate key becomes ``AlreadyExists`` for ``kind`` ``name``."""
    try:
        await session.execute(statement)
    except IntegrityError as error:
        if is_unique_violation(error, constraint):
            raise AlreadyExists(kind, name) from error
        raise


# --- offices -----------------------------------------------------------------------------


def _office(row: OfficeRow) -> Office:
    return Office(
        id=row.office_id,
        display_name=row.display_name,
        time_zone=row.time_zone,
        address=row.address,
        active=row.active,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _office_values(office: Office) -> dict[str, Any]:
    return {
        "office_id": office.id,
        "display_name": office.display_name,
        "time_zone": office.time_zone,
        "address": office.address,
        "active": office.active,
        "create_time": office.create_time,
        "update_time": office.update_time,
        "version": office.version,
    }


class Offices:
    """Customs offices."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, office_id: str, *, for_update: bool = False) -> Office | None:
        """The office, or None."""
        query = select(OfficeRow).where(OfficeRow.office_id == office_id)
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _office(row)

    async def add(self, office: Office) -> None:
        """Stores a new office; ``AlreadyExists`` if its code is taken."""
        await _insert(
            self._session,
            insert(OfficeRow).values(**_office_values(office)),
            "pk_offices",
            "office",
            f"offices/{office.id}",
        )

    async def update(self, office: Office) -> None:
        """Stores the new state of an existing office."""
        await self._session.execute(
            update(OfficeRow)
            .where(OfficeRow.office_id == office.id)
            .values(**_office_values(office))
        )

    async def page(self, *, after: str | None, limit: int, show_inactive: bool) -> list[Office]:
        """Offices ordered by code, starting after the code ``after``."""
        query = select(OfficeRow).order_by(OfficeRow.office_id).limit(limit)
        if after is not None:
            query = query.where(OfficeRow.office_id > after)
        if not show_inactive:
            query = query.where(OfficeRow.active.is_(True))
        return [_office(row) for row in await self._session.scalars(query)]


# --- facilities --------------------------------------------------------------------------


def _facility(row: FacilityRow) -> ExaminationFacility:
    return ExaminationFacility(
        office_id=row.office_id,
        id=row.facility_id,
        display_name=row.display_name,
        address=row.address,
        capabilities=tuple(FacilityCapability(name) for name in row.capabilities),
        daily_capacities=tuple(
            ExaminationCapacity(
                ExaminationType(Channel(entry["channel"]), ExaminationLevel(entry["level"])),
                int(entry["per_day"]),
            )
            for entry in row.daily_capacities
        ),
        active=row.active,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _facility_values(facility: ExaminationFacility) -> dict[str, Any]:
    return {
        "office_id": facility.office_id,
        "facility_id": facility.id,
        "display_name": facility.display_name,
        "address": facility.address,
        "capabilities": [capability.value for capability in facility.capabilities],
        "daily_capacities": [
            {
                "channel": entry.type.channel.value,
                "level": entry.type.level.value,
                "per_day": entry.examinations_per_day,
            }
            for entry in facility.daily_capacities
        ],
        "active": facility.active,
        "create_time": facility.create_time,
        "update_time": facility.update_time,
        "version": facility.version,
    }


class Facilities:
    """Examination facilities of the offices."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(
        self, office_id: str, facility_id: str, *, for_update: bool = False
    ) -> ExaminationFacility | None:
        """The facility, or None."""
        query = select(FacilityRow).where(
            FacilityRow.office_id == office_id, FacilityRow.facility_id == facility_id
        )
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _facility(row)

    async def add(self, facility: ExaminationFacility) -> None:
        """Stores a new facility; ``AlreadyExists`` if its ID is taken at the office."""
        await _insert(
            self._session,
            insert(FacilityRow).values(**_facility_values(facility)),
            "pk_examination_facilities",
            "examination facility",
            f"offices/{facility.office_id}/examinationFacilities/{facility.id}",
        )

    async def update(self, facility: ExaminationFacility) -> None:
        """Stores the new state of an existing facility."""
        await self._session.execute(
            update(FacilityRow)
            .where(
                FacilityRow.office_id == facility.office_id,
                FacilityRow.facility_id == facility.id,
            )
            .values(**_facility_values(facility))
        )

    async def page(
        self,
        *,
        office_id: str | None,
        after: tuple[str, str] | None,
        limit: int,
        capability: FacilityCapability | None,
        show_inactive: bool,
    ) -> list[ExaminationFacility]:
        """Facilities ordered by (office, facility) ID, starting after ``after``.

        The capability filter is applied here rather than in SQL because the
        capabilities are a JSON list; pages are therefore filled by reading on
        until ``limit`` matches or the table ends.
        """
        found: list[ExaminationFacility] = []
        position = after
        while len(found) < limit:
            query = (
                select(FacilityRow)
                .order_by(FacilityRow.office_id, FacilityRow.facility_id)
                .limit(limit)
            )
            if office_id is not None:
                query = query.where(FacilityRow.office_id == office_id)
            if not show_inactive:
                query = query.where(FacilityRow.active.is_(True))
            if position is not None:
                query = query.where(
                    or_(
                        FacilityRow.office_id > position[0],
                        and_(
                            FacilityRow.office_id == position[0],
                            FacilityRow.facility_id > position[1],
                        ),
                    )
                )
            rows = list(await self._session.scalars(query))
            for row in rows:
                facility = _facility(row)
                if capability is None or capability in facility.capabilities:
                    found.append(facility)
                    if len(found) == limit:
                        break
            if len(rows) < limit:
                break
            position = (rows[-1].office_id, rows[-1].facility_id)
        return found

    async def of_offices(self, office_ids: Iterable[str]) -> dict[str, list[ExaminationFacility]]:
        """Every facility (active or not) of each office, by office ID."""
        ids = list(office_ids)
        result: dict[str, list[ExaminationFacility]] = {office_id: [] for office_id in ids}
        if ids:
            rows = await self._session.scalars(
                select(FacilityRow).where(FacilityRow.office_id.in_(ids))
            )
            for row in rows:
                result[row.office_id].append(_facility(row))
        return result


# --- officers and shifts -----------------------------------------------------------------


def _officer(row: OfficerRow) -> Officer:
    return Officer(
        id=row.officer_id,
        display_name=row.display_name,
        badge_number=row.badge_number,
        office_id=row.office_id,
        role=OfficerRole(row.role),
        subject=row.subject,
        active=row.active,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _officer_values(officer: Officer) -> dict[str, Any]:
    return {
        "officer_id": officer.id,
        "display_name": officer.display_name,
        "badge_number": officer.badge_number,
        "office_id": officer.office_id,
        "role": officer.role.value,
        "subject": officer.subject,
        "active": officer.active,
        "create_time": officer.create_time,
        "update_time": officer.update_time,
        "version": officer.version,
    }


class Officers:
    """Officers and supervisors."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, officer_id: str, *, for_update: bool = False) -> Officer | None:
        """The officer, or None."""
        query = select(OfficerRow).where(OfficerRow.officer_id == officer_id)
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _officer(row)

    async def many(self, officer_ids: Iterable[str]) -> dict[str, Officer]:
        """The officers with these IDs that exist, by ID."""
        ids = sorted(set(officer_ids))
        if not ids:
            return {}
        rows = await self._session.scalars(select(OfficerRow).where(OfficerRow.officer_id.in_(ids)))
        return {row.officer_id: _officer(row) for row in rows}

    async def by_subject(self, subject: str) -> Officer | None:
        """The officer whose tokens carry ``sub`` = ``subject``, or None."""
        row = await self._session.scalar(select(OfficerRow).where(OfficerRow.subject == subject))
        return None if row is None else _officer(row)

    async def add(self, officer: Officer) -> None:
        """Stores a new officer; ``AlreadyExists`` if the ID or subject is taken."""
        try:
            await self._session.execute(insert(OfficerRow).values(**_officer_values(officer)))
        except IntegrityError as error:
            for constraint in ("pk_officers", "uq_officers_subject"):
                if is_unique_violation(error, constraint):
                    raise AlreadyExists("officer", f"officers/{officer.id}") from error
            raise

    async def update(self, officer: Officer) -> None:
        """Stores an officer's new state; ``AlreadyExists`` if the subject is taken."""
        try:
            await self._session.execute(
                update(OfficerRow)
                .where(OfficerRow.officer_id == officer.id)
                .values(**_officer_values(officer))
            )
        except IntegrityError as error:
            if is_unique_violation(error, "uq_officers_subject"):
                raise AlreadyExists("officer subject", officer.subject) from error
            raise

    async def page(
        self,
        *,
        after: str | None,
        limit: int,
        office_id: str | None,
        role: OfficerRole | None,
        show_inactive: bool,
    ) -> list[Officer]:
        """Officers ordered by ID, starting after the ID ``after``."""
        query = select(OfficerRow).order_by(OfficerRow.officer_id).limit(limit)
        if after is not None:
            query = query.where(OfficerRow.officer_id > after)
        if office_id is not None:
            query = query.where(OfficerRow.office_id == office_id)
        if role is not None:
            query = query.where(OfficerRow.role == role.value)
        if not show_inactive:
            query = query.where(OfficerRow.active.is_(True))
        return [_officer(row) for row in await self._session.scalars(query)]

    async def assignment_candidates(
        self, office_id: str, now: datetime
    ) -> list[AssignmentCandidate]:
        """Active officers on shift at ``office_id`` at ``now``, with their open tasks."""
        on_shift = select(ShiftRow.officer_id).where(
            ShiftRow.office_id == office_id,
            ShiftRow.start_time <= now,
            ShiftRow.end_time > now,
        )
        open_tasks = (
            select(func.count())
            .select_from(ExaminationRow)
            .where(
                ExaminationRow.assigned_officer_id == OfficerRow.officer_id,
                ExaminationRow.state.in_([state.value for state in WORK_STATES]),
            )
            .scalar_subquery()
        )
        rows = await self._session.execute(
            select(OfficerRow.officer_id, OfficerRow.role, open_tasks).where(
                OfficerRow.active.is_(True), OfficerRow.officer_id.in_(on_shift)
            )
        )
        return [
            AssignmentCandidate(officer_id, OfficerRole(role), int(count))
            for officer_id, role, count in rows
        ]


def _shift(row: ShiftRow) -> Shift:
    return Shift(
        id=row.shift_id,
        officer_id=row.officer_id,
        office_id=row.office_id,
        start_time=row.start_time,
        end_time=row.end_time,
        create_time=row.create_time,
    )


class Shifts:
    """Shifts of the officers."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, officer_id: str, shift_id: str) -> Shift | None:
        """The shift of that officer, or None."""
        row = await self._session.scalar(
            select(ShiftRow).where(ShiftRow.officer_id == officer_id, ShiftRow.shift_id == shift_id)
        )
        return None if row is None else _shift(row)

    async def add(self, shift: Shift) -> None:
        """Stores a new shift."""
        await self._session.execute(
            insert(ShiftRow).values(
                shift_id=shift.id,
                officer_id=shift.officer_id,
                office_id=shift.office_id,
                start_time=shift.start_time,
                end_time=shift.end_time,
                create_time=shift.create_time,
            )
        )

    async def delete(self, shift: Shift) -> None:
        """Removes a shift."""
        await self._session.execute(delete(ShiftRow).where(ShiftRow.shift_id == shift.id))

    async def overlapping(self, officer_id: str, start: datetime, end: datetime) -> list[Shift]:
        """The officer's shifts that share an instant with [start, end)."""
        rows = await self._session.scalars(
            select(ShiftRow).where(
                ShiftRow.officer_id == officer_id,
                ShiftRow.start_time < end,
                ShiftRow.end_time > start,
            )
        )
        return [_shift(row) for row in rows]

    async def at_office(self, office_id: str, begin: datetime, end: datetime) -> list[Shift]:
        """The shifts worked at ``office_id`` that share an instant with [begin, end)."""
        rows = await self._session.scalars(
            select(ShiftRow).where(
                ShiftRow.office_id == office_id,
                ShiftRow.start_time < end,
                ShiftRow.end_time > begin,
            )
        )
        return [_shift(row) for row in rows]

    async def page(
        self,
        *,
        officer_id: str | None,
        office_id: str | None,
        window_start: datetime | None,
        window_end: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Shift]:
        """Shifts ordered by start time (then ID), starting after ``after``."""
        query = select(ShiftRow).order_by(ShiftRow.start_time, ShiftRow.shift_id).limit(limit)
        if officer_id is not None:
            query = query.where(ShiftRow.officer_id == officer_id)
        if office_id is not None:
            query = query.where(ShiftRow.office_id == office_id)
        if window_start is not None:
            query = query.where(ShiftRow.end_time > window_start)
        if window_end is not None:
            query = query.where(ShiftRow.start_time < window_end)
        if after is not None:
            query = query.where(
                or_(
                    ShiftRow.start_time > after[0],
                    and_(ShiftRow.start_time == after[0], ShiftRow.shift_id > after[1]),
                )
            )
        return [_shift(row) for row in await self._session.scalars(query)]


# --- examinations ------------------------------------------------------------------------


def _trader(number: str | None, name: str | None) -> TraderReference | None:
    return None if number is None else TraderReference(number, name or "")


def _examination(row: ExaminationRow) -> Examination:
    return Examination(
        id=row.examination_id,
        source_event_id=row.source_event_id,
        declaration_number=row.declaration_number,
        declaration_version=row.declaration_version,
        office_id=row.office_id,
        assessment=row.assessment,
        importer=TraderReference(row.importer_number, row.importer_name),
        broker=_trader(row.broker_number, row.broker_name),
        carrier=_trader(row.carrier_number, row.carrier_name),
        channel=Channel(row.channel),
        examination_level=ExaminationLevel(row.examination_level),
        documents_to_check=tuple(
            RequiredDocument(document["code"], document["description"])
            for document in row.documents_to_check
        ),
        examiner_instructions=tuple(row.examiner_instructions),
        reason=ExaminationReason(row.reason),
        matched_criteria=tuple(row.matched_criteria),
        selected_criteria=tuple(
            SelectedCriterion(hit["criterion"], hit["revision"], hit["item"])
            for hit in row.selected_criteria
        ),
        random_selection=row.random_selection,
        override=row.override,
        state=ExaminationState(row.state),
        assigned_officer_id=row.assigned_officer_id,
        facility=row.facility,
        assignments=tuple(
            Assignment(
                officer_id=entry["officer"],
                assign_time=datetime.fromisoformat(entry["time"]),
                assigned_by=entry["by"],
                reason=entry["reason"],
            )
            for entry in row.assignments
        ),
        exam_report_id=row.exam_report_id,
        decide_time=row.decide_time,
        trace_parent=row.traceparent or "",
        start_time=row.start_time,
        complete_time=row.complete_time,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
        capacity_downgrades=tuple(
            CapacityDowngrade(
                criterion=entry["criterion"],
                item_number=entry["item"],
                random_selection=entry["random"],
                from_channel=Channel(entry["from_channel"]),
                from_examination_level=ExaminationLevel(entry["from_level"]),
                to_channel=Channel(entry["to_channel"]),
                capacity_policy=entry["policy"],
                utilisation_percent=entry["utilisation"],
            )
            for entry in row.capacity_downgrades
        ),
    )


def _examination_values(examination: Examination) -> dict[str, Any]:
    broker, carrier = examination.broker, examination.carrier
    return {
        "examination_id": examination.id,
        "source_event_id": examination.source_event_id,
        "declaration_number": examination.declaration_number,
        "declaration_version": examination.declaration_version,
        "office_id": examination.office_id,
        "assessment": examination.assessment,
        "importer_number": examination.importer.number,
        "importer_name": examination.importer.display_name,
        "broker_number": None if broker is None else broker.number,
        "broker_name": None if broker is None else broker.display_name,
        "carrier_number": None if carrier is None else carrier.number,
        "carrier_name": None if carrier is None else carrier.display_name,
        "channel": examination.channel.value,
        "examination_level": examination.examination_level.value,
        "documents_to_check": [
            {"code": document.code, "description": document.description}
            for document in examination.documents_to_check
        ],
        "examiner_instructions": list(examination.examiner_instructions),
        "reason": examination.reason.value,
        "matched_criteria": list(examination.matched_criteria),
        "selected_criteria": [
            {"criterion": hit.criterion, "revision": hit.revision, "item": hit.item_number}
            for hit in examination.selected_criteria
        ],
        "capacity_downgrades": [
            {
                "criterion": entry.criterion,
                "item": entry.item_number,
                "random": entry.random_selection,
                "from_channel": entry.from_channel.value,
                "from_level": entry.from_examination_level.value,
                "to_channel": entry.to_channel.value,
                "policy": entry.capacity_policy,
                "utilisation": entry.utilisation_percent,
            }
            for entry in examination.capacity_downgrades
        ],
        "random_selection": examination.random_selection,
        "override": examination.override,
        "state": examination.state.value,
        "assigned_officer_id": examination.assigned_officer_id,
        "facility": examination.facility,
        "assignments": [
            {
                "officer": entry.officer_id,
                "time": entry.assign_time.isoformat(),
                "by": entry.assigned_by,
                "reason": entry.reason,
            }
            for entry in examination.assignments
        ],
        "exam_report_id": examination.exam_report_id,
        "decide_time": examination.decide_time,
        "traceparent": examination.trace_parent or None,
        "start_time": examination.start_time,
        "complete_time": examination.complete_time,
        "create_time": examination.create_time,
        "update_time": examination.update_time,
        "version": examination.version,
    }


class Examinations:
    """Examination tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, examination_id: str, *, for_update: bool = False) -> Examination | None:
        """The task, or None."""
        query = select(ExaminationRow).where(ExaminationRow.examination_id == examination_id)
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _examination(row)

    async def opened_by_event(self, event_id: str) -> Examination | None:
        """The task the decision event ``event_id`` opened, or None if it opened none."""
        row = await self._session.scalar(
            select(ExaminationRow).where(ExaminationRow.source_event_id == event_id)
        )
        return None if row is None else _examination(row)

    async def of_declaration(self, declaration_number: str) -> list[Examination]:
        """Every task of the declaration (any version, any state), locked for update."""
        rows = await self._session.scalars(
            select(ExaminationRow)
            .where(ExaminationRow.declaration_number == declaration_number)
            .with_for_update()
        )
        return [_examination(row) for row in rows]

    async def open_of_declaration(self, declaration_number: str) -> Examination | None:
        """A task of the declaration nobody has reported on yet, or None."""
        row = await self._session.scalar(
            select(ExaminationRow)
            .where(
                ExaminationRow.declaration_number == declaration_number,
                ExaminationRow.state.in_([state.value for state in UNREPORTED_STATES]),
            )
            .limit(1)
        )
        return None if row is None else _examination(row)

    async def add(self, examination: Examination) -> None:
        """Stores a new task."""
        await self._session.execute(
            insert(ExaminationRow).values(**_examination_values(examination))
        )

    async def update(self, examination: Examination) -> None:
        """Stores the new state of an existing task."""
        await self._session.execute(
            update(ExaminationRow)
            .where(ExaminationRow.examination_id == examination.id)
            .values(**_examination_values(examination))
        )

    async def page(
        self,
        where: ExaminationFilter,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        newest_first: bool,
    ) -> list[Examination]:
        """Tasks matching ``where`` ordered by decide time (then ID), after ``after``."""
        query: Select[tuple[ExaminationRow]] = select(ExaminationRow).limit(limit)
        if newest_first:
            query = query.order_by(
                ExaminationRow.decide_time.desc(), ExaminationRow.examination_id.desc()
            )
        else:
            query = query.order_by(ExaminationRow.decide_time, ExaminationRow.examination_id)
        if where.office_id is not None:
            query = query.where(ExaminationRow.office_id == where.office_id)
        if where.states:
            query = query.where(ExaminationRow.state.in_([state.value for state in where.states]))
        if where.assigned_officer_id is not None:
            query = query.where(ExaminationRow.assigned_officer_id == where.assigned_officer_id)
        if where.declaration_number is not None:
            query = query.where(ExaminationRow.declaration_number == where.declaration_number)
        if where.reason is not None:
            query = query.where(ExaminationRow.reason == where.reason.value)
        if after is not None:
            time, examination_id = after
            if newest_first:
                query = query.where(
                    or_(
                        ExaminationRow.decide_time < time,
                        and_(
                            ExaminationRow.decide_time == time,
                            ExaminationRow.examination_id < examination_id,
                        ),
                    )
                )
            else:
                query = query.where(
                    or_(
                        ExaminationRow.decide_time > time,
                        and_(
                            ExaminationRow.decide_time == time,
                            ExaminationRow.examination_id > examination_id,
                        ),
                    )
                )
        return [_examination(row) for row in await self._session.scalars(query)]

    async def offices_with_unassigned(self) -> list[str]:
        """The offices that have tasks waiting for an officer."""
        rows = await self._session.scalars(
            select(ExaminationRow.office_id)
            .where(
                ExaminationRow.assigned_officer_id.is_(None),
                ExaminationRow.state == ExaminationState.UNASSIGNED.value,
            )
            .distinct()
        )
        return list(rows)

    async def opened_between(
        self, office_ids: Sequence[str], begin: datetime, end: datetime
    ) -> dict[str, list[OpenedExamination]]:
        """What capacity counts of the offices' tasks decided in [begin, end), by office."""
        result: dict[str, list[OpenedExamination]] = {office_id: [] for office_id in office_ids}
        if not office_ids:
            return result
        rows = await self._session.execute(
            select(
                ExaminationRow.office_id,
                ExaminationRow.decide_time,
                ExaminationRow.channel,
                ExaminationRow.examination_level,
                ExaminationRow.state,
            ).where(
                ExaminationRow.office_id.in_(office_ids),
                ExaminationRow.decide_time >= begin,
                ExaminationRow.decide_time < end,
            )
        )
        for office_id, decide_time, channel, level, state in rows:
            result[office_id].append(
                OpenedExamination(
                    decide_time=decide_time,
                    type=ExaminationType(Channel(channel), ExaminationLevel(level)),
                    completed=ExaminationState(state) in DONE_STATES,
                )
            )
        return result


# --- exam reports ------------------------------------------------------------------------


class DuplicateReport(Exception):
    """A concurrent transaction stored a report with the same ID first."""


def _quantity(data: dict[str, Any] | None) -> Quantity | None:
    return None if data is None else Quantity(float(data["value"]), data["unit"])


def _money(data: dict[str, Any] | None) -> Money | None:
    return None if data is None else Money(data["currency_code"], data["units"], data["nanos"])


def _discrepancy(data: dict[str, Any]) -> Discrepancy:
    return Discrepancy(
        type=None if data["type"] is None else DiscrepancyType(data["type"]),
        item_number=data["item_number"],
        description=data["description"],
        declared_quantity=_quantity(data["declared_quantity"]),
        found_quantity=_quantity(data["found_quantity"]),
        declared_value=_money(data["declared_value"]),
        found_value=_money(data["found_value"]),
        declared_hs_code=data["declared_hs_code"],
        found_hs_code=data["found_hs_code"],
        declared_origin_country=data["declared_origin_country"],
        found_origin_country=data["found_origin_country"],
    )


def _discrepancy_data(discrepancy: Discrepancy) -> dict[str, Any]:
    def quantity(value: Quantity | None) -> dict[str, Any] | None:
        return None if value is None else {"value": value.value, "unit": value.unit}

    def money(value: Money | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"currency_code": value.currency_code, "units": value.units, "nanos": value.nanos}

    return {
        "type": None if discrepancy.type is None else discrepancy.type.value,
        "item_number": discrepancy.item_number,
        "description": discrepancy.description,
        "declared_quantity": quantity(discrepancy.declared_quantity),
        "found_quantity": quantity(discrepancy.found_quantity),
        "declared_value": money(discrepancy.declared_value),
        "found_value": money(discrepancy.found_value),
        "declared_hs_code": discrepancy.declared_hs_code,
        "found_hs_code": discrepancy.found_hs_code,
        "declared_origin_country": discrepancy.declared_origin_country,
        "found_origin_country": discrepancy.found_origin_country,
    }


def _signature(data: dict[str, Any] | None) -> Signature | None:
    if data is None:
        return None
    return Signature(
        officer_id=data["officer"],
        display_name=data["display_name"],
        badge_number=data["badge_number"],
        sign_time=datetime.fromisoformat(data["sign_time"]),
    )


def _signature_data(signature: Signature | None) -> dict[str, Any] | None:
    if signature is None:
        return None
    return {
        "officer": signature.officer_id,
        "display_name": signature.display_name,
        "badge_number": signature.badge_number,
        "sign_time": signature.sign_time.isoformat(),
    }


def _revenue(currency: str | None, units: int | None, nanos: int | None) -> Money | None:
    return None if currency is None else Money(currency, int(units or 0), int(nanos or 0))


def _revenue_values(revenue: Money | None) -> dict[str, Any]:
    # Columns rather than JSON, so that revenue can be summed in SQL one day.
    return {
        "revenue_currency": None if revenue is None else revenue.currency_code,
        "revenue_units": None if revenue is None else revenue.units,
        "revenue_nanos": None if revenue is None else revenue.nanos,
    }


def _exam_report(row: ExamReportRow) -> ExamReport:
    document = row.driver["identity_document"]
    form = ExamReportForm(
        examination_id=row.examination_id,
        declaration_number=row.declaration_number,
        customs_office_id=row.customs_office_id,
        importer_name=row.importer_name,
        importer_number=row.importer_number,
        broker_name=row.broker_name,
        broker_number=row.broker_number,
        inspecting_officer_id=row.inspecting_officer_id,
        reason=None if row.reason is None else ExaminationReason(row.reason),
        other_reason=row.other_reason,
        override_id=row.override_id,
        examination_time=row.examination_time,
        discrepancy_found=row.discrepancy_found,
        discrepancy_detail=row.discrepancy_detail,
        discrepancies=tuple(_discrepancy(entry) for entry in row.discrepancies),
        penalty_recommended=row.penalty_recommended,
        merchandise_seized=row.merchandise_seized,
        seizure_case_number=row.seizure_case_number,
        carrier=CarrierData(**row.carrier),
        driver=DriverData(
            full_name=row.driver["full_name"],
            date_of_birth=row.driver["date_of_birth"],
            nationality=row.driver["nationality"],
            identity_document=IdentityDocument(
                type=None if document["type"] is None else IdentityDocumentType(document["type"]),
                number=document["number"],
                issuing_country=document["issuing_country"],
            ),
        ),
        intelligence_information=row.intelligence_information,
        attachments=tuple(row.attachments),
        post_clearance_audit_recommended=row.post_clearance_audit_recommended,
        revenue_found=_revenue(row.revenue_currency, row.revenue_units, row.revenue_nanos),
    )
    return ExamReport(
        id=row.exam_report_id,
        form=form,
        state=ExamReportState(row.state),
        author_officer_id=row.author_officer_id,
        officer_signature=_signature(row.officer_signature),
        supervisor_signature=_signature(row.supervisor_signature),
        corrections=tuple(
            CorrectionRequest(
                returned_by=entry["returned_by"],
                return_time=datetime.fromisoformat(entry["return_time"]),
                reason=entry["reason"],
                fields=tuple(entry["fields"]),
            )
            for entry in row.corrections
        ),
        submission_count=row.submission_count,
        submit_time=row.submit_time,
        submission_fingerprint=row.submission_fingerprint,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _exam_report_values(report: ExamReport) -> dict[str, Any]:
    form = report.form
    document = form.driver.identity_document
    return {
        "exam_report_id": report.id,
        "examination_id": form.examination_id,
        "author_officer_id": report.author_officer_id,
        "state": report.state.value,
        "declaration_number": form.declaration_number,
        "customs_office_id": form.customs_office_id,
        "importer_name": form.importer_name,
        "importer_number": form.importer_number,
        "broker_name": form.broker_name,
        "broker_number": form.broker_number,
        "inspecting_officer_id": form.inspecting_officer_id,
        "reason": None if form.reason is None else form.reason.value,
        "other_reason": form.other_reason,
        "override_id": form.override_id,
        "examination_time": form.examination_time,
        "discrepancy_found": form.discrepancy_found,
        "discrepancy_detail": form.discrepancy_detail,
        "discrepancies": [_discrepancy_data(entry) for entry in form.discrepancies],
        "penalty_recommended": form.penalty_recommended,
        "merchandise_seized": form.merchandise_seized,
        "seizure_case_number": form.seizure_case_number,
        "carrier": {
            "display_name": form.carrier.display_name,
            "address": form.carrier.address,
            "carrier_number": form.carrier.carrier_number,
            "vehicle_registration": form.carrier.vehicle_registration,
        },
        "driver": {
            "full_name": form.driver.full_name,
            "date_of_birth": form.driver.date_of_birth,
            "nationality": form.driver.nationality,
            "identity_document": {
                "type": None if document.type is None else document.type.value,
                "number": document.number,
                "issuing_country": document.issuing_country,
            },
        },
        "intelligence_information": form.intelligence_information,
        "attachments": list(form.attachments),
        "post_clearance_audit_recommended": form.post_clearance_audit_recommended,
        **_revenue_values(form.revenue_found),
        "officer_signature": _signature_data(report.officer_signature),
        "supervisor_signature": _signature_data(report.supervisor_signature),
        "corrections": [
            {
                "returned_by": entry.returned_by,
                "return_time": entry.return_time.isoformat(),
                "reason": entry.reason,
                "fields": list(entry.fields),
            }
            for entry in report.corrections
        ],
        "submission_count": report.submission_count,
        "submit_time": report.submit_time,
        "submission_fingerprint": report.submission_fingerprint,
        "approve_time": (
            None if report.supervisor_signature is None else report.supervisor_signature.sign_time
        ),
        "create_time": report.create_time,
        "update_time": report.update_time,
        "version": report.version,
    }


class ExamReports:
    """Cargo examination reports."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, exam_report_id: str, *, for_update: bool = False) -> ExamReport | None:
        """The report, or None."""
        query = select(ExamReportRow).where(ExamReportRow.exam_report_id == exam_report_id)
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _exam_report(row)

    async def add(self, report: ExamReport) -> None:
        """Stores a new report; :class:`DuplicateReport` if its ID was stored concurrently."""
        try:
            await self._session.execute(insert(ExamReportRow).values(**_exam_report_values(report)))
        except IntegrityError as error:
            if is_unique_violation(error, "pk_exam_reports"):
                raise DuplicateReport(report.id) from error
            raise

    async def update(self, report: ExamReport) -> None:
        """Stores the new state of an existing report."""
        await self._session.execute(
            update(ExamReportRow)
            .where(ExamReportRow.exam_report_id == report.id)
            .values(**_exam_report_values(report))
        )

    async def page(
        self, where: ExamReportFilter, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[ExamReport]:
        """Reports matching ``where``, last changed first (then by ID), after ``after``."""
        query = (
            select(ExamReportRow)
            .order_by(ExamReportRow.update_time.desc(), ExamReportRow.exam_report_id.desc())
            .limit(limit)
        )
        if where.office_id is not None:
            # The examination's office: a draft may not have its office box filled yet.
            query = query.join(
                ExaminationRow, ExaminationRow.examination_id == ExamReportRow.examination_id
            ).where(ExaminationRow.office_id == where.office_id)
        if where.states:
            query = query.where(ExamReportRow.state.in_([state.value for state in where.states]))
        if where.inspecting_officer_id is not None:
            query = query.where(ExamReportRow.inspecting_officer_id == where.inspecting_officer_id)
        if where.examination_id is not None:
            query = query.where(ExamReportRow.examination_id == where.examination_id)
        if where.discrepancy_found is not None:
            query = query.where(ExamReportRow.discrepancy_found.is_(where.discrepancy_found))
        if where.author_officer_id is not None:
            query = query.where(ExamReportRow.author_officer_id == where.author_officer_id)
        if after is not None:
            time, report_id = after
            query = query.where(
                or_(
                    ExamReportRow.update_time < time,
                    and_(
                        ExamReportRow.update_time == time, ExamReportRow.exam_report_id < report_id
                    ),
                )
            )
        return [_exam_report(row) for row in await self._session.scalars(query)]

    async def approved_at_office(
        self, office_id: str, begin: datetime, end: datetime
    ) -> list[tuple[str, bool, Money | None]]:
        """(author, discrepancy found, revenue) of the office's reports approved in [begin, end)."""
        rows = await self._session.execute(
            select(
                ExamReportRow.author_officer_id,
                ExamReportRow.discrepancy_found,
                ExamReportRow.revenue_currency,
                ExamReportRow.revenue_units,
                ExamReportRow.revenue_nanos,
            )
            .join(ExaminationRow, ExaminationRow.examination_id == ExamReportRow.examination_id)
            .where(
                ExaminationRow.office_id == office_id,
                ExamReportRow.state == ExamReportState.APPROVED.value,
                ExamReportRow.approve_time >= begin,
                ExamReportRow.approve_time < end,
            )
        )
        return [
            (author, bool(found), _revenue(currency, units, nanos))
            for author, found, currency, units, nanos in rows
        ]
