"""What an analyst may write, checked beyond the contract's field rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from criteria_builders import ANA, NOW, RITA, content, draft, later

from criteria.domain.model import (
    CriterionDraft,
    Document,
    NamedListKind,
    NamedListUse,
    RiskProfileContent,
    RuleFacts,
)
from criteria.domain.validation import (
    check_criterion_draft,
    check_risk_profile_content,
    list_fits_element,
)
from customs_kit.errors import InvalidArgument, PermissionDenied

_SELLERS = NamedListUse(
    "rule.condition.predicate.in_named_list.named_list",
    "namedLists/infringers",
    "CODE_ELEMENT_SELLER",
)


def _check(candidate: CriterionDraft, **lists: NamedListKind) -> None:
    check_criterion_draft(
        candidate,
        field="criterion",
        profile_exists=True,
        list_kinds={f"namedLists/{name}": kind for name, kind in lists.items()},
        now=NOW,
    )


def _refusal(candidate: CriterionDraft, **lists: NamedListKind) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as refused:
        _check(candidate, **lists)
    return refused.value


@pytest.mark.parametrize(
    ("kind", "element", "fits"),
    [
        (NamedListKind.COMPANIES, "CODE_ELEMENT_IMPORTER", True),
        (NamedListKind.COMPANIES, "CODE_ELEMENT_DECLARANT", True),
        (NamedListKind.DECLARANTS, "CODE_ELEMENT_DECLARANT", True),
        (NamedListKind.DECLARANTS, "CODE_ELEMENT_IMPORTER", False),
        (NamedListKind.COUNTRIES, "CODE_ELEMENT_ITEM_ORIGIN_COUNTRY", True),
        (NamedListKind.COUNTRIES, "CODE_ELEMENT_SELLER", False),
        (NamedListKind.COMMODITIES, "CODE_ELEMENT_ITEM_HS_CODE", True),
        (NamedListKind.CODES, "CODE_ELEMENT_TRANSPORT_MODE", True),
        (NamedListKind.CODES, "CODE_ELEMENT_IMPORTER", False),
        (NamedListKind.UNIT_VALUE_BANDS, "CODE_ELEMENT_ITEM_HS_CODE", False),
        (NamedListKind.UNIT_VALUE_BANDS, None, True),
        (NamedListKind.COMMODITIES, None, False),
    ],
)
def test_a_list_is_tested_only_against_the_elements_its_kind_holds(
    kind: NamedListKind, element: str | None, fits: bool
) -> None:
    assert list_fits_element(kind, element) is fits


def test_a_rule_on_existing_lists_of_the_right_kind_passes() -> None:
    _check(draft(_SELLERS), infringers=NamedListKind.COMPANIES)


def test_an_unknown_list_is_refused_at_the_field_that_names_it() -> None:
    refusal = _refusal(draft(_SELLERS))

    assert refusal.reason == "UNKNOWN_NAMED_LIST"
    assert [v.field for v in refusal.field_violations] == [
        "criterion.rule.condition.predicate.in_named_list.named_list"
    ]


def test_a_list_of_the_wrong_kind_is_refused() -> None:
    refusal = _refusal(draft(_SELLERS), infringers=NamedListKind.COUNTRIES)

    assert refusal.reason == "NAMED_LIST_KIND_MISMATCH"


@pytest.mark.parametrize(("depth", "predicates"), [(9, 9), (2, 201)])
def test_a_condition_too_deep_or_too_large_is_refused(depth: int, predicates: int) -> None:
    refusal = _refusal(draft(depth=depth, predicates=predicates))

    assert refusal.reason == "CONDITION_TOO_COMPLEX"
    assert [v.field for v in refusal.field_violations] == ["criterion.rule.condition"]


def test_the_largest_allowed_condition_passes() -> None:
    _check(draft(depth=8, predicates=200))


def test_a_window_that_ends_before_it_starts_is_refused_on_its_end() -> None:
    candidate = CriterionDraft(content(start=later(60), end=later(30)), RuleFacts(1, 1, ()))

    refusal = _refusal(candidate)

    assert [v.field for v in refusal.field_violations] == ["criterion.validity_end_time"]


def test_a_window_that_has_already_ended_is_refused() -> None:
    refusal = _refusal(draft(end=NOW - timedelta(seconds=1)))

    assert refusal.reason == "VALIDITY_WINDOW_INVALID"


def test_an_unknown_profile_is_refused_with_the_other_problems() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_criterion_draft(
            draft(_SELLERS), field="criterion", profile_exists=False, list_kinds={}, now=NOW
        )

    assert refused.value.reason == "UNKNOWN_RISK_PROFILE"
    assert [v.field for v in refused.value.field_violations] == [
        "criterion.risk_profile",
        "criterion.rule.condition.predicate.in_named_list.named_list",
    ]


def _profile(priority: int = 0, review: str = "2026-12-31") -> RiskProfileContent:
    return RiskProfileContent(
        title="Cigarettes",
        risk_area="RISK_AREA_REVENUE",
        priority=priority,
        rationale="Seizures",
        sources=(),
        indicators=("weight",),
        intended_treatment=Document(b""),
        owner="ana",
        next_review_date=review,
    )


def test_only_the_committee_ranks_a_profile() -> None:
    check_risk_profile_content(_profile(priority=0), ANA, field="risk_profile")
    check_risk_profile_content(_profile(priority=5), RITA, field="risk_profile")
    with pytest.raises(PermissionDenied) as refused:
        check_risk_profile_content(_profile(priority=5), ANA, field="risk_profile")

    assert refused.value.reason == "PRIORITY_RESERVED_TO_RMC"


def test_a_review_date_must_exist_on_the_calendar() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_risk_profile_content(_profile(review="2026-02-29"), ANA, field="risk_profile")

    assert [v.field for v in refused.value.field_violations] == ["risk_profile.next_review_date"]
