"""All SQL of the criteria service, mapping rows to and from domain objects."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased, defer

from criteria.adapters.orm import (
    AuditFindingCriterionRow,
    AuditFindingRow,
    CriterionRevisionRow,
    CriterionRow,
    CriterionVersionRow,
    ExaminationCriterionHitRow,
    ExaminationOutcomeRow,
    HistoryEntryRow,
    ImpactAnalysisRow,
    NamedListRevisionRow,
    NamedListRow,
    RecommendationRow,
    RiskProfileRow,
)
from criteria.domain.history import ChangeKind, FieldChange, HistoryEntry
from criteria.domain.impact import (
    CapacityExceedance,
    CriterionOverlap,
    ExaminationLoad,
    ExaminationType,
    ImpactAnalysis,
    OfficeDayImpact,
)
from criteria.domain.model import (
    AmendmentState,
    Criterion,
    CriterionContent,
    CriterionState,
    Document,
    NamedList,
    NamedListContent,
    NamedListKind,
    ProfileSource,
    Revision,
    RiskProfile,
    RiskProfileContent,
)
from criteria.domain.outcomes import (
    Amount,
    AuditFinding,
    ExaminationOutcome,
    ExaminedDeclaration,
    ReceivedEvent,
)
from criteria.domain.oversight import Decision, PeriodChange, StateChange
from criteria.domain.performance import OfficeResults, PerformanceFacts, RandomResults
from criteria.domain.recommendations import (
    MAX_EVIDENCE,
    Evidence,
    Recommendation,
    RecommendationKind,
    RecommendationState,
)

# Any fixed key works: the database belongs to this service alone. It differs
# from the change feed's key, which is taken after this one.
_HISTORY_LOCK_KEY = 7_302_118_412
#: Sorts unranked profiles (priority 0) after every ranked one (1 to 100).
_UNRANKED = 1000

_Latest = aliased(CriterionRevisionRow, name="latest_revision")
_Active = aliased(CriterionRevisionRow, name="active_revision")
_LatestProfile = aliased(RiskProfileRow, name="latest_profile")
_ActiveProfile = aliased(RiskProfileRow, name="active_profile")


@dataclass(frozen=True)
class CriteriaFilter:
    """The filters of ListCriteria; empty values keep everything."""

    risk_profile_id: str = ""
    states: tuple[CriterionState, ...] = ()
    risk_area: str = ""
    campaign_tag: str = ""
    author: str = ""


def profile_rank(priority: int) -> int:
    """The sort key of a profile's priority: ranked first, highest (1) first."""
    return priority or _UNRANKED


class Repository:
    """Reads and writes of one unit of work (one session, one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- history ------------------------------------------------------------

    async def lock_history(self) -> None:
        """Makes this transaction the only writer until it ends.

        Every change appends to one hash chain whose next link depends on the
        last, so writers are serialised anyway; taking the lock first also
        means everything read afterwards is current. SQLite's BEGIN IMMEDIATE
        already allows one writer at a time.
        """
        if self._session.bind.dialect.name == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _HISTORY_LOCK_KEY}
            )

    async def history_head(self) -> HistoryEntry | None:
        """The last entry of the chain, if any."""
        row = await self._session.scalar(
            select(HistoryEntryRow).order_by(HistoryEntryRow.sequence.desc()).limit(1)
        )
        return None if row is None else _history_entry(row)

    async def add_history(self, entry: HistoryEntry, resource_version: int) -> None:
        """Appends ``entry`` as change number ``resource_version`` of its resource."""
        await self._session.execute(
            insert(HistoryEntryRow).values(
                sequence=entry.sequence,
                resource=entry.resource,
                resource_version=resource_version,
                kind=entry.kind.value,
                actor=entry.actor,
                actor_roles=json.dumps(list(entry.actor_roles)),
                change_time=entry.change_time,
                reason=entry.reason,
                field_changes=json.dumps(
                    [[c.path, c.old_value, c.new_value] for c in entry.field_changes],
                    ensure_ascii=False,
                ),
                previous_hash=entry.previous_hash,
                hash=entry.hash,
            )
        )

    async def history_after(self, sequence: int, limit: int) -> list[HistoryEntry]:
        """Up to ``limit`` entries after ``sequence``, in chain order."""
        rows = await self._session.scalars(
            select(HistoryEntryRow)
            .where(HistoryEntryRow.sequence > sequence)
            .order_by(HistoryEntryRow.sequence)
            .limit(limit)
        )
        return [_history_entry(row) for row in rows]

    # -- risk profiles ------------------------------------------------------

    async def get_risk_profile(self, profile_id: str) -> RiskProfile | None:
        """The profile, if it exists."""
        row = await self._session.get(RiskProfileRow, profile_id)
        return None if row is None else _risk_profile(row)

    async def risk_area(self, profile_id: str) -> str | None:
        """The risk area of a profile, or None if the profile does not exist."""
        area: str | None = await self._session.scalar(
            select(RiskProfileRow.risk_area).where(RiskProfileRow.id == profile_id)
        )
        return area

    async def add_risk_profile(self, profile: RiskProfile) -> None:
        """Stores a new profile."""
        content = profile.content
        self._session.add(
            RiskProfileRow(
                id=profile.id,
                title=content.title,
                risk_area=content.risk_area,
                priority=content.priority,
                rationale=content.rationale,
                sources=_sources_json(content.sources),
                indicators=json.dumps(list(content.indicators), ensure_ascii=False),
                intended_treatment=content.intended_treatment.encoded,
                owner=content.owner,
                next_review_date=content.next_review_date,
                revision=profile.revision,
                create_time=profile.create_time,
                update_time=profile.update_time,
            )
        )
        await self._session.flush()

    async def save_risk_profile(self, profile: RiskProfile) -> None:
        """Stores a profile's new revision in place."""
        content = profile.content
        await self._session.execute(
            update(RiskProfileRow)
            .where(RiskProfileRow.id == profile.id)
            .values(
                title=content.title,
                risk_area=content.risk_area,
                priority=content.priority,
                rationale=content.rationale,
                sources=_sources_json(content.sources),
                indicators=json.dumps(list(content.indicators), ensure_ascii=False),
                intended_treatment=content.intended_treatment.encoded,
                owner=content.owner,
                next_review_date=content.next_review_date,
                revision=profile.revision,
                update_time=profile.update_time,
            )
        )

    async def list_risk_profiles(
        self, after: tuple[int, str] | None, limit: int, *, risk_area: str, owner: str
    ) -> list[RiskProfile]:
        """Profiles by (rank, id) after the keyset position ``after``."""
        rank = case((RiskProfileRow.priority == 0, _UNRANKED), else_=RiskProfileRow.priority)
        query = select(RiskProfileRow).order_by(rank, RiskProfileRow.id).limit(limit)
        if after is not None:
            query = query.where(
                or_(rank > after[0], and_(rank == after[0], RiskProfileRow.id > after[1]))
            )
        if risk_area:
            query = query.where(RiskProfileRow.risk_area == risk_area)
        if owner:
            query = query.where(RiskProfileRow.owner == owner)
        return [_risk_profile(row) for row in await self._session.scalars(query)]

    # -- named lists --------------------------------------------------------

    async def get_named_list(self, list_id: str, *, with_items: bool = True) -> NamedList | None:
        """The list at its current revision (``items`` left empty unless ``with_items``)."""
        found = await self._named_lists(
            NamedListRow.id == list_id, after="", limit=1, with_items=with_items
        )
        return found[0] if found else None

    async def named_list_kinds(self, names: Collection[str]) -> dict[str, NamedListKind]:
        """The kind of each existing list among ``names`` (``namedLists/{id}``), by name."""
        ids = {name.removeprefix("namedLists/") for name in names}
        if not ids:
            return {}
        rows = await self._session.execute(
            select(NamedListRow.id, NamedListRow.kind).where(NamedListRow.id.in_(ids))
        )
        return {f"namedLists/{row.id}": NamedListKind(row.kind) for row in rows}

    async def add_named_list(self, named_list: NamedList, history_sequence: int) -> None:
        """Stores a new list and its first revision."""
        await self._session.execute(
            insert(NamedListRow).values(
                id=named_list.id,
                kind=named_list.content.kind.value,
                create_time=named_list.create_time,
                revision=named_list.revision,
            )
        )
        await self._add_named_list_revision(named_list, history_sequence)

    async def save_named_list(self, named_list: NamedList, history_sequence: int) -> None:
        """Stores a new revision of a list and makes it current."""
        await self._add_named_list_revision(named_list, history_sequence)
        await self._session.execute(
            update(NamedListRow)
            .where(NamedListRow.id == named_list.id)
            .values(revision=named_list.revision)
        )

    async def delete_named_list(self, list_id: str) -> None:
        """Removes a list and its revisions (the history keeps every change)."""
        await self._session.execute(
            delete(NamedListRevisionRow).where(NamedListRevisionRow.named_list_id == list_id)
        )
        await self._session.execute(delete(NamedListRow).where(NamedListRow.id == list_id))

    async def rules_in_use(self) -> list[tuple[str, Document]]:
        """(id, rule) of the latest and applied revisions of the criteria not retired."""
        revision = CriterionRevisionRow
        rows = await self._session.execute(
            select(CriterionRow.id, revision.rule)
            .join(
                CriterionVersionRow,
                and_(
                    CriterionVersionRow.criterion_id == CriterionRow.id,
                    CriterionVersionRow.version == CriterionRow.version,
                ),
            )
            .join(
                revision,
                and_(
                    revision.criterion_id == CriterionRow.id,
                    or_(
                        revision.revision == CriterionVersionRow.revision,
                        revision.revision == CriterionVersionRow.active_revision,
                    ),
                ),
            )
            .where(CriterionVersionRow.state != CriterionState.RETIRED.value)
            .order_by(CriterionRow.id)
        )
        return [(criterion_id, Document(rule)) for criterion_id, rule in rows]

    async def list_named_lists(
        self, after: str, limit: int, *, kind: NamedListKind | None, with_items: bool
    ) -> list[NamedList]:
        """Lists by id after ``after``, optionally of one kind."""
        condition = NamedListRow.kind == kind.value if kind is not None else None
        return await self._named_lists(condition, after=after, limit=limit, with_items=with_items)

    async def named_list_versions(
        self, list_id: str, after: int, limit: int
    ) -> list[tuple[NamedList, HistoryEntry]]:
        """The revisions of a list after revision ``after``, each with its history entry."""
        query = (
            select(NamedListRow, NamedListRevisionRow, HistoryEntryRow)
            .join(NamedListRevisionRow, NamedListRevisionRow.named_list_id == NamedListRow.id)
            .join(
                HistoryEntryRow,
                HistoryEntryRow.sequence == NamedListRevisionRow.history_sequence,
            )
            .where(NamedListRow.id == list_id, NamedListRevisionRow.revision > after)
            .order_by(NamedListRevisionRow.revision)
            .limit(limit)
        )
        rows = await self._session.execute(query)
        return [(_named_list(row[0], row[1], row[1].items), _history_entry(row[2])) for row in rows]

    async def _add_named_list_revision(self, named_list: NamedList, history_sequence: int) -> None:
        content = named_list.content
        await self._session.execute(
            insert(NamedListRevisionRow).values(
                named_list_id=named_list.id,
                revision=named_list.revision,
                history_sequence=history_sequence,
                title=content.title,
                description=content.description,
                items=content.items.encoded,
                editor=named_list.last_editor,
                update_time=named_list.update_time,
            )
        )

    async def _named_lists(
        self,
        condition: ColumnElement[bool] | None,
        *,
        after: str,
        limit: int,
        with_items: bool,
    ) -> list[NamedList]:
        query = (
            select(NamedListRow, NamedListRevisionRow)
            .join(
                NamedListRevisionRow,
                and_(
                    NamedListRevisionRow.named_list_id == NamedListRow.id,
                    NamedListRevisionRow.revision == NamedListRow.revision,
                ),
            )
            .where(NamedListRow.id > after)
            .order_by(NamedListRow.id)
            .limit(limit)
        )
        if not with_items:
            query = query.options(defer(NamedListRevisionRow.items))
        if condition is not None:
            query = query.where(condition)
        rows = await self._session.execute(query)
        return [_named_list(row[0], row[1], row[1].items if with_items else b"") for row in rows]

    # -- criteria -----------------------------------------------------------

    async def get_criterion(self, criterion_id: str) -> Criterion | None:
        """The criterion at its current version, if it exists."""
        found = await self._criteria(CriterionRow.id == criterion_id, limit=1)
        return found[0] if found else None

    async def criteria_by_id(self, criterion_ids: Collection[str]) -> dict[str, Criterion]:
        """The existing criteria among ``criterion_ids``, at their current versions, by id."""
        ids = list(criterion_ids)
        if not ids:
            return {}
        found = await self._criteria(CriterionRow.id.in_(ids), limit=len(ids))
        return {criterion.id: criterion for criterion in found}

    async def criterion_exists(self, criterion_id: str) -> bool:
        """Whether a criterion with this id exists."""
        found = await self._session.scalar(
            select(CriterionRow.id).where(CriterionRow.id == criterion_id)
        )
        return found is not None

    async def add_criterion(self, criterion: Criterion, history_sequence: int) -> None:
        """Stores a new criterion with its first revision and version."""
        await self._session.execute(
            insert(CriterionRow).values(
                id=criterion.id,
                author=criterion.author,
                create_time=criterion.create_time,
                version=criterion.version,
            )
        )
        await self._add_revision(criterion.id, criterion.latest)
        await self._add_version(criterion, history_sequence)

    async def save_criterion(
        self, criterion: Criterion, new_revision: Revision | None, history_sequence: int
    ) -> None:
        """Stores the criterion's new version (and revision, for a content change)."""
        if new_revision is not None:
            await self._add_revision(criterion.id, new_revision)
        await self._add_version(criterion, history_sequence)
        await self._session.execute(
            update(CriterionRow)
            .where(CriterionRow.id == criterion.id)
            .values(version=criterion.version)
        )

    async def list_criteria(
        self, after: str, limit: int, criteria_filter: CriteriaFilter
    ) -> list[Criterion]:
        """Criteria by id after ``after`` that pass ``criteria_filter``."""
        conditions: list[ColumnElement[bool]] = [CriterionRow.id > after]
        if criteria_filter.risk_profile_id:
            conditions.append(_Latest.risk_profile_id == criteria_filter.risk_profile_id)
        if criteria_filter.states:
            conditions.append(
                CriterionVersionRow.state.in_([s.value for s in criteria_filter.states])
            )
        if criteria_filter.risk_area:
            conditions.append(_LatestProfile.risk_area == criteria_filter.risk_area)
        if criteria_filter.campaign_tag:
            conditions.append(_Latest.campaign_tag == criteria_filter.campaign_tag)
        if criteria_filter.author:
            conditions.append(CriterionRow.author == criteria_filter.author)
        return await self._criteria(and_(*conditions), limit=limit)

    async def criterion_versions(
        self, criterion_id: str, after: int, limit: int
    ) -> list[tuple[Criterion, HistoryEntry]]:
        """The versions of a criterion after version ``after``, each with its history entry."""
        query = (
            _criterion_query(CriterionVersionRow.criterion_id == CriterionRow.id)
            .add_columns(HistoryEntryRow)
            .join(HistoryEntryRow, HistoryEntryRow.sequence == CriterionVersionRow.history_sequence)
            .where(CriterionRow.id == criterion_id, CriterionVersionRow.version > after)
            .order_by(CriterionVersionRow.version)
            .limit(limit)
        )
        rows = await self._session.execute(query)
        return [(_criterion(row), _history_entry(row[-1])) for row in rows]

    async def criteria_due_for_expiry(self, now: datetime) -> list[str]:
        """Ids of ACTIVE or SUSPENDED criteria whose applied window has closed at ``now``."""
        rows = await self._session.scalars(
            self._applied_windows().where(_Active.validity_end_time <= now)
        )
        return list(rows)

    async def next_expiry(self, now: datetime) -> datetime | None:
        """The earliest end of an applied window still open at ``now``."""
        query = self._applied_windows().where(_Active.validity_end_time > now)
        soonest: datetime | None = await self._session.scalar(
            select(func.min(query.subquery().c.validity_end_time))
        )
        return soonest

    @staticmethod
    def _applied_windows() -> Select[Any]:
        return (
            select(CriterionRow.id, _Active.validity_end_time)
            .join(
                CriterionVersionRow,
                and_(
                    CriterionVersionRow.criterion_id == CriterionRow.id,
                    CriterionVersionRow.version == CriterionRow.version,
                ),
            )
            .join(
                _Active,
                and_(
                    _Active.criterion_id == CriterionRow.id,
                    _Active.revision == CriterionVersionRow.active_revision,
                ),
            )
            .where(
                CriterionVersionRow.state.in_(
                    [CriterionState.ACTIVE.value, CriterionState.SUSPENDED.value]
                )
            )
        )

    async def _criteria(self, condition: ColumnElement[bool], *, limit: int) -> list[Criterion]:
        query = (
            _criterion_query(
                and_(
                    CriterionVersionRow.criterion_id == CriterionRow.id,
                    CriterionVersionRow.version == CriterionRow.version,
                )
            )
            .where(condition)
            .order_by(CriterionRow.id)
            .limit(limit)
        )
        return [_criterion(row) for row in await self._session.execute(query)]

    async def _add_revision(self, criterion_id: str, revision: Revision) -> None:
        content = revision.content
        await self._session.execute(
            insert(CriterionRevisionRow).values(
                criterion_id=criterion_id,
                revision=revision.number,
                risk_profile_id=content.risk_profile.removeprefix("riskProfiles/"),
                title=content.title,
                description=content.description,
                rule=content.rule.encoded,
                validity_start_time=content.validity_start,
                validity_end_time=content.validity_end,
                campaign_tag=content.campaign_tag,
                author=revision.author,
                create_time=revision.create_time,
            )
        )

    async def _add_version(self, criterion: Criterion, history_sequence: int) -> None:
        await self._session.execute(
            insert(CriterionVersionRow).values(
                criterion_id=criterion.id,
                version=criterion.version,
                history_sequence=history_sequence,
                state=criterion.state.value,
                amendment_state=criterion.amendment_state.value,
                revision=criterion.revision,
                active_revision=criterion.active_revision,
                approver=criterion.approver,
                approve_time=criterion.approve_time,
                update_time=criterion.update_time,
            )
        )

    # -- impact analyses ----------------------------------------------------

    async def add_impact_analysis(self, analysis: ImpactAnalysis) -> None:
        """Stores an impact analysis."""
        self._session.add(
            ImpactAnalysisRow(
                id=analysis.id,
                criterion_id=analysis.criterion_id,
                criterion_revision=analysis.criterion_revision,
                start_time=analysis.start_time,
                end_time=analysis.end_time,
                declarations_replayed=analysis.declarations_replayed,
                hits=analysis.hits,
                selections=analysis.selections,
                scoring_criteria_revision=analysis.scoring_criteria_revision,
                requested_by=analysis.requested_by,
                create_time=analysis.create_time,
                office_days=json.dumps(
                    [
                        [
                            day.office_code,
                            day.day,
                            day.hits,
                            day.selections,
                            day.overlap_with_active,
                            day.audit_referrals_added,
                            [
                                [
                                    load.examination_type.channel,
                                    load.examination_type.level,
                                    load.added,
                                    load.total,
                                    load.capacity,
                                ]
                                for load in day.examinations
                            ],
                        ]
                        for day in analysis.office_days
                    ]
                ),
                capacity_exceedances=json.dumps(
                    [
                        [e.office_code, e.days_exceeded, e.worst_day, e.worst_utilisation_percent]
                        for e in analysis.capacity_exceedances
                    ]
                ),
                overlaps=json.dumps(
                    [[o.criterion, o.shared_selections] for o in analysis.overlaps],
                    ensure_ascii=False,
                ),
            )
        )
        await self._session.flush()

    async def get_impact_analysis(
        self, criterion_id: str, analysis_id: str
    ) -> ImpactAnalysis | None:
        """The analysis ``analysis_id`` of the criterion, if it exists."""
        row = await self._session.scalar(
            select(ImpactAnalysisRow).where(
                ImpactAnalysisRow.id == analysis_id,
                ImpactAnalysisRow.criterion_id == criterion_id,
            )
        )
        return None if row is None else _impact_analysis(row)

    async def list_impact_analyses(
        self, criterion_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[ImpactAnalysis]:
        """The criterion's analyses, newest first, after the keyset position ``after``."""
        query = (
            select(ImpactAnalysisRow)
            .where(ImpactAnalysisRow.criterion_id == criterion_id)
            .order_by(ImpactAnalysisRow.create_time.desc(), ImpactAnalysisRow.id.desc())
            .limit(limit)
        )
        if after is not None:
            time, analysis_id = after
            query = query.where(
                or_(
                    ImpactAnalysisRow.create_time < time,
                    and_(
                        ImpactAnalysisRow.create_time == time,
                        ImpactAnalysisRow.id < analysis_id,
                    ),
                )
            )
        return [_impact_analysis(row) for row in await self._session.scalars(query)]

    # -- received results ---------------------------------------------------

    async def add_examination_outcome(
        self, event: ReceivedEvent, outcome: ExaminationOutcome, received: datetime
    ) -> None:
        """Stores an examination outcome and the criteria that designated it."""
        self._session.add(
            ExaminationOutcomeRow(
                event_id=event.event_id,
                source_service=event.source_service,
                occur_time=event.occur_time,
                receive_time=received,
                examination_report=outcome.examination_report,
                assessment=outcome.assessment,
                declaration_number=outcome.declaration_number,
                declaration_version=outcome.declaration_version,
                office_code=outcome.office_code,
                importer_id=outcome.importer_id,
                declarant_id=outcome.declarant_id,
                examine_time=outcome.examine_time,
                channel=outcome.channel,
                examination_level=outcome.examination_level,
                randomly_selected=outcome.randomly_selected,
                officer_initiated=outcome.officer_initiated,
                discrepancy_found=outcome.discrepancy_found,
                **_amount_columns("revenue", outcome.revenue_found),
                penalty_recommended=outcome.penalty_recommended,
                seized=outcome.seized,
            )
        )
        await self._session.flush()
        if outcome.criterion_hits:
            await self._session.execute(
                insert(ExaminationCriterionHitRow),
                [
                    {
                        "event_id": event.event_id,
                        "position": position,
                        "criterion_id": hit.criterion.removeprefix("criteria/"),
                        "criterion_revision": hit.revision,
                        "item_number": hit.item_number,
                        "discrepancy_found": hit.discrepancy_found,
                    }
                    for position, hit in enumerate(outcome.criterion_hits)
                ],
            )

    async def add_audit_finding(
        self, event: ReceivedEvent, finding: AuditFinding, received: datetime
    ) -> None:
        """Stores an audit finding and the criteria that led to it."""
        self._session.add(
            AuditFindingRow(
                event_id=event.event_id,
                source_service=event.source_service,
                occur_time=event.occur_time,
                receive_time=received,
                audit_case=finding.audit_case,
                importer_id=finding.importer_id,
                declaration_numbers=json.dumps(list(finding.declaration_numbers)),
                outcome=finding.outcome,
                discrepancy_found=finding.discrepancy_found,
                **_amount_columns("unpaid_duty", finding.unpaid_duty_assessed),
                **_amount_columns("penalty", finding.penalty_amount),
                finding_time=finding.finding_time,
            )
        )
        await self._session.flush()
        if finding.criteria:
            await self._session.execute(
                insert(AuditFindingCriterionRow),
                [
                    {
                        "event_id": event.event_id,
                        "position": position,
                        "criterion_id": criterion.removeprefix("criteria/"),
                    }
                    for position, criterion in enumerate(finding.criteria)
                ],
            )


def _sources_json(sources: Sequence[ProfileSource]) -> str:
    return json.dumps(
        [{"kind": s.kind, "description": s.description, "reference": s.reference} for s in sources],
        ensure_ascii=False,
    )


def _amount_columns(prefix: str, amount: Amount | None) -> dict[str, Any]:
    return {
        f"{prefix}_currency": amount.currency_code if amount else None,
        f"{prefix}_units": amount.units if amount else None,
        f"{prefix}_nanos": amount.nanos if amount else None,
    }


def _criterion_query(version_join: ColumnElement[bool]) -> Select[Any]:
    return (
        select(
            CriterionRow,
            CriterionVersionRow,
            _Latest,
            _LatestProfile.risk_area,
            _Active,
            _ActiveProfile.risk_area,
        )
        .join(CriterionVersionRow, version_join)
        .join(
            _Latest,
            and_(
                _Latest.criterion_id == CriterionRow.id,
                _Latest.revision == CriterionVersionRow.revision,
            ),
        )
        .join(_LatestProfile, _LatestProfile.id == _Latest.risk_profile_id)
        .outerjoin(
            _Active,
            and_(
                _Active.criterion_id == CriterionRow.id,
                _Active.revision == CriterionVersionRow.active_revision,
            ),
        )
        .outerjoin(_ActiveProfile, _ActiveProfile.id == _Active.risk_profile_id)
    )


def _criterion(row: Sequence[Any]) -> Criterion:
    criterion, version, latest, latest_area, active, active_area = row[:6]
    return Criterion(
        id=criterion.id,
        author=criterion.author,
        create_time=criterion.create_time,
        version=version.version,
        state=CriterionState(version.state),
        amendment_state=AmendmentState(version.amendment_state),
        latest=_revision(latest, latest_area),
        active=None if active is None else _revision(active, active_area),
        approver=version.approver,
        approve_time=version.approve_time,
        update_time=version.update_time,
    )


def _revision(row: CriterionRevisionRow, risk_area: str) -> Revision:
    return Revision(
        number=row.revision,
        content=CriterionContent(
            risk_profile=f"riskProfiles/{row.risk_profile_id}",
            title=row.title,
            description=row.description,
            rule=Document(row.rule),
            validity_start=row.validity_start_time,
            validity_end=row.validity_end_time,
            campaign_tag=row.campaign_tag,
        ),
        author=row.author,
        create_time=row.create_time,
        risk_area=risk_area,
    )


def _named_list(row: NamedListRow, revision: NamedListRevisionRow, items: bytes) -> NamedList:
    return NamedList(
        id=row.id,
        content=NamedListContent(
            title=revision.title,
            description=revision.description,
            kind=NamedListKind(row.kind),
            items=Document(items),
        ),
        revision=revision.revision,
        last_editor=revision.editor,
        create_time=row.create_time,
        update_time=revision.update_time,
    )


def _risk_profile(row: RiskProfileRow) -> RiskProfile:
    return RiskProfile(
        id=row.id,
        content=RiskProfileContent(
            title=row.title,
            risk_area=row.risk_area,
            priority=row.priority,
            rationale=row.rationale,
            sources=tuple(
                ProfileSource(s["kind"], s["description"], s["reference"])
                for s in json.loads(row.sources)
            ),
            indicators=tuple(json.loads(row.indicators)),
            intended_treatment=Document(row.intended_treatment),
            owner=row.owner,
            next_review_date=row.next_review_date,
        ),
        revision=row.revision,
        create_time=row.create_time,
        update_time=row.update_time,
    )


def _history_entry(row: HistoryEntryRow) -> HistoryEntry:
    return HistoryEntry(
        sequence=row.sequence,
        resource=row.resource,
        kind=ChangeKind(row.kind),
        actor=row.actor,
        actor_roles=tuple(json.loads(row.actor_roles)),
        change_time=row.change_time,
        reason=row.reason,
        field_changes=tuple(FieldChange(*change) for change in json.loads(row.field_changes)),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


def _impact_analysis(row: ImpactAnalysisRow) -> ImpactAnalysis:
    return ImpactAnalysis(
        id=row.id,
        criterion_id=row.criterion_id,
        criterion_revision=row.criterion_revision,
        start_time=row.start_time,
        end_time=row.end_time,
        declarations_replayed=row.declarations_replayed,
        hits=row.hits,
        selections=row.selections,
        office_days=tuple(
            OfficeDayImpact(
                office_code=office,
                day=day,
                hits=hits,
                selections=selections,
                overlap_with_active=overlap,
                audit_referrals_added=referrals,
                examinations=tuple(
                    ExaminationLoad(ExaminationType(channel, level), added, total, capacity)
                    for channel, level, added, total, capacity in loads
                ),
            )
            for office, day, hits, selections, overlap, referrals, loads in json.loads(
                row.office_days
            )
        ),
        capacity_exceedances=tuple(
            CapacityExceedance(office, days, worst_day, worst)
            for office, days, worst_day, worst in json.loads(row.capacity_exceedances)
        ),
        overlaps=tuple(
            CriterionOverlap(criterion, shared) for criterion, shared in json.loads(row.overlaps)
        ),
        scoring_criteria_revision=row.scoring_criteria_revision,
        requested_by=row.requested_by,
        create_time=row.create_time,
    )


# ---------------------------------------------------------------------------
# Performance, recommendations and the oversight report


def _examinations(*conditions: ColumnElement[bool]) -> Subquery:
    """One row per (criterion, examination): whether it found a discrepancy for the criterion.

    An examination can hit a criterion on several items; it counts once, with a
    discrepancy if any of those hits found one.
    """
    hit, outcome = ExaminationCriterionHitRow, ExaminationOutcomeRow
    return (
        select(
            hit.criterion_id,
            hit.event_id,
            func.max(case((hit.discrepancy_found, 1), else_=0)).label("discrepancy"),
        )
        .join(outcome, outcome.event_id == hit.event_id)
        .where(*conditions)
        .group_by(hit.criterion_id, hit.event_id)
        .subquery()
    )


def _flag(column: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
    return func.sum(case((column, 1), else_=0))


def _period(start: datetime, end: datetime, office_code: str) -> list[ColumnElement[bool]]:
    outcome = ExaminationOutcomeRow
    conditions = [outcome.examine_time >= start, outcome.examine_time < end]
    if office_code:
        conditions.append(outcome.office_code == office_code)
    return conditions


def _amounts(rows: Sequence[Any]) -> dict[str, list[Amount]]:
    found: dict[str, list[Amount]] = {}
    for key, currency, units, nanos in rows:
        found.setdefault(key, []).append(Amount(currency, int(units or 0), int(nanos or 0)))
    return found


class PerformanceRepository:
    """The reads and writes behind performance figures, recommendations and the report."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- outcomes -----------------------------------------------------------

    async def performance_facts(
        self, criterion_ids: Collection[str], start: datetime, end: datetime, office_code: str
    ) -> dict[str, PerformanceFacts]:
        """The stored results of each criterion over ``[start, end)``, optionally at one office.

        Audit findings concern a trader, not an office: they count whatever the office.
        """
        ids = list(criterion_ids)
        outcome = ExaminationOutcomeRow
        in_period = _examinations(
            ExaminationCriterionHitRow.criterion_id.in_(ids), *_period(start, end, office_code)
        )
        by_office: dict[str, dict[str, OfficeResults]] = {i: {} for i in ids}
        rows = await self._session.execute(
            select(
                in_period.c.criterion_id,
                outcome.office_code,
                func.count(),
                func.sum(in_period.c.discrepancy),
                _flag(outcome.seized),
                _flag(outcome.penalty_recommended),
            )
            .join(outcome, outcome.event_id == in_period.c.event_id)
            .group_by(in_period.c.criterion_id, outcome.office_code)
        )
        for criterion_id, office, count, discrepancies, seizures, penalties in rows:
            by_office[criterion_id][office] = OfficeResults(
                int(count), int(discrepancies or 0), int(seizures or 0), int(penalties or 0)
            )
        revenue = _amounts(
            (
                await self._session.execute(
                    select(
                        in_period.c.criterion_id,
                        outcome.revenue_currency,
                        func.sum(outcome.revenue_units),
                        func.sum(outcome.revenue_nanos),
                    )
                    .join(outcome, outcome.event_id == in_period.c.event_id)
                    .where(outcome.revenue_currency.is_not(None))
                    .group_by(in_period.c.criterion_id, outcome.revenue_currency)
                )
            ).all()
        )
        audits, duty = await self._audit_facts(ids, start, end)
        last_discrepancy, negatives = await self._runs(ids, end, office_code)
        return {
            criterion_id: PerformanceFacts(
                by_office=by_office[criterion_id],
                revenue_found=tuple(revenue.get(criterion_id, ())),
                audit_findings=audits.get(criterion_id, 0),
                audit_duty_assessed=tuple(duty.get(criterion_id, ())),
                consecutive_negative_results=negatives.get(criterion_id, 0),
                last_discrepancy_time=last_discrepancy.get(criterion_id),
            )
            for criterion_id in ids
        }

    async def _audit_facts(
        self, ids: list[str], start: datetime, end: datetime
    ) -> tuple[dict[str, int], dict[str, list[Amount]]]:
        finding, link = AuditFindingRow, AuditFindingCriterionRow
        attributed = (
            select(link.criterion_id, link.event_id)
            .join(finding, finding.event_id == link.event_id)
            .where(
                link.criterion_id.in_(ids),
                finding.finding_time >= start,
                finding.finding_time < end,
            )
            .group_by(link.criterion_id, link.event_id)
            .subquery()
        )
        counts = await self._session.execute(
            select(attributed.c.criterion_id, func.count()).group_by(attributed.c.criterion_id)
        )
        duty = await self._session.execute(
            select(
                attributed.c.criterion_id,
                finding.unpaid_duty_currency,
                func.sum(finding.unpaid_duty_units),
                func.sum(finding.unpaid_duty_nanos),
            )
            .join(finding, finding.event_id == attributed.c.event_id)
            .where(finding.unpaid_duty_currency.is_not(None))
            .group_by(attributed.c.criterion_id, finding.unpaid_duty_currency)
        )
        return {row[0]: int(row[1]) for row in counts}, _amounts(duty.all())

    async def _runs(
        self, ids: list[str], end: datetime, office_code: str
    ) -> tuple[dict[str, datetime], dict[str, int]]:
        """Per criterion: the last discrepancy before ``end`` and the negatives since."""
        outcome = ExaminationOutcomeRow
        before_end = [outcome.examine_time < end]
        if office_code:
            before_end.append(outcome.office_code == office_code)
        found = _examinations(ExaminationCriterionHitRow.criterion_id.in_(ids), *before_end)
        last_rows = await self._session.execute(
            select(found.c.criterion_id, func.max(outcome.examine_time))
            .join(outcome, outcome.event_id == found.c.event_id)
            .where(found.c.discrepancy == 1)
            .group_by(found.c.criterion_id)
        )
        last: dict[str, datetime] = {row[0]: row[1] for row in last_rows}
        negatives: dict[str, int] = {}
        for criterion_id in ids:
            conditions = [*before_end]
            if criterion_id in last:
                conditions.append(outcome.examine_time > last[criterion_id])
            run = _examinations(
                ExaminationCriterionHitRow.criterion_id == criterion_id, *conditions
            )
            negatives[criterion_id] = int(
                await self._session.scalar(select(func.count()).select_from(run)) or 0
            )
        return last, negatives

    async def random_results(
        self, start: datetime, end: datetime, office_code: str
    ) -> dict[str, RandomResults]:
        """Random examinations per office over ``[start, end)``."""
        outcome = ExaminationOutcomeRow
        rows = await self._session.execute(
            select(outcome.office_code, func.count(), _flag(outcome.discrepancy_found))
            .where(outcome.randomly_selected.is_(True), *_period(start, end, office_code))
            .group_by(outcome.office_code)
        )
        return {office: RandomResults(int(n), int(d or 0)) for office, n, d in rows}

    async def negative_run(self, criterion_id: str, revision: int) -> Evidence:
        """The examinations without discrepancy under ``revision`` since its last discrepancy."""
        hit, outcome = ExaminationCriterionHitRow, ExaminationOutcomeRow
        at_revision = [hit.criterion_id == criterion_id, hit.criterion_revision == revision]
        found = _examinations(*at_revision)
        last = await self._session.scalar(
            select(func.max(outcome.examine_time))
            .select_from(found)
            .join(outcome, outcome.event_id == found.c.event_id)
            .where(found.c.discrepancy == 1)
        )
        conditions = at_revision if last is None else [*at_revision, outcome.examine_time > last]
        run = _examinations(*conditions)
        count, since = (
            await self._session.execute(
                select(func.count(), func.min(outcome.examine_time))
                .select_from(run)
                .join(outcome, outcome.event_id == run.c.event_id)
            )
        ).one()
        return Evidence(int(count), since, await self._latest_declarations(run))

    async def trader_discrepancies(
        self, criterion_id: str, importer_id: str, since: datetime, until: datetime
    ) -> Evidence:
        """The importer's examinations with a criterion discrepancy in ``(since, until]``."""
        outcome = ExaminationOutcomeRow
        found = _examinations(
            ExaminationCriterionHitRow.criterion_id == criterion_id,
            outcome.importer_id == importer_id,
            outcome.examine_time > since,
            outcome.examine_time <= until,
        )
        count, first = (
            await self._session.execute(
                select(func.count(), func.min(outcome.examine_time))
                .select_from(found)
                .join(outcome, outcome.event_id == found.c.event_id)
                .where(found.c.discrepancy == 1)
            )
        ).one()
        declarations = await self._latest_declarations(found, found.c.discrepancy == 1)
        return Evidence(int(count), first, declarations)

    async def _latest_declarations(
        self, examinations: Subquery, *conditions: ColumnElement[bool]
    ) -> tuple[str, ...]:
        outcome = ExaminationOutcomeRow
        rows = await self._session.scalars(
            select(outcome.declaration_number)
            .select_from(examinations)
            .join(outcome, outcome.event_id == examinations.c.event_id)
            .where(*conditions)
            .order_by(outcome.examine_time.desc(), outcome.event_id.desc())
            .limit(MAX_EVIDENCE)
        )
        return tuple(reversed(list(rows)))

    async def examined_declarations(
        self, importer_id: str, numbers: Collection[str]
    ) -> dict[str, ExaminedDeclaration]:
        """The importer's declarations among ``numbers``, each as last examined."""
        outcome = ExaminationOutcomeRow
        rows = await self._session.execute(
            select(outcome.declaration_number, outcome.declaration_version, outcome.office_code)
            .where(outcome.importer_id == importer_id, outcome.declaration_number.in_(numbers))
            .order_by(outcome.examine_time, outcome.event_id)
        )
        # Later examinations overwrite earlier ones: the latest version examined wins.
        return {
            number: ExaminedDeclaration(number, version, office)
            for number, version, office in rows.tuples()
        }

    # -- criteria over time -------------------------------------------------

    async def timelines(self, criterion_ids: Collection[str]) -> dict[str, list[StateChange]]:
        """Each criterion's versions in order, as state changes."""
        version = CriterionVersionRow
        rows = await self._session.execute(
            select(
                version.criterion_id, version.update_time, version.state, version.active_revision
            )
            .where(version.criterion_id.in_(list(criterion_ids)))
            .order_by(version.criterion_id, version.version)
        )
        found: dict[str, list[StateChange]] = {i: [] for i in criterion_ids}
        for criterion_id, time, state, active_revision in rows:
            found[criterion_id].append(StateChange(time, CriterionState(state), active_revision))
        return found

    async def criteria_active_before(self, end: datetime, *, after: str = "") -> list[str]:
        """Ids, in order, of criteria that were ACTIVE at some time before ``end``."""
        version = CriterionVersionRow
        query = (
            select(version.criterion_id)
            .where(
                version.state == CriterionState.ACTIVE.value,
                version.update_time < end,
                version.criterion_id > after,
            )
            .group_by(version.criterion_id)
            .order_by(version.criterion_id)
        )
        return list(await self._session.scalars(query))

    async def criteria_examined(
        self, start: datetime, end: datetime, office_code: str, *, after: str = ""
    ) -> list[str]:
        """Ids, in order, of known criteria with examinations in ``[start, end)``."""
        found = _examinations(*_period(start, end, office_code))
        rows = await self._session.scalars(
            select(found.c.criterion_id)
            .join(CriterionRow, CriterionRow.id == found.c.criterion_id)
            .where(found.c.criterion_id > after)
            .group_by(found.c.criterion_id)
            .order_by(found.c.criterion_id)
        )
        return list(rows)

    async def period_changes(self, start: datetime, end: datetime) -> list[PeriodChange]:
        """The history entries of ``[start, end)`` in chain order, with the revision concerned."""
        version, revision = CriterionVersionRow, CriterionRevisionRow
        rows = await self._session.execute(
            select(HistoryEntryRow, revision.revision, revision.author)
            .outerjoin(version, version.history_sequence == HistoryEntryRow.sequence)
            .outerjoin(
                revision,
                and_(
                    revision.criterion_id == version.criterion_id,
                    revision.revision == version.revision,
                ),
            )
            .where(HistoryEntryRow.change_time >= start, HistoryEntryRow.change_time < end)
            .order_by(HistoryEntryRow.sequence)
        )
        return [
            PeriodChange(_history_entry(entry), number or 0, author or "")
            for entry, number, author in rows
        ]

    # -- recommendations ----------------------------------------------------

    async def add_recommendation(self, recommendation: Recommendation) -> None:
        """Stores a new recommendation."""
        self._session.add(RecommendationRow(**_recommendation_columns(recommendation)))
        await self._session.flush()

    async def save_recommendation(self, recommendation: Recommendation) -> None:
        """Stores a recommendation's decision."""
        await self._session.execute(
            update(RecommendationRow)
            .where(RecommendationRow.id == recommendation.id)
            .values(**_recommendation_columns(recommendation))
        )

    async def get_recommendation(self, recommendation_id: str) -> Recommendation | None:
        """The recommendation, if it exists."""
        row = await self._session.get(RecommendationRow, recommendation_id)
        return None if row is None else _recommendation(row)

    async def list_recommendations(
        self,
        after: tuple[datetime, str] | None,
        limit: int | None,
        *,
        state: RecommendationState | None = None,
        criterion_id: str = "",
        kind: RecommendationKind | None = None,
    ) -> list[Recommendation]:
        """Recommendations newest first after the keyset position ``after``."""
        row = RecommendationRow
        query = select(row).order_by(row.create_time.desc(), row.id.desc())
        if limit is not None:
            query = query.limit(limit)
        if after is not None:
            time, recommendation_id = after
            query = query.where(
                or_(
                    row.create_time < time,
                    and_(row.create_time == time, row.id < recommendation_id),
                )
            )
        if state is not None:
            query = query.where(row.state == state.value)
        if criterion_id:
            query = query.where(row.criterion_id == criterion_id)
        if kind is not None:
            query = query.where(row.kind == kind.value)
        return [_recommendation(found) for found in await self._session.scalars(query)]

    async def retrain_pending(self, risk_model: str) -> bool:
        """Whether a proposal to retrain ``risk_model`` awaits a decision."""
        found = await self._session.scalar(
            select(RecommendationRow.id)
            .where(
                RecommendationRow.risk_model == risk_model,
                RecommendationRow.kind == RecommendationKind.RETRAIN_RISK_MODEL.value,
                RecommendationRow.state == RecommendationState.PENDING.value,
            )
            .limit(1)
        )
        return found is not None

    async def pending_kinds(self, criterion_id: str) -> frozenset[RecommendationKind]:
        """The kinds of criterion-level recommendations pending for the criterion."""
        rows = await self._session.scalars(
            select(RecommendationRow.kind).where(
                RecommendationRow.criterion_id == criterion_id,
                RecommendationRow.state == RecommendationState.PENDING.value,
                RecommendationRow.trader_id == "",
            )
        )
        return frozenset(RecommendationKind(kind) for kind in rows)

    async def trader_blocked_kinds(
        self, criterion_id: str, trader_id: str, since: datetime
    ) -> frozenset[RecommendationKind]:
        """Kinds pending for the trader and criterion, or accepted or dismissed since ``since``."""
        row = RecommendationRow
        rows = await self._session.scalars(
            select(row.kind).where(
                row.criterion_id == criterion_id,
                row.trader_id == trader_id,
                or_(
                    row.state == RecommendationState.PENDING.value,
                    and_(
                        row.state != RecommendationState.SUPERSEDED.value,
                        row.create_time > since,
                    ),
                ),
            )
        )
        return frozenset(RecommendationKind(kind) for kind in rows)

    async def supersede_pending(self, criterion_id: str, now: datetime) -> int:
        """Marks the criterion's pending recommendations SUPERSEDED; how many there were."""
        row = RecommendationRow
        result = await self._session.execute(
            update(row)
            .where(row.criterion_id == criterion_id, row.state == RecommendationState.PENDING.value)
            .values(
                state=RecommendationState.SUPERSEDED.value, decide_time=now, version=row.version + 1
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def decisions_between(self, start: datetime, end: datetime) -> list[Decision]:
        """Recommendations accepted or dismissed in ``[start, end)``."""
        row = RecommendationRow
        rows = await self._session.execute(
            select(row.decided_by, row.state).where(
                row.decide_time >= start,
                row.decide_time < end,
                row.state.in_(
                    [RecommendationState.ACCEPTED.value, RecommendationState.DISMISSED.value]
                ),
            )
        )
        return [Decision(decided_by, RecommendationState(state)) for decided_by, state in rows]


def _recommendation_columns(recommendation: Recommendation) -> dict[str, Any]:
    treatment = recommendation.suggested_treatment
    return {
        "id": recommendation.id,
        "criterion_id": recommendation.criterion_id or None,
        "criterion_revision": recommendation.criterion_revision,
        "risk_model": recommendation.risk_model,
        "kind": recommendation.kind.value,
        "state": recommendation.state.value,
        "rationale": recommendation.rationale,
        "trader_id": recommendation.trader_id,
        "consecutive_negative_results": recommendation.consecutive_negative_results,
        "discrepancies": recommendation.discrepancies,
        "declaration_numbers": json.dumps(list(recommendation.declaration_numbers)),
        "suggested_selection_percent": recommendation.suggested_selection_percent,
        "suggested_treatment": treatment.encoded if treatment is not None else None,
        "decided_by": recommendation.decided_by,
        "decision_reason": recommendation.decision_reason,
        "decide_time": recommendation.decide_time,
        "resulting_criterion_revision": recommendation.resulting_criterion_revision,
        "create_time": recommendation.create_time,
        "version": recommendation.version,
    }


def _recommendation(row: RecommendationRow) -> Recommendation:
    return Recommendation(
        id=row.id,
        criterion_id=row.criterion_id or "",
        criterion_revision=row.criterion_revision,
        kind=RecommendationKind(row.kind),
        state=RecommendationState(row.state),
        rationale=row.rationale,
        trader_id=row.trader_id,
        consecutive_negative_results=row.consecutive_negative_results,
        discrepancies=row.discrepancies,
        declaration_numbers=tuple(json.loads(row.declaration_numbers)),
        suggested_selection_percent=row.suggested_selection_percent,
        suggested_treatment=(
            Document(row.suggested_treatment) if row.suggested_treatment is not None else None
        ),
        decided_by=row.decided_by,
        decision_reason=row.decision_reason,
        decide_time=row.decide_time,
        resulting_criterion_revision=row.resulting_criterion_revision,
        create_time=row.create_time,
        version=row.version,
        risk_model=row.risk_model,
    )


async def history_head(session: AsyncSession) -> tuple[int, str] | None:
    """The history's head (sequence, hash), None while it is empty: what a checkpoint signs."""
    head = await Repository(session).history_head()
    return None if head is None else (head.sequence, head.hash)
