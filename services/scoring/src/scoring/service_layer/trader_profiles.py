"""The importers' approved-trader status, as compliance streams it: stored, and held in memory.

Only the status is kept (the set of approved traders), as one immutable
:class:`ApprovedTraders` replaced whole on every change, so that an
assessment reads it, with its revision, without a query and never sees half
of a change. Every message is stored first, with the revision it came at,
and only then swapped in, so memory never runs ahead of the database: a
restarted process assesses at once with the last statuses received (an
approved trader keeps the benefits of the agreement while compliance is
unreachable) and resumes the stream after their revision. A decision
records the revision of the status it was taken with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from customs_kit.db import Database
from scoring.adapters.trader_profiles import ApprovedTraderStore

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ApprovedTraders:
    """The traders with an approved-trader agreement in force, as of one stream revision.

    Revision 0: nothing received from compliance yet; every importer is then
    taken as not approved.
    """

    revision: int = 0
    trader_ids: frozenset[str] = field(default_factory=frozenset)

    def is_approved(self, trader_id: str) -> bool:
        """Whether ``trader_id`` is an approved trader."""
        return trader_id in self.trader_ids


class TraderProfilesHolder:
    """The approved traders of this process, replaced whole on every change."""

    def __init__(self) -> None:
        self.current = ApprovedTraders()

    def replace_all(self, revision: int, approved: Iterable[str]) -> None:
        """Installs a full snapshot at ``revision``."""
        self.current = ApprovedTraders(revision, frozenset(approved))
        _log.info(
            "trader_profiles_snapshot_applied",
            revision=revision,
            approved_traders=len(self.current.trader_ids),
        )

    def change(self, revision: int, trader_id: str, *, approved: bool) -> None:
        """Applies one trader's new status (a removed trader is not approved)."""
        before = self.current
        ids = before.trader_ids | {trader_id} if approved else before.trader_ids - {trader_id}
        self.current = ApprovedTraders(revision, ids)
        if before.is_approved(trader_id) != approved:
            _log.info(
                "approved_trader_status_changed",
                revision=revision,
                trader_id=trader_id,
                approved=approved,
            )


async def load_approved_traders(database: Database, holder: TraderProfilesHolder) -> int:
    """Loads the statuses stored by an earlier run into ``holder``; returns their revision.

    0 when nothing was stored yet: the stream then starts with a full snapshot.
    """
    async with database.unit_of_work() as uow:
        store = ApprovedTraderStore(uow.session, database.dialect)
        revision = await store.revision()
        if revision is None:
            return 0
        trader_ids = await store.trader_ids()
    holder.current = ApprovedTraders(revision, trader_ids)
    _log.info("approved_traders_loaded", revision=revision, approved_traders=len(trader_ids))
    return revision


async def apply_profiles_snapshot(
    database: Database, holder: TraderProfilesHolder, revision: int, approved: frozenset[str]
) -> None:
    """Replaces every status with a full snapshot at ``revision``: stored, then held."""
    async with database.unit_of_work() as uow:
        store = ApprovedTraderStore(uow.session, database.dialect)
        if await store.advance(revision):
            await store.replace_all(approved)
        await uow.commit()
    holder.replace_all(revision, approved)


async def apply_profile_change(
    database: Database,
    holder: TraderProfilesHolder,
    revision: int,
    trader_id: str,
    *,
    approved: bool,
) -> None:
    """Applies one trader's new status at ``revision``: stored, then held."""
    async with database.unit_of_work() as uow:
        store = ApprovedTraderStore(uow.session, database.dialect)
        if await store.advance(revision):
            await store.set_approved(trader_id, approved=approved)
        await uow.commit()
    holder.change(revision, trader_id, approved=approved)
