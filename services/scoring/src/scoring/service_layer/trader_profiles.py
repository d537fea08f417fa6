"""The importers' approved-trader status, as compliance streams it, held in memory.

Only the status is kept (the set of approved traders), as one immutable
:class:`ApprovedTraders` replaced whole on every change, so that an
assessment reads it, with its revision, without a query and never sees half
of a change. It is not stored: a restarted process asks compliance for a
full snapshot, and a decision records the status it was taken with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

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
