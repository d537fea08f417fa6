"""Risk profiles, criteria and named lists as the domain sees them.

The nested structures of the contract that the domain stores and passes on
without interpreting (the selection rule, a treatment, a list's entries) are
kept as their encoded form (:class:`Document`); what the domain does need to
know about a rule (its complexity and the named lists it tests) is read into
:class:`RuleFacts` when a request is decoded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from customs_kit.errors import FieldViolation, InvalidArgument

#: The actor of changes the system makes by itself (expiry).
SYSTEM_SUBJECT = "system"


def etag_of(name: str, version: int) -> str:
    """The etag of a resource at one version: it changes with every recorded change."""
    return hashlib.sha256(f"{name}@{version}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the caller's subject and roles (as in the token)."""

    subject: str
    roles: tuple[str, ...]

    def has_any(self, *roles: str) -> bool:
        """Whether the actor holds at least one of ``roles``."""
        return any(role in self.roles for role in roles)


#: The actor recorded for expiry at the end of a validity window.
SYSTEM = Actor(SYSTEM_SUBJECT, ())


@dataclass(frozen=True)
class Document:
    """A contract structure stored as its deterministic encoding, opaque to the domain."""

    encoded: bytes


class CriterionState(Enum):
    """The lifecycle state of a criterion; values are the contract's enum names."""

    DRAFT = "CRITERION_STATE_DRAFT"
    SUBMITTED = "CRITERION_STATE_SUBMITTED"
    ACTIVE = "CRITERION_STATE_ACTIVE"
    SUSPENDED = "CRITERION_STATE_SUSPENDED"
    RETIRED = "CRITERION_STATE_RETIRED"
    EXPIRED = "CRITERION_STATE_EXPIRED"


class AmendmentState(Enum):
    """The state of a pending change to a criterion that has an active revision."""

    NONE = "AMENDMENT_STATE_NONE"
    DRAFT = "AMENDMENT_STATE_DRAFT"
    SUBMITTED = "AMENDMENT_STATE_SUBMITTED"


class NamedListKind(Enum):
    """What a named list holds, which decides the data elements it can be tested against."""

    COMPANIES = "NAMED_LIST_KIND_COMPANIES"
    DECLARANTS = "NAMED_LIST_KIND_DECLARANTS"
    COUNTRIES = "NAMED_LIST_KIND_COUNTRIES"
    COMMODITIES = "NAMED_LIST_KIND_COMMODITIES"
    UNIT_VALUE_BANDS = "NAMED_LIST_KIND_UNIT_VALUE_BANDS"
    CODES = "NAMED_LIST_KIND_CODES"


# ---------------------------------------------------------------------------
# Risk profiles


@dataclass(frozen=True)
class ProfileSource:
    """One information source behind a risk profile (``kind`` is a SOURCE_KIND_ name)."""

    kind: str
    description: str
    reference: str


@dataclass(frozen=True)
class RiskProfileContent:
    """What an analyst writes in a risk profile."""

    title: str
    risk_area: str
    priority: int
    rationale: str
    sources: tuple[ProfileSource, ...]
    indicators: tuple[str, ...]
    intended_treatment: Document
    owner: str
    next_review_date: str


@dataclass(frozen=True)
class RiskProfile:
    """A documented risk that owns criteria."""

    id: str
    content: RiskProfileContent
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def name(self) -> str:
        """``riskProfiles/{id}``."""
        return f"riskProfiles/{self.id}"

    @property
    def etag(self) -> str:
        """Changes with every revision."""
        return etag_of(self.name, self.revision)


# ---------------------------------------------------------------------------
# Named lists


@dataclass(frozen=True)
class NamedListContent:
    """What an analyst writes in a named list; ``items`` holds its entries or bands."""

    title: str
    description: str
    kind: NamedListKind
    items: Document


@dataclass(frozen=True)
class NamedList:
    """A versioned list that criteria reference by name."""

    id: str
    content: NamedListContent
    revision: int
    last_editor: str
    create_time: datetime
    update_time: datetime

    @property
    def name(self) -> str:
        """``namedLists/{id}``."""
        return f"namedLists/{self.id}"

    @property
    def etag(self) -> str:
        """Changes with every revision."""
        return etag_of(self.name, self.revision)


# ---------------------------------------------------------------------------
# Criteria


@dataclass(frozen=True)
class NamedListUse:
    """A named list tested by a rule: where (request field path), which, and against what.

    ``element`` is the CODE_ELEMENT_ name tested by membership, or ``None`` for a
    unit-value predicate (which needs a unit-value band list).
    """

    field: str
    named_list: str
    element: str | None


@dataclass(frozen=True)
class RuleFacts:
    """What the domain checks about a selection rule, read from it when it is decoded."""

    depth: int
    predicate_count: int
    named_list_uses: tuple[NamedListUse, ...]


@dataclass(frozen=True)
class CriterionContent:
    """The content of one criterion revision."""

    risk_profile: str
    title: str
    description: str
    #: The encoded customs.common.v1.SelectionRule.
    rule: Document
    validity_start: datetime | None
    validity_end: datetime | None
    campaign_tag: str

    def ended_by(self, now: datetime) -> bool:
        """Whether the validity window has closed at ``now``."""
        return self.validity_end is not None and self.validity_end <= now


@dataclass(frozen=True)
class CriterionDraft:
    """Criterion content as written in a request, with the facts about its rule."""

    content: CriterionContent
    rule_facts: RuleFacts


@dataclass(frozen=True)
class Revision:
    """One content revision of a criterion, by whom, and the owning profile's risk area."""

    number: int
    content: CriterionContent
    author: str
    create_time: datetime
    risk_area: str


@dataclass(frozen=True)
class Criterion:
    """An examination criterion: its latest revision, its applied revision and its state.

    ``version`` counts every recorded change (content or lifecycle) and is what
    the etag follows; ``latest.number`` counts content revisions only.
    """

    id: str
    author: str
    create_time: datetime
    version: int
    state: CriterionState
    amendment_state: AmendmentState
    latest: Revision
    active: Revision | None
    approver: str
    approve_time: datetime | None
    update_time: datetime

    @property
    def name(self) -> str:
        """``criteria/{id}``."""
        return f"criteria/{self.id}"

    @property
    def etag(self) -> str:
        """Changes with every recorded change."""
        return etag_of(self.name, self.version)

    @property
    def revision(self) -> int:
        """The latest content revision."""
        return self.latest.number

    @property
    def active_revision(self) -> int:
        """The revision scoring applies (or last applied); 0 when never approved."""
        return self.active.number if self.active is not None else 0

    @property
    def applied(self) -> bool:
        """Whether scoring applies this criterion now (it is in the active set)."""
        return self.state is CriterionState.ACTIVE


def new_risk_profile(profile_id: str, content: RiskProfileContent, now: datetime) -> RiskProfile:
    """A risk profile at revision 1."""
    return RiskProfile(profile_id, content, 1, now, now)


def revise_risk_profile(
    profile: RiskProfile, content: RiskProfileContent, now: datetime
) -> RiskProfile:
    """The next revision of a risk profile."""
    return RiskProfile(profile.id, content, profile.revision + 1, profile.create_time, now)


def new_named_list(
    list_id: str, content: NamedListContent, editor: Actor, now: datetime
) -> NamedList:
    """A named list at revision 1."""
    return NamedList(list_id, content, 1, editor.subject, now, now)


def revise_named_list(
    named_list: NamedList, content: NamedListContent, editor: Actor, now: datetime
) -> NamedList:
    """The next revision of a named list; raises ``InvalidArgument`` if its kind would change."""
    if content.kind is not named_list.content.kind:
        raise InvalidArgument(
            [
                FieldViolation(
                    "named_list.kind", f"is {named_list.content.kind.value} and cannot change"
                )
            ],
            reason="NAMED_LIST_KIND_IMMUTABLE",
        )
    return NamedList(
        named_list.id,
        content,
        named_list.revision + 1,
        editor.subject,
        named_list.create_time,
        now,
    )
