"""The SQL of the decision log: one writer at a time, entries appended and read in order."""

from __future__ import annotations

import json

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from exam_reports.adapters.orm import DecisionRow
from exam_reports.domain.decision_log import Decision, DecisionKind

#: The PostgreSQL advisory lock that serialises appends (the next link needs the head).
_LOCK_KEY = 7_302_118_413


class DecisionLog:
    """``decision_log`` in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self) -> None:
        """Makes concurrent appends wait for this transaction (SQLite has one writer anyway)."""
        if self._session.bind.dialect.name == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
            )

    async def head(self) -> Decision | None:
        """The last entry, if any."""
        row = await self._session.scalar(
            select(DecisionRow).order_by(DecisionRow.sequence.desc()).limit(1)
        )
        return None if row is None else _decision(row)

    async def add(self, decision: Decision) -> None:
        """Appends ``decision`` (linked to the head read under the lock)."""
        await self._session.execute(
            insert(DecisionRow).values(
                sequence=decision.sequence,
                resource=decision.resource,
                kind=decision.kind.value,
                actor=decision.actor,
                decide_time=decision.decide_time,
                detail=json.dumps([list(pair) for pair in decision.detail]),
                previous_hash=decision.previous_hash,
                hash=decision.hash,
            )
        )

    async def after(self, sequence: int, limit: int) -> list[Decision]:
        """Up to ``limit`` entries after ``sequence``, in chain order."""
        rows = await self._session.scalars(
            select(DecisionRow)
            .where(DecisionRow.sequence > sequence)
            .order_by(DecisionRow.sequence)
            .limit(limit)
        )
        return [_decision(row) for row in rows]


async def decision_log_head(session: AsyncSession) -> tuple[int, str] | None:
    """The log's head (sequence, hash), None while it is empty: what a checkpoint signs."""
    head = await DecisionLog(session).head()
    return None if head is None else (head.sequence, head.hash)


def _decision(row: DecisionRow) -> Decision:
    return Decision(
        sequence=row.sequence,
        resource=row.resource,
        kind=DecisionKind(row.kind),
        actor=row.actor,
        decide_time=row.decide_time,
        detail=tuple((key, value) for key, value in json.loads(row.detail)),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )
