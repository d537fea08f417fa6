"""The audit case state machine of appendix 7: every step from where it may start, no other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from audit_referral.domain.audit_cases import (
    ALLOWED_FROM,
    AuditCase,
    AuditCasePlan,
    AuditCaseState,
    AuditSelectionBasis,
    CaseAction,
    ConferenceRecord,
    PreAuditAnswer,
    PreAuditQuestion,
    PreAuditSection,
    ReportDraft,
    open_audit_case,
)
from audit_referral.domain.common import Money, PartyRef
from audit_referral.domain.findings import (
    AuditFindingAction,
    DiscrepancyType,
    FindingContent,
    FindingIntent,
)
from audit_referral.domain.referrals import (
    NewReferral,
    Referral,
    ReferralPriority,
    ReferralSource,
    open_referral,
)
from customs_kit.errors import Aborted, FailedPrecondition, InvalidArgument

NOW = datetime(2025, 4, 1, 9, tzinfo=UTC)
S = AuditCaseState


def plan(**changes: object) -> AuditCasePlan:
    base = AuditCasePlan(
        trader=PartyRef("IMP-001", "Textiles Ltd"),
        selection_basis=AuditSelectionBasis.SPECIFIC_DECLARATION,
        campaign="",
        scope="Valuation of the 2024 imports from the licensor.",
        declarations=(),
        audit_period_start_date=date(2024, 1, 1),
        audit_period_end_date=date(2024, 12, 31),
        announced=False,
        notice_time=None,
        planned_start_date=date(2025, 4, 1),
        lead_auditor="aud-1",
        team=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def new_case(**plan_changes: object) -> AuditCase:
    return open_audit_case(plan(**plan_changes), case_id="c-1", actor="aud-1", now=NOW)


def referral(trader: str = "IMP-001", referral_id: str = "r-1") -> Referral:
    return open_referral(
        NewReferral(
            source=ReferralSource.MANUAL,
            trader=PartyRef(trader, ""),
            declarations=(),
            reason="Royalties are not in the declared value.",
            evidence=(),
            priority=ReferralPriority.NORMAL,
            revenue_at_risk=None,
        ),
        referral_id=referral_id,
        created_by="ana",
        now=NOW,
    )


def finding(
    unpaid: str = "0", action: AuditFindingAction = AuditFindingAction.NONE
) -> FindingContent:
    units, _, fraction = unpaid.partition(".")
    penalty = Money("EUR", 100, 0) if action is AuditFindingAction.ADMINISTRATIVE_PENALTY else None
    return FindingContent(
        discrepancy_types=(DiscrepancyType.VALUE,),
        description="Royalties were omitted from the customs value.",
        declarations=(),
        unpaid_duty=Money("EUR", int(units), int(fraction.ljust(9, "0"))),
        intent=FindingIntent.UNDETERMINED,
        trader_commits_to_correct=False,
        action=action,
        penalty_amount=penalty,
    )


CONFERENCE = ConferenceRecord(NOW, ("A. Auditor",), "Scope and length explained.", ())
QUESTION = PreAuditQuestion("royalties", PreAuditSection.VALUATION, "Which royalties do you pay?")

#: Each action, done the way a caller would do it, on a case in any state.
ACTIONS: dict[CaseAction, Callable[[AuditCase], object]] = {
    CaseAction.UPDATE_PLAN: lambda c: c.update_plan(plan(campaign="2025"), ["campaign"], now=NOW),
    CaseAction.ATTACH_REFERRAL: lambda c: c.attach_referral(referral(), now=NOW),
    CaseAction.START_PRE_AUDIT_SURVEY: lambda c: c.start_pre_audit_survey(
        [QUESTION], date(2025, 4, 30), actor="aud-1", note="", now=NOW
    ),
    CaseAction.RECORD_PRE_AUDIT_ANSWERS: lambda c: c.record_pre_audit_answers([], now=NOW),
    CaseAction.RECORD_OPENING_CONFERENCE: lambda c: c.record_opening_conference(
        CONFERENCE, actor="aud-1", now=NOW
    ),
    CaseAction.START_FIELDWORK: lambda c: c.start_fieldwork("Seen.", actor="aud-1", now=NOW),
    CaseAction.EDIT_FINDINGS: lambda c: c.require(CaseAction.EDIT_FINDINGS),
    CaseAction.RECORD_EXIT_CONFERENCE: lambda c: c.record_exit_conference(
        CONFERENCE, actor="aud-1", now=NOW
    ),
    CaseAction.ISSUE_REPORT: lambda c: c.issue_report(
        ReportDraft("In compliance.", True, ""), [], actor="aud-1", now=NOW
    ),
    CaseAction.START_CORRECTIVE_ACTION: lambda c: c.start_corrective_action(
        "Collect the duties.", actor="aud-1", now=NOW
    ),
    CaseAction.CLOSE: lambda c: c.close(Money("EUR", 0, 0), "Done.", actor="aud-1", now=NOW),
    CaseAction.CANCEL: lambda c: c.cancel("Company dissolved.", actor="aud-1", now=NOW),
}


def test_every_action_is_exercised() -> None:
    assert set(ACTIONS) == set(CaseAction) == set(ALLOWED_FROM)


@pytest.mark.parametrize(
    ("action", "state"),
    [(a, s) for a in CaseAction for s in AuditCaseState if s not in ALLOWED_FROM[a]],
    ids=lambda value: value.value,
)
def test_an_action_from_a_state_it_does_not_start_from_is_refused(
    action: CaseAction, state: AuditCaseState
) -> None:
    case = replace(new_case(), state=state)

    with pytest.raises(FailedPrecondition) as raised:
        ACTIONS[action](case)

    assert raised.value.reason == "INVALID_CASE_STATE"
    assert raised.value.violations[0].subject == "auditCases/c-1"
    assert raised.value.metadata == {"state": state.value, "action": action.value}


@pytest.mark.parametrize(
    ("action", "state"),
    [(a, s) for a in CaseAction for s in AuditCaseState if s in ALLOWED_FROM[a]],
    ids=lambda value: value.value,
)
def test_an_action_from_a_state_it_starts_from_is_done(
    action: CaseAction, state: AuditCaseState
) -> None:
    case = replace(new_case(), state=state, pre_audit_questions=(QUESTION,))

    ACTIONS[action](case)


def test_no_action_is_allowed_on_a_closed_or_cancelled_case() -> None:
    for action, states in ALLOWED_FROM.items():
        assert not states & {S.CLOSED, S.CANCELLED}, action


def test_a_case_walks_every_stage_and_records_who_moved_it() -> None:
    case = new_case()
    case = case.start_pre_audit_survey(
        [QUESTION], date(2025, 4, 30), actor="aud-1", note="Large importer", now=NOW
    )
    case = case.record_opening_conference(CONFERENCE, actor="aud-1", now=NOW)
    case = case.start_fieldwork("Receiving and accounting seen.", actor="aud-2", now=NOW)
    case = case.record_exit_conference(CONFERENCE, actor="aud-1", now=NOW)
    case = case.issue_report(
        ReportDraft("Royalties omitted.", False, "REP-1"),
        [finding("1200.50", AuditFindingAction.ADMINISTRATIVE_PENALTY), finding("300")],
        actor="aud-1",
        now=NOW,
    )
    case = case.start_corrective_action("Collect; penalty notice.", actor="aud-1", now=NOW)
    case = case.close(Money("EUR", 1500, 500_000_000), "Collected.", actor="aud-1", now=NOW)

    assert [(t.from_state, t.to_state) for t in case.stage_history] == [
        (None, S.NOTIFIED),
        (S.NOTIFIED, S.PRE_AUDIT_SURVEY),
        (S.PRE_AUDIT_SURVEY, S.OPENING_CONFERENCE),
        (S.OPENING_CONFERENCE, S.FIELDWORK),
        (S.FIELDWORK, S.EXIT_CONFERENCE),
        (S.EXIT_CONFERENCE, S.REPORT),
        (S.REPORT, S.CORRECTIVE_ACTION),
        (S.CORRECTIVE_ACTION, S.CLOSED),
    ]
    assert case.stage_history[3].actor == "aud-2"
    assert case.stage_history[1].note == "Large importer"
    assert case.version == 8
    assert case.report is not None
    assert case.report.total_unpaid_duty == Money("EUR", 1500, 500_000_000)
    assert case.report.total_penalties == Money("EUR", 100, 0)


def test_a_small_audit_skips_the_survey() -> None:
    case = new_case().record_opening_conference(CONFERENCE, actor="aud-1", now=NOW)

    assert case.state is S.OPENING_CONFERENCE


def test_a_compliant_report_needs_no_corrective_action() -> None:
    case = replace(new_case(), state=S.EXIT_CONFERENCE)
    case = case.issue_report(ReportDraft("In order.", True, ""), [], actor="aud-1", now=NOW)

    closed = case.close(Money("EUR", 0, 0), "Nothing to collect.", actor="aud-1", now=NOW)

    assert closed.state is S.CLOSED
    assert case.report is not None
    assert case.report.total_unpaid_duty is None


def test_a_compliant_report_with_duty_assessed_contradicts_its_findings() -> None:
    case = replace(new_case(), state=S.EXIT_CONFERENCE)

    with pytest.raises(FailedPrecondition) as raised:
        case.issue_report(
            ReportDraft("In order.", True, ""), [finding("10")], actor="aud-1", now=NOW
        )

    assert raised.value.reason == "REPORT_CONTRADICTS_FINDINGS"


def test_a_compliant_report_with_a_finding_calling_for_action_contradicts_it() -> None:
    case = replace(new_case(), state=S.EXIT_CONFERENCE)

    with pytest.raises(FailedPrecondition) as raised:
        case.issue_report(
            ReportDraft("In order.", True, ""),
            [finding("0", AuditFindingAction.CRIMINAL_INVESTIGATION)],
            actor="aud-1",
            now=NOW,
        )

    assert raised.value.reason == "REPORT_CONTRADICTS_FINDINGS"


def test_a_report_cannot_add_duties_in_different_currencies() -> None:
    case = replace(new_case(), state=S.EXIT_CONFERENCE)
    in_dollars = replace(finding("5"), unpaid_duty=Money("USD", 5, 0))

    with pytest.raises(FailedPrecondition) as raised:
        case.issue_report(
            ReportDraft("Errors.", False, ""), [finding("5"), in_dollars], actor="a", now=NOW
        )

    assert raised.value.reason == "MIXED_CURRENCIES"


def _reported(unpaid: str) -> AuditCase:
    case = replace(new_case(), state=S.EXIT_CONFERENCE)
    return case.issue_report(
        ReportDraft("Errors.", False, ""), [finding(unpaid)], actor="aud-1", now=NOW
    )


def test_a_case_cannot_close_before_the_assessed_duty_is_collected() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        _reported("100.01").close(Money("EUR", 100, 0), "Closing.", actor="aud-1", now=NOW)

    assert raised.value.reason == "UNPAID_DUTY_NOT_COLLECTED"


def test_duties_collected_in_another_currency_do_not_close_the_case() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        _reported("100").close(Money("USD", 500, 0), "Closing.", actor="aud-1", now=NOW)

    assert raised.value.reason == "CURRENCY_MISMATCH"


def test_a_case_closes_once_the_assessed_duty_is_collected() -> None:
    closed = _reported("100").close(Money("EUR", 100, 0), "Collected.", actor="a", now=NOW)

    assert closed.duties_collected == Money("EUR", 100, 0)
    assert closed.closing_note == "Collected."


def test_an_answer_to_a_question_never_asked_is_refused() -> None:
    case = new_case().start_pre_audit_survey(
        [QUESTION], date(2025, 4, 30), actor="aud-1", note="", now=NOW
    )
    answer = PreAuditAnswer("freight", "We pay FOB.", (), NOW)

    with pytest.raises(FailedPrecondition) as raised:
        case.record_pre_audit_answers([answer], now=NOW)

    assert raised.value.reason == "UNKNOWN_QUESTION"
    assert [v.subject for v in raised.value.violations] == ["freight"]


def test_a_later_answer_replaces_the_earlier_one() -> None:
    second = PreAuditQuestion("freight", PreAuditSection.VALUATION, "Who pays the freight?")
    case = new_case().start_pre_audit_survey(
        [QUESTION, second], date(2025, 4, 30), actor="aud-1", note="", now=NOW
    )
    case = case.record_pre_audit_answers(
        [
            PreAuditAnswer("freight", "The seller.", (), NOW),
            PreAuditAnswer("royalties", "None.", (), NOW),
        ],
        now=NOW,
    )

    case = case.record_pre_audit_answers(
        [PreAuditAnswer("royalties", "8 % of sales.", ("contract.pdf",), NOW + timedelta(1))],
        now=NOW,
    )

    assert [(a.question_id, a.text) for a in case.pre_audit_answers] == [
        ("royalties", "8 % of sales."),
        ("freight", "The seller."),
    ]
    assert case.state is S.PRE_AUDIT_SURVEY


def test_a_questionnaire_with_a_question_twice_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        new_case().start_pre_audit_survey(
            [QUESTION, QUESTION], date(2025, 4, 30), actor="aud-1", note="", now=NOW
        )


def test_a_referral_about_another_trader_does_not_join_the_case() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        new_case().attach_referral(referral(trader="IMP-999"), now=NOW)

    assert raised.value.reason == "TRADER_MISMATCH"
    assert raised.value.violations[0].subject == "referrals/r-1"


def test_a_new_case_takes_only_open_referrals_of_its_trader() -> None:
    declined = referral().decline(actor="aud-1", reason="Already audited.", now=NOW)

    with pytest.raises(FailedPrecondition) as not_open:
        open_audit_case(plan(), case_id="c-1", actor="aud-1", now=NOW, referrals=[declined])
    with pytest.raises(FailedPrecondition) as other_trader:
        open_audit_case(
            plan(), case_id="c-1", actor="aud-1", now=NOW, referrals=[referral("IMP-2")]
        )
    case = open_audit_case(
        plan(),
        case_id="c-1",
        actor="aud-1",
        now=NOW,
        referrals=[referral(), referral(referral_id="r-2")],
    )

    assert not_open.value.reason == "REFERRAL_NOT_OPEN"
    assert other_trader.value.reason == "TRADER_MISMATCH"
    assert case.referral_ids == ("r-1", "r-2")
    assert case.version == 1


def test_an_announced_audit_needs_its_notice() -> None:
    with pytest.raises(InvalidArgument) as raised:
        new_case(announced=True)

    assert [v.field for v in raised.value.field_violations] == ["audit_case.notice_time"]


def test_an_audit_period_cannot_end_before_it_starts() -> None:
    case = new_case()

    with pytest.raises(InvalidArgument) as raised:
        case.update_plan(
            plan(audit_period_end_date=date(2023, 12, 31)), ["audit_period_end_date"], now=NOW
        )

    assert [v.field for v in raised.value.field_violations] == ["audit_case.audit_period_end_date"]


def test_a_plan_update_changes_only_the_named_fields() -> None:
    case = new_case()

    updated = case.update_plan(
        plan(lead_auditor="aud-9", scope="Something else entirely."), ["lead_auditor"], now=NOW
    )

    assert updated.plan.lead_auditor == "aud-9"
    assert updated.plan.scope == case.plan.scope
    assert updated.version == case.version + 1


def test_the_trader_of_a_case_cannot_be_changed() -> None:
    with pytest.raises(InvalidArgument) as raised:
        new_case().update_plan(plan(trader=PartyRef("X", "")), ["trader"], now=NOW)

    assert [v.field for v in raised.value.field_violations] == ["update_mask"]


def test_a_stale_etag_is_refused() -> None:
    case = new_case()

    with pytest.raises(Aborted):
        case.check_etag("v0")
    case.check_etag("v1")
