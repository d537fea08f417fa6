"""Traders: registration, what a declaration teaches about them, updates, profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.adapters.profile_codec import decode_profile, encode_profile
from compliance.domain.traders import (
    ApprovedTraderStatus,
    TraderChanges,
    TraderRole,
    TraderTier,
    first_seen_trader,
    register_trader,
)
from customs_kit.errors import Aborted, InvalidArgument

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)
LODGED = datetime(2025, 3, 10, 9, tzinfo=UTC)


def test_a_registered_trader_is_new_and_not_approved() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW, country="BE")

    assert trader.name == "traders/T1"
    assert trader.tier is TraderTier.NEW
    assert trader.approved_trader_status is ApprovedTraderStatus.NOT_APPROVED
    assert trader.first_declaration_time is None
    assert trader.country == "BE"


def test_a_trader_needs_a_name_and_a_role() -> None:
    with pytest.raises(InvalidArgument) as raised:
        register_trader("T1", "", frozenset(), NOW)

    assert [v.field for v in raised.value.field_violations] == [
        "trader.display_name",
        "trader.roles",
    ]


def test_a_trader_first_seen_without_a_declared_name_is_named_by_its_number() -> None:
    trader = first_seen_trader("T1", "", TraderRole.BROKER, LODGED, NOW)

    assert trader.display_name == "T1"
    assert trader.roles == {TraderRole.BROKER}
    assert trader.first_declaration_time == LODGED


def test_appearing_in_a_new_role_adds_the_role() -> None:
    trader = first_seen_trader("T1", "Acme", TraderRole.IMPORTER, LODGED, NOW)

    seen = trader.seen_in_declaration(TraderRole.BROKER, LODGED + timedelta(days=1), NOW)

    assert seen.roles == {TraderRole.IMPORTER, TraderRole.BROKER}
    assert seen.first_declaration_time == LODGED
    assert seen.etag != trader.etag


def test_an_earlier_declaration_arriving_late_moves_the_first_declaration_time() -> None:
    trader = first_seen_trader("T1", "Acme", TraderRole.IMPORTER, LODGED, NOW)
    earlier = LODGED - timedelta(days=30)

    seen = trader.seen_in_declaration(TraderRole.IMPORTER, earlier, NOW)

    assert seen.first_declaration_time == earlier


def test_a_declaration_that_teaches_nothing_new_leaves_the_trader_untouched() -> None:
    trader = first_seen_trader("T1", "Acme", TraderRole.IMPORTER, LODGED, NOW)

    assert trader.seen_in_declaration(TraderRole.IMPORTER, LODGED, NOW) is trader


def test_an_update_changes_only_the_named_fields_and_the_etag() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW, address="Old")

    updated = trader.updated(TraderChanges(address="New"), NOW)

    assert (updated.display_name, updated.address) == ("Acme", "New")
    assert updated.etag != trader.etag
    assert updated.profile == trader.profile


def test_an_update_cannot_clear_the_name_or_the_roles() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW)

    with pytest.raises(InvalidArgument):
        trader.updated(TraderChanges(display_name="", roles=frozenset()), NOW)


def test_a_stale_etag_is_aborted() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW)
    updated = trader.updated(TraderChanges(display_name="Acme NV"), NOW)

    updated.check_etag(updated.etag)
    with pytest.raises(Aborted):
        updated.check_etag(trader.etag)


def test_a_tier_change_changes_the_profile_scoring_sees() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW)

    risky = trader.with_tier(TraderTier.HIGH_RISK, "Repeated undervaluation.", NOW)

    assert risky.profile.tier is TraderTier.HIGH_RISK
    assert risky.tier_reason == "Repeated undervaluation."
    assert risky.profile != trader.profile


def test_a_profile_survives_the_change_feed_unchanged() -> None:
    trader = first_seen_trader("T1", "Acme", TraderRole.IMPORTER, LODGED, NOW)
    profile = trader.seen_in_declaration(TraderRole.CARRIER, LODGED, NOW).profile

    assert decode_profile(encode_profile(profile)) == profile
