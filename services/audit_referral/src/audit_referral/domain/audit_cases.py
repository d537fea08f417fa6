"""Audit cases: the post-clearance audit of one trader, following the handbook's appendix 7.

notice (or unannounced) → pre-audit survey (optional) → opening conference →
tour of premises and audit of records (fieldwork) → exit conference → written
report → corrective action → closed; a case may be cancelled until its report
is issued. Every step is recorded when it is reached and never rewritten, so
the case file shows who moved the case and when.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from types import MappingProxyType

from audit_referral.domain.common import (
    DeclarationRef,
    Money,
    PartyRef,
    check_etag,
    sum_money,
)
from audit_referral.domain.findings import FindingContent
from audit_referral.domain.referrals import Referral
from customs_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)


class AuditSelectionBasis(Enum):
    """Why a trader was selected for audit (appendix 7, "Selection of traders")."""

    SPECIFIC_DECLARATION = "SPECIFIC_DECLARATION"
    CLASS_OF_TRANSACTIONS = "CLASS_OF_TRANSACTIONS"
    INDUSTRY_WIDE = "INDUSTRY_WIDE"
    RANDOM = "RANDOM"


class AuditCaseState(Enum):
    """The stage a case has reached; CLOSED and CANCELLED are final."""

    NOTIFIED = "NOTIFIED"
    PRE_AUDIT_SURVEY = "PRE_AUDIT_SURVEY"
    OPENING_CONFERENCE = "OPENING_CONFERENCE"
    FIELDWORK = "FIELDWORK"
    EXIT_CONFERENCE = "EXIT_CONFERENCE"
    REPORT = "REPORT"
    CORRECTIVE_ACTION = "CORRECTIVE_ACTION"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


TERMINAL_STATES = frozenset({AuditCaseState.CLOSED, AuditCaseState.CANCELLED})


class CaseAction(Enum):
    """Everything that can be done to a case, each allowed only from certain states."""

    UPDATE_PLAN = "UPDATE_PLAN"
    ATTACH_REFERRAL = "ATTACH_REFERRAL"
    START_PRE_AUDIT_SURVEY = "START_PRE_AUDIT_SURVEY"
    RECORD_PRE_AUDIT_ANSWERS = "RECORD_PRE_AUDIT_ANSWERS"
    RECORD_OPENING_CONFERENCE = "RECORD_OPENING_CONFERENCE"
    START_FIELDWORK = "START_FIELDWORK"
    EDIT_FINDINGS = "EDIT_FINDINGS"
    RECORD_EXIT_CONFERENCE = "RECORD_EXIT_CONFERENCE"
    ISSUE_REPORT = "ISSUE_REPORT"
    START_CORRECTIVE_ACTION = "START_CORRECTIVE_ACTION"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"


_S = AuditCaseState
_OPEN_STATES = frozenset(AuditCaseState) - TERMINAL_STATES
#: The states each action starts from; anything else is refused (INVALID_CASE_STATE).
ALLOWED_FROM: MappingProxyType[CaseAction, frozenset[AuditCaseState]] = MappingProxyType(
    {
        CaseAction.UPDATE_PLAN: _OPEN_STATES,
        CaseAction.ATTACH_REFERRAL: _OPEN_STATES,
        CaseAction.START_PRE_AUDIT_SURVEY: frozenset({_S.NOTIFIED}),
        CaseAction.RECORD_PRE_AUDIT_ANSWERS: frozenset({_S.PRE_AUDIT_SURVEY}),
        # The survey is optional: small audits go straight to the opening conference.
        CaseAction.RECORD_OPENING_CONFERENCE: frozenset({_S.NOTIFIED, _S.PRE_AUDIT_SURVEY}),
        CaseAction.START_FIELDWORK: frozenset({_S.OPENING_CONFERENCE}),
        # After the exit conference the trader may still refute findings.
        CaseAction.EDIT_FINDINGS: frozenset({_S.FIELDWORK, _S.EXIT_CONFERENCE}),
        CaseAction.RECORD_EXIT_CONFERENCE: frozenset({_S.FIELDWORK}),
        CaseAction.ISSUE_REPORT: frozenset({_S.EXIT_CONFERENCE}),
        CaseAction.START_CORRECTIVE_ACTION: frozenset({_S.REPORT}),
        # A compliant report needs no corrective action.
        CaseAction.CLOSE: frozenset({_S.REPORT, _S.CORRECTIVE_ACTION}),
        # Once the report is issued its findings have gone to other services.
        CaseAction.CANCEL: frozenset(
            {
                _S.NOTIFIED,
                _S.PRE_AUDIT_SURVEY,
                _S.OPENING_CONFERENCE,
                _S.FIELDWORK,
                _S.EXIT_CONFERENCE,
            }
        ),
    }
)


class PreAuditSection(Enum):
    """A part of the pre-audit survey questionnaire (appendix 7 attachment)."""

    CORPORATE_ORGANIZATION = "CORPORATE_ORGANIZATION"
    ORDER_MANAGEMENT = "ORDER_MANAGEMENT"
    CUSTOMS_ACTIVITIES = "CUSTOMS_ACTIVITIES"
    RECORD_KEEPING = "RECORD_KEEPING"
    VALUATION = "VALUATION"


@dataclass(frozen=True)
class PreAuditQuestion:
    """One question written for this company."""

    question_id: str
    section: PreAuditSection
    text: str


@dataclass(frozen=True)
class PreAuditAnswer:
    """The trader's answer to one question."""

    question_id: str
    text: str
    document_references: tuple[str, ...]
    receive_time: datetime


@dataclass(frozen=True)
class ConferenceRecord:
    """An opening or exit conference with the trader."""

    conference_time: datetime
    attendees: tuple[str, ...]
    summary: str
    disputed_issues: tuple[str, ...]


@dataclass(frozen=True)
class ReportDraft:
    """What the auditor writes in the report; the totals come from the findings."""

    summary: str
    compliant: bool
    document_reference: str


@dataclass(frozen=True)
class AuditReport:
    """The issued written report."""

    summary: str
    compliant: bool
    document_reference: str
    total_unpaid_duty: Money | None
    total_penalties: Money | None
    issued_by: str
    issue_time: datetime


@dataclass(frozen=True)
class StageTransition:
    """One change of state: ``from_state`` is None for the opening of the case."""

    from_state: AuditCaseState | None
    to_state: AuditCaseState
    actor: str
    transition_time: datetime
    note: str


#: The planning fields an update may name (the contract's update_mask paths).
UPDATABLE_PLAN_FIELDS = frozenset(
    {
        "campaign",
        "scope",
        "declarations",
        "audit_period_start_date",
        "audit_period_end_date",
        "planned_start_date",
        "lead_auditor",
        "team",
    }
)


@dataclass(frozen=True)
class AuditCasePlan:
    """Who is audited, why, on what, when and by whom."""

    trader: PartyRef
    selection_basis: AuditSelectionBasis
    campaign: str
    scope: str
    declarations: tuple[DeclarationRef, ...]
    audit_period_start_date: date
    audit_period_end_date: date
    announced: bool
    notice_time: datetime | None
    planned_start_date: date
    lead_auditor: str
    team: tuple[str, ...]

    def validate(self, prefix: str) -> None:
        """Raises ``InvalidArgument`` (fields under ``prefix``) if the plan is inconsistent."""
        violations = []
        if self.audit_period_end_date < self.audit_period_start_date:
            violations.append(
                FieldViolation(
                    f"{prefix}.audit_period_end_date",
                    "must not be before audit_period_start_date",
                )
            )
        if self.announced and self.notice_time is None:
            violations.append(
                FieldViolation(f"{prefix}.notice_time", "is required for an announced audit")
            )
        if violations:
            raise InvalidArgument(violations)


@dataclass(frozen=True)
class AuditCase:
    """One audit case. ``version`` grows with every change (the etag)."""

    id: str
    plan: AuditCasePlan
    referral_ids: tuple[str, ...]
    state: AuditCaseState
    stage_history: tuple[StageTransition, ...]
    pre_audit_questions: tuple[PreAuditQuestion, ...]
    pre_audit_response_due_date: date | None
    pre_audit_answers: tuple[PreAuditAnswer, ...]
    opening_conference: ConferenceRecord | None
    premises_tour_notes: str
    exit_conference: ConferenceRecord | None
    report: AuditReport | None
    corrective_action_plan: str
    duties_collected: Money | None
    closing_note: str
    create_time: datetime
    update_time: datetime
    version: int

    @property
    def resource_name(self) -> str:
        """``auditCases/{id}``."""
        return f"auditCases/{self.id}"

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` if the caller did not read the current version."""
        check_etag(self.resource_name, self.version, etag)

    def require(self, action: CaseAction) -> None:
        """Raises ``FailedPrecondition`` (``INVALID_CASE_STATE``) unless ``action`` is allowed."""
        allowed = ALLOWED_FROM[action]
        if self.state not in allowed:
            expected = ", ".join(state.value for state in AuditCaseState if state in allowed)
            raise FailedPrecondition(
                "INVALID_CASE_STATE",
                f"{self.resource_name} is {self.state.value}; "
                f"{action.value} needs one of {expected}",
                [
                    PreconditionViolation(
                        "CASE_STATE",
                        self.resource_name,
                        f"state is {self.state.value}, must be one of {expected}",
                    )
                ],
                metadata={"state": self.state.value, "action": action.value},
            )

    def update_plan(
        self, changes: AuditCasePlan, fields: Collection[str], *, now: datetime
    ) -> AuditCase:
        """The case with the planning ``fields`` taken from ``changes``."""
        self.require(CaseAction.UPDATE_PLAN)
        unknown = set(fields) - UPDATABLE_PLAN_FIELDS
        if unknown:
            raise InvalidArgument(
                [FieldViolation("update_mask", f"cannot update {sorted(unknown)}")]
            )
        plan = replace(self.plan, **{field: getattr(changes, field) for field in sorted(fields)})
        plan.validate("audit_case")
        return replace(self, plan=plan, update_time=now, version=self.version + 1)

    def attach_referral(self, referral: Referral, *, now: datetime) -> AuditCase:
        """The case with one more referral about its trader (the referral is accepted apart)."""
        self.require(CaseAction.ATTACH_REFERRAL)
        self._check_trader(referral)
        return replace(
            self,
            referral_ids=(*self.referral_ids, referral.id),
            update_time=now,
            version=self.version + 1,
        )

    def _check_trader(self, referral: Referral) -> None:
        if referral.trader.number != self.plan.trader.number:
            raise FailedPrecondition(
                "TRADER_MISMATCH",
                f"{referral.resource_name} concerns traders/{referral.trader.number}, but "
                f"{self.resource_name} audits traders/{self.plan.trader.number}",
                [
                    PreconditionViolation(
                        "TRADER",
                        referral.resource_name,
                        f"must concern traders/{self.plan.trader.number}",
                    )
                ],
            )

    def start_pre_audit_survey(
        self,
        questions: Sequence[PreAuditQuestion],
        response_due_date: date,
        *,
        actor: str,
        note: str,
        now: datetime,
    ) -> AuditCase:
        """NOTIFIED → PRE_AUDIT_SURVEY: the questionnaire is sent."""
        self.require(CaseAction.START_PRE_AUDIT_SURVEY)
        ids = [question.question_id for question in questions]
        if len(set(ids)) != len(ids):
            raise InvalidArgument(
                [FieldViolation("questions", "must have distinct question_id values")]
            )
        return self._moved(
            AuditCaseState.PRE_AUDIT_SURVEY,
            actor=actor,
            note=note,
            now=now,
            pre_audit_questions=tuple(questions),
            pre_audit_response_due_date=response_due_date,
        )

    def record_pre_audit_answers(
        self, answers: Sequence[PreAuditAnswer], *, now: datetime
    ) -> AuditCase:
        """The case with ``answers`` recorded; a new answer replaces the earlier one."""
        self.require(CaseAction.RECORD_PRE_AUDIT_ANSWERS)
        known = {question.question_id for question in self.pre_audit_questions}
        unknown = [answer.question_id for answer in answers if answer.question_id not in known]
        if unknown:
            raise FailedPrecondition(
                "UNKNOWN_QUESTION",
                f"the questionnaire of {self.resource_name} has no question {unknown}",
                [
                    PreconditionViolation(
                        "QUESTION", question_id, "is not a question of the questionnaire sent"
                    )
                    for question_id in unknown
                ],
            )
        by_question = {answer.question_id: answer for answer in self.pre_audit_answers}
        by_question.update((answer.question_id, answer) for answer in answers)
        ordered = tuple(
            by_question[question.question_id]
            for question in self.pre_audit_questions
            if question.question_id in by_question
        )
        return replace(self, pre_audit_answers=ordered, update_time=now, version=self.version + 1)

    def record_opening_conference(
        self, record: ConferenceRecord, *, actor: str, now: datetime
    ) -> AuditCase:
        """NOTIFIED or PRE_AUDIT_SURVEY → OPENING_CONFERENCE."""
        self.require(CaseAction.RECORD_OPENING_CONFERENCE)
        return self._moved(
            AuditCaseState.OPENING_CONFERENCE,
            actor=actor,
            note="",
            now=now,
            opening_conference=record,
        )

    def start_fieldwork(self, premises_tour_notes: str, *, actor: str, now: datetime) -> AuditCase:
        """OPENING_CONFERENCE → FIELDWORK: the tour of premises and the audit of records."""
        self.require(CaseAction.START_FIELDWORK)
        return self._moved(
            AuditCaseState.FIELDWORK,
            actor=actor,
            note="",
            now=now,
            premises_tour_notes=premises_tour_notes,
        )

    def record_exit_conference(
        self, record: ConferenceRecord, *, actor: str, now: datetime
    ) -> AuditCase:
        """FIELDWORK → EXIT_CONFERENCE."""
        self.require(CaseAction.RECORD_EXIT_CONFERENCE)
        return self._moved(
            AuditCaseState.EXIT_CONFERENCE,
            actor=actor,
            note="",
            now=now,
            exit_conference=record,
        )

    def issue_report(
        self,
        draft: ReportDraft,
        findings: Sequence[FindingContent],
        *,
        actor: str,
        now: datetime,
    ) -> AuditCase:
        """EXIT_CONFERENCE → REPORT, with the findings' totals; the findings become final.

        A report that calls the trader compliant while a finding assesses
        unpaid duty or calls for action would tell the compliance service two
        different things, so it is refused.
        """
        self.require(CaseAction.ISSUE_REPORT)
        if draft.compliant and any(finding.calls_for_action for finding in findings):
            raise FailedPrecondition(
                "REPORT_CONTRADICTS_FINDINGS",
                f"the report of {self.resource_name} says compliant, but findings assess "
                "unpaid duty or call for action",
                [
                    PreconditionViolation(
                        "REPORT_CONCLUSION",
                        self.resource_name,
                        "compliant must be false while a finding assesses unpaid duty or "
                        "calls for action",
                    )
                ],
            )
        report = AuditReport(
            summary=draft.summary,
            compliant=draft.compliant,
            document_reference=draft.document_reference,
            total_unpaid_duty=sum_money(
                (finding.unpaid_duty for finding in findings), subject=self.resource_name
            ),
            total_penalties=sum_money(
                (
                    finding.penalty_amount
                    for finding in findings
                    if finding.penalty_amount is not None
                ),
                subject=self.resource_name,
            ),
            issued_by=actor,
            issue_time=now,
        )
        return self._moved(AuditCaseState.REPORT, actor=actor, note="", now=now, report=report)

    def start_corrective_action(self, plan: str, *, actor: str, now: datetime) -> AuditCase:
        """REPORT → CORRECTIVE_ACTION."""
        self.require(CaseAction.START_CORRECTIVE_ACTION)
        return self._moved(
            AuditCaseState.CORRECTIVE_ACTION,
            actor=actor,
            note="",
            now=now,
            corrective_action_plan=plan,
        )

    def close(
        self, duties_collected: Money, closing_note: str, *, actor: str, now: datetime
    ) -> AuditCase:
        """REPORT or CORRECTIVE_ACTION → CLOSED, once the unpaid duty assessed is collected."""
        self.require(CaseAction.CLOSE)
        assessed = self.report.total_unpaid_duty if self.report is not None else None
        if assessed is not None and not assessed.is_zero:
            if duties_collected.currency_code != assessed.currency_code:
                raise FailedPrecondition(
                    "CURRENCY_MISMATCH",
                    f"duties were assessed in {assessed.currency_code}, "
                    f"collected in {duties_collected.currency_code}",
                    [
                        PreconditionViolation(
                            "CURRENCY",
                            self.resource_name,
                            f"duties_collected must be in {assessed.currency_code}",
                        )
                    ],
                )
            if duties_collected.total_nanos < assessed.total_nanos:
                raise FailedPrecondition(
                    "UNPAID_DUTY_NOT_COLLECTED",
                    f"{duties_collected} collected of {assessed} assessed",
                    [
                        PreconditionViolation(
                            "DUTY_COLLECTION",
                            self.resource_name,
                            f"at least {assessed} must be collected before closing",
                        )
                    ],
                )
        return self._moved(
            AuditCaseState.CLOSED,
            actor=actor,
            note=closing_note,
            now=now,
            duties_collected=duties_collected,
            closing_note=closing_note,
        )

    def cancel(self, reason: str, *, actor: str, now: datetime) -> AuditCase:
        """Any state before the report → CANCELLED; the referrals stay attached."""
        self.require(CaseAction.CANCEL)
        return self._moved(
            AuditCaseState.CANCELLED, actor=actor, note=reason, now=now, closing_note=reason
        )

    def _moved(
        self,
        to_state: AuditCaseState,
        *,
        actor: str,
        note: str,
        now: datetime,
        **changes: object,
    ) -> AuditCase:
        transition = StageTransition(self.state, to_state, actor, now, note)
        return replace(
            self,
            state=to_state,
            stage_history=(*self.stage_history, transition),
            update_time=now,
            version=self.version + 1,
            **changes,  # type: ignore[arg-type]
        )


def open_audit_case(
    plan: AuditCasePlan,
    *,
    case_id: str,
    actor: str,
    now: datetime,
    note: str = "",
    referrals: Sequence[Referral] = (),
) -> AuditCase:
    """A new case, NOTIFIED (the written notice was sent, or the audit is unannounced).

    ``referrals`` are attached from the start: each must be OPEN and about the
    audited trader; accepting them is up to the caller.
    """
    plan.validate("audit_case")
    case = AuditCase(
        id=case_id,
        plan=plan,
        referral_ids=tuple(referral.id for referral in referrals),
        state=AuditCaseState.NOTIFIED,
        stage_history=(StageTransition(None, AuditCaseState.NOTIFIED, actor, now, note),),
        pre_audit_questions=(),
        pre_audit_response_due_date=None,
        pre_audit_answers=(),
        opening_conference=None,
        premises_tour_notes="",
        exit_conference=None,
        report=None,
        corrective_action_plan="",
        duties_collected=None,
        closing_note="",
        create_time=now,
        update_time=now,
        version=1,
    )
    for referral in referrals:
        referral.require_open()
        case._check_trader(referral)
    return case
