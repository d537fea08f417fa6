"""The approved-trader program's state machine and what it does to the trader."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.domain.applications import (
    ALLOWED_FROM,
    AgreementTerms,
    ApplicationAction,
    ApplicationRequest,
    ApplicationState,
    CheckResult,
    ReevaluationOutcome,
    Review,
    ReviewChecks,
    TraderApplication,
    importer_compliance,
    one_year_after,
    submit_application,
)
from compliance.domain.measurement import EvidenceSource, Observation, ToleranceAssessment
from compliance.domain.outcomes import ComplianceArea
from compliance.domain.traders import (
    ApprovedTraderBenefit,
    ApprovedTraderStatus,
    TraderRole,
    register_trader,
)
from customs_kit.errors import Aborted, FailedPrecondition, InvalidArgument

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)
OK = CheckResult.SATISFACTORY
BAD = CheckResult.UNSATISFACTORY
REDUCED = ApprovedTraderBenefit.REDUCED_EXAMINATION
DIRECT = ApprovedTraderBenefit.DIRECT_DELIVERY
DEFERRED = ApprovedTraderBenefit.DEFERRED_DUTY_PAYMENT


def request(received: datetime = NOW) -> ApplicationRequest:
    return ApplicationRequest("T1", frozenset({REDUCED, DIRECT}), "statement", "contact", received)


def review(
    record_keeping: CheckResult = OK, security: CheckResult = OK, background: CheckResult = OK
) -> Review:
    checks = ReviewChecks(record_keeping, security, background, "findings")
    return Review(checks, importer_compliance("T1", []), "carla", NOW)


def submitted() -> TraderApplication:
    return submit_application("A1", request(), NOW)


def pending() -> TraderApplication:
    return submitted().start_review("carla", NOW).approve(review(), NOW)


def active(effective: date = date(2025, 4, 1)) -> TraderApplication:
    return pending().sign(AgreementTerms("ATA-1", frozenset({REDUCED}), effective), "rita", NOW)


def in_state(state: ApplicationState) -> TraderApplication:
    return replace(submitted(), state=state)


def test_an_application_goes_from_submitted_to_active_through_review_and_agreement() -> None:
    application = submitted()
    assert application.state is ApplicationState.SUBMITTED
    assert application.etag == "1"

    signed = active()

    assert signed.state is ApplicationState.ACTIVE
    assert signed.review is not None
    assert signed.review.reviewer == "carla"
    assert signed.agreement is not None
    assert signed.agreement.signed_by == "rita"
    assert signed.decided_by == "rita"
    assert signed.next_reevaluation_date == date(2026, 4, 1)
    assert signed.version == 4


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (ApplicationAction.START_REVIEW, {ApplicationState.SUBMITTED}),
        (ApplicationAction.APPROVE, {ApplicationState.UNDER_REVIEW}),
        (ApplicationAction.REJECT, {ApplicationState.SUBMITTED, ApplicationState.UNDER_REVIEW}),
        (ApplicationAction.SIGN_AGREEMENT, {ApplicationState.AGREEMENT_PENDING}),
        (ApplicationAction.REEVALUATE, {ApplicationState.ACTIVE}),
        (ApplicationAction.REVOKE, {ApplicationState.ACTIVE}),
        (
            ApplicationAction.WITHDRAW,
            {
                ApplicationState.SUBMITTED,
                ApplicationState.UNDER_REVIEW,
                ApplicationState.AGREEMENT_PENDING,
            },
        ),
    ],
)
def test_every_action_is_refused_outside_its_states(
    action: ApplicationAction, allowed: set[ApplicationState]
) -> None:
    assert ALLOWED_FROM[action] == allowed
    for state in set(ApplicationState) - allowed:
        with pytest.raises(FailedPrecondition) as raised:
            in_state(state).require(action)
        assert raised.value.reason == "INVALID_APPLICATION_STATE"
        assert raised.value.metadata == {"state": state.value, "action": action.value}


def test_terminal_applications_allow_nothing() -> None:
    for state in (ApplicationState.REJECTED, ApplicationState.WITHDRAWN, ApplicationState.REVOKED):
        assert not in_state(state).is_open
        assert all(state not in allowed for allowed in ALLOWED_FROM.values())


@pytest.mark.parametrize(
    ("checks", "failed"),
    [
        ((BAD, OK, OK), ["record_keeping"]),
        ((OK, BAD, OK), ["security"]),
        ((OK, OK, BAD), ["employee_background_checks"]),
        ((BAD, BAD, BAD), ["record_keeping", "security", "employee_background_checks"]),
    ],
)
def test_an_unsatisfactory_check_blocks_approval(
    checks: tuple[CheckResult, CheckResult, CheckResult], failed: list[str]
) -> None:
    reviewing = submitted().start_review("carla", NOW)

    with pytest.raises(FailedPrecondition) as raised:
        reviewing.approve(review(*checks), NOW)

    assert raised.value.reason == "REVIEW_NOT_SATISFACTORY"
    assert [v.subject for v in raised.value.violations] == [f"review.{f}" for f in failed]


def test_a_rejection_keeps_the_review_and_the_reason() -> None:
    rejected = (
        submitted()
        .start_review("carla", NOW)
        .reject(review(BAD), "Books in disarray.", "rita", NOW)
    )

    assert rejected.state is ApplicationState.REJECTED
    assert rejected.review is not None
    assert rejected.review.checks.record_keeping is BAD
    assert (rejected.decision_reason, rejected.decided_by) == ("Books in disarray.", "rita")


def test_an_agreement_can_grant_only_requested_benefits() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        pending().sign(
            AgreementTerms("ATA-1", frozenset({REDUCED, DEFERRED}), date(2025, 4, 1)), "rita", NOW
        )

    assert raised.value.reason == "BENEFIT_NOT_REQUESTED"
    assert [v.description for v in raised.value.violations] == [
        "DEFERRED_DUTY_PAYMENT is not among the requested benefits"
    ]


def test_a_continued_reevaluation_sets_the_next_one_a_year_after_it() -> None:
    signed = active()
    later = NOW + timedelta(days=300)
    done = replace(review(), review_time=later)

    continued = signed.reevaluate(done, ReevaluationOutcome.CONTINUED, "", later)

    assert continued.state is ApplicationState.ACTIVE
    assert continued.next_reevaluation_date == date(2027, 1, 4)
    assert [r.next_reevaluation_date for r in continued.reevaluations] == [date(2027, 1, 4)]
    assert continued.decided_by == signed.decided_by
    assert continued.version == signed.version + 1


def test_a_reevaluation_cannot_continue_on_an_unsatisfactory_review() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        active().reevaluate(review(security=BAD), ReevaluationOutcome.CONTINUED, "", NOW)

    assert raised.value.reason == "REVIEW_NOT_SATISFACTORY"


def test_a_revoking_reevaluation_ends_the_approval() -> None:
    revoked = active().reevaluate(review(security=BAD), ReevaluationOutcome.REVOKED, "Unsafe.", NOW)

    assert revoked.state is ApplicationState.REVOKED
    assert revoked.next_reevaluation_date is None
    assert revoked.decision_reason == "Unsafe."
    assert revoked.reevaluations[-1].outcome is ReevaluationOutcome.REVOKED
    assert revoked.reevaluations[-1].next_reevaluation_date is None


def test_revocation_and_withdrawal_are_terminal() -> None:
    revoked = active().revoke("Smuggling found.", "rita", NOW)
    withdrawn = pending().withdraw("", "carla", NOW)

    assert (revoked.state, revoked.next_reevaluation_date) == (ApplicationState.REVOKED, None)
    assert withdrawn.state is ApplicationState.WITHDRAWN
    assert not revoked.is_open
    assert not withdrawn.is_open


def test_a_stale_etag_is_aborted() -> None:
    with pytest.raises(Aborted):
        submitted().check_etag("0")


def test_an_application_received_in_the_future_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as raised:
        submit_application("A1", request(NOW + timedelta(hours=1)), NOW)

    assert [v.field for v in raised.value.field_violations] == ["trader_application.receive_time"]


def test_a_year_after_a_leap_day_is_the_last_day_of_february() -> None:
    assert one_year_after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert one_year_after(date(2025, 4, 1)) == date(2026, 4, 1)


def test_the_reviewed_compliance_counts_only_the_traders_random_verifications() -> None:
    def seen(number: str, importer: str, wrong: frozenset[ComplianceArea]) -> Observation:
        return Observation(
            EvidenceSource.RANDOM_EXAMINATION,
            number,
            NOW,
            importer,
            None,
            None,
            "BEANR",
            frozenset({"61"}),
            frozenset({"CN"}),
            wrong,
        )

    observations = [
        seen("D1", "T1", frozenset()),
        seen("D2", "T1", frozenset({ComplianceArea.DOCUMENTARY})),
        seen("D2", "T1", frozenset()),
        seen("D3", "OTHER", frozenset({ComplianceArea.REVENUE})),
    ]

    rate = importer_compliance("T1", observations)

    assert (rate.stratum, rate.sample_size, rate.compliant) == ("traders/T1", 2, 1)
    assert rate.assessment is ToleranceAssessment.INSUFFICIENT_SAMPLE


def test_signing_approves_the_trader_and_revoking_takes_the_benefits_away() -> None:
    trader = register_trader("T1", "Acme", frozenset({TraderRole.IMPORTER}), NOW)

    approved = trader.approved("traderApplications/A1", frozenset({REDUCED}), date(2026, 4, 1), NOW)
    revoked = approved.revoked("traderApplications/A1", NOW)

    assert approved.profile.approved_trader_status is ApprovedTraderStatus.APPROVED
    assert approved.profile.approved_benefits == {REDUCED}
    assert approved.version == trader.version + 1
    assert revoked.profile.approved_trader_status is ApprovedTraderStatus.REVOKED
    assert revoked.profile.approved_benefits == frozenset()
    assert revoked.next_reevaluation_date is None
    assert revoked.approved_trader_application == "traderApplications/A1"
