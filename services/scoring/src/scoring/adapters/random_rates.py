"""Random examination rates: their wire form and their append-only journal."""

from __future__ import annotations

import hashlib

from customs.scoring.v1 import random_examination_rate_pb2
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.adapters.codec import datetime_to_timestamp, level_from_proto, level_to_proto
from scoring.adapters.orm import RandomExaminationRateChangeRow
from scoring.domain.random_examinations import (
    RandomExaminationRate,
    RandomExaminationRates,
)
from scoring.domain.rules import ExaminationLevel

#: The constraint a concurrent change of the same revision violates.
REVISION_KEY = "pk_random_examination_rate_changes"

# --- the wire form ------------------------------------------------------------------


def rate_from_proto(
    message: random_examination_rate_pb2.RandomExaminationRate,
) -> RandomExaminationRate:
    """The rate a (validated) message sets; its name and output fields are ignored."""
    return RandomExaminationRate(
        office_code=message.office_code,
        procedure_code=message.procedure_code,
        document_review_percent=message.document_review_percent,
        physical_examination_percent=message.physical_examination_percent,
        physical_examination_level=level_from_proto(message.physical_examination_level),
        approved_trader_document_review_percent=message.approved_trader_document_review_percent,
        approved_trader_physical_examination_percent=(
            message.approved_trader_physical_examination_percent
        ),
    )


def _content(rate: RandomExaminationRate) -> random_examination_rate_pb2.RandomExaminationRate:
    return random_examination_rate_pb2.RandomExaminationRate(
        name=rate.name,
        office_code=rate.office_code,
        procedure_code=rate.procedure_code,
        document_review_percent=rate.document_review_percent,
        physical_examination_percent=rate.physical_examination_percent,
        physical_examination_level=level_to_proto(rate.physical_examination_level),
        approved_trader_document_review_percent=rate.approved_trader_document_review_percent,
        approved_trader_physical_examination_percent=rate.approved_trader_physical_examination_percent,
    )


def rate_etag(rate: RandomExaminationRate) -> str:
    """A checksum of the rate's content and revision (each change gets a new revision)."""
    content = _content(rate).SerializeToString(deterministic=True)
    return hashlib.sha256(content + b"\x1f" + str(rate.revision).encode()).hexdigest()[:32]


def rate_to_proto(rate: RandomExaminationRate) -> random_examination_rate_pb2.RandomExaminationRate:
    """The message callers receive, with its output fields and etag."""
    message = _content(rate)
    message.revision = rate.revision
    message.updated_by = rate.updated_by
    message.reason = rate.reason
    if rate.update_time is not None:
        message.update_time.CopyFrom(datetime_to_timestamp(rate.update_time))
    message.etag = rate_etag(rate)
    return message


# --- the journal --------------------------------------------------------------------


class RandomRateJournal:
    """The append-only changes of the random examination rates, one revision per change."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def latest_revision(self) -> int:
        """The revision of the last change; 0 before any."""
        revision: int | None = await self._session.scalar(
            select(func.max(RandomExaminationRateChangeRow.revision))
        )
        return revision or 0

    async def rates_at(self, revision: int) -> RandomExaminationRates:
        """Every rate configured at ``revision``."""
        row = RandomExaminationRateChangeRow
        latest = (
            select(row.office_code, row.procedure_code, func.max(row.revision).label("revision"))
            .where(row.revision <= revision)
            .group_by(row.office_code, row.procedure_code)
            .subquery()
        )
        rows = await self._session.scalars(
            select(row).join(
                latest,
                and_(
                    row.office_code == latest.c.office_code,
                    row.procedure_code == latest.c.procedure_code,
                    row.revision == latest.c.revision,
                ),
            )
        )
        return RandomExaminationRates.of(
            revision, [_rate_of(change) for change in rows if not change.removed]
        )

    async def current(self) -> RandomExaminationRates:
        """Every rate as of the last change."""
        return await self.rates_at(await self.latest_revision())

    async def append(self, rate: RandomExaminationRate, *, removed: bool = False) -> None:
        """Records a change (a removal when ``removed``) at ``rate.revision``.

        A concurrent change of that revision makes the flush raise an
        ``IntegrityError`` on :data:`REVISION_KEY`.
        """
        if rate.update_time is None:
            raise ValueError("a rate change needs its update time")
        self._session.add(
            RandomExaminationRateChangeRow(
                revision=rate.revision,
                office_code=rate.office_code,
                procedure_code=rate.procedure_code,
                removed=removed,
                document_review_percent=rate.document_review_percent,
                physical_examination_percent=rate.physical_examination_percent,
                physical_examination_level=rate.physical_examination_level.value,
                approved_trader_document_review_percent=rate.approved_trader_document_review_percent,
                approved_trader_physical_examination_percent=(
                    rate.approved_trader_physical_examination_percent
                ),
                updated_by=rate.updated_by,
                reason=rate.reason,
                update_time=rate.update_time,
            )
        )
        await self._session.flush()


def _rate_of(row: RandomExaminationRateChangeRow) -> RandomExaminationRate:
    return RandomExaminationRate(
        office_code=row.office_code,
        procedure_code=row.procedure_code,
        document_review_percent=row.document_review_percent,
        physical_examination_percent=row.physical_examination_percent,
        physical_examination_level=ExaminationLevel(row.physical_examination_level),
        approved_trader_document_review_percent=row.approved_trader_document_review_percent,
        approved_trader_physical_examination_percent=row.approved_trader_physical_examination_percent,
        revision=row.revision,
        update_time=row.update_time,
        updated_by=row.updated_by,
        reason=row.reason,
    )
