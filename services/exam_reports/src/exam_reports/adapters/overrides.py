"""The SQL of override requests: rows in, domain objects out (never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exam_reports.adapters.orm import OverrideRow
from exam_reports.domain.examinations import TraderReference
from exam_reports.domain.overrides import Override, OverrideFilter, OverrideKind, OverrideState
from exam_reports.domain.selectivity import Channel, ExaminationLevel


def _override(row: OverrideRow) -> Override:
    return Override(
        id=row.override_id,
        examination_id=row.examination_id,
        declaration_number=row.declaration_number,
        declaration_version=row.declaration_version,
        office_id=row.office_id,
        importer=TraderReference(row.importer_number, row.importer_name),
        designated_channel=Channel(row.designated_channel),
        designated_level=ExaminationLevel(row.designated_level),
        requested_channel=Channel(row.requested_channel),
        requested_level=ExaminationLevel(row.requested_level),
        kind=OverrideKind(row.kind),
        reason=row.reason,
        state=OverrideState(row.state),
        requester_id=row.requester_officer_id,
        decided_by=row.decided_by_officer_id,
        decision_comment=row.decision_comment,
        decide_time=row.decide_time,
        resulting_examination_id=row.resulting_examination_id,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _values(override: Override) -> dict[str, Any]:
    return {
        "override_id": override.id,
        "examination_id": override.examination_id,
        "declaration_number": override.declaration_number,
        "declaration_version": override.declaration_version,
        "office_id": override.office_id,
        "importer_number": override.importer.number,
        "importer_name": override.importer.display_name,
        "designated_channel": override.designated_channel.value,
        "designated_level": override.designated_level.value,
        "requested_channel": override.requested_channel.value,
        "requested_level": override.requested_level.value,
        "kind": override.kind.value,
        "reason": override.reason,
        "state": override.state.value,
        "requester_officer_id": override.requester_id,
        "decided_by_officer_id": override.decided_by,
        "decision_comment": override.decision_comment,
        "decide_time": override.decide_time,
        "resulting_examination_id": override.resulting_examination_id,
        "create_time": override.create_time,
        "update_time": override.update_time,
        "version": override.version,
    }


class Overrides:
    """Override requests."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, override_id: str, *, for_update: bool = False) -> Override | None:
        """The request, or None."""
        query = select(OverrideRow).where(OverrideRow.override_id == override_id)
        if for_update:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else _override(row)

    async def add(self, override: Override) -> None:
        """Stores a new request."""
        await self._session.execute(insert(OverrideRow).values(**_values(override)))

    async def update(self, override: Override) -> None:
        """Stores the new state of an existing request."""
        await self._session.execute(
            update(OverrideRow)
            .where(OverrideRow.override_id == override.id)
            .values(**_values(override))
        )

    async def pending_for_declaration(self, declaration_number: str) -> Override | None:
        """A request about the declaration that still waits for a decision, or None."""
        row = await self._session.scalar(
            select(OverrideRow)
            .where(
                OverrideRow.declaration_number == declaration_number,
                OverrideRow.state == OverrideState.PENDING.value,
            )
            .limit(1)
        )
        return None if row is None else _override(row)

    async def page(
        self, where: OverrideFilter, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Override]:
        """Requests matching ``where``, newest first (then by ID), after ``after``."""
        query = (
            select(OverrideRow)
            .order_by(OverrideRow.create_time.desc(), OverrideRow.override_id.desc())
            .limit(limit)
        )
        if where.office_id is not None:
            query = query.where(OverrideRow.office_id == where.office_id)
        if where.states:
            query = query.where(OverrideRow.state.in_([state.value for state in where.states]))
        if where.requester_id is not None:
            query = query.where(OverrideRow.requester_officer_id == where.requester_id)
        if where.kind is not None:
            query = query.where(OverrideRow.kind == where.kind.value)
        if after is not None:
            time, override_id = after
            query = query.where(
                or_(
                    OverrideRow.create_time < time,
                    and_(OverrideRow.create_time == time, OverrideRow.override_id < override_id),
                )
            )
        return [_override(row) for row in await self._session.scalars(query)]

    async def of_office(self, office_id: str, begin: datetime, end: datetime) -> list[Override]:
        """The office's requests made, or decided, in [begin, end)."""
        rows = await self._session.scalars(
            select(OverrideRow).where(
                OverrideRow.office_id == office_id,
                or_(
                    and_(OverrideRow.create_time >= begin, OverrideRow.create_time < end),
                    and_(OverrideRow.decide_time >= begin, OverrideRow.decide_time < end),
                ),
            )
        )
        return [_override(row) for row in rows]
