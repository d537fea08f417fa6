"""The SQL of the imported history and of the outcomes of assessed declarations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import insert_rows, utcnow
from scoring.adapters.orm import DeclarationOutcomeRow, HistoryDeclarationRow
from scoring.domain.history import HistoryRecord, Outcome


class HistoryRepository:
    """Imported history, read and written in one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def held(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[bytes, Outcome]]:
        """The content and outcome already held for these (number, version) keys, in one query."""
        if not keys:
            return {}
        rows = await self._session.execute(
            select(
                HistoryDeclarationRow.declaration_number,
                HistoryDeclarationRow.version,
                HistoryDeclarationRow.declaration,
                HistoryDeclarationRow.examined,
                HistoryDeclarationRow.infringement_found,
                HistoryDeclarationRow.severity,
                HistoryDeclarationRow.revenue_found,
                HistoryDeclarationRow.randomly_selected,
                # By number, one index probe each: a list of (number, version) pairs is
                # planned as a scan of the whole table on PostgreSQL.
            ).where(HistoryDeclarationRow.declaration_number.in_({number for number, _ in keys}))
        )
        wanted = set(keys)
        return {
            (number, version): (content, Outcome(examined, found, severity, revenue, randomly))
            for number, version, content, examined, found, severity, revenue, randomly in rows
            if (number, version) in wanted
        }

    async def add_all(self, records: Sequence[HistoryRecord]) -> None:
        """Stores new records with one bulk insert (COPY on PostgreSQL)."""
        now = utcnow()
        rows = [
            {
                "declaration_number": record.declaration_number,
                "version": record.version,
                "lodgement_time": record.lodgement_time,
                "declaration": record.content,
                "examined": record.outcome.examined,
                "infringement_found": record.outcome.infringement_found,
                "severity": record.outcome.severity,
                "revenue_found": record.outcome.revenue_found,
                "randomly_selected": record.outcome.randomly_selected,
                "import_time": now,
            }
            for record in records
        ]
        await insert_rows(self._session, HistoryDeclarationRow.__table__, rows)


class OutcomeRepository:
    """Outcomes of assessed declarations, by assessment and source."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, assessment_id: str, source: str, outcome: Outcome) -> None:
        """Stores the outcome ``source`` reported for an assessment, replacing its earlier one."""
        row = await self._session.get(DeclarationOutcomeRow, (assessment_id, source))
        if row is None:
            row = DeclarationOutcomeRow(assessment_id=assessment_id, source=source)
            self._session.add(row)
        row.infringement_found = outcome.infringement_found
        row.severity = outcome.severity
        row.revenue_found = outcome.revenue_found
        row.randomly_selected = bool(outcome.randomly_selected)
        row.outcome_time = utcnow()
        await self._session.flush()
