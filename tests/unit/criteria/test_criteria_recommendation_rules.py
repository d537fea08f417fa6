"""The rules that turn a criterion's results into recommendations, and their decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from criteria.domain.model import Actor, Document
from criteria.domain.recommendations import (
    Evidence,
    RecommendationKind,
    RecommendationPolicy,
    RecommendationState,
    RuleTerms,
    check_overrides,
    decide,
    lowered_percent,
    negative_run_proposals,
    new_recommendation,
    trader_proposals,
)
from customs_kit.errors import FailedPrecondition, InvalidArgument

POLICY = RecommendationPolicy()
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SINCE = datetime(2026, 1, 3, 8, 0, tzinfo=UTC)
REVIEW = Document(b"yellow")
PHYSICAL = RuleTerms(selection_percent=100.0, physical=True, document_review=REVIEW)
NOTHING_PENDING: frozenset[RecommendationKind] = frozenset()


def run(count: int) -> Evidence:
    return Evidence(count, SINCE, tuple(f"D-{n}" for n in range(count)))


def test_ten_negative_examinations_in_a_row_propose_retiring_lowering_and_document_review() -> None:
    proposals = negative_run_proposals(POLICY, PHYSICAL, run(10), NOTHING_PENDING)

    assert [p.kind for p in proposals] == [
        RecommendationKind.RETIRE,
        RecommendationKind.LOWER_PERCENTAGE,
        RecommendationKind.SWITCH_TO_DOCUMENT_REVIEW,
    ]
    assert all(p.consecutive_negative_results == 10 for p in proposals)
    assert proposals[0].rationale.startswith("10 negative examinations in a row since 2026-01-03")
    assert proposals[1].suggested_selection_percent == 10.0
    assert proposals[2].suggested_treatment == REVIEW
    assert proposals[0].declaration_numbers[-1] == "D-9"


def test_nine_negative_examinations_propose_nothing() -> None:
    assert negative_run_proposals(POLICY, PHYSICAL, run(9), NOTHING_PENDING) == []


def test_the_rule_fires_again_after_another_full_run_only() -> None:
    assert negative_run_proposals(POLICY, PHYSICAL, run(11), NOTHING_PENDING) == []
    assert len(negative_run_proposals(POLICY, PHYSICAL, run(20), NOTHING_PENDING)) == 3


def test_a_kind_already_pending_is_not_proposed_again() -> None:
    pending = frozenset({RecommendationKind.RETIRE})

    proposals = negative_run_proposals(POLICY, PHYSICAL, run(20), pending)

    assert RecommendationKind.RETIRE not in {p.kind for p in proposals}


def test_a_document_review_is_not_switched_to_document_review() -> None:
    documents = RuleTerms(selection_percent=40.0, physical=False, document_review=REVIEW)

    kinds = {p.kind for p in negative_run_proposals(POLICY, documents, run(10), NOTHING_PENDING)}

    assert RecommendationKind.SWITCH_TO_DOCUMENT_REVIEW not in kinds


def test_lowering_proposes_ten_percent_or_half_whichever_is_lower() -> None:
    assert lowered_percent(POLICY, 100.0) == 10.0
    assert lowered_percent(POLICY, 12.0) == 6.0


def test_evidence_cites_at_most_fifty_declarations_the_latest() -> None:
    (retire, *_) = negative_run_proposals(POLICY, PHYSICAL, run(60), NOTHING_PENDING)

    assert len(retire.declaration_numbers) == 50
    assert retire.declaration_numbers[-1] == "D-59"


def test_three_discrepancies_by_one_trader_propose_actions_against_that_trader() -> None:
    proposals = trader_proposals(POLICY, "IMP-42", run(3), NOTHING_PENDING)

    assert {p.kind for p in proposals} == {
        RecommendationKind.INFORMED_COMPLIANCE,
        RecommendationKind.PENALTY,
        RecommendationKind.REFER_TO_AUDIT,
    }
    assert all(p.trader_id == "IMP-42" and p.discrepancies == 3 for p in proposals)
    assert "3 discrepancies by IMP-42 within 90 days" in proposals[0].rationale


def test_two_discrepancies_by_a_trader_propose_nothing() -> None:
    assert trader_proposals(POLICY, "IMP-42", run(2), NOTHING_PENDING) == []


def test_a_stricter_policy_fires_sooner() -> None:
    strict = RecommendationPolicy(negative_run=5, trader_discrepancies=2)

    assert len(negative_run_proposals(strict, PHYSICAL, run(5), NOTHING_PENDING)) == 3
    assert len(trader_proposals(strict, "IMP-42", run(2), NOTHING_PENDING)) == 3


def test_a_decision_records_who_why_and_when_and_changes_the_etag() -> None:
    pending = new_recommendation(
        "r1",
        "cigarettes",
        1,
        negative_run_proposals(POLICY, PHYSICAL, run(10), NOTHING_PENDING)[0],
        NOW,
    )

    dismissed = decide(
        pending, RecommendationState.DISMISSED, Actor("ana", ("analyst",)), "seasonal", NOW
    )

    assert (dismissed.state, dismissed.decided_by, dismissed.decision_reason) == (
        RecommendationState.DISMISSED,
        "ana",
        "seasonal",
    )
    assert dismissed.decide_time == NOW
    assert dismissed.etag != pending.etag
    with pytest.raises(FailedPrecondition) as refused:
        decide(dismissed, RecommendationState.ACCEPTED, Actor("rita", ("rmc",)), "no", NOW)
    assert refused.value.reason == "NOT_PENDING"


def test_a_percentage_override_does_not_apply_to_retirement() -> None:
    retire = new_recommendation(
        "r1",
        "cigarettes",
        1,
        negative_run_proposals(POLICY, PHYSICAL, run(10), NOTHING_PENDING)[0],
        NOW,
    )

    with pytest.raises(InvalidArgument) as refused:
        check_overrides(retire, selection_percent=True, treatment=False)

    assert refused.value.reason == "OVERRIDE_NOT_APPLICABLE"
    assert [v.field for v in refused.value.field_violations] == ["selection_percent"]
