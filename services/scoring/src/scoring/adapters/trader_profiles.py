"""The SQL of the approved traders: who is approved, and the stream revision that says so."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import utcnow
from scoring.adapters.orm import ApprovedTraderRow, WatchPositionRow

#: The row of ``watch_positions`` kept for compliance's trader-profile stream.
TRADER_PROFILES_WATCH = "trader-profiles"


class ApprovedTraderStore:
    """The approved traders as of one revision of the trader-profile stream."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self._session = session
        self._dialect = dialect

    async def revision(self) -> int | None:
        """The revision the stored statuses are as of; None if nothing was ever stored.

        Read first and under a shared lock: a writer advances this row before it
        touches the traders, so the traders read next in the same transaction
        are exactly those of this revision.
        """
        revision: int | None = await self._session.scalar(
            select(WatchPositionRow.revision)
            .where(WatchPositionRow.watch == TRADER_PROFILES_WATCH)
            .with_for_update(read=True)
        )
        return revision

    async def trader_ids(self) -> frozenset[str]:
        """The identifiers of the approved traders stored."""
        return frozenset(await self._session.scalars(select(ApprovedTraderRow.trader_id)))

    async def advance(self, revision: int) -> bool:
        """Moves the stored statuses to ``revision``; False if they are already as of it or later.

        Every replica follows the stream at its own pace: one that lags must
        not overwrite what a replica ahead of it stored. The upsert locks the
        row until commit, so replicas writing at the same time take turns.
        """
        insert_into = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = insert_into(WatchPositionRow).values(
            watch=TRADER_PROFILES_WATCH, revision=revision, update_time=utcnow()
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

    async def replace_all(self, trader_ids: Collection[str]) -> None:
        """Makes ``trader_ids`` the whole set of approved traders."""
        await self._session.execute(delete(ApprovedTraderRow))
        if trader_ids:
            await self._session.execute(
                insert(ApprovedTraderRow),
                [{"trader_id": trader_id} for trader_id in sorted(trader_ids)],
            )

    async def set_approved(self, trader_id: str, *, approved: bool) -> None:
        """Adds ``trader_id`` to the approved traders, or removes it."""
        if not approved:
            await self._session.execute(
                delete(ApprovedTraderRow).where(ApprovedTraderRow.trader_id == trader_id)
            )
            return
        insert_into = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        await self._session.execute(
            insert_into(ApprovedTraderRow).values(trader_id=trader_id).on_conflict_do_nothing()
        )
