"""The approved-trader program (handbook step 11 and appendix 6).

A trader applies; customs reviews its record keeping, security level and
employee background checks (with its measured compliance for context); a
written agreement granting some of the requested benefits is signed and the
trader becomes APPROVED; it is re-evaluated at least once a year and its
approval can be revoked. The application is the state machine; the trader's
standing follows from it in the same transaction:

- SUBMITTED → UNDER_REVIEW (start review) → AGREEMENT_PENDING (approve) →
  ACTIVE (sign: the trader becomes APPROVED);
- SUBMITTED or UNDER_REVIEW → REJECTED;
- SUBMITTED, UNDER_REVIEW or AGREEMENT_PENDING → WITHDRAWN;
- ACTIVE → ACTIVE (re-evaluation CONTINUED) or REVOKED (re-evaluation REVOKED,
  or revocation for cause: the trader becomes REVOKED).

One trader has at most one application that is not terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum
from types import MappingProxyType

from compliance.domain.measurement import (
    DEFAULT_CONFIDENCE_LEVEL,
    DEFAULT_MIN_SAMPLE_SIZE,
    ComplianceRate,
    Observation,
    assess,
    deduplicated,
)
from compliance.domain.outcomes import ALL_AREAS
from compliance.domain.traders import ApprovedTraderBenefit, trader_name
from customs_kit.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from customs_kit.statistics import wilson_interval

APPLICATION_NAME_PREFIX = "traderApplications/"
#: The compliance a reviewer reads an applicant's rate against (appendix 6's example).
REVIEW_TOLERANCE_LEVEL = 0.95
#: How far ahead of the server's clock a client's receive time may be.
RECEIVE_TIME_SKEW = timedelta(minutes=5)


class ApplicationState(StrEnum):
    """Where an application is in the program."""

    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    AGREEMENT_PENDING = "AGREEMENT_PENDING"
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    REVOKED = "REVOKED"


TERMINAL_STATES = frozenset(
    {ApplicationState.REJECTED, ApplicationState.WITHDRAWN, ApplicationState.REVOKED}
)
OPEN_STATES = frozenset(ApplicationState) - TERMINAL_STATES


class CheckResult(StrEnum):
    """The outcome of one review check."""

    SATISFACTORY = "SATISFACTORY"
    UNSATISFACTORY = "UNSATISFACTORY"


class ReevaluationOutcome(StrEnum):
    """The decision of a periodic re-evaluation."""

    CONTINUED = "CONTINUED"
    REVOKED = "REVOKED"


class ApplicationAction(Enum):
    """Everything that can be done to an application, each allowed only from certain states."""

    START_REVIEW = "START_REVIEW"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    SIGN_AGREEMENT = "SIGN_AGREEMENT"
    REEVALUATE = "REEVALUATE"
    REVOKE = "REVOKE"
    WITHDRAW = "WITHDRAW"


_S = ApplicationState
#: The states each action starts from; anything else is refused (INVALID_APPLICATION_STATE).
ALLOWED_FROM: MappingProxyType[ApplicationAction, frozenset[ApplicationState]] = MappingProxyType(
    {
        ApplicationAction.START_REVIEW: frozenset({_S.SUBMITTED}),
        ApplicationAction.APPROVE: frozenset({_S.UNDER_REVIEW}),
        # An incomplete application can be rejected before any review starts.
        ApplicationAction.REJECT: frozenset({_S.SUBMITTED, _S.UNDER_REVIEW}),
        ApplicationAction.SIGN_AGREEMENT: frozenset({_S.AGREEMENT_PENDING}),
        ApplicationAction.REEVALUATE: frozenset({_S.ACTIVE}),
        ApplicationAction.REVOKE: frozenset({_S.ACTIVE}),
        # Once the agreement is in force the trader leaves only by revocation.
        ApplicationAction.WITHDRAW: frozenset(
            {_S.SUBMITTED, _S.UNDER_REVIEW, _S.AGREEMENT_PENDING}
        ),
    }
)


def one_year_after(day: date) -> date:
    """The same day a year later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def application_name(application_id: str) -> str:
    """The resource name ``traderApplications/{application_id}``."""
    return f"{APPLICATION_NAME_PREFIX}{application_id}"


@dataclass(frozen=True)
class ReviewChecks:
    """What the reviewer found: the three inspections and the notes."""

    record_keeping: CheckResult
    security: CheckResult
    employee_background_checks: CheckResult
    findings: str

    @property
    def unsatisfactory(self) -> list[str]:
        """The names of the checks the trader failed, in the contract's order."""
        checks = {
            "record_keeping": self.record_keeping,
            "security": self.security,
            "employee_background_checks": self.employee_background_checks,
        }
        return [name for name, result in checks.items() if result is CheckResult.UNSATISFACTORY]


@dataclass(frozen=True)
class Review:
    """A recorded review: the checks, the trader's measured compliance, who and when."""

    checks: ReviewChecks
    compliance_rate: ComplianceRate
    reviewer: str
    review_time: datetime


@dataclass(frozen=True)
class AgreementTerms:
    """The agreement as signed: its reference, the benefits granted, when it takes effect."""

    reference: str
    benefits: frozenset[ApprovedTraderBenefit]
    effective_date: date


@dataclass(frozen=True)
class Agreement:
    """The signed agreement."""

    terms: AgreementTerms
    signed_by: str
    sign_time: datetime


@dataclass(frozen=True)
class Reevaluation:
    """One periodic re-evaluation; ``next_reevaluation_date`` is ``None`` when revoked."""

    review: Review
    outcome: ReevaluationOutcome
    next_reevaluation_date: date | None


def importer_compliance(trader_id: str, observations: Iterable[Observation]) -> ComplianceRate:
    """The trader's compliance as an importer, over every random verification received.

    Read against :data:`REVIEW_TOLERANCE_LEVEL` with the default confidence and
    minimum sample of a measurement, so a reviewer sees the same kind of rate a
    published measurement would show.
    """
    mine = [o for o in deduplicated(observations) if o.importer_id == trader_id]
    compliant = sum(1 for o in mine if o.compliant_in(ALL_AREAS))
    lower, upper = wilson_interval(compliant, len(mine), DEFAULT_CONFIDENCE_LEVEL)
    return ComplianceRate(
        stratum=trader_name(trader_id),
        display_name="",
        sample_size=len(mine),
        compliant=compliant,
        rate=compliant / len(mine) if mine else 0.0,
        lower_bound=lower,
        upper_bound=upper,
        assessment=assess(len(mine), lower, upper, REVIEW_TOLERANCE_LEVEL, DEFAULT_MIN_SAMPLE_SIZE),
    )


@dataclass(frozen=True)
class ApplicationRequest:
    """What the trader applied with."""

    trader_id: str
    requested_benefits: frozenset[ApprovedTraderBenefit]
    statement: str
    contact: str
    receive_time: datetime


@dataclass(frozen=True)
class TraderApplication:
    """One trader's application and, once signed, its agreement, re-evaluations and end."""

    application_id: str
    request: ApplicationRequest
    state: ApplicationState
    #: The review that approved or rejected the application.
    review: Review | None
    agreement: Agreement | None
    reevaluations: tuple[Reevaluation, ...]
    next_reevaluation_date: date | None
    decision_reason: str
    decided_by: str
    create_time: datetime
    update_time: datetime
    #: Incremented by every change; the etag is derived from it.
    version: int

    @property
    def name(self) -> str:
        """The resource name ``traderApplications/{application}``."""
        return application_name(self.application_id)

    @property
    def trader_id(self) -> str:
        """The applicant's trader number."""
        return self.request.trader_id

    @property
    def etag(self) -> str:
        """The opaque version a client sends back to change the application."""
        return f"{self.version}"

    @property
    def is_open(self) -> bool:
        """Whether the application still blocks another one from the same trader."""
        return self.state in OPEN_STATES

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` unless ``etag`` is the application's current etag."""
        if etag != self.etag:
            raise Aborted(
                "ETAG_MISMATCH",
                f"{self.name} changed since it was read (etag {etag!r}, now {self.etag!r})",
            )

    def require(self, action: ApplicationAction) -> None:
        """Raises ``FailedPrecondition`` (``INVALID_APPLICATION_STATE``) unless allowed."""
        allowed = ALLOWED_FROM[action]
        if self.state in allowed:
            return
        expected = ", ".join(state.value for state in ApplicationState if state in allowed)
        raise FailedPrecondition(
            "INVALID_APPLICATION_STATE",
            f"{self.name} is {self.state.value}; {action.value} needs one of {expected}",
            [
                PreconditionViolation(
                    "APPLICATION_STATE",
                    self.name,
                    f"state is {self.state.value}, must be one of {expected}",
                )
            ],
            metadata={"state": self.state.value, "action": action.value},
        )

    def start_review(self, by: str, now: datetime) -> TraderApplication:
        """The application taken up for review."""
        self.require(ApplicationAction.START_REVIEW)
        return self._moved(self, ApplicationState.UNDER_REVIEW, by, now)

    def approve(self, review: Review, now: datetime) -> TraderApplication:
        """The application approved on a satisfactory review, waiting for the agreement.

        Raises ``FailedPrecondition`` with reason ``REVIEW_NOT_SATISFACTORY`` if
        any check is unsatisfactory: the handbook admits only traders that meet
        customs' guidelines on all three.
        """
        self.require(ApplicationAction.APPROVE)
        self._require_satisfactory(review.checks)
        return self._moved(
            replace(self, review=review), ApplicationState.AGREEMENT_PENDING, review.reviewer, now
        )

    def reject(
        self, review: Review | None, reason: str, by: str, now: datetime
    ) -> TraderApplication:
        """The application rejected, with the review that led to it if there was one."""
        self.require(ApplicationAction.REJECT)
        rejected = replace(self, review=review, decision_reason=reason)
        return self._moved(rejected, ApplicationState.REJECTED, by, now)

    def sign(self, terms: AgreementTerms, by: str, now: datetime) -> TraderApplication:
        """The agreement in force: ACTIVE, first re-evaluation a year after it takes effect.

        Raises ``FailedPrecondition`` with reason ``BENEFIT_NOT_REQUESTED`` if the
        agreement grants a benefit the trader did not apply for.
        """
        self.require(ApplicationAction.SIGN_AGREEMENT)
        unrequested = sorted(terms.benefits - self.request.requested_benefits)
        if unrequested:
            raise FailedPrecondition(
                "BENEFIT_NOT_REQUESTED",
                f"{self.name} did not apply for {', '.join(unrequested)}",
                [
                    PreconditionViolation(
                        "BENEFIT_NOT_REQUESTED",
                        self.name,
                        f"{benefit.value} is not among the requested benefits",
                    )
                    for benefit in unrequested
                ],
            )
        signed = replace(
            self,
            agreement=Agreement(terms, by, now),
            next_reevaluation_date=one_year_after(terms.effective_date),
        )
        return self._moved(signed, ApplicationState.ACTIVE, by, now)

    def reevaluate(
        self, review: Review, outcome: ReevaluationOutcome, reason: str, now: datetime
    ) -> TraderApplication:
        """The application after its periodic re-evaluation.

        CONTINUED needs every check satisfactory (``REVIEW_NOT_SATISFACTORY``
        otherwise) and sets the next re-evaluation a year after this one;
        REVOKED ends the approval.
        """
        self.require(ApplicationAction.REEVALUATE)
        if outcome is ReevaluationOutcome.REVOKED:
            revoked = replace(
                self,
                reevaluations=(*self.reevaluations, Reevaluation(review, outcome, None)),
                next_reevaluation_date=None,
                decision_reason=reason,
            )
            return self._moved(revoked, ApplicationState.REVOKED, review.reviewer, now)
        self._require_satisfactory(review.checks)
        due = one_year_after(review.review_time.date())
        # Not a state change: decided_by keeps whoever made the last one.
        return replace(
            self,
            reevaluations=(*self.reevaluations, Reevaluation(review, outcome, due)),
            next_reevaluation_date=due,
            update_time=now,
            version=self.version + 1,
        )

    def revoke(self, reason: str, by: str, now: datetime) -> TraderApplication:
        """The approval revoked for cause."""
        self.require(ApplicationAction.REVOKE)
        revoked = replace(self, next_reevaluation_date=None, decision_reason=reason)
        return self._moved(revoked, ApplicationState.REVOKED, by, now)

    def withdraw(self, reason: str, by: str, now: datetime) -> TraderApplication:
        """The application withdrawn by the trader before its agreement took effect."""
        self.require(ApplicationAction.WITHDRAW)
        withdrawn = replace(self, decision_reason=reason)
        return self._moved(withdrawn, ApplicationState.WITHDRAWN, by, now)

    def _require_satisfactory(self, checks: ReviewChecks) -> None:
        failed = checks.unsatisfactory
        if failed:
            raise FailedPrecondition(
                "REVIEW_NOT_SATISFACTORY",
                f"{self.name} cannot be approved: {', '.join(failed)} unsatisfactory",
                [
                    PreconditionViolation(
                        "REVIEW_CHECK", f"review.{check}", "the check is UNSATISFACTORY"
                    )
                    for check in failed
                ],
            )

    def _moved(
        self, changed: TraderApplication, state: ApplicationState, by: str, now: datetime
    ) -> TraderApplication:
        return replace(
            changed, state=state, decided_by=by, update_time=now, version=self.version + 1
        )


def submit_application(
    application_id: str, request: ApplicationRequest, now: datetime
) -> TraderApplication:
    """A new SUBMITTED application.

    Raises ``InvalidArgument`` if it was received in the future (beyond a few
    minutes of clock difference between the recording client and the server).
    """
    if request.receive_time > now + RECEIVE_TIME_SKEW:
        raise InvalidArgument(
            [FieldViolation("trader_application.receive_time", "must not be in the future")]
        )
    return TraderApplication(
        application_id=application_id,
        request=request,
        state=ApplicationState.SUBMITTED,
        review=None,
        agreement=None,
        reevaluations=(),
        next_reevaluation_date=None,
        decision_reason="",
        decided_by="",
        create_time=now,
        update_time=now,
        version=1,
    )


def application_already_open(trader_id: str, open_application: str = "") -> FailedPrecondition:
    """The error for a second open application (``open_application`` when it is known)."""
    which = open_application or "another application"
    return FailedPrecondition(
        "APPLICATION_ALREADY_OPEN",
        f"{trader_name(trader_id)} already has {which} in progress or in force",
        [
            PreconditionViolation(
                "APPLICATION_ALREADY_OPEN", trader_name(trader_id), f"{which} is not terminal"
            )
        ],
        metadata={"trader_application": open_application} if open_application else None,
    )
