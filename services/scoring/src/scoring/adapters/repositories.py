"""All SQL of the scoring service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import insert_rows, is_unique_violation, utcnow
from scoring.adapters.codec import (
    assessment_from_record,
    decision_record,
    declaration_from_content,
)
from scoring.adapters.orm import ASSESSMENT_VERSION_CONSTRAINT, AssessmentRow, RulesJournalRow
from scoring.domain.assessment import Assessment
from scoring.domain.consignments import consignment_key
from scoring.domain.declaration import Declaration
from scoring.domain.rules import Channel


class DuplicateAssessment(Exception):
    """Another transaction stored an assessment of the same declaration version first."""


@dataclass(frozen=True)
class AssessmentFilter:
    """The filters of ListAssessments; empty values do not filter."""

    office_code: str = ""
    channel: Channel | None = None
    trader_id: str = ""
    declaration_number: str = ""
    lodged_from: datetime | None = None
    lodged_before: datetime | None = None


@dataclass(frozen=True)
class ListPosition:
    """The last assessment of a page, in list order (newest lodgement first, then id)."""

    lodgement_time: datetime
    assessment_id: str


class AssessmentRepository:
    """Assessments, read and written in one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, assessment_id: str) -> Assessment | None:
        """The assessment with this id, if any."""
        row = await self._session.get(AssessmentRow, assessment_id)
        return None if row is None else _to_domain(row)

    async def for_version(self, declaration_number: str, version: int) -> Assessment | None:
        """The assessment of one declaration version, if it was assessed."""
        stored = await self.for_versions([(declaration_number, version)])
        return stored.get((declaration_number, version))

    async def for_versions(
        self, versions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], Assessment]:
        """The stored assessments of these (declaration number, version) pairs, in one query."""
        if not versions:
            return {}
        # By number, one index probe each: a list of (number, version) pairs is
        # planned as a scan of the whole table on PostgreSQL.
        rows = await self._session.execute(
            select(
                AssessmentRow.id,
                AssessmentRow.declaration,
                AssessmentRow.decision,
                AssessmentRow.declaration_number,
                AssessmentRow.version,
            ).where(AssessmentRow.declaration_number.in_({number for number, _ in versions}))
        )
        wanted = set(versions)
        return {
            (number, version): assessment_from_record(row_id, content, decision)
            for row_id, content, decision, number, version in rows
            if (number, version) in wanted
        }

    async def add_all(self, assessments: Sequence[Assessment]) -> None:
        """Stores new assessments with one bulk insert (COPY on PostgreSQL).

        Raises :class:`DuplicateAssessment` if one of the declaration versions
        was stored meanwhile by a concurrent transaction.
        """
        if not assessments:
            return
        try:
            await insert_rows(
                self._session,
                AssessmentRow.__table__,
                [_assessment_row(assessment) for assessment in assessments],
            )
        except IntegrityError as error:
            if is_unique_violation(error, ASSESSMENT_VERSION_CONSTRAINT):
                raise DuplicateAssessment("a version was stored concurrently") from error
            raise

    async def page(
        self, filters: AssessmentFilter, after: ListPosition | None, limit: int
    ) -> list[Assessment]:
        """Up to ``limit`` assessments after ``after``, newest lodgement first."""
        query = _filtered(select(AssessmentRow), filters)
        if after is not None:
            query = query.where(
                or_(
                    AssessmentRow.lodgement_time < after.lodgement_time,
                    and_(
                        AssessmentRow.lodgement_time == after.lodgement_time,
                        AssessmentRow.id < after.assessment_id,
                    ),
                )
            )
        query = query.order_by(AssessmentRow.lodgement_time.desc(), AssessmentRow.id.desc())
        rows = (await self._session.scalars(query.limit(limit))).all()
        return [_to_domain(row) for row in rows]

    async def lodged_declarations(
        self,
        lodged_from: datetime,
        lodged_before: datetime,
        office_codes: Sequence[str],
        batch_size: int,
    ) -> AsyncIterator[list[tuple[Declaration, float | None]]]:
        """The latest version of every declaration lodged in the window, in batches.

        Each with the risk model's score it was assessed with (``None`` without
        an active model), which a criterion's ``risk_model_score`` condition
        reads. An amended declaration counts once, as it was last declared, so
        a replay does not count its earlier versions as more declarations.
        """
        query = select(
            AssessmentRow.declaration_number,
            AssessmentRow.declaration,
            AssessmentRow.risk_model_score,
        ).where(
            AssessmentRow.lodgement_time >= lodged_from,
            AssessmentRow.lodgement_time < lodged_before,
        )
        if office_codes:
            query = query.where(AssessmentRow.office_code.in_(office_codes))
        query = query.order_by(AssessmentRow.declaration_number, AssessmentRow.version.desc())
        result = await self._session.stream(query.execution_options(yield_per=batch_size))
        batch: list[tuple[Declaration, float | None]] = []
        previous_number: str | None = None
        async for number, content, score in result:
            if number == previous_number:
                continue
            previous_number = number
            batch.append((declaration_from_content(content), score))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def _filtered(
    query: Select[tuple[AssessmentRow]], filters: AssessmentFilter
) -> Select[tuple[AssessmentRow]]:
    if filters.office_code:
        query = query.where(AssessmentRow.office_code == filters.office_code)
    if filters.channel is not None:
        query = query.where(AssessmentRow.channel == filters.channel.value)
    if filters.trader_id:
        query = query.where(
            or_(
                AssessmentRow.importer_id == filters.trader_id,
                AssessmentRow.declarant_id == filters.trader_id,
            )
        )
    if filters.declaration_number:
        query = query.where(AssessmentRow.declaration_number == filters.declaration_number)
    if filters.lodged_from is not None:
        query = query.where(AssessmentRow.lodgement_time >= filters.lodged_from)
    if filters.lodged_before is not None:
        query = query.where(AssessmentRow.lodgement_time < filters.lodged_before)
    return query


def _assessment_row(assessment: Assessment) -> dict[str, object]:
    declaration = assessment.declaration
    return {
        "id": assessment.assessment_id,
        "declaration_number": declaration.declaration_number,
        "version": declaration.version,
        "office_code": declaration.office_code,
        "importer_id": declaration.importer.id,
        "declarant_id": declaration.declarant.id if declaration.declarant else None,
        "channel": assessment.decision.channel.value,
        "lodgement_time": declaration.lodgement_time,
        "create_time": assessment.create_time,
        "criteria_revision": assessment.replay.criteria_revision,
        "declaration": assessment.declaration_content,
        "decision": decision_record(assessment),
        "risk_model": assessment.risk.risk_model if assessment.risk else None,
        "risk_model_score": assessment.risk.score if assessment.risk else None,
        "consignment": consignment_key(declaration),
    }


def _to_domain(row: AssessmentRow) -> Assessment:
    return assessment_from_record(row.id, row.declaration, row.decision)


# --- the rules journal -------------------------------------------------------------

#: Kinds of journal records. A snapshot marker records that a full snapshot was
#: applied at its revision, so that the latest revision is known even when the
#: snapshot changed nothing.
CRITERION = "criterion"
NAMED_LIST = "named_list"
SNAPSHOT = "snapshot"
#: The active risk model version (an ActiveRiskModel message), under one key.
RISK_MODEL = "risk_model"


@dataclass(frozen=True)
class JournalRecord:
    """One upsert (payload) or removal (``None``) of a criterion or named list."""

    kind: str
    key: str
    revision: int
    payload: bytes | None


@dataclass(frozen=True)
class JournalState:
    """The criteria and named lists (wire form, by name) as of ``revision``."""

    revision: int
    criteria: dict[str, bytes] = field(default_factory=dict)
    named_lists: dict[str, bytes] = field(default_factory=dict)


class RulesJournal:
    """The journal of what the criteria stream delivered."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self._session = session
        self._dialect = dialect

    async def record(self, records: Sequence[JournalRecord]) -> None:
        """Appends records; one already journaled (same kind, key, revision) is kept as is.

        Several replicas journal the same stream, and a given revision of a
        key always has the same content, so a duplicate is simply skipped.
        """
        if not records:
            return
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        now = utcnow()
        rows = [
            {
                "kind": record.kind,
                "key": record.key,
                "revision": record.revision,
                "payload": record.payload,
                "record_time": now,
            }
            for record in records
        ]
        # An executemany, which SQLAlchemy sends as multi-row statements compiled
        # once: one statement with a parameter per value took a start-up with
        # 10,000 criteria half a minute of compiling.
        connection = await self._session.connection()
        await connection.execute(insert(RulesJournalRow).on_conflict_do_nothing(), rows)

    async def latest_revision(self) -> int | None:
        """The highest revision journaled, or None before the first snapshot."""
        revision: int | None = await self._session.scalar(
            select(func.max(RulesJournalRow.revision))
        )
        return revision

    async def latest(self, kind: str, key: str) -> JournalRecord | None:
        """The latest record of one key, if any."""
        row = await self._session.scalar(
            select(RulesJournalRow)
            .where(RulesJournalRow.kind == kind, RulesJournalRow.key == key)
            .order_by(RulesJournalRow.revision.desc())
            .limit(1)
        )
        return None if row is None else JournalRecord(row.kind, row.key, row.revision, row.payload)

    async def earliest_revision(self) -> int | None:
        """The revision of the first snapshot journaled: states before it are unknown."""
        revision: int | None = await self._session.scalar(
            select(func.min(RulesJournalRow.revision)).where(RulesJournalRow.kind == SNAPSHOT)
        )
        return revision

    async def state_at(self, revision: int) -> JournalState:
        """The latest record of every criterion and named list at or before ``revision``."""
        latest = (
            select(
                RulesJournalRow.kind,
                RulesJournalRow.key,
                func.max(RulesJournalRow.revision).label("revision"),
            )
            .where(
                RulesJournalRow.revision <= revision,
                RulesJournalRow.kind.in_([CRITERION, NAMED_LIST]),
            )
            .group_by(RulesJournalRow.kind, RulesJournalRow.key)
            .subquery()
        )
        rows = await self._session.execute(
            select(RulesJournalRow.kind, RulesJournalRow.key, RulesJournalRow.payload).join(
                latest,
                and_(
                    RulesJournalRow.kind == latest.c.kind,
                    RulesJournalRow.key == latest.c.key,
                    RulesJournalRow.revision == latest.c.revision,
                ),
            )
        )
        state = JournalState(revision)
        for kind, key, payload in rows:
            if payload is not None:
                (state.criteria if kind == CRITERION else state.named_lists)[key] = payload
        return state


def snapshot_records(
    before: JournalState, criteria: dict[str, bytes], named_lists: dict[str, bytes]
) -> list[JournalRecord]:
    """The records that turn ``before`` into a full snapshot at ``before.revision``.

    Only differences are journaled: what was added or changed, and removals
    for what the snapshot no longer holds, plus the snapshot marker.
    """
    revision = before.revision
    records = [JournalRecord(SNAPSHOT, "", revision, b"")]
    for kind, old, new in (
        (CRITERION, before.criteria, criteria),
        (NAMED_LIST, before.named_lists, named_lists),
    ):
        records.extend(
            JournalRecord(kind, key, revision, payload)
            for key, payload in new.items()
            if old.get(key) != payload
        )
        records.extend(JournalRecord(kind, key, revision, None) for key in old if key not in new)
    return records
