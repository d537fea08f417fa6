"""Checks on what analysts write that need more than the contract's field rules.

The request rules in the protos have already run; these need the service's
state (does the profile exist, what kind is that list) or a calendar. Every
failure names the request field, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from criteria.domain.model import (
    Actor,
    CriterionDraft,
    NamedListKind,
    RiskProfileContent,
)
from customs_kit.errors import FieldViolation, InvalidArgument, PermissionDenied

#: Rules deeper than this or with more predicates are refused (contract limits).
MAX_CONDITION_DEPTH = 8
MAX_PREDICATES = 200

_COMPANY_ELEMENTS = frozenset(
    {
        "CODE_ELEMENT_DECLARANT",
        "CODE_ELEMENT_IMPORTER",
        "CODE_ELEMENT_SELLER",
        "CODE_ELEMENT_CARRIER",
        "CODE_ELEMENT_COURIER",
    }
)
_COUNTRY_ELEMENTS = frozenset(
    {
        "CODE_ELEMENT_DISPATCH_COUNTRY",
        "CODE_ELEMENT_SELLER_COUNTRY",
        "CODE_ELEMENT_ITEM_ORIGIN_COUNTRY",
    }
)
_COMMODITY_ELEMENTS = frozenset({"CODE_ELEMENT_ITEM_HS_CODE"})

#: The coded elements each kind of list can be tested against by membership. A
#: CODES list takes every element no other kind is meant for.
ELEMENTS_BY_KIND: Mapping[NamedListKind, frozenset[str] | None] = {
    NamedListKind.COMPANIES: _COMPANY_ELEMENTS,
    NamedListKind.DECLARANTS: frozenset({"CODE_ELEMENT_DECLARANT"}),
    NamedListKind.COUNTRIES: _COUNTRY_ELEMENTS,
    NamedListKind.COMMODITIES: _COMMODITY_ELEMENTS,
    NamedListKind.UNIT_VALUE_BANDS: frozenset(),
    NamedListKind.CODES: None,
}
_NOT_CODES = _COMPANY_ELEMENTS | _COUNTRY_ELEMENTS | _COMMODITY_ELEMENTS


@dataclass(frozen=True)
class _Problem:
    reason: str
    field: str
    description: str


def list_fits_element(kind: NamedListKind, element: str | None) -> bool:
    """Whether a list of ``kind`` can be tested against ``element`` (None: unit value)."""
    if element is None:
        return kind is NamedListKind.UNIT_VALUE_BANDS
    allowed = ELEMENTS_BY_KIND[kind]
    return element not in _NOT_CODES if allowed is None else element in allowed


def check_criterion_draft(
    draft: CriterionDraft,
    *,
    field: str,
    profile_exists: bool,
    list_kinds: Mapping[str, NamedListKind],
    now: datetime,
) -> None:
    """Raises ``InvalidArgument`` (fields under ``field``) if ``draft`` cannot be stored.

    ``list_kinds`` holds the kind of every existing list the rule references.
    """
    content, rule = draft.content, draft.rule_facts
    problems: list[_Problem] = []
    if not profile_exists:
        problems.append(
            _Problem(
                "UNKNOWN_RISK_PROFILE",
                f"{field}.risk_profile",
                f"risk profile {content.risk_profile!r} does not exist",
            )
        )
    if rule.depth > MAX_CONDITION_DEPTH or rule.predicate_count > MAX_PREDICATES:
        problems.append(
            _Problem(
                "CONDITION_TOO_COMPLEX",
                f"{field}.rule.condition",
                f"the condition has {rule.depth} levels and {rule.predicate_count} predicates; "
                f"at most {MAX_CONDITION_DEPTH} levels and {MAX_PREDICATES} predicates",
            )
        )
    for use in rule.named_list_uses:
        kind = list_kinds.get(use.named_list)
        if kind is None:
            problems.append(
                _Problem(
                    "UNKNOWN_NAMED_LIST",
                    f"{field}.{use.field}",
                    f"named list {use.named_list!r} does not exist",
                )
            )
        elif not list_fits_element(kind, use.element):
            tested = use.element or "a unit value"
            problems.append(
                _Problem(
                    "NAMED_LIST_KIND_MISMATCH",
                    f"{field}.{use.field}",
                    f"a {kind.value} list cannot be tested against {tested}",
                )
            )
    start, end = content.validity_start, content.validity_end
    if start is not None and end is not None and end <= start:
        problems.append(
            _Problem(
                "VALIDITY_WINDOW_INVALID",
                f"{field}.validity_end_time",
                "must be after validity_start_time",
            )
        )
    elif end is not None and end <= now:
        problems.append(
            _Problem(
                "VALIDITY_WINDOW_INVALID",
                f"{field}.validity_end_time",
                "must be in the future: a criterion whose window has ended can never apply",
            )
        )
    _raise(problems)


def check_risk_profile_content(content: RiskProfileContent, actor: Actor, *, field: str) -> None:
    """Raises if ``content`` cannot be stored, or if ``actor`` may not set its priority."""
    if content.priority != 0:
        check_priority_setter(actor)
    check_next_review_date(content, field=field)


def check_priority_setter(actor: Actor) -> None:
    """Raises PERMISSION_DENIED unless ``actor`` may set or change a profile's priority."""
    if not actor.has_any("rmc"):
        raise PermissionDenied(
            "PRIORITY_RESERVED_TO_RMC",
            "only the Risk Management Committee (role rmc) sets a profile's priority",
        )


def check_next_review_date(content: RiskProfileContent, *, field: str) -> None:
    """Raises INVALID_ARGUMENT if the profile's next review date is not a calendar date."""
    try:
        date.fromisoformat(content.next_review_date)
    except ValueError:
        _raise(
            [
                _Problem(
                    "INVALID_DATE",
                    f"{field}.next_review_date",
                    f"{content.next_review_date!r} is not a calendar date",
                )
            ]
        )


def _raise(problems: list[_Problem]) -> None:
    if problems:
        raise InvalidArgument(
            [FieldViolation(problem.field, problem.description) for problem in problems],
            reason=problems[0].reason,
        )
