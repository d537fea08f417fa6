"""Traders, their compliance tier and approved-trader standing, and their profile.

A trader is named by the identification number written on declarations, so
every service refers to the same trader without a lookup. Traders are created
by a compliance specialist or automatically when first seen in an assessment.
The *profile* is the part scoring needs at lodgement; a change to it is what
the ``WatchTraderProfiles`` stream carries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from customs_kit.errors import Aborted, FieldViolation, InvalidArgument


class TraderRole(StrEnum):
    """A part a trader plays in declarations."""

    IMPORTER = "IMPORTER"
    EXPORTER = "EXPORTER"
    BROKER = "BROKER"
    CARRIER = "CARRIER"


class TraderTier(StrEnum):
    """The compliance tier customs assigns; every trader starts NEW."""

    NEW = "NEW"
    LOW_RISK = "LOW_RISK"
    STANDARD = "STANDARD"
    HIGH_RISK = "HIGH_RISK"


class ApprovedTraderStatus(StrEnum):
    """The standing in the approved-trader program."""

    NOT_APPROVED = "NOT_APPROVED"
    APPROVED = "APPROVED"
    REVOKED = "REVOKED"


class ApprovedTraderBenefit(StrEnum):
    """A facilitation granted to an approved trader."""

    REDUCED_EXAMINATION = "REDUCED_EXAMINATION"
    DIRECT_DELIVERY = "DIRECT_DELIVERY"
    DEFERRED_DUTY_PAYMENT = "DEFERRED_DUTY_PAYMENT"
    PERIODIC_DECLARATION = "PERIODIC_DECLARATION"


TRADER_NAME_PREFIX = "traders/"


def trader_name(trader_id: str) -> str:
    """The resource name ``traders/{trader_id}``."""
    return f"{TRADER_NAME_PREFIX}{trader_id}"


def trader_id_of(name: str) -> str:
    """The trader number in a resource name ``traders/{trader}``."""
    return name.removeprefix(TRADER_NAME_PREFIX)


@dataclass(frozen=True)
class TraderProfile:
    """What scoring needs to know about a trader at lodgement."""

    trader_id: str
    display_name: str
    roles: frozenset[TraderRole]
    tier: TraderTier
    approved_trader_status: ApprovedTraderStatus
    approved_benefits: frozenset[ApprovedTraderBenefit]
    first_declaration_time: datetime | None


@dataclass(frozen=True)
class TraderChanges:
    """New values of the fields named in an update mask; ``None`` leaves a field as it is."""

    display_name: str | None = None
    roles: frozenset[TraderRole] | None = None
    country: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Trader:
    """A company or person taking part in declarations."""

    trader_id: str
    display_name: str
    roles: frozenset[TraderRole]
    country: str
    address: str
    tier: TraderTier
    tier_reason: str
    approved_trader_status: ApprovedTraderStatus
    approved_trader_application: str
    approved_benefits: frozenset[ApprovedTraderBenefit]
    next_reevaluation_date: date | None
    first_declaration_time: datetime | None
    #: The change-feed revision of the last profile change (0 before the first).
    profile_revision: int
    create_time: datetime
    update_time: datetime
    #: Incremented by every change; the etag is derived from it.
    version: int

    @property
    def name(self) -> str:
        """The resource name ``traders/{trader}``."""
        return trader_name(self.trader_id)

    @property
    def etag(self) -> str:
        """The opaque version a client sends back to update the trader."""
        return f"{self.version}"

    @property
    def profile(self) -> TraderProfile:
        """The part of the trader that scoring receives."""
        return TraderProfile(
            trader_id=self.trader_id,
            display_name=self.display_name,
            roles=self.roles,
            tier=self.tier,
            approved_trader_status=self.approved_trader_status,
            approved_benefits=self.approved_benefits,
            first_declaration_time=self.first_declaration_time,
        )

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` unless ``etag`` is the trader's current etag."""
        if etag != self.etag:
            raise Aborted(
                "ETAG_MISMATCH",
                f"{self.name} changed since it was read (etag {etag!r}, now {self.etag!r})",
            )

    def updated(self, changes: TraderChanges, now: datetime) -> Trader:
        """The trader with ``changes`` applied."""
        violations = []
        if changes.display_name is not None and not changes.display_name:
            violations.append(FieldViolation("trader.display_name", "cannot be cleared"))
        if changes.roles is not None and not changes.roles:
            violations.append(FieldViolation("trader.roles", "needs at least one role"))
        if violations:
            raise InvalidArgument(violations)
        changed = replace(
            self,
            display_name=self.display_name
            if changes.display_name is None
            else changes.display_name,
            roles=self.roles if changes.roles is None else changes.roles,
            country=self.country if changes.country is None else changes.country,
            address=self.address if changes.address is None else changes.address,
        )
        return self._touched(changed, now)

    def seen_in_declaration(
        self, role: TraderRole, lodgement_time: datetime, now: datetime
    ) -> Trader:
        """The trader after appearing as ``role`` in a declaration lodged at ``lodgement_time``.

        Returns the trader unchanged (same object) when it already had the role
        and an earlier first declaration, so the caller can tell nothing happened.
        """
        first = self.first_declaration_time
        earlier = first is None or lodgement_time < first
        if role in self.roles and not earlier:
            return self
        changed = replace(
            self,
            roles=self.roles | {role},
            first_declaration_time=lodgement_time if earlier else first,
        )
        return self._touched(changed, now)

    def with_tier(self, tier: TraderTier, reason: str, now: datetime) -> Trader:
        """The trader moved to ``tier`` for ``reason`` (a specialist's decision)."""
        return self._touched(replace(self, tier=tier, tier_reason=reason), now)

    def approved(
        self,
        application: str,
        benefits: frozenset[ApprovedTraderBenefit],
        next_reevaluation_date: date,
        now: datetime,
    ) -> Trader:
        """The trader under the agreement of ``application``, with the benefits it grants."""
        changed = replace(
            self,
            approved_trader_status=ApprovedTraderStatus.APPROVED,
            approved_trader_application=application,
            approved_benefits=benefits,
            next_reevaluation_date=next_reevaluation_date,
        )
        return self._touched(changed, now)

    def reevaluation_due(self, next_reevaluation_date: date, now: datetime) -> Trader:
        """The approved trader after a re-evaluation that continued its approval."""
        return self._touched(replace(self, next_reevaluation_date=next_reevaluation_date), now)

    def revoked(self, application: str, now: datetime) -> Trader:
        """The trader whose approval under ``application`` was revoked: no benefits remain."""
        changed = replace(
            self,
            approved_trader_status=ApprovedTraderStatus.REVOKED,
            approved_trader_application=application,
            approved_benefits=frozenset(),
            next_reevaluation_date=None,
        )
        return self._touched(changed, now)

    def with_profile_revision(self, revision: int) -> Trader:
        """The trader recording the change-feed revision of its latest profile change."""
        return replace(self, profile_revision=revision)

    def _touched(self, changed: Trader, now: datetime) -> Trader:
        return replace(changed, update_time=now, version=self.version + 1)


def register_trader(
    trader_id: str,
    display_name: str,
    roles: frozenset[TraderRole],
    now: datetime,
    *,
    country: str = "",
    address: str = "",
) -> Trader:
    """A new trader: tier NEW, not an approved trader, no declaration seen yet."""
    violations = []
    if not display_name:
        violations.append(FieldViolation("trader.display_name", "is required"))
    if not roles:
        violations.append(FieldViolation("trader.roles", "needs at least one role"))
    if violations:
        raise InvalidArgument(violations)
    return Trader(
        trader_id=trader_id,
        display_name=display_name,
        roles=roles,
        country=country,
        address=address,
        tier=TraderTier.NEW,
        tier_reason="",
        approved_trader_status=ApprovedTraderStatus.NOT_APPROVED,
        approved_trader_application="",
        approved_benefits=frozenset(),
        next_reevaluation_date=None,
        first_declaration_time=None,
        profile_revision=0,
        create_time=now,
        update_time=now,
        version=1,
    )


def first_seen_trader(
    trader_id: str, declared_name: str, role: TraderRole, lodgement_time: datetime, now: datetime
) -> Trader:
    """A trader created from its first appearance in a declaration.

    The declared name may be missing; the trader number stands in for it until
    a specialist records the legal name.
    """
    trader = register_trader(trader_id, declared_name or trader_id, frozenset({role}), now)
    return replace(trader, first_declaration_time=lodgement_time)
