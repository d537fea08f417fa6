"""How a trader profile is stored in the change feed.

The feed keeps the profile as it was at each change, so that a snapshot or a
replay after a restart sends exactly what was committed then. The encoding is
this service's own (JSON), not the wire contract: the stream maps it to the
current ``TraderProfile`` message when it sends it.
"""

from __future__ import annotations

import json
from datetime import datetime

from compliance.domain.traders import (
    ApprovedTraderBenefit,
    ApprovedTraderStatus,
    TraderProfile,
    TraderRole,
    TraderTier,
)

#: The change-feed kind of trader profiles, keyed by trader number.
PROFILE_KIND = "trader_profile"


def encode_profile(profile: TraderProfile) -> bytes:
    """The feed payload of ``profile``."""
    first = profile.first_declaration_time
    return json.dumps(
        {
            "trader_id": profile.trader_id,
            "display_name": profile.display_name,
            "roles": sorted(profile.roles),
            "tier": profile.tier,
            "approved_trader_status": profile.approved_trader_status,
            "approved_benefits": sorted(profile.approved_benefits),
            "first_declaration_time": first.isoformat() if first else None,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def decode_profile(payload: bytes) -> TraderProfile:
    """The profile stored by :func:`encode_profile`."""
    data = json.loads(payload)
    first = data["first_declaration_time"]
    return TraderProfile(
        trader_id=data["trader_id"],
        display_name=data["display_name"],
        roles=frozenset(TraderRole(role) for role in data["roles"]),
        tier=TraderTier(data["tier"]),
        approved_trader_status=ApprovedTraderStatus(data["approved_trader_status"]),
        approved_benefits=frozenset(ApprovedTraderBenefit(b) for b in data["approved_benefits"]),
        first_declaration_time=datetime.fromisoformat(first) if first else None,
    )
