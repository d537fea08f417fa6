"""Trade statistics: every assessment recorded once, and what is read from the records."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog

from compliance.adapters.repositories import (
    MixedCurrencies,
    RecordFilter,
    RecordRepository,
    StatisticsScope,
)
from compliance.domain.declarations import (
    RECORD_NAME_PREFIX,
    AssessedDeclaration,
    CommodityRanking,
    CommodityRankingMetric,
    DeclarationRecord,
    TraderRanking,
    TraderRankingMetric,
    record_assessment,
)
from compliance.domain.traders import TraderRole
from compliance.service_layer.paging import Page, page_of, page_request, stale_token
from compliance.service_layer.traders import see_trader
from customs_kit.db import Database
from customs_kit.errors import FailedPrecondition, NotFound
from customs_kit.inbox import apply_once
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

SCORING = "scoring"
DECLARATION_RECORD = "declaration record"


async def ingest_assessment(
    database: Database, event_id: str, assessed: AssessedDeclaration, now: datetime
) -> bool:
    """Records an assessment in the trade statistics exactly once.

    Returns ``False`` when the event was already applied. Raises
    ``InvalidArgument`` before touching the database when the assessment
    cannot be recorded (its amounts are in several currencies).
    """
    record = record_assessment(assessed, now)

    async def apply(uow: UnitOfWork) -> None:
        records = RecordRepository(uow.session)
        if await records.exists(record.record_id):
            # The same assessment relayed again under a new event id: its
            # traders and statistics were already counted.
            _log.info("assessment_already_recorded", assessment=record.assessment)
            return
        current = await records.current_version(record.declaration_number)
        counted = current is None or record.replaces(current)
        if current is not None and counted:
            await records.supersede(current.record_id)
        await records.add(replace(record, current=counted))
        for role, party in assessed.parties():
            await see_trader(uow, party, role, assessed.lodgement_time, now)

    applied = await apply_once(database, event_id, SCORING, apply)
    _log.info(
        "assessment_ingested" if applied else "assessment_event_duplicate",
        assessment=record.assessment,
        event_id=event_id,
    )
    return applied


async def get_record(database: Database, record_id: str) -> DeclarationRecord:
    """One recorded declaration; raises ``NotFound`` if there is none."""
    async with database.unit_of_work(read_only=True) as uow:
        record = await RecordRepository(uow.session).get(record_id)
    if record is None:
        raise NotFound(DECLARATION_RECORD, f"{RECORD_NAME_PREFIX}{record_id}")
    return record


async def list_records(
    database: Database, tokens: PageTokens, where: RecordFilter, page_size: int, page_token: str
) -> Page[DeclarationRecord]:
    """One page of the current records matching ``where``, newest lodgement first."""
    request = page_request(tokens, "declarationRecords", vars(where), page_size, page_token)
    after = None
    if request.after is not None:
        try:
            after = (datetime.fromisoformat(request.after[0]), str(request.after[1]))
        except (ValueError, IndexError, TypeError):
            raise stale_token() from None
    async with database.unit_of_work(read_only=True) as uow:
        rows = await RecordRepository(uow.session).find(where, after, request.size + 1)
    return page_of(
        tokens, request, rows, lambda record: [record.lodgement_time.isoformat(), record.record_id]
    )


def _rank_position(after: list[object] | None) -> tuple[int, str] | None:
    if after is None:
        return None
    try:
        rank, key = after
        return int(str(rank)), str(key)
    except (ValueError, TypeError):
        raise stale_token() from None


def _mixed(error: MixedCurrencies) -> FailedPrecondition:
    return FailedPrecondition(
        "MIXED_CURRENCIES",
        f"the declarations in this period are valued in {', '.join(error.currencies)}; "
        "amounts in different currencies cannot be ranked together",
    )


async def trader_rankings(
    database: Database,
    tokens: PageTokens,
    scope: StatisticsScope,
    role: TraderRole,
    metric: TraderRankingMetric,
    page_size: int,
    page_token: str,
) -> Page[TraderRanking]:
    """One page of traders in ``role`` ranked by ``metric`` over ``scope``, highest first."""
    request = page_request(
        tokens,
        "traderRankings",
        {"scope": vars(scope), "role": role, "metric": metric},
        page_size,
        page_token,
    )
    async with database.unit_of_work(read_only=True) as uow:
        try:
            rows = await RecordRepository(uow.session).trader_rankings(
                scope, role, metric, _rank_position(request.after), request.size + 1
            )
        except MixedCurrencies as error:
            raise _mixed(error) from None
    return page_of(tokens, request, rows, lambda row: [row.rank, row.trader_id])


async def commodity_rankings(
    database: Database,
    tokens: PageTokens,
    scope: StatisticsScope,
    hs_digits: int,
    metric: CommodityRankingMetric,
    page_size: int,
    page_token: str,
) -> Page[CommodityRanking]:
    """One page of commodities ranked by ``metric`` over ``scope``, highest first."""
    request = page_request(
        tokens,
        "commodityRankings",
        {"scope": vars(scope), "digits": hs_digits, "metric": metric},
        page_size,
        page_token,
    )
    async with database.unit_of_work(read_only=True) as uow:
        try:
            rows = await RecordRepository(uow.session).commodity_rankings(
                scope, hs_digits, metric, _rank_position(request.after), request.size + 1
            )
        except MixedCurrencies as error:
            raise _mixed(error) from None
    return page_of(tokens, request, rows, lambda row: [row.rank, row.hs_code])
