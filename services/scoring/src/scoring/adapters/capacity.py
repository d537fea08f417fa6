"""Capacity policies and office capacity: their wire form and their tables.

Three stores: the append-only journal of capacity policy changes, the ledger
of the examinations scoring selected (to count an office's use of the day),
and the office capacity limits received on exam_reports' capacity stream,
with the revision they are as of.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from customs.common.v1 import selection_rule_pb2
from customs.exam_reports.v1 import office_pb2
from customs.scoring.v1 import capacity_policy_pb2
from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import utcnow
from scoring.adapters.codec import (
    channel_from_proto,
    channel_to_proto,
    datetime_to_timestamp,
    level_from_proto,
)
from scoring.adapters.orm import (
    CapacityPolicyChangeRow,
    ExaminationSelectionRow,
    OfficeCapacityRow,
    WatchPositionRow,
)
from scoring.domain.capacity import (
    CapacityPolicies,
    CapacityPolicy,
    DowngradeRule,
    ExaminationType,
    OfficeLimit,
)
from scoring.domain.rules import Channel, DocumentRequirement, ExaminationLevel

_OFFICE_PREFIX = "offices/"

# --- capacity policies on the wire -------------------------------------------------


def policy_from_proto(message: capacity_policy_pb2.CapacityPolicy) -> CapacityPolicy:
    """The policy a (validated) CapacityPolicy message describes; output fields ignored."""
    return CapacityPolicy(
        name=message.name,
        rules=tuple(
            DowngradeRule(
                selected_channel=channel_from_proto(rule.selected_channel),
                utilisation_percent=rule.utilisation_percent,
                min_priority=rule.min_priority,
                downgrade_to=channel_from_proto(rule.downgrade_to),
                documents=tuple(
                    DocumentRequirement(document.document_type_code, document.description)
                    for document in rule.documents_to_check
                ),
            )
            for rule in message.rules
        ),
        downgrade_random_examinations=message.downgrade_random_examinations,
    )


def _policy_content(policy: CapacityPolicy) -> capacity_policy_pb2.CapacityPolicy:
    """What a change stores: the fields a caller writes."""
    return capacity_policy_pb2.CapacityPolicy(
        name=policy.name,
        rules=[
            capacity_policy_pb2.DowngradeRule(
                selected_channel=channel_to_proto(rule.selected_channel),
                utilisation_percent=rule.utilisation_percent,
                min_priority=rule.min_priority,
                downgrade_to=channel_to_proto(rule.downgrade_to),
                documents_to_check=[
                    selection_rule_pb2.DocumentRequirement(
                        document_type_code=document.document_type_code,
                        description=document.description,
                    )
                    for document in rule.documents
                ],
            )
            for rule in policy.rules
        ],
        downgrade_random_examinations=policy.downgrade_random_examinations,
    )


def policy_to_proto(policy: CapacityPolicy) -> capacity_policy_pb2.CapacityPolicy:
    """The CapacityPolicy message callers receive, with its output fields and etag."""
    message = _policy_content(policy)
    message.revision = policy.revision
    message.updated_by = policy.updated_by
    if policy.update_time is not None:
        message.update_time.CopyFrom(datetime_to_timestamp(policy.update_time))
    message.etag = policy_etag(policy)
    return message


def policy_etag(policy: CapacityPolicy) -> str:
    """A checksum of the policy's content and revision (each change gets a new revision)."""
    content = _policy_content(policy).SerializeToString(deterministic=True)
    digest = hashlib.sha256(content + b"\x1f" + str(policy.revision).encode())
    return digest.hexdigest()[:32]


# --- the policy journal ------------------------------------------------------------


class CapacityPolicyJournal:
    """The append-only changes of the capacity policies, one revision per change."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def latest_revision(self) -> int:
        """The revision of the last change; 0 before any."""
        revision: int | None = await self._session.scalar(
            select(func.max(CapacityPolicyChangeRow.revision))
        )
        return revision or 0

    async def policies_at(self, revision: int) -> CapacityPolicies:
        """Every policy as it was at ``revision``."""
        latest = (
            select(
                CapacityPolicyChangeRow.name,
                func.max(CapacityPolicyChangeRow.revision).label("revision"),
            )
            .where(CapacityPolicyChangeRow.revision <= revision)
            .group_by(CapacityPolicyChangeRow.name)
            .subquery()
        )
        rows = await self._session.scalars(
            select(CapacityPolicyChangeRow).join(
                latest, CapacityPolicyChangeRow.revision == latest.c.revision
            )
        )
        policies = [_policy_of(row) for row in rows]
        return CapacityPolicies.of(revision, policies)

    async def current(self) -> CapacityPolicies:
        """Every policy as of the last change."""
        return await self.policies_at(await self.latest_revision())

    async def append(self, policy: CapacityPolicy) -> None:
        """Records a change at ``policy.revision``; a concurrent change of that revision
        makes the flush raise an ``IntegrityError`` on the primary key."""
        self._session.add(
            CapacityPolicyChangeRow(
                revision=policy.revision,
                name=policy.name,
                policy=_policy_content(policy).SerializeToString(deterministic=True),
                updated_by=policy.updated_by,
                update_time=policy.update_time,
            )
        )
        await self._session.flush()


def _policy_of(row: CapacityPolicyChangeRow) -> CapacityPolicy:
    content = policy_from_proto(capacity_policy_pb2.CapacityPolicy.FromString(row.policy))
    return CapacityPolicy(
        name=content.name,
        rules=content.rules,
        downgrade_random_examinations=content.downgrade_random_examinations,
        revision=row.revision,
        update_time=row.update_time,
        updated_by=row.updated_by,
    )


# --- the examinations selected -----------------------------------------------------


class ExaminationLedger:
    """The examinations scoring selected, per office and day (office time zone)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: list[dict[str, str]] = []

    async def used(
        self, office_days: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[ExaminationType, int]]:
        """How many examinations of each type were selected, per (office, day), in one query."""
        used: dict[tuple[str, str], dict[ExaminationType, int]] = {key: {} for key in office_days}
        if not office_days:
            return used
        rows = await self._session.execute(
            select(
                ExaminationSelectionRow.office_code,
                ExaminationSelectionRow.day,
                ExaminationSelectionRow.channel,
                ExaminationSelectionRow.examination_level,
                func.count(),
            )
            .where(
                tuple_(ExaminationSelectionRow.office_code, ExaminationSelectionRow.day).in_(
                    list(used)
                )
            )
            .group_by(
                ExaminationSelectionRow.office_code,
                ExaminationSelectionRow.day,
                ExaminationSelectionRow.channel,
                ExaminationSelectionRow.examination_level,
            )
        )
        for office_code, day, channel, level, count in rows:
            used[(office_code, day)][(Channel(channel), ExaminationLevel(level))] = count
        return used

    def add(
        self, assessment_id: str, office_code: str, day: str, examination: ExaminationType
    ) -> None:
        """Records the examination an assessment selected (written by :meth:`write`)."""
        channel, level = examination
        self._pending.append(
            {
                "assessment_id": assessment_id,
                "office_code": office_code,
                "day": day,
                "channel": channel.value,
                "examination_level": level.value,
            }
        )

    async def write(self) -> None:
        """Inserts the examinations added since the last write, in one statement."""
        if self._pending:
            pending, self._pending = self._pending, []
            await self._session.execute(insert(ExaminationSelectionRow), pending)


# --- office capacity from exam_reports ---------------------------------------------

#: The row of ``watch_positions`` kept for exam_reports' office-capacity stream.
OFFICE_CAPACITY_WATCH = "office-capacity"


def office_limit_from_proto(message: office_pb2.OfficeCapacityLimit) -> OfficeLimit:
    """The limit an ``OfficeCapacityLimit`` message of the stream describes."""
    return OfficeLimit(
        office_code=message.office.removeprefix(_OFFICE_PREFIX),
        time_zone=message.time_zone,
        capacities=MappingProxyType(
            {
                (
                    channel_from_proto(entry.channel),
                    level_from_proto(entry.examination_level),
                ): entry.examinations_per_day
                for entry in message.daily_capacities
            }
        ),
    )


class OfficeCapacityStore:
    """The office capacity limits as of one revision of exam_reports' capacity stream.

    Each office's ``OfficeCapacityLimit`` message is stored as received.
    """

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self._session = session
        self._dialect = dialect

    async def revision(self) -> int | None:
        """The revision the stored limits are as of; None if nothing was ever stored.

        Read first and under a shared lock: a writer advances this row before it
        touches the limits, so the limits read next in the same transaction are
        exactly those of this revision.
        """
        revision: int | None = await self._session.scalar(
            select(WatchPositionRow.revision)
            .where(WatchPositionRow.watch == OFFICE_CAPACITY_WATCH)
            .with_for_update(read=True)
        )
        return revision

    async def limits(self) -> list[OfficeLimit]:
        """Every stored office limit."""
        payloads = await self._session.scalars(select(OfficeCapacityRow.payload))
        return [
            office_limit_from_proto(office_pb2.OfficeCapacityLimit.FromString(payload))
            for payload in payloads
        ]

    async def advance(self, revision: int) -> bool:
        """Moves the stored limits to ``revision``; False if they are already as of it or later.

        Every replica follows the stream at its own pace: one that lags must
        not overwrite what a replica ahead of it stored. The upsert locks the
        row until commit, so replicas writing at the same time take turns.
        """
        statement = self._insert(WatchPositionRow).values(
            watch=OFFICE_CAPACITY_WATCH, revision=revision, update_time=utcnow()
        )
        statement = statement.on_conflict_do_update(
            index_elements=[WatchPositionRow.watch],
            set_={
                "revision": statement.excluded.revision,
                "update_time": statement.excluded.update_time,
            },
            where=WatchPositionRow.revision < statement.excluded.revision,
        )
        advanced = await self._session.execute(statement.returning(WatchPositionRow.revision))
        return advanced.first() is not None

    async def replace_all(self, messages: Sequence[office_pb2.OfficeCapacityLimit]) -> None:
        """Makes ``messages`` the whole set of office limits."""
        await self._session.execute(delete(OfficeCapacityRow))
        if messages:
            await self._session.execute(
                insert(OfficeCapacityRow),
                [_office_capacity_values(message) for message in messages],
            )

    async def put(self, message: office_pb2.OfficeCapacityLimit) -> None:
        """Stores one office's new limit."""
        values = _office_capacity_values(message)
        statement = self._insert(OfficeCapacityRow).values(values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[OfficeCapacityRow.office_code],
                set_={"payload": statement.excluded.payload},
            )
        )

    def _insert(self, table: type[WatchPositionRow] | type[OfficeCapacityRow]) -> Any:
        insert_into = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        return insert_into(table)


def _office_capacity_values(message: office_pb2.OfficeCapacityLimit) -> dict[str, Any]:
    return {
        "office_code": message.office.removeprefix(_OFFICE_PREFIX),
        "payload": message.SerializeToString(deterministic=True),
    }
