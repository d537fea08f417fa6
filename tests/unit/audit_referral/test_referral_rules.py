"""Referrals: where they come from, what they say, and their one-time triage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from audit_referral.domain.common import DeclarationRef, Money, PartyRef, sum_money
from audit_referral.domain.findings import DiscrepancyType
from audit_referral.domain.referrals import (
    MAX_EVIDENCE,
    MAX_REASON_LENGTH,
    BlueDecision,
    ExaminationDiscrepancy,
    ExaminationFinding,
    NewReferral,
    ReferralPriority,
    ReferralSource,
    ReferralState,
    open_referral,
    referral_from_blue_decision,
    referral_from_examination_finding,
)
from customs_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2025, 3, 4, 10, tzinfo=UTC)


def new(source: ReferralSource = ReferralSource.COMPLIANCE) -> NewReferral:
    return NewReferral(
        source=source,
        trader=PartyRef("IMP-001", "Textiles Ltd"),
        declarations=(),
        reason="Compliance rate below tolerance for two quarters.",
        evidence=("complianceMeasurements/m-1",),
        priority=ReferralPriority.NORMAL,
        revenue_at_risk=Money("EUR", 1000, 0),
    )


def blue(**changes: object) -> BlueDecision:
    decision = BlueDecision(
        assessment="assessments/a-1",
        declaration=DeclarationRef("DECL-1", 2, "CTN01"),
        importer=PartyRef("IMP-001", "Textiles Ltd"),
        broker=None,
        lodgement_time=NOW,
        matched_criteria=("criteria/t-shirts",),
        random_selection=False,
        audit_instructions=("Compare the invoice with the bank transfer.",),
        total_customs_value=Money("EUR", 12000, 0),
        total_duties=None,
        decide_time=NOW,
    )
    return replace(decision, **changes)  # type: ignore[arg-type]


def exam(seized: bool) -> ExaminationFinding:
    return ExaminationFinding(
        examination="examinations/e-1",
        exam_report="examReports/r-1",
        declaration=DeclarationRef("DECL-9", 1, "CTN01"),
        importer=PartyRef("IMP-009", "Poultry Co"),
        broker=PartyRef("BRK-1", "Fast Brokers"),
        discrepancy_detail="Declared 5,000 kg frozen chicken parts, found 6,000 kg.",
        discrepancies=(
            ExaminationDiscrepancy(
                DiscrepancyType.VALUE,
                2,
                "Invoice price below market",
                Money("EUR", 100, 0),
                Money("EUR", 250, 0),
            ),
        ),
        penalty_recommended=True,
        merchandise_seized=seized,
        seizure_case_number="SZ-1" if seized else "",
        post_clearance_audit_recommended=False,
        matched_criteria=(),
        random_selection=True,
        approve_time=NOW,
    )


@pytest.mark.parametrize(
    "source", [ReferralSource.BLUE_DECISION, ReferralSource.EXAMINATION_FINDING]
)
def test_referrals_that_arrive_as_events_cannot_be_entered_by_hand(
    source: ReferralSource,
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        open_referral(new(source), referral_id="r-1", created_by="ana", now=NOW)

    assert [v.field for v in raised.value.field_violations] == ["referral.source"]


def test_a_referral_entered_by_hand_is_open_and_names_its_referrer() -> None:
    referral = open_referral(new(), referral_id="r-1", created_by="ana", now=NOW)

    assert referral.state is ReferralState.OPEN
    assert referral.created_by == "ana"
    assert referral.resource_name == "referrals/r-1"
    assert referral.version == 1


def test_a_referral_is_triaged_once() -> None:
    referral = open_referral(new(), referral_id="r-1", created_by="ana", now=NOW)
    accepted = referral.accept("c-1", actor="aud-1", note="Fits the 2025 plan.", now=NOW)

    with pytest.raises(FailedPrecondition) as decline:
        accepted.decline(actor="aud-2", reason="Not worth it.", now=NOW)
    with pytest.raises(FailedPrecondition) as accept_again:
        accepted.accept("c-2", actor="aud-2", note="", now=NOW)

    assert (accepted.state, accepted.audit_case_id) == (ReferralState.ACCEPTED, "c-1")
    assert (accepted.decided_by, accepted.decision_reason) == ("aud-1", "Fits the 2025 plan.")
    assert accepted.version == 2
    assert decline.value.reason == accept_again.value.reason == "REFERRAL_NOT_OPEN"
    assert decline.value.violations[0].subject == "referrals/r-1"


def test_a_declined_referral_keeps_its_reason() -> None:
    referral = open_referral(new(), referral_id="r-1", created_by="ana", now=NOW)

    declined = referral.decline(actor="aud-1", reason="Audited last year.", now=NOW)

    assert declined.state is ReferralState.DECLINED
    assert declined.decision_reason == "Audited last year."
    assert declined.audit_case_id is None


def test_a_blue_decision_asks_to_audit_the_importer_with_the_criteria_instructions() -> None:
    referral = referral_from_blue_decision(
        blue(broker=PartyRef("BRK-1", "Fast Brokers")),
        referral_id="r-1",
        source_service="scoring",
        now=NOW,
    )

    assert referral.source is ReferralSource.BLUE_DECISION
    assert referral.trader == PartyRef("IMP-001", "Textiles Ltd")
    assert referral.declarations == (DeclarationRef("DECL-1", 2, "CTN01"),)
    assert referral.evidence == ("assessments/a-1", "criteria/t-shirts")
    assert referral.priority is ReferralPriority.NORMAL
    assert referral.created_by == "scoring"
    assert "Compare the invoice with the bank transfer." in referral.reason
    assert "by criteria/t-shirts" in referral.reason
    assert "traders/BRK-1 (Fast Brokers)" in referral.reason
    assert "12000.00 EUR" in referral.reason


def test_a_random_blue_decision_says_it_was_random() -> None:
    referral = referral_from_blue_decision(
        blue(matched_criteria=(), random_selection=True, audit_instructions=()),
        referral_id="r-1",
        source_service="scoring",
        now=NOW,
    )

    assert "by random selection" in referral.reason
    assert referral.evidence == ("assessments/a-1",)


def test_a_blue_decision_with_long_instructions_still_fits_a_referral() -> None:
    referral = referral_from_blue_decision(
        blue(audit_instructions=tuple("x" * 2000 for _ in range(50))),
        referral_id="r-1",
        source_service="scoring",
        now=NOW,
    )

    assert len(referral.reason) == MAX_REASON_LENGTH
    assert referral.reason.endswith("[…]")


def test_the_evidence_of_a_blue_decision_is_capped_without_repeats() -> None:
    criteria = tuple(f"criteria/c-{n}" for n in range(100))

    referral = referral_from_blue_decision(
        blue(matched_criteria=(*criteria, criteria[0])),
        referral_id="r-1",
        source_service="scoring",
        now=NOW,
    )

    assert len(referral.evidence) == MAX_EVIDENCE
    assert referral.evidence[:2] == ("assessments/a-1", "criteria/c-0")


@pytest.mark.parametrize(
    ("seized", "priority"),
    [(True, ReferralPriority.HIGH), (False, ReferralPriority.NORMAL)],
)
def test_a_seizure_makes_an_examination_finding_urgent(
    seized: bool, priority: ReferralPriority
) -> None:
    referral = referral_from_examination_finding(
        exam(seized), referral_id="r-1", source_service="exam-reports", now=NOW
    )

    assert referral.priority is priority


def test_an_examination_finding_carries_the_officer_words_and_the_report() -> None:
    referral = referral_from_examination_finding(
        exam(True), referral_id="r-1", source_service="exam-reports", now=NOW
    )

    assert referral.source is ReferralSource.EXAMINATION_FINDING
    assert referral.trader.number == "IMP-009"
    assert referral.evidence == ("examReports/r-1", "examinations/e-1")
    assert "found 6,000 kg" in referral.reason
    assert "VALUE (item 2): Invoice price below market" in referral.reason
    assert "declared 100.00 EUR, found 250.00 EUR" in referral.reason
    assert "merchandise seized (case SZ-1)" in referral.reason
    assert "by random selection" in referral.reason


def test_amounts_add_exactly() -> None:
    total = sum_money(
        [Money("EUR", 0, 100_000_000), Money("EUR", 0, 200_000_000)], subject="auditCases/c"
    )

    assert total == Money("EUR", 0, 300_000_000)
    assert str(Money("EUR", -3, -500_000_000)) == "-3.50 EUR"
    assert sum_money([], subject="auditCases/c") is None
