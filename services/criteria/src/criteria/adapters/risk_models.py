"""The SQL of risk model versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from criteria.adapters.orm import RiskModelRow
from criteria.domain.risk_models import RiskModel, RiskModelState


class RiskModelRepository:
    """Risk model versions, in one unit of work (under the history lock for changes)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, name: str) -> RiskModel | None:
        """The version, if criteria received it."""
        row = await self._session.get(RiskModelRow, name)
        return None if row is None else _domain(row)

    async def active(self) -> RiskModel | None:
        """The ACTIVE version, if any."""
        row = await self._session.scalar(
            select(RiskModelRow).where(RiskModelRow.state == RiskModelState.ACTIVE.value)
        )
        return None if row is None else _domain(row)

    async def page(
        self, state: RiskModelState | None, after: tuple[str, str] | None, limit: int
    ) -> list[RiskModel]:
        """Up to ``limit`` versions newest first after ``after`` (create time, name)."""
        query = select(RiskModelRow)
        if state is not None:
            query = query.where(RiskModelRow.state == state.value)
        rows = (
            await self._session.scalars(
                query.order_by(RiskModelRow.create_time.desc(), RiskModelRow.name.desc())
            )
        ).all()
        models = [_domain(row) for row in rows]
        if after is not None:
            models = [m for m in models if (m.create_time.isoformat(), m.name) < after]
        return models[:limit]

    async def save(self, model: RiskModel) -> None:
        """Stores the version as it now is."""
        row = await self._session.get(RiskModelRow, model.name)
        if row is None:
            row = RiskModelRow(name=model.name)
            self._session.add(row)
        row.state = model.state.value
        row.digest = model.digest
        row.trainer = model.trainer
        row.card = model.card
        row.version = model.version
        row.score_threshold = model.score_threshold
        row.impact = model.impact
        row.submitted_by = model.submitted_by
        row.approved_by = model.approved_by
        row.previous = model.previous
        row.activate_time = model.activate_time
        row.create_time = model.create_time
        row.update_time = model.update_time
        await self._session.flush()


def _domain(row: RiskModelRow) -> RiskModel:
    return RiskModel(
        name=row.name,
        state=RiskModelState(row.state),
        digest=row.digest,
        trainer=row.trainer,
        card=row.card,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
        score_threshold=row.score_threshold,
        impact=row.impact,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        previous=row.previous,
        activate_time=row.activate_time,
    )
