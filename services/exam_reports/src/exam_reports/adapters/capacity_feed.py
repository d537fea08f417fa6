"""The office-capacity feed: each office's capacity limit, on the change feed, for scoring.

One record per office (key: the office code), holding its
``OfficeCapacityLimit`` message; a new record is appended only when the
limit differs from the office's last one, in the transaction of the change
that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence

from customs.exam_reports.v1 import office_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import ChangeRecord
from exam_reports.adapters.orm import OfficeRow
from exam_reports.domain.offices import CapacityLimit
from exam_reports.domain.selectivity import ExaminationLevel

#: The change-feed kind of the office capacity limits.
OFFICE_CAPACITY_KIND = "office-capacity"


def encode_capacity_limit(limit: CapacityLimit) -> bytes:
    """The deterministic wire form of the ``OfficeCapacityLimit`` message."""
    message = office_pb2.OfficeCapacityLimit(
        office=f"offices/{limit.office_id}",
        time_zone=limit.time_zone,
        active=limit.active,
        daily_capacities=[
            office_pb2.ExaminationCapacity(
                channel=f"CHANNEL_{entry.type.channel.value}",
                examination_level=(
                    "EXAMINATION_LEVEL_UNSPECIFIED"
                    if entry.type.level is ExaminationLevel.NONE
                    else f"EXAMINATION_LEVEL_{entry.type.level.value}"
                ),
                examinations_per_day=entry.examinations_per_day,
            )
            for entry in limit.capacities
        ],
    )
    return message.SerializeToString(deterministic=True)


def decode_capacity_limit(payload: bytes) -> office_pb2.OfficeCapacityLimit:
    """The ``OfficeCapacityLimit`` message of a feed record."""
    return office_pb2.OfficeCapacityLimit.FromString(payload)


async def last_published(session: AsyncSession, office_id: str) -> bytes | None:
    """The payload of the office's last record on the feed; None before any."""
    payload: bytes | None = await session.scalar(
        select(ChangeRecord.payload)
        .where(ChangeRecord.kind == OFFICE_CAPACITY_KIND, ChangeRecord.key == office_id)
        .order_by(ChangeRecord.revision.desc())
        .limit(1)
    )
    return payload


async def office_ids(session: AsyncSession) -> Sequence[str]:
    """The codes of every office, in order."""
    return list(await session.scalars(select(OfficeRow.office_id).order_by(OfficeRow.office_id)))
