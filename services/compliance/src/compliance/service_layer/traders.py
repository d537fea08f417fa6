"""Use cases on traders, and the profile changes they publish to scoring.

Every change to the part of a trader that scoring needs (its profile) is
appended to the change feed in the same transaction as the change itself, so
``WatchTraderProfiles`` can never show a change that was rolled back nor miss
one that was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from compliance.adapters.profile_codec import PROFILE_KIND, encode_profile
from compliance.adapters.repositories import TraderFilter, TraderRepository
from compliance.domain.traders import (
    Trader,
    TraderChanges,
    TraderRole,
    TraderTier,
    first_seen_trader,
    register_trader,
    trader_name,
)
from compliance.domain.values import Party
from compliance.service_layer.paging import Page, page_of, page_request
from customs_kit.db import Database
from customs_kit.errors import AlreadyExists, NotFound
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

TRADER = "trader"


@dataclass(frozen=True)
class CreateTrader:
    """A specialist's request to register a trader ahead of its first declaration."""

    trader_id: str
    display_name: str
    roles: frozenset[TraderRole]
    country: str
    address: str


async def _published(uow: UnitOfWork, before: Trader | None, after: Trader) -> Trader:
    """``after``, with its profile appended to the feed if it differs from ``before``'s."""
    if before is not None and before.profile == after.profile:
        return after
    revision = await uow.changes.append(
        PROFILE_KIND, after.trader_id, encode_profile(after.profile)
    )
    return after.with_profile_revision(revision)


async def change_trader(uow: UnitOfWork, before: Trader, after: Trader) -> Trader:
    """Stores ``after`` in the caller's unit of work, publishing its profile if it changed."""
    changed = await _published(uow, before, after)
    await TraderRepository(uow.session).save(changed)
    return changed


async def create_trader(uow: UnitOfWork, command: CreateTrader, now: datetime) -> Trader:
    """Registers a trader (runs inside the caller's idempotent unit of work).

    Raises ``AlreadyExists`` if the number is taken, whether by a specialist or
    by an assessment that named the trader first.
    """
    traders = TraderRepository(uow.session)
    if await traders.get(command.trader_id) is not None:
        raise AlreadyExists(TRADER, trader_name(command.trader_id))
    trader = register_trader(
        command.trader_id,
        command.display_name,
        command.roles,
        now,
        country=command.country,
        address=command.address,
    )
    trader = await _published(uow, None, trader)
    await traders.add(trader)
    return trader


async def get_trader(database: Database, trader_id: str) -> Trader:
    """The trader; raises ``NotFound`` if there is none with that number."""
    async with database.unit_of_work(read_only=True) as uow:
        trader = await TraderRepository(uow.session).get(trader_id)
    if trader is None:
        raise NotFound(TRADER, trader_name(trader_id))
    return trader


async def list_traders(
    database: Database,
    tokens: PageTokens,
    where: TraderFilter,
    page_size: int,
    page_token: str,
) -> Page[Trader]:
    """One page of traders matching ``where``, ordered by trader number."""
    request = page_request(
        tokens,
        "traders",
        {
            "role": where.role,
            "tier": where.tier,
            "status": where.approved_trader_status,
            "prefix": where.display_name_prefix,
        },
        page_size,
        page_token,
    )
    after = str(request.after[0]) if request.after else None
    async with database.unit_of_work(read_only=True) as uow:
        rows = await TraderRepository(uow.session).find(where, after, request.size + 1)
    return page_of(tokens, request, rows, lambda trader: [trader.trader_id])


async def update_trader(
    database: Database, trader_id: str, etag: str, changes: TraderChanges, now: datetime
) -> Trader:
    """Applies a specialist's changes to a trader.

    Raises ``NotFound`` for an unknown trader and ``Aborted`` for a stale etag.
    """
    async with database.unit_of_work() as uow:
        traders = TraderRepository(uow.session)
        trader = await traders.get(trader_id)
        if trader is None:
            raise NotFound(TRADER, trader_name(trader_id))
        trader.check_etag(etag)
        updated = await _published(uow, trader, trader.updated(changes, now))
        await traders.save(updated)
        await uow.commit()
    return updated


async def set_trader_tier(
    uow: UnitOfWork, trader_id: str, etag: str, tier: TraderTier, reason: str, now: datetime
) -> Trader:
    """Moves a trader to a compliance tier (inside the caller's idempotent unit of work).

    Raises ``NotFound`` for an unknown trader and ``Aborted`` for a stale etag.
    """
    traders = TraderRepository(uow.session)
    trader = await traders.get(trader_id)
    if trader is None:
        raise NotFound(TRADER, trader_name(trader_id))
    trader.check_etag(etag)
    updated = await _published(uow, trader, trader.with_tier(tier, reason, now))
    await traders.save(updated)
    return updated


async def see_trader(
    uow: UnitOfWork, party: Party, role: TraderRole, lodgement_time: datetime, now: datetime
) -> Trader:
    """Records that ``party`` took part in a declaration as ``role``.

    Creates the trader the first time it is seen; afterwards adds the role and
    moves its first declaration time earlier when needed.
    """
    traders = TraderRepository(uow.session)
    known = await traders.get(party.number)
    if known is None:
        created = first_seen_trader(party.number, party.display_name, role, lodgement_time, now)
        created = await _published(uow, None, created)
        await traders.add(created)
        return created
    seen = known.seen_in_declaration(role, lodgement_time, now)
    if seen is known:
        return known
    seen = await _published(uow, known, seen)
    await traders.save(seen)
    return seen


async def known_trader(uow: UnitOfWork, party: Party, role: TraderRole, now: datetime) -> Trader:
    """The trader ``party`` names, registered in ``role`` if it was never seen before.

    Unlike :func:`see_trader` this records no declaration: it is for reports
    about a trader (audits) rather than declarations it took part in.
    """
    traders = TraderRepository(uow.session)
    known = await traders.get(party.number)
    if known is not None:
        return known
    created = register_trader(
        party.number, party.display_name or party.number, frozenset({role}), now
    )
    created = await _published(uow, None, created)
    await traders.add(created)
    return created
