"""Findings: intervention only for unintentional errors, penalties with their amount."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from audit_referral.domain.common import Money
from audit_referral.domain.findings import (
    AuditFindingAction,
    DiscrepancyType,
    FindingContent,
    FindingIntent,
    new_finding,
)
from customs_kit.errors import Aborted, InvalidArgument

NOW = datetime(2025, 4, 2, tzinfo=UTC)


def content(**changes: object) -> FindingContent:
    base = FindingContent(
        discrepancy_types=(DiscrepancyType.VALUE,),
        description="Royalties were omitted from the customs value.",
        declarations=(),
        unpaid_duty=Money("EUR", 1200, 0),
        intent=FindingIntent.UNINTENTIONAL,
        trader_commits_to_correct=True,
        action=AuditFindingAction.COMPLIANCE_INTERVENTION,
        penalty_amount=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _fields(error: InvalidArgument) -> list[str]:
    return [v.field for v in error.field_violations]


def test_an_unintentional_error_the_trader_will_correct_calls_for_an_intervention() -> None:
    finding = new_finding(content(), finding_id="f-1", audit_case_id="c-1", actor="a", now=NOW)

    assert finding.resource_name == "auditCases/c-1/findings/f-1"
    assert finding.recorded_by == "a"


@pytest.mark.parametrize(
    "changes",
    [
        {"intent": FindingIntent.INTENTIONAL},
        {"intent": FindingIntent.UNDETERMINED},
        {"trader_commits_to_correct": False},
    ],
)
def test_an_intervention_needs_an_unintentional_error_and_a_commitment(
    changes: dict[str, object],
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        new_finding(content(**changes), finding_id="f", audit_case_id="c", actor="a", now=NOW)

    assert _fields(raised.value) == ["audit_finding.action"]


def test_a_penalty_needs_its_amount() -> None:
    with pytest.raises(InvalidArgument) as raised:
        content(action=AuditFindingAction.ADMINISTRATIVE_PENALTY).validate("audit_finding")

    assert _fields(raised.value) == ["audit_finding.penalty_amount"]


def test_only_a_penalty_has_an_amount() -> None:
    with pytest.raises(InvalidArgument) as raised:
        content(penalty_amount=Money("EUR", 10, 0)).validate("audit_finding")

    assert _fields(raised.value) == ["audit_finding.penalty_amount"]


def test_a_finding_calls_for_action_when_it_assesses_duty_or_a_measure() -> None:
    none = AuditFindingAction.NONE

    assert content(action=none).calls_for_action
    assert not content(action=none, unpaid_duty=Money("EUR", 0, 0)).calls_for_action
    assert content(
        action=AuditFindingAction.CRIMINAL_INVESTIGATION, unpaid_duty=Money("EUR", 0, 0)
    ).calls_for_action


def test_an_update_applies_only_the_named_fields_and_must_still_hold() -> None:
    finding = new_finding(content(), finding_id="f", audit_case_id="c", actor="a", now=NOW)

    described = finding.updated(
        content(description="Royalties of 9 % were omitted.", unpaid_duty=Money("EUR", 1, 0)),
        ["description"],
        now=NOW,
    )
    with pytest.raises(InvalidArgument) as raised:
        finding.updated(content(intent=FindingIntent.INTENTIONAL), ["intent"], now=NOW)

    assert described.content.description == "Royalties of 9 % were omitted."
    assert described.content.unpaid_duty == Money("EUR", 1200, 0)
    assert described.version == 2
    assert _fields(raised.value) == ["audit_finding.action"]


def test_an_update_of_an_unknown_field_is_refused() -> None:
    finding = new_finding(content(), finding_id="f", audit_case_id="c", actor="a", now=NOW)

    with pytest.raises(InvalidArgument) as raised:
        finding.updated(content(), ["recorded_by"], now=NOW)

    assert _fields(raised.value) == ["update_mask"]


def test_a_stale_etag_is_refused() -> None:
    finding = new_finding(content(), finding_id="f", audit_case_id="c", actor="a", now=NOW)

    with pytest.raises(Aborted):
        finding.check_etag("v2")
