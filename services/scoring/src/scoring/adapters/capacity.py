"""Capacity policies and office capacity: their wire form, their tables, and exam_reports.

Three stores: the append-only journal of capacity policy changes, the ledger
of the examinations scoring selected (to count an office's use of the day),
and an in-memory cache of the daily capacity exam_reports publishes, kept
fresh in the background so that no assessment waits for exam_reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import grpc
import structlog
from customs.common.v1 import selection_rule_pb2
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import capacity_policy_pb2
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.adapters.codec import (
    channel_from_proto,
    channel_to_proto,
    datetime_to_timestamp,
    level_from_proto,
)
from scoring.adapters.orm import CapacityPolicyChangeRow, ExaminationSelectionRow
from scoring.domain.capacity import (
    CapacityPolicies,
    CapacityPolicy,
    DowngradeRule,
    office_day,
)
from scoring.domain.rules import Channel, DocumentRequirement, ExaminationLevel

_log = structlog.get_logger(__name__)

#: An examination type: (channel, level); the level is NONE for YELLOW.
ExaminationType = tuple[Channel, ExaminationLevel]
MetadataProvider = Callable[[], Sequence[tuple[str, str]]]

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

#: The longest range GetOfficeCapacity answers (92 days).
_MAX_RANGE_DAYS = 92
_CALL_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class OfficeDayCapacity:
    """An office's daily capacity per examination type on one day (office time zone).

    ``known`` is False until exam_reports answered for the office and day, and
    when it does not know the office; no capacity limit applies then.
    """

    office_code: str
    day: date
    known: bool
    capacities: Mapping[ExaminationType, int] = field(default_factory=dict)


class OfficeCapacityCache:
    """exam_reports' daily capacity of the offices scoring assesses for, held in memory.

    :meth:`lookup` never waits: an office and day not yet known answers
    "unknown" at once and is fetched in the background, and every day looked
    up recently is refreshed every ``refresh_seconds`` (capacity changes when
    facilities open, close or change, which is rare). Days not looked up for
    ``retain_seconds`` are forgotten. While exam_reports is unreachable the
    last figures received are kept.
    """

    def __init__(
        self,
        exam_reports: grpc.aio.Channel | None,
        metadata: MetadataProvider,
        *,
        refresh_seconds: float = 60.0,
        retain_seconds: float = 6 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = (
            exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports)  # type: ignore[no-untyped-call]
            if exam_reports is not None
            else None
        )
        self._metadata = metadata
        self._refresh_seconds = refresh_seconds
        self._retain_seconds = retain_seconds
        self._clock = clock
        #: Office code → IANA time zone ("" until known).
        self._zones: dict[str, str] = {}
        self._days: dict[tuple[str, date], OfficeDayCapacity] = {}
        self._last_wanted: dict[tuple[str, date], float] = {}
        self._pending: set[tuple[str, date]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def lookup(self, office_code: str, moment: datetime) -> OfficeDayCapacity:
        """The capacity on the day of ``moment`` at the office, or "unknown" (never blocks)."""
        day = office_day(moment, self._zones.get(office_code, ""))
        key = (office_code, day)
        self._last_wanted[key] = self._clock()
        found = self._days.get(key)
        if found is not None:
            return found
        if key not in self._pending:
            self._pending.add(key)
            self._wake.set()
        return OfficeDayCapacity(office_code, day, known=False)

    async def start(self) -> None:
        """Starts refreshing in the background."""
        self._task = asyncio.create_task(self._run(), name="office-capacity-refresh")

    async def stop(self) -> None:
        """Stops refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        next_full = self._clock()
        while True:
            self._wake.clear()
            full = self._clock() >= next_full
            try:
                await self.refresh(full=full)
            except Exception:
                _log.exception("office_capacity_refresh_failed")
            if full:
                next_full = self._clock() + self._refresh_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=max(next_full - self._clock(), 0.0)
                )

    async def refresh(self, *, full: bool) -> None:
        """Fetches the days missed since the last call, or (``full``) every day wanted."""
        stub = self._stub
        if stub is None:
            return
        if full:
            horizon = self._clock() - self._retain_seconds
            for key in [k for k, at in self._last_wanted.items() if at < horizon]:
                del self._last_wanted[key]
                self._days.pop(key, None)
            wanted = set(self._last_wanted) | self._pending
        else:
            wanted = set(self._pending)
        self._pending -= wanted
        by_office: dict[str, set[date]] = {}
        for office_code, day in wanted:
            # Until the office's zone is known, the day was taken in UTC: the
            # office's own day may be the one before or after.
            spread = (-1, 0, 1) if not self._zones.get(office_code) else (0,)
            by_office.setdefault(office_code, set()).update(
                day + timedelta(days=shift) for shift in spread
            )
        for office_code, days in sorted(by_office.items()):
            try:
                await self._fetch_office(stub, office_code, days)
            except grpc.aio.AioRpcError as error:
                # The days stay wanted: the next full refresh tries them again.
                _log.warning(
                    "office_capacity_unavailable", office=office_code, code=error.code().name
                )

    async def _fetch_office(
        self,
        stub: exam_reports_service_pb2_grpc.ExamReportsServiceStub,
        office_code: str,
        days: set[date],
    ) -> None:
        metadata = tuple(self._metadata())
        try:
            office = await stub.GetOffice(
                exam_reports_service_pb2.GetOfficeRequest(name=f"offices/{office_code}"),
                metadata=metadata,
                timeout=_CALL_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            for day in days:
                self._days[(office_code, day)] = OfficeDayCapacity(office_code, day, known=False)
            return
        self._zones[office_code] = office.office.time_zone
        for first, last in _ranges(days):
            response = await stub.GetOfficeCapacity(
                exam_reports_service_pb2.GetOfficeCapacityRequest(
                    office=f"offices/{office_code}",
                    start_date=first.isoformat(),
                    end_date=last.isoformat(),
                ),
                metadata=metadata,
                timeout=_CALL_TIMEOUT_SECONDS,
            )
            for daily in response.office_capacity.days:
                day = date.fromisoformat(daily.date)
                if day not in days:
                    continue
                self._days[(office_code, day)] = OfficeDayCapacity(
                    office_code,
                    day,
                    known=True,
                    capacities={_examination_type(usage): usage.capacity for usage in daily.usages},
                )
        _log.debug("office_capacity_refreshed", office=office_code, days=len(days))


def _examination_type(usage: office_pb2.CapacityUsage) -> ExaminationType:
    return channel_from_proto(usage.channel), level_from_proto(usage.examination_level)


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted ``days`` grouped into ranges GetOfficeCapacity accepts (at most 92 days)."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and (day - ranges[-1][0]).days < _MAX_RANGE_DAYS:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
