"""All SQL of the compliance service, behind repositories bound to one session.

Each repository reads rows into frozen domain objects and writes domain objects
back; the unit of work around it decides when anything is committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.adapters.orm import (
    ApplicationReviewRow,
    AuditedDeclarationRow,
    AuditFindingDeclarationRow,
    AuditFindingRow,
    AuditOutcomeRow,
    ComplianceRateRow,
    DeclarationItemRow,
    DeclarationRecordRow,
    ExaminationDiscrepancyRow,
    ExaminationOutcomeRow,
    InterventionRow,
    MeasurementRow,
    SamplingPlanRow,
    SamplingStratumRow,
    TraderApplicationRow,
    TraderRow,
)
from compliance.domain.applications import (
    OPEN_STATES,
    Agreement,
    AgreementTerms,
    ApplicationRequest,
    ApplicationState,
    CheckResult,
    Reevaluation,
    ReevaluationOutcome,
    Review,
    ReviewChecks,
    TraderApplication,
    application_already_open,
    application_name,
)
from compliance.domain.declarations import (
    OFFICE_NAME_PREFIX,
    Channel,
    CommodityRanking,
    CommodityRankingMetric,
    DeclarationRecord,
    ExaminationLevel,
    RecordItem,
    RecordVersion,
    TraderRanking,
    TraderRankingMetric,
    Verification,
)
from compliance.domain.intervention_effects import ExaminedDeclaration
from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionMeeting,
    InterventionOutcome,
    InterventionState,
    InterventionTrigger,
)
from compliance.domain.measurement import (
    ComplianceDimension,
    ComplianceMeasurement,
    ComplianceRate,
    EvidenceSource,
    MeasurementScope,
    MeasurementState,
    Observation,
    ToleranceAssessment,
)
from compliance.domain.outcomes import (
    AuditOutcome,
    AuditSelectionBasis,
    ComplianceArea,
    DiscrepancyType,
    ExaminationOutcome,
)
from compliance.domain.periods import Period
from compliance.domain.sampling import (
    Allocation,
    MarginOfError,
    SampleBudget,
    SamplingParameters,
    SamplingPlan,
    SamplingStratum,
    SamplingTarget,
)
from compliance.domain.traders import (
    ApprovedTraderBenefit,
    ApprovedTraderStatus,
    Trader,
    TraderRole,
    TraderTier,
    trader_name,
)
from compliance.domain.values import Amount
from customs_kit.db import is_unique_violation


def _join(values: Iterable[str]) -> str:
    return ",".join(sorted(values))


def _split(text: str) -> list[str]:
    return [value for value in text.split(",") if value]


# --- traders -----------------------------------------------------------------------------------

_ROLE_COLUMNS = {
    TraderRole.IMPORTER: TraderRow.importer,
    TraderRole.EXPORTER: TraderRow.exporter,
    TraderRole.BROKER: TraderRow.broker,
    TraderRole.CARRIER: TraderRow.carrier,
}


#: The column of an examination outcome that names the trader acting in each role.
_OUTCOME_ROLE_COLUMNS = {
    TraderRole.IMPORTER: ExaminationOutcomeRow.importer_id,
    TraderRole.BROKER: ExaminationOutcomeRow.broker_id,
    TraderRole.CARRIER: ExaminationOutcomeRow.carrier_id,
}


@dataclass(frozen=True)
class TraderFilter:
    """The filters of a trader list; ``None`` matches everything."""

    role: TraderRole | None = None
    tier: TraderTier | None = None
    approved_trader_status: ApprovedTraderStatus | None = None
    display_name_prefix: str = ""


def _trader_values(trader: Trader) -> dict[str, Any]:
    return {
        "trader_id": trader.trader_id,
        "display_name": trader.display_name,
        "importer": TraderRole.IMPORTER in trader.roles,
        "exporter": TraderRole.EXPORTER in trader.roles,
        "broker": TraderRole.BROKER in trader.roles,
        "carrier": TraderRole.CARRIER in trader.roles,
        "country": trader.country,
        "address": trader.address,
        "tier": trader.tier.value,
        "tier_reason": trader.tier_reason,
        "approved_trader_status": trader.approved_trader_status.value,
        "approved_trader_application": trader.approved_trader_application,
        "approved_benefits": _join(trader.approved_benefits),
        "next_reevaluation_date": trader.next_reevaluation_date,
        "first_declaration_time": trader.first_declaration_time,
        "profile_revision": trader.profile_revision,
        "create_time": trader.create_time,
        "update_time": trader.update_time,
        "version": trader.version,
    }


def _trader(row: TraderRow) -> Trader:
    return Trader(
        trader_id=row.trader_id,
        display_name=row.display_name,
        roles=frozenset(role for role, column in _ROLE_COLUMNS.items() if getattr(row, column.key)),
        country=row.country,
        address=row.address,
        tier=TraderTier(row.tier),
        tier_reason=row.tier_reason,
        approved_trader_status=ApprovedTraderStatus(row.approved_trader_status),
        approved_trader_application=row.approved_trader_application,
        approved_benefits=frozenset(
            ApprovedTraderBenefit(b) for b in _split(row.approved_benefits)
        ),
        next_reevaluation_date=row.next_reevaluation_date,
        first_declaration_time=row.first_declaration_time,
        profile_revision=row.profile_revision,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TraderRepository:
    """Traders, read and written in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, trader_id: str) -> Trader | None:
        """The trader with number ``trader_id``, if any."""
        row = await self._session.scalar(select(TraderRow).where(TraderRow.trader_id == trader_id))
        return None if row is None else _trader(row)

    async def add(self, trader: Trader) -> None:
        """Inserts a new trader."""
        await self._session.execute(insert(TraderRow).values(_trader_values(trader)))

    async def save(self, trader: Trader) -> None:
        """Stores the new state of an existing trader."""
        values = _trader_values(trader)
        del values["trader_id"]
        await self._session.execute(
            update(TraderRow).where(TraderRow.trader_id == trader.trader_id).values(values)
        )

    async def find(self, where: TraderFilter, after: str | None, limit: int) -> list[Trader]:
        """Up to ``limit`` traders matching ``where``, by number, after number ``after``."""
        query = select(TraderRow).order_by(TraderRow.trader_id).limit(limit)
        if after is not None:
            query = query.where(TraderRow.trader_id > after)
        if where.role is not None:
            query = query.where(_ROLE_COLUMNS[where.role].is_(true()))
        if where.tier is not None:
            query = query.where(TraderRow.tier == where.tier.value)
        if where.approved_trader_status is not None:
            query = query.where(
                TraderRow.approved_trader_status == where.approved_trader_status.value
            )
        if where.display_name_prefix:
            pattern = _escape_like(where.display_name_prefix.lower()) + "%"
            query = query.where(func.lower(TraderRow.display_name).like(pattern, escape="\\"))
        rows = (await self._session.scalars(query)).all()
        return [_trader(row) for row in rows]

    async def display_names(self, trader_ids: Collection[str]) -> dict[str, str]:
        """The names of the traders among ``trader_ids`` that exist."""
        if not trader_ids:
            return {}
        rows = await self._session.execute(
            select(TraderRow.trader_id, TraderRow.display_name).where(
                TraderRow.trader_id.in_(trader_ids)
            )
        )
        return {row.trader_id: row.display_name for row in rows}


# --- declaration records and trade statistics --------------------------------------------------

_PARTY_COLUMNS = {
    TraderRole.IMPORTER: DeclarationRecordRow.importer_id,
    TraderRole.EXPORTER: DeclarationRecordRow.exporter_id,
    TraderRole.BROKER: DeclarationRecordRow.broker_id,
    TraderRole.CARRIER: DeclarationRecordRow.carrier_id,
}


@dataclass(frozen=True)
class RecordFilter:
    """The filters of a list of recorded declarations; unset matches everything."""

    trader_id: str = ""
    trader_role: TraderRole | None = None
    office_id: str = ""
    hs_code_prefix: str = ""
    start: datetime | None = None
    end: datetime | None = None
    channel: Channel | None = None


@dataclass(frozen=True)
class StatisticsScope:
    """The current records lodged in a period, optionally at one office."""

    period: Period
    office_id: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on ``declaration_records`` selecting the scope."""
        conditions = [
            DeclarationRecordRow.is_current.is_(true()),
            DeclarationRecordRow.lodgement_time >= self.period.start,
            DeclarationRecordRow.lodgement_time < self.period.end,
        ]
        if self.office_id:
            conditions.append(DeclarationRecordRow.office_id == self.office_id)
        return conditions


class MixedCurrencies(Exception):
    """The records in scope are in more than one currency, so they cannot be summed."""

    def __init__(self, currencies: Sequence[str]) -> None:
        super().__init__(f"amounts in {', '.join(currencies)}")
        self.currencies = list(currencies)


def _record_values(record: DeclarationRecord) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "declaration_number": record.declaration_number,
        "declaration_version": record.declaration_version,
        "office_id": record.office_id,
        "lodgement_time": record.lodgement_time,
        "importer_id": record.importer_id,
        "exporter_id": record.exporter_id,
        "broker_id": record.broker_id,
        "carrier_id": record.carrier_id,
        "currency": record.currency,
        "total_customs_value": record.total_customs_value,
        "total_duties": record.total_duties,
        "item_count": len(record.items),
        "channel": record.channel.value,
        "examination_level": record.examination_level.value if record.examination_level else None,
        "random_selection": record.random_selection,
        "decide_time": record.decide_time,
        "is_current": record.current,
        "create_time": record.create_time,
    }


class RecordRepository:
    """Recorded declarations, their items, and the statistics computed from them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def exists(self, record_id: str) -> bool:
        """Whether a record with this id (the assessment's id) is stored."""
        found = await self._session.scalar(
            select(DeclarationRecordRow.record_id).where(
                DeclarationRecordRow.record_id == record_id
            )
        )
        return found is not None

    async def current_version(self, declaration_number: str) -> RecordVersion | None:
        """The version of ``declaration_number`` the statistics count now, if any."""
        row = (
            await self._session.execute(
                select(
                    DeclarationRecordRow.record_id,
                    DeclarationRecordRow.declaration_version,
                    DeclarationRecordRow.decide_time,
                ).where(
                    DeclarationRecordRow.declaration_number == declaration_number,
                    DeclarationRecordRow.is_current.is_(true()),
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return RecordVersion(row.record_id, row.declaration_version, row.decide_time)

    async def supersede(self, record_id: str) -> None:
        """Stops counting a record in the statistics (a newer version replaces it)."""
        await self._session.execute(
            update(DeclarationRecordRow)
            .where(DeclarationRecordRow.record_id == record_id)
            .values(is_current=False)
        )

    async def add(self, record: DeclarationRecord) -> None:
        """Inserts a record and its items."""
        await self._session.execute(insert(DeclarationRecordRow).values(_record_values(record)))
        await self._session.execute(
            insert(DeclarationItemRow),
            [
                {
                    "record_id": record.record_id,
                    "position": position,
                    "item_number": item.item_number,
                    "hs_code": item.hs_code,
                    "origin_country": item.origin_country,
                    "customs_value": item.customs_value,
                    "duties": item.duties,
                    "tax_rate": item.tax_rate,
                }
                for position, item in enumerate(record.items)
            ],
        )

    async def get(self, record_id: str) -> DeclarationRecord | None:
        """The record with this id, with its items and what verification found."""
        row = await self._session.scalar(
            select(DeclarationRecordRow).where(DeclarationRecordRow.record_id == record_id)
        )
        if row is None:
            return None
        return (await self._complete([row]))[0]

    async def find(
        self, where: RecordFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[DeclarationRecord]:
        """Up to ``limit`` current records matching ``where``, newest lodgement first.

        ``after`` is the (lodgement time, record id) of the last record of the
        previous page; ties on the time are ordered by record id.
        """
        record = DeclarationRecordRow
        query = (
            select(record)
            .where(record.is_current.is_(true()))
            .order_by(record.lodgement_time.desc(), record.record_id)
            .limit(limit)
        )
        if after is not None:
            time, record_id = after
            query = query.where(
                or_(
                    record.lodgement_time < time,
                    and_(record.lodgement_time == time, record.record_id > record_id),
                )
            )
        if where.trader_id:
            roles = [where.trader_role] if where.trader_role else list(_PARTY_COLUMNS)
            query = query.where(or_(*(_PARTY_COLUMNS[r] == where.trader_id for r in roles)))
        if where.office_id:
            query = query.where(record.office_id == where.office_id)
        if where.hs_code_prefix:
            query = query.where(
                select(DeclarationItemRow.record_id)
                .where(
                    DeclarationItemRow.record_id == record.record_id,
                    DeclarationItemRow.hs_code.like(where.hs_code_prefix + "%"),
                )
                .exists()
            )
        if where.start is not None:
            query = query.where(record.lodgement_time >= where.start)
        if where.end is not None:
            query = query.where(record.lodgement_time < where.end)
        if where.channel is not None:
            query = query.where(record.channel == where.channel.value)
        rows = (await self._session.scalars(query)).all()
        return await self._complete(rows)

    async def _complete(self, rows: Sequence[DeclarationRecordRow]) -> list[DeclarationRecord]:
        if not rows:
            return []
        items = await self._items([row.record_id for row in rows])
        verifications = await self._verifications({row.declaration_number for row in rows})
        return [
            DeclarationRecord(
                record_id=row.record_id,
                declaration_number=row.declaration_number,
                declaration_version=row.declaration_version,
                office_id=row.office_id,
                lodgement_time=row.lodgement_time,
                importer_id=row.importer_id,
                exporter_id=row.exporter_id,
                broker_id=row.broker_id,
                carrier_id=row.carrier_id,
                currency=row.currency,
                items=tuple(items[row.record_id]),
                channel=Channel(row.channel),
                examination_level=(
                    ExaminationLevel(row.examination_level) if row.examination_level else None
                ),
                random_selection=row.random_selection,
                decide_time=row.decide_time,
                current=row.is_current,
                create_time=row.create_time,
                verification=verifications.get(row.declaration_number, Verification()),
            )
            for row in rows
        ]

    async def _items(self, record_ids: Collection[str]) -> dict[str, list[RecordItem]]:
        rows = await self._session.scalars(
            select(DeclarationItemRow)
            .where(DeclarationItemRow.record_id.in_(record_ids))
            .order_by(DeclarationItemRow.record_id, DeclarationItemRow.position)
        )
        items: dict[str, list[RecordItem]] = defaultdict(list)
        for row in rows:
            items[row.record_id].append(
                RecordItem(
                    item_number=row.item_number,
                    hs_code=row.hs_code,
                    origin_country=row.origin_country,
                    customs_value=row.customs_value,
                    duties=row.duties,
                    tax_rate=row.tax_rate,
                )
            )
        return items

    async def _verifications(self, numbers: Collection[str]) -> dict[str, Verification]:
        """What examinations and audits found, per declaration number.

        Outcomes are linked by number rather than by version: an examination
        that led to an amended declaration still tells about that declaration.
        """
        exams = await self._session.execute(
            select(
                ExaminationOutcomeRow.declaration_number,
                ExaminationOutcomeRow.discrepancy_found,
                ExaminationOutcomeRow.noncompliant_areas,
                ExaminationOutcomeRow.receive_time,
            ).where(ExaminationOutcomeRow.declaration_number.in_(numbers))
        )
        audits = await self._session.execute(
            select(
                AuditedDeclarationRow.declaration_number,
                AuditedDeclarationRow.noncompliant_areas,
                AuditOutcomeRow.receive_time,
            )
            .join(AuditOutcomeRow)
            .where(AuditedDeclarationRow.declaration_number.in_(numbers))
        )
        found: dict[str, Verification] = {}
        for exam in exams:
            known = found.get(exam.declaration_number, Verification())
            found[exam.declaration_number] = Verification(
                examined=True,
                discrepancy_found=bool(known.discrepancy_found) or exam.discrepancy_found,
                noncompliant_areas=known.noncompliant_areas
                | {ComplianceArea(a) for a in _split(exam.noncompliant_areas)},
                audited=known.audited,
                update_time=_latest(known.update_time, exam.receive_time),
            )
        for audit in audits:
            known = found.get(audit.declaration_number, Verification())
            found[audit.declaration_number] = Verification(
                examined=known.examined,
                discrepancy_found=known.discrepancy_found,
                noncompliant_areas=known.noncompliant_areas
                | {ComplianceArea(a) for a in _split(audit.noncompliant_areas)},
                audited=True,
                update_time=_latest(known.update_time, audit.receive_time),
            )
        return found

    async def currencies(self, scope: StatisticsScope, role: TraderRole | None = None) -> list[str]:
        """The currencies of the records in ``scope`` (naming a ``role`` trader, if given)."""
        query = select(distinct(DeclarationRecordRow.currency)).where(*scope.conditions())
        if role is not None:
            query = query.where(_PARTY_COLUMNS[role].is_not(None))
        return sorted((await self._session.scalars(query)).all())

    async def _single_currency(self, scope: StatisticsScope, role: TraderRole | None) -> str:
        currencies = await self.currencies(scope, role)
        if len(currencies) > 1:
            raise MixedCurrencies(currencies)
        return currencies[0] if currencies else ""

    async def trader_rankings(
        self,
        scope: StatisticsScope,
        role: TraderRole,
        metric: TraderRankingMetric,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[TraderRanking]:
        """Traders in ``role`` ranked by ``metric`` over ``scope``, highest first.

        ``after`` is the (rank, trader number) of the last row of the previous
        page. Raises :class:`MixedCurrencies` if amounts cannot be summed.
        """
        currency = await self._single_currency(scope, role)
        record = DeclarationRecordRow
        party = _PARTY_COLUMNS[role]
        examined = (
            select(
                ExaminationOutcomeRow.declaration_number.label("declaration_number"),
                func.max(case((ExaminationOutcomeRow.discrepancy_found, 1), else_=0)).label(
                    "discrepancy"
                ),
            )
            .group_by(ExaminationOutcomeRow.declaration_number)
            .subquery()
        )
        totals = (
            select(
                party.label("trader_id"),
                func.count().label("declaration_count"),
                func.sum(record.total_customs_value).label("declared_value"),
                func.sum(record.total_duties).label("duties"),
                func.count(examined.c.declaration_number).label("examined_count"),
                func.coalesce(func.sum(examined.c.discrepancy), 0).label("discrepancy_count"),
            )
            .select_from(record)
            .outerjoin(examined, examined.c.declaration_number == record.declaration_number)
            .where(party.is_not(None), *scope.conditions())
            .group_by(party)
            .subquery()
        )
        metric_column = {
            TraderRankingMetric.DECLARED_VALUE: totals.c.declared_value,
            TraderRankingMetric.DUTIES_AND_TAXES: totals.c.duties,
            TraderRankingMetric.DECLARATION_COUNT: totals.c.declaration_count,
            TraderRankingMetric.DISCREPANCY_COUNT: totals.c.discrepancy_count,
        }[metric]
        ranked = select(
            totals, func.rank().over(order_by=metric_column.desc()).label("rank")
        ).subquery()
        query = (
            select(ranked, TraderRow.display_name)
            .outerjoin(TraderRow, TraderRow.trader_id == ranked.c.trader_id)
            .order_by(ranked.c.rank, ranked.c.trader_id)
            .limit(limit)
        )
        if after is not None:
            rank, trader_id = after
            query = query.where(
                or_(
                    ranked.c.rank > rank,
                    and_(ranked.c.rank == rank, ranked.c.trader_id > trader_id),
                )
            )
        rows = await self._session.execute(query)
        return [
            TraderRanking(
                rank=row.rank,
                trader_id=row.trader_id,
                display_name=row.display_name or "",
                declaration_count=row.declaration_count,
                declared_value=Amount(currency, _decimal(row.declared_value)),
                duties_and_taxes=Amount(currency, _decimal(row.duties)),
                examined_count=row.examined_count,
                discrepancy_count=int(row.discrepancy_count),
            )
            for row in rows
        ]

    async def commodity_rankings(
        self,
        scope: StatisticsScope,
        hs_digits: int,
        metric: CommodityRankingMetric,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[CommodityRanking]:
        """Commodities (HS codes cut to ``hs_digits``) ranked by ``metric`` over ``scope``.

        ``after`` is the (rank, HS code) of the last row of the previous page.
        Raises :class:`MixedCurrencies` if amounts cannot be summed.
        """
        currency = await self._single_currency(scope, None)
        item, record = DeclarationItemRow, DeclarationRecordRow
        commodity = func.substr(item.hs_code, 1, hs_digits)
        value = cast(item.customs_value, Float)
        totals = (
            select(
                commodity.label("hs_code"),
                func.count().label("item_count"),
                func.sum(item.customs_value).label("declared_value"),
                func.sum(item.duties).label("collections"),
                case(
                    (func.sum(value) > 0, func.sum(value * item.tax_rate) / func.sum(value)),
                    else_=func.avg(item.tax_rate),
                ).label("mean_tax_rate"),
            )
            .join(record, record.record_id == item.record_id)
            .where(*scope.conditions())
            .group_by(commodity)
            .subquery()
        )
        misclassified = self._misclassifications(scope, hs_digits)
        joined = (
            select(
                totals,
                func.coalesce(misclassified.c.misclassification_count, 0).label(
                    "misclassification_count"
                ),
            )
            .outerjoin(misclassified, misclassified.c.hs_code == totals.c.hs_code)
            .subquery()
        )
        metric_column = {
            CommodityRankingMetric.COLLECTIONS: joined.c.collections,
            CommodityRankingMetric.TAX_RATE: joined.c.mean_tax_rate,
            CommodityRankingMetric.MISCLASSIFICATIONS: joined.c.misclassification_count,
            CommodityRankingMetric.DECLARED_VALUE: joined.c.declared_value,
        }[metric]
        ranked = select(
            joined, func.rank().over(order_by=metric_column.desc()).label("rank")
        ).subquery()
        query = select(ranked).order_by(ranked.c.rank, ranked.c.hs_code).limit(limit)
        if after is not None:
            rank, hs_code = after
            query = query.where(
                or_(ranked.c.rank > rank, and_(ranked.c.rank == rank, ranked.c.hs_code > hs_code))
            )
        rows = await self._session.execute(query)
        return [
            CommodityRanking(
                rank=row.rank,
                hs_code=row.hs_code,
                item_count=row.item_count,
                declared_value=Amount(currency, _decimal(row.declared_value)),
                collections=Amount(currency, _decimal(row.collections)),
                mean_tax_rate=float(row.mean_tax_rate or 0.0),
                misclassification_count=int(row.misclassification_count),
            )
            for row in rows
        ]

    def _misclassifications(self, scope: StatisticsScope, hs_digits: int) -> Any:
        """Classification discrepancies per commodity, from examinations and audits.

        A discrepancy about one item counts for that item's commodity; one not
        about an item (and an audit finding, which names declarations only)
        counts once for each commodity of the declaration.
        """
        exam_hits = (
            select(
                ExaminationOutcomeRow.declaration_number.label("declaration_number"),
                ExaminationDiscrepancyRow.item_number.label("item_number"),
                (
                    literal("e:")
                    + ExaminationDiscrepancyRow.exam_report_id
                    + literal(":")
                    + cast(ExaminationDiscrepancyRow.position, String)
                ).label("hit"),
            )
            .join(ExaminationOutcomeRow)
            .where(ExaminationDiscrepancyRow.type == DiscrepancyType.CLASSIFICATION.value)
        )
        audit_hits = (
            select(
                AuditFindingDeclarationRow.declaration_number.label("declaration_number"),
                cast(null(), ExaminationDiscrepancyRow.item_number.type).label("item_number"),
                (
                    literal("a:")
                    + AuditFindingDeclarationRow.finding
                    + literal(":")
                    + AuditFindingDeclarationRow.declaration_number
                ).label("hit"),
            )
            .join(AuditFindingRow)
            .where(AuditFindingRow.misclassification.is_(true()))
        )
        hits = exam_hits.union_all(audit_hits).subquery()
        item, record = DeclarationItemRow, DeclarationRecordRow
        commodity = func.substr(item.hs_code, 1, hs_digits)
        return (
            select(
                commodity.label("hs_code"),
                func.count(distinct(hits.c.hit)).label("misclassification_count"),
            )
            .select_from(item)
            .join(record, record.record_id == item.record_id)
            .join(
                hits,
                and_(
                    hits.c.declaration_number == record.declaration_number,
                    or_(hits.c.item_number.is_(None), hits.c.item_number == item.item_number),
                ),
            )
            .where(*scope.conditions())
            .group_by(commodity)
            .subquery()
        )

    async def stratum_sizes(
        self, scope: StatisticsScope, dimension: ComplianceDimension
    ) -> dict[str, int]:
        """How many current records of ``scope`` fall in each stratum of ``dimension``.

        Strata are named as a measurement names them. A declaration with goods
        from several chapters or origins counts once in each; one without a
        broker or carrier counts in no broker or carrier stratum.
        """
        record, item = DeclarationRecordRow, DeclarationItemRow
        prefix = ""
        key: Any
        match dimension:
            case ComplianceDimension.OVERALL:
                raise ValueError("OVERALL has a single stratum: every record")
            case ComplianceDimension.IMPORTER:
                prefix, key = trader_name(""), record.importer_id
            case ComplianceDimension.BROKER:
                prefix, key = trader_name(""), record.broker_id
            case ComplianceDimension.CARRIER:
                prefix, key = trader_name(""), record.carrier_id
            case ComplianceDimension.OFFICE:
                prefix, key = OFFICE_NAME_PREFIX, record.office_id
            case ComplianceDimension.HS_CHAPTER:
                key = func.substr(item.hs_code, 1, 2)
            case ComplianceDimension.ORIGIN_COUNTRY:
                key = item.origin_country
        query = select(key.label("stratum"), func.count(distinct(record.record_id)).label("size"))
        if dimension in (ComplianceDimension.HS_CHAPTER, ComplianceDimension.ORIGIN_COUNTRY):
            query = query.select_from(item).join(record, record.record_id == item.record_id)
        rows = await self._session.execute(
            query.where(key.is_not(None), *scope.conditions()).group_by(key)
        )
        return {f"{prefix}{row.stratum}": row.size for row in rows}

    async def observations(
        self, period: Period | None, *, importer_id: str | None = None
    ) -> list[Observation]:
        """Random verifications of declarations (current versions) lodged in ``period``.

        ``None`` for ``period`` means every lodgement day; ``importer_id`` keeps
        only the declarations of that importer.
        """
        record = DeclarationRecordRow
        in_period: list[ColumnElement[bool]] = [record.is_current.is_(true())]
        if period is not None:
            in_period += [record.lodgement_time >= period.start, record.lodgement_time < period.end]
        if importer_id is not None:
            in_period.append(record.importer_id == importer_id)
        exams = (
            await self._session.execute(
                select(record, ExaminationOutcomeRow.noncompliant_areas)
                .join(
                    ExaminationOutcomeRow,
                    ExaminationOutcomeRow.declaration_number == record.declaration_number,
                )
                .where(ExaminationOutcomeRow.random_selection.is_(true()), *in_period)
            )
        ).all()
        audits = (
            await self._session.execute(
                select(record, AuditedDeclarationRow.noncompliant_areas)
                .join(
                    AuditedDeclarationRow,
                    AuditedDeclarationRow.declaration_number == record.declaration_number,
                )
                .join(AuditOutcomeRow)
                .where(
                    AuditOutcomeRow.selection_basis == AuditSelectionBasis.RANDOM.value,
                    *in_period,
                )
            )
        ).all()
        record_ids = {row[0].record_id for row in [*exams, *audits]}
        items = await self._items(record_ids) if record_ids else {}
        found = []
        for source, rows in (
            (EvidenceSource.RANDOM_EXAMINATION, exams),
            (EvidenceSource.RANDOM_AUDIT, audits),
        ):
            for row, areas in rows:
                goods = items[row.record_id]
                found.append(
                    Observation(
                        source=source,
                        declaration_number=row.declaration_number,
                        lodgement_time=row.lodgement_time,
                        importer_id=row.importer_id,
                        broker_id=row.broker_id,
                        carrier_id=row.carrier_id,
                        office_id=row.office_id,
                        hs_chapters=frozenset(i.hs_chapter for i in goods),
                        origin_countries=frozenset(i.origin_country for i in goods),
                        noncompliant_areas=frozenset(ComplianceArea(a) for a in _split(areas)),
                    )
                )
        return found


def _decimal(value: Decimal | float | int | None) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _latest(first: datetime | None, second: datetime) -> datetime:
    return second if first is None or second > first else first


# --- examination and audit outcomes ------------------------------------------------------------


class OutcomeRepository:
    """Approved examination reports and issued audit reports."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def has_examination(self, exam_report_id: str) -> bool:
        """Whether the outcome of this examination report is stored."""
        found = await self._session.scalar(
            select(ExaminationOutcomeRow.exam_report_id).where(
                ExaminationOutcomeRow.exam_report_id == exam_report_id
            )
        )
        return found is not None

    async def add_examination(self, outcome: ExaminationOutcome, now: datetime) -> None:
        """Stores an examination outcome and its discrepancies."""
        await self._session.execute(
            insert(ExaminationOutcomeRow).values(
                exam_report_id=outcome.exam_report_id,
                examination_id=outcome.examination_id,
                assessment_id=outcome.assessment_id,
                declaration_number=outcome.declaration_number,
                declaration_version=outcome.declaration_version,
                office_id=outcome.office_id,
                importer_id=outcome.importer.number,
                broker_id=outcome.broker.number if outcome.broker else None,
                carrier_id=outcome.carrier.number if outcome.carrier else None,
                channel=outcome.channel,
                examination_level=outcome.examination_level,
                random_selection=outcome.random_selection,
                discrepancy_found=outcome.discrepancy_found,
                noncompliant_areas=_join(outcome.noncompliant_areas),
                penalty_recommended=outcome.penalty_recommended,
                merchandise_seized=outcome.merchandise_seized,
                approve_time=outcome.approve_time,
                examine_time=outcome.examine_time,
                receive_time=now,
            )
        )
        if outcome.discrepancies:
            await self._session.execute(
                insert(ExaminationDiscrepancyRow),
                [
                    {
                        "exam_report_id": outcome.exam_report_id,
                        "position": position,
                        "type": discrepancy.type.value,
                        "item_number": discrepancy.item_number,
                        "found_hs_code": discrepancy.found_hs_code,
                        "found_origin_country": discrepancy.found_origin_country,
                    }
                    for position, discrepancy in enumerate(outcome.discrepancies)
                ],
            )

    async def examinations_of(
        self, trader_id: str, role: TraderRole, start: datetime, end: datetime
    ) -> list[ExaminedDeclaration]:
        """The examinations carried out in ``[start, end)`` of declarations where the
        trader acted in ``role`` (importer, broker or carrier; none for an exporter).
        """
        column = _OUTCOME_ROLE_COLUMNS.get(role)
        if column is None:
            return []
        rows = await self._session.execute(
            select(
                ExaminationOutcomeRow.declaration_number,
                ExaminationOutcomeRow.examine_time,
                ExaminationOutcomeRow.random_selection,
                ExaminationOutcomeRow.noncompliant_areas,
            ).where(
                column == trader_id,
                ExaminationOutcomeRow.examine_time >= start,
                ExaminationOutcomeRow.examine_time < end,
            )
        )
        return [
            ExaminedDeclaration(
                declaration_number=number,
                examine_time=examined,
                random_selection=random_selection,
                noncompliant_areas=frozenset(ComplianceArea(a) for a in _split(areas)),
            )
            for number, examined, random_selection, areas in rows
        ]

    async def has_audit(self, audit_case_id: str) -> bool:
        """Whether the report of this audit case is stored."""
        found = await self._session.scalar(
            select(AuditOutcomeRow.audit_case_id).where(
                AuditOutcomeRow.audit_case_id == audit_case_id
            )
        )
        return found is not None

    async def add_audit(self, audit_case_id: str, audit: AuditOutcome, now: datetime) -> None:
        """Stores an audit report, its audited declarations and its findings."""
        unpaid = audit.total_unpaid_duty
        await self._session.execute(
            insert(AuditOutcomeRow).values(
                audit_case_id=audit_case_id,
                trader_id=audit.trader.number,
                selection_basis=audit.selection_basis.value,
                compliant=audit.compliant,
                total_unpaid_duty=unpaid.value if unpaid else None,
                unpaid_duty_currency=unpaid.currency if unpaid else None,
                report_time=audit.report_time,
                receive_time=now,
            )
        )
        audited = dict.fromkeys(audit.audited_declaration_numbers)
        if audited:
            await self._session.execute(
                insert(AuditedDeclarationRow),
                [
                    {
                        "audit_case_id": audit_case_id,
                        "declaration_number": number,
                        "noncompliant_areas": _join(audit.noncompliant_areas_of(number)),
                    }
                    for number in audited
                ],
            )
        for finding in audit.findings:
            duty = finding.unpaid_duty
            await self._session.execute(
                insert(AuditFindingRow).values(
                    finding=finding.finding,
                    audit_case_id=audit_case_id,
                    discrepancy_types=_join(finding.discrepancy_types),
                    misclassification=DiscrepancyType.CLASSIFICATION in finding.discrepancy_types,
                    description=finding.description,
                    unpaid_duty=duty.value if duty else None,
                    unpaid_duty_currency=duty.currency if duty else None,
                    action=finding.action.value,
                )
            )
            numbers = dict.fromkeys(finding.declaration_numbers)
            if numbers:
                await self._session.execute(
                    insert(AuditFindingDeclarationRow),
                    [{"finding": finding.finding, "declaration_number": n} for n in numbers],
                )


# --- compliance interventions ------------------------------------------------------------------


@dataclass(frozen=True)
class InterventionFilter:
    """The filters of an intervention list; unset matches everything."""

    trader_id: str = ""
    states: frozenset[InterventionState] = frozenset()
    trader_role: TraderRole | None = None


def _meeting(row: InterventionRow) -> InterventionMeeting | None:
    if row.meeting_time is None:
        return None
    if row.follow_up_date is None:
        raise ValueError(f"the meeting of intervention {row.intervention_id} is incomplete")
    return InterventionMeeting(
        meeting_time=row.meeting_time,
        attendees=tuple(row.meeting_attendees or ()),
        summary=row.meeting_summary or "",
        corrective_plan=row.corrective_plan or "",
        follow_up_date=row.follow_up_date,
    )


def _intervention(row: InterventionRow) -> ComplianceIntervention:
    return ComplianceIntervention(
        intervention_id=row.intervention_id,
        trader_id=row.trader_id,
        trader_role=TraderRole(row.trader_role),
        trigger=InterventionTrigger(row.trigger),
        areas=frozenset(ComplianceArea(a) for a in _split(row.areas)),
        error_pattern=row.error_pattern,
        evidence=tuple(line for line in row.evidence.split("\n") if line),
        planned_meeting_time=row.planned_meeting_time,
        state=InterventionState(row.state),
        owner=row.owner,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
        source_finding=row.source_finding,
        meeting=_meeting(row),
        outcome=InterventionOutcome(row.outcome) if row.outcome else None,
        closing_note=row.closing_note or "",
    )


def _intervention_values(intervention: ComplianceIntervention) -> dict[str, Any]:
    """The columns of an intervention but its id and origin, which never change."""
    meeting = intervention.meeting
    return {
        "trader_id": intervention.trader_id,
        "trader_role": intervention.trader_role.value,
        "trigger": intervention.trigger.value,
        "areas": _join(intervention.areas),
        "error_pattern": intervention.error_pattern,
        "evidence": "\n".join(intervention.evidence),
        "planned_meeting_time": intervention.planned_meeting_time,
        "state": intervention.state.value,
        "owner": intervention.owner,
        "create_time": intervention.create_time,
        "update_time": intervention.update_time,
        "version": intervention.version,
        "meeting_time": meeting.meeting_time if meeting else None,
        "meeting_attendees": list(meeting.attendees) if meeting else None,
        "meeting_summary": meeting.summary if meeting else None,
        "corrective_plan": meeting.corrective_plan if meeting else None,
        "follow_up_date": meeting.follow_up_date if meeting else None,
        "outcome": intervention.outcome.value if intervention.outcome else None,
        "closing_note": intervention.closing_note or None,
    }


class InterventionRepository:
    """Informed-compliance interventions."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, intervention: ComplianceIntervention, audit_case_id: str | None) -> None:
        """Inserts a new intervention (opened from ``audit_case_id``, if any)."""
        await self._session.execute(
            insert(InterventionRow).values(
                intervention_id=intervention.intervention_id,
                source_finding=intervention.source_finding,
                source_audit_case_id=audit_case_id,
                **_intervention_values(intervention),
            )
        )

    async def save(self, intervention: ComplianceIntervention) -> None:
        """Stores the new state of an existing intervention."""
        await self._session.execute(
            update(InterventionRow)
            .where(InterventionRow.intervention_id == intervention.intervention_id)
            .values(_intervention_values(intervention))
        )

    async def get(self, intervention_id: str) -> ComplianceIntervention | None:
        """The intervention with this id, if any."""
        row = await self._session.scalar(
            select(InterventionRow).where(InterventionRow.intervention_id == intervention_id)
        )
        return None if row is None else _intervention(row)

    async def closed(
        self, start: datetime | None, end: datetime | None
    ) -> list[ComplianceIntervention]:
        """The interventions closed in ``[start, end)`` (either open-ended when ``None``).

        A closed intervention never changes again, so its update time is its close time.
        """
        query = select(InterventionRow).where(
            InterventionRow.state == InterventionState.CLOSED.value
        )
        if start is not None:
            query = query.where(InterventionRow.update_time >= start)
        if end is not None:
            query = query.where(InterventionRow.update_time < end)
        rows = await self._session.scalars(
            query.order_by(InterventionRow.update_time, InterventionRow.intervention_id)
        )
        return [_intervention(row) for row in rows]

    async def opened_from_audit(self, audit_case_id: str) -> list[ComplianceIntervention]:
        """The interventions opened from the findings of an audit case, oldest first."""
        rows = await self._session.scalars(
            select(InterventionRow)
            .where(InterventionRow.source_audit_case_id == audit_case_id)
            .order_by(InterventionRow.create_time, InterventionRow.intervention_id)
        )
        return [_intervention(row) for row in rows]

    async def find(
        self, where: InterventionFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[ComplianceIntervention]:
        """Up to ``limit`` interventions matching ``where``, newest first."""
        row = InterventionRow
        query = select(row).order_by(row.create_time.desc(), row.intervention_id).limit(limit)
        if after is not None:
            time, intervention_id = after
            query = query.where(
                or_(
                    row.create_time < time,
                    and_(row.create_time == time, row.intervention_id > intervention_id),
                )
            )
        if where.trader_id:
            query = query.where(row.trader_id == where.trader_id)
        if where.states:
            query = query.where(row.state.in_([state.value for state in where.states]))
        if where.trader_role is not None:
            query = query.where(row.trader_role == where.trader_role.value)
        return [_intervention(found) for found in (await self._session.scalars(query)).all()]


# --- compliance measurements -------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurementFilter:
    """The filters of a measurement list; unset matches everything."""

    state: MeasurementState | None = None
    dimension: ComplianceDimension | None = None


def _rate_columns(rate: ComplianceRate, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}sample_size": rate.sample_size,
        f"{prefix}compliant": rate.compliant,
        f"{prefix}rate": rate.rate,
        f"{prefix}lower_bound": rate.lower_bound,
        f"{prefix}upper_bound": rate.upper_bound,
        f"{prefix}assessment": rate.assessment.value,
    }


def _measurement(row: MeasurementRow) -> ComplianceMeasurement:
    return ComplianceMeasurement(
        measurement_id=row.measurement_id,
        scope=MeasurementScope(
            title=row.title,
            dimension=ComplianceDimension(row.dimension),
            areas=frozenset(ComplianceArea(a) for a in _split(row.areas)),
            sources=frozenset(EvidenceSource(s) for s in _split(row.sources)),
            hs_chapters=frozenset(_split(row.hs_chapters)),
            period=Period(row.first_day, row.last_day),
            tolerance_level=row.tolerance_level,
            confidence_level=row.confidence_level,
            min_sample_size=row.min_sample_size,
        ),
        overall=ComplianceRate(
            stratum="all",
            display_name="",
            sample_size=row.overall_sample_size,
            compliant=row.overall_compliant,
            rate=row.overall_rate,
            lower_bound=row.overall_lower_bound,
            upper_bound=row.overall_upper_bound,
            assessment=ToleranceAssessment(row.overall_assessment),
        ),
        strata_count=row.strata_count,
        strata_below_tolerance=row.strata_below_tolerance,
        state=MeasurementState(row.state),
        publish_time=row.publish_time,
        creator=row.creator,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


class MeasurementRepository:
    """Compliance measurements and their per-stratum rates."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, measurement: ComplianceMeasurement, rates: Sequence[ComplianceRate]
    ) -> None:
        """Inserts a measurement with its rates."""
        scope = measurement.scope
        await self._session.execute(
            insert(MeasurementRow).values(
                measurement_id=measurement.measurement_id,
                title=scope.title,
                dimension=scope.dimension.value,
                areas=_join(scope.areas),
                sources=_join(scope.sources),
                hs_chapters=_join(scope.hs_chapters),
                first_day=scope.period.first_day,
                last_day=scope.period.last_day,
                tolerance_level=scope.tolerance_level,
                confidence_level=scope.confidence_level,
                min_sample_size=scope.min_sample_size,
                **_rate_columns(measurement.overall, "overall_"),
                strata_count=measurement.strata_count,
                strata_below_tolerance=measurement.strata_below_tolerance,
                state=measurement.state.value,
                publish_time=measurement.publish_time,
                creator=measurement.creator,
                create_time=measurement.create_time,
                update_time=measurement.update_time,
                version=measurement.version,
            )
        )
        if rates:
            await self._session.execute(
                insert(ComplianceRateRow),
                [
                    {
                        "measurement_id": measurement.measurement_id,
                        "stratum": rate.stratum,
                        "display_name": rate.display_name,
                        **_rate_columns(rate),
                    }
                    for rate in rates
                ],
            )

    async def get(self, measurement_id: str) -> ComplianceMeasurement | None:
        """The measurement with this id, if any."""
        row = await self._session.scalar(
            select(MeasurementRow).where(MeasurementRow.measurement_id == measurement_id)
        )
        return None if row is None else _measurement(row)

    async def find(
        self, where: MeasurementFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[ComplianceMeasurement]:
        """Up to ``limit`` measurements matching ``where``, newest first."""
        row = MeasurementRow
        query = select(row).order_by(row.create_time.desc(), row.measurement_id).limit(limit)
        if after is not None:
            time, measurement_id = after
            query = query.where(
                or_(
                    row.create_time < time,
                    and_(row.create_time == time, row.measurement_id > measurement_id),
                )
            )
        if where.state is not None:
            query = query.where(row.state == where.state.value)
        if where.dimension is not None:
            query = query.where(row.dimension == where.dimension.value)
        return [_measurement(found) for found in (await self._session.scalars(query)).all()]

    async def save(self, measurement: ComplianceMeasurement) -> None:
        """Stores the publication of an existing measurement (its rates never change)."""
        await self._session.execute(
            update(MeasurementRow)
            .where(MeasurementRow.measurement_id == measurement.measurement_id)
            .values(
                state=measurement.state.value,
                publish_time=measurement.publish_time,
                update_time=measurement.update_time,
                version=measurement.version,
            )
        )

    async def latest_rates(self, dimension: ComplianceDimension) -> dict[str, float]:
        """Each stratum's rate in the newest measurement by ``dimension`` that measured it."""
        rows = await self._session.execute(
            select(ComplianceRateRow.stratum, ComplianceRateRow.rate)
            .join(MeasurementRow)
            .where(MeasurementRow.dimension == dimension.value, ComplianceRateRow.sample_size > 0)
            .order_by(MeasurementRow.create_time.desc(), MeasurementRow.measurement_id.desc())
        )
        latest: dict[str, float] = {}
        for row in rows:
            latest.setdefault(row.stratum, row.rate)
        return latest

    async def rates(
        self,
        measurement_id: str,
        assessments: Collection[ToleranceAssessment],
        after: tuple[float, str] | None,
        limit: int,
    ) -> list[ComplianceRate]:
        """Up to ``limit`` rates of a measurement, least compliant (lowest bound) first."""
        row = ComplianceRateRow
        query = (
            select(row)
            .where(row.measurement_id == measurement_id)
            .order_by(row.lower_bound, row.stratum)
            .limit(limit)
        )
        if assessments:
            query = query.where(row.assessment.in_([a.value for a in assessments]))
        if after is not None:
            bound, stratum = after
            query = query.where(
                or_(row.lower_bound > bound, and_(row.lower_bound == bound, row.stratum > stratum))
            )
        return [
            ComplianceRate(
                stratum=found.stratum,
                display_name=found.display_name,
                sample_size=found.sample_size,
                compliant=found.compliant,
                rate=found.rate,
                lower_bound=found.lower_bound,
                upper_bound=found.upper_bound,
                assessment=ToleranceAssessment(found.assessment),
            )
            for found in (await self._session.scalars(query)).all()
        ]


# --- approved-trader applications --------------------------------------------------------------

_OPEN_APPLICATION_CONSTRAINT = "uq_trader_applications_open_trader"
_DECISION = "DECISION"
_REEVALUATION = "REEVALUATION"


@dataclass(frozen=True)
class ApplicationFilter:
    """The filters of an application list; unset matches everything."""

    trader_id: str = ""
    states: frozenset[ApplicationState] = frozenset()
    #: Only ACTIVE applications whose next re-evaluation is due on or before this day.
    reevaluation_due_before: date | None = None


def _benefits(text: str | None) -> frozenset[ApprovedTraderBenefit]:
    return frozenset(ApprovedTraderBenefit(b) for b in _split(text or ""))


def _review_values(
    application_id: str, position: int, purpose: str, review: Review
) -> dict[str, Any]:
    checks = review.checks
    rate = review.compliance_rate
    return {
        "application_id": application_id,
        "position": position,
        "purpose": purpose,
        "record_keeping": checks.record_keeping.value,
        "security": checks.security.value,
        "employee_background_checks": checks.employee_background_checks.value,
        "findings": checks.findings,
        "rate_sample_size": rate.sample_size,
        "rate_compliant": rate.compliant,
        "rate": rate.rate,
        "rate_lower_bound": rate.lower_bound,
        "rate_upper_bound": rate.upper_bound,
        "rate_assessment": rate.assessment.value,
        "reviewer": review.reviewer,
        "review_time": review.review_time,
        "outcome": None,
        "next_reevaluation_date": None,
    }


def _review(row: ApplicationReviewRow, trader_id: str) -> Review:
    return Review(
        checks=ReviewChecks(
            record_keeping=CheckResult(row.record_keeping),
            security=CheckResult(row.security),
            employee_background_checks=CheckResult(row.employee_background_checks),
            findings=row.findings,
        ),
        compliance_rate=ComplianceRate(
            stratum=trader_name(trader_id),
            display_name="",
            sample_size=row.rate_sample_size,
            compliant=row.rate_compliant,
            rate=row.rate,
            lower_bound=row.rate_lower_bound,
            upper_bound=row.rate_upper_bound,
            assessment=ToleranceAssessment(row.rate_assessment),
        ),
        reviewer=row.reviewer,
        review_time=row.review_time,
    )


def _application_values(application: TraderApplication) -> dict[str, Any]:
    request = application.request
    agreement = application.agreement
    return {
        "application_id": application.application_id,
        "trader_id": request.trader_id,
        "requested_benefits": _join(request.requested_benefits),
        "statement": request.statement,
        "contact": request.contact,
        "receive_time": request.receive_time,
        "state": application.state.value,
        "agreement_reference": agreement.terms.reference if agreement else None,
        "agreement_benefits": _join(agreement.terms.benefits) if agreement else None,
        "agreement_effective_date": agreement.terms.effective_date if agreement else None,
        "agreement_signed_by": agreement.signed_by if agreement else None,
        "agreement_sign_time": agreement.sign_time if agreement else None,
        "next_reevaluation_date": application.next_reevaluation_date,
        "decision_reason": application.decision_reason,
        "decided_by": application.decided_by,
        "create_time": application.create_time,
        "update_time": application.update_time,
        "version": application.version,
    }


def _application(
    row: TraderApplicationRow, reviews: Sequence[ApplicationReviewRow]
) -> TraderApplication:
    agreement = None
    if row.agreement_reference is not None:
        if row.agreement_effective_date is None or row.agreement_sign_time is None:
            raise ValueError(f"the agreement of application {row.application_id} is incomplete")
        agreement = Agreement(
            terms=AgreementTerms(
                reference=row.agreement_reference,
                benefits=_benefits(row.agreement_benefits),
                effective_date=row.agreement_effective_date,
            ),
            signed_by=row.agreement_signed_by or "",
            sign_time=row.agreement_sign_time,
        )
    decision = next((r for r in reviews if r.purpose == _DECISION), None)
    return TraderApplication(
        application_id=row.application_id,
        request=ApplicationRequest(
            trader_id=row.trader_id,
            requested_benefits=_benefits(row.requested_benefits),
            statement=row.statement,
            contact=row.contact,
            receive_time=row.receive_time,
        ),
        state=ApplicationState(row.state),
        review=None if decision is None else _review(decision, row.trader_id),
        agreement=agreement,
        reevaluations=tuple(
            Reevaluation(
                review=_review(r, row.trader_id),
                outcome=ReevaluationOutcome(r.outcome or ""),
                next_reevaluation_date=r.next_reevaluation_date,
            )
            for r in reviews
            if r.purpose == _REEVALUATION
        ),
        next_reevaluation_date=row.next_reevaluation_date,
        decision_reason=row.decision_reason,
        decided_by=row.decided_by,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


class ApplicationRepository:
    """Approved-trader applications and their reviews."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, application: TraderApplication) -> None:
        """Inserts a new application.

        Raises ``FailedPrecondition`` (``APPLICATION_ALREADY_OPEN``) if another
        transaction opened one for the same trader first.
        """
        try:
            await self._session.execute(
                insert(TraderApplicationRow).values(_application_values(application))
            )
        except IntegrityError as error:
            if is_unique_violation(error, _OPEN_APPLICATION_CONSTRAINT):
                raise application_already_open(application.trader_id) from error
            raise
        await self._write_reviews(application)

    async def save(self, application: TraderApplication) -> None:
        """Stores the new state of an existing application and its reviews."""
        values = _application_values(application)
        del values["application_id"]
        await self._session.execute(
            update(TraderApplicationRow)
            .where(TraderApplicationRow.application_id == application.application_id)
            .values(values)
        )
        # Reviews are few (one a year) and never change: rewriting them keeps this simple.
        await self._session.execute(
            delete(ApplicationReviewRow).where(
                ApplicationReviewRow.application_id == application.application_id
            )
        )
        await self._write_reviews(application)

    async def _write_reviews(self, application: TraderApplication) -> None:
        rows = []
        if application.review is not None:
            rows.append(
                _review_values(application.application_id, 0, _DECISION, application.review)
            )
        for position, reevaluation in enumerate(application.reevaluations, start=1):
            values = _review_values(
                application.application_id, position, _REEVALUATION, reevaluation.review
            )
            values["outcome"] = reevaluation.outcome.value
            values["next_reevaluation_date"] = reevaluation.next_reevaluation_date
            rows.append(values)
        if rows:
            await self._session.execute(insert(ApplicationReviewRow), rows)

    async def get(self, application_id: str) -> TraderApplication | None:
        """The application with this id, if any."""
        row = await self._session.scalar(
            select(TraderApplicationRow).where(
                TraderApplicationRow.application_id == application_id
            )
        )
        if row is None:
            return None
        reviews = await self._reviews([application_id])
        return _application(row, reviews[application_id])

    async def open_application(self, trader_id: str) -> str | None:
        """The resource name of the trader's application that is not terminal, if any."""
        found = await self._session.scalar(
            select(TraderApplicationRow.application_id).where(
                TraderApplicationRow.trader_id == trader_id,
                TraderApplicationRow.state.in_([state.value for state in OPEN_STATES]),
            )
        )
        return None if found is None else application_name(found)

    async def find(
        self, where: ApplicationFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[TraderApplication]:
        """Up to ``limit`` applications matching ``where``, newest received first."""
        row = TraderApplicationRow
        query = select(row).order_by(row.receive_time.desc(), row.application_id).limit(limit)
        if after is not None:
            time, application_id = after
            query = query.where(
                or_(
                    row.receive_time < time,
                    and_(row.receive_time == time, row.application_id > application_id),
                )
            )
        if where.trader_id:
            query = query.where(row.trader_id == where.trader_id)
        if where.states:
            query = query.where(row.state.in_([state.value for state in where.states]))
        if where.reevaluation_due_before is not None:
            query = query.where(
                row.state == ApplicationState.ACTIVE.value,
                row.next_reevaluation_date <= where.reevaluation_due_before,
            )
        rows = (await self._session.scalars(query)).all()
        reviews = await self._reviews([found.application_id for found in rows])
        return [_application(found, reviews[found.application_id]) for found in rows]

    async def _reviews(
        self, application_ids: Collection[str]
    ) -> defaultdict[str, list[ApplicationReviewRow]]:
        by_application: defaultdict[str, list[ApplicationReviewRow]] = defaultdict(list)
        if not application_ids:
            return by_application
        rows = await self._session.scalars(
            select(ApplicationReviewRow)
            .where(ApplicationReviewRow.application_id.in_(application_ids))
            .order_by(ApplicationReviewRow.application_id, ApplicationReviewRow.position)
        )
        for row in rows:
            by_application[row.application_id].append(row)
        return by_application


# --- sampling plans ----------------------------------------------------------------------------


class SamplingPlanRepository:
    """Sampling plans and their strata; a plan never changes once stored."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, plan: SamplingPlan) -> None:
        """Inserts a plan with its strata."""
        parameters = plan.parameters
        target = parameters.target
        await self._session.execute(
            insert(SamplingPlanRow).values(
                plan_id=plan.plan_id,
                title=parameters.title,
                dimension=parameters.dimension.value,
                base_first_day=parameters.base_period.first_day,
                base_last_day=parameters.base_period.last_day,
                margin_of_error=target.value if isinstance(target, MarginOfError) else None,
                total_sample_size=(
                    target.total_sample_size if isinstance(target, SampleBudget) else None
                ),
                confidence_level=parameters.confidence_level,
                prior_compliance_rate=parameters.prior_compliance_rate,
                expected_margin_of_error=plan.allocation.expected_margin_of_error,
                creator=plan.creator,
                create_time=plan.create_time,
            )
        )
        await self._session.execute(
            insert(SamplingStratumRow),
            [
                {
                    "plan_id": plan.plan_id,
                    "stratum": stratum.stratum,
                    "population_size": stratum.population_size,
                    "expected_compliance_rate": stratum.expected_compliance_rate,
                    "standard_deviation": stratum.standard_deviation,
                    "sample_size": stratum.sample_size,
                }
                for stratum in plan.allocation.strata
            ],
        )

    async def get(self, plan_id: str) -> SamplingPlan | None:
        """The plan with this id, if any."""
        row = await self._session.scalar(
            select(SamplingPlanRow).where(SamplingPlanRow.plan_id == plan_id)
        )
        return None if row is None else (await self._complete([row]))[0]

    async def find(self, after: tuple[datetime, str] | None, limit: int) -> list[SamplingPlan]:
        """Up to ``limit`` plans, newest first."""
        row = SamplingPlanRow
        query = select(row).order_by(row.create_time.desc(), row.plan_id).limit(limit)
        if after is not None:
            time, plan_id = after
            query = query.where(
                or_(row.create_time < time, and_(row.create_time == time, row.plan_id > plan_id))
            )
        return await self._complete((await self._session.scalars(query)).all())

    async def _complete(self, rows: Sequence[SamplingPlanRow]) -> list[SamplingPlan]:
        if not rows:
            return []
        strata: dict[str, list[SamplingStratum]] = defaultdict(list)
        found = await self._session.scalars(
            select(SamplingStratumRow)
            .where(SamplingStratumRow.plan_id.in_([row.plan_id for row in rows]))
            .order_by(
                SamplingStratumRow.plan_id,
                SamplingStratumRow.sample_size.desc(),
                SamplingStratumRow.stratum,
            )
        )
        for stratum in found:
            strata[stratum.plan_id].append(
                SamplingStratum(
                    stratum=stratum.stratum,
                    population_size=stratum.population_size,
                    expected_compliance_rate=stratum.expected_compliance_rate,
                    standard_deviation=stratum.standard_deviation,
                    sample_size=stratum.sample_size,
                )
            )
        return [_sampling_plan(row, strata[row.plan_id]) for row in rows]


def _sampling_plan(row: SamplingPlanRow, strata: Sequence[SamplingStratum]) -> SamplingPlan:
    target: SamplingTarget
    if row.margin_of_error is not None:
        target = MarginOfError(row.margin_of_error)
    elif row.total_sample_size is not None:
        target = SampleBudget(row.total_sample_size)
    else:
        raise ValueError(f"sampling plan {row.plan_id} has no target")
    return SamplingPlan(
        plan_id=row.plan_id,
        parameters=SamplingParameters(
            title=row.title,
            dimension=ComplianceDimension(row.dimension),
            base_period=Period(row.base_first_day, row.base_last_day),
            target=target,
            confidence_level=row.confidence_level,
            prior_compliance_rate=row.prior_compliance_rate,
        ),
        allocation=Allocation(tuple(strata), row.expected_margin_of_error),
        creator=row.creator,
        create_time=row.create_time,
    )
