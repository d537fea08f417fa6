"""What the use cases need from the outside that is not the database."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Protocol

from criteria.domain.history import HistoryEntry
from criteria.domain.impact import Capacities, Replay
from criteria.domain.model import Criterion, Document, NamedList, RiskProfile
from criteria.domain.oversight import DisparitySection
from criteria.domain.recommendations import RuleTerms
from criteria.domain.risk_models import RiskModelPerformance


class Encoder(Protocol):
    """The contract's encodings of domain objects.

    The history records differences and is hashed in the contract's encoding,
    and the change feed carries exactly what the watch stream sends, so both
    are produced by whoever speaks the contract.
    """

    def criterion_fields(self, criterion: Criterion) -> Mapping[str, str]:
        """Field path → proto3 JSON value of every recorded field of a criterion."""

    def risk_profile_fields(self, profile: RiskProfile) -> Mapping[str, str]:
        """Field path → proto3 JSON value of every recorded field of a profile."""

    def named_list_fields(self, named_list: NamedList) -> Mapping[str, str]:
        """Field path → proto3 JSON value of every recorded field of a list."""

    def active_criterion(self, criterion: Criterion) -> bytes:
        """The applied revision of ``criterion`` as the watch stream sends it."""

    def named_list(self, named_list: NamedList) -> bytes:
        """``named_list`` as the watch stream sends it."""

    def validity_end(self, active_criterion: bytes) -> datetime | None:
        """The end of the validity window of an encoded applied criterion."""

    def change_record(self, entry: HistoryEntry) -> bytes:
        """The canonical encoding of a history entry, over which its hash is computed."""

    def rule_terms(self, rule: Document) -> RuleTerms:
        """What the recommendation rules read from an encoded selection rule."""

    def revise_rule(
        self, rule: Document, *, selection_percent: float | None, treatment: Document | None
    ) -> Document:
        """``rule`` with a new selection percentage and/or treatment (``None`` keeps it)."""

    def named_lists_of(self, rule: Document) -> frozenset[str]:
        """The names of the named lists an encoded selection rule tests."""

    def active_risk_model(self, name: str, digest: str) -> bytes:
        """The active risk model version as the watch stream sends it ("" name: none)."""


class ImpactSources(Protocol):
    """The peers an impact analysis reads: scoring's replay and exam_reports' capacity.

    Both raise ``customs_kit.errors.Unavailable`` when the peer cannot answer.
    """

    async def replay(
        self,
        criterion: str,
        revision: int,
        rule: Document,
        lodged_from: datetime,
        lodged_before: datetime,
    ) -> Replay:
        """Scoring's replay of ``rule`` added to its active set over the lodgement window."""

    async def capacities(
        self, office_codes: Collection[str], first_day: date, last_day: date
    ) -> Capacities:
        """The daily capacity of ``office_codes`` from ``first_day`` to ``last_day`` inclusive."""


class RiskModelSources(Protocol):
    """What risk model governance and the oversight report read from scoring.

    Each raises ``customs_kit.errors.Unavailable`` when a peer cannot answer.
    """

    async def impact(
        self, risk_model: str, threshold: float, lodged_from: datetime, lodged_before: datetime
    ) -> bytes:
        """The RiskModelImpact message of a replay of the version at ``threshold``."""

    async def performance(
        self, risk_model: str, threshold: float, start: datetime, end: datetime
    ) -> RiskModelPerformance:
        """The version's results on the random arm and its drift over the period."""

    async def disparity(
        self, risk_model_threshold: float, start: datetime, end: datetime
    ) -> DisparitySection:
        """Scoring's disparity findings over the period (``available`` True)."""
