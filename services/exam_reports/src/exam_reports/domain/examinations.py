"""Examination tasks: opened from scoring decisions, assigned, started, reported, closed.

Officers see the examiner instructions, the documents to check and the
*names* of the criteria that selected a shipment, never the criteria's logic:
scoring sends nothing more, and nothing more is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from customs_kit.errors import FailedPrecondition, PermissionDenied, PreconditionViolation
from exam_reports.domain.selectivity import (
    CapacityDowngrade,
    Channel,
    ExaminationLevel,
    ExaminationType,
)


class ExaminationState(Enum):
    """Where an examination task is in its lifecycle."""

    UNASSIGNED = "UNASSIGNED"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    AWAITING_REVIEW = "AWAITING_REVIEW"
    RETURNED = "RETURNED"
    COMPLETED = "COMPLETED"
    RELEASED_WITHOUT_EXAMINATION = "RELEASED_WITHOUT_EXAMINATION"
    SUPERSEDED = "SUPERSEDED"


#: Not yet reported: a newer decision may still replace these.
UNREPORTED_STATES = frozenset(
    {ExaminationState.UNASSIGNED, ExaminationState.ASSIGNED, ExaminationState.IN_PROGRESS}
)
#: Nothing can happen to these any more.
TERMINAL_STATES = frozenset(
    {
        ExaminationState.COMPLETED,
        ExaminationState.RELEASED_WITHOUT_EXAMINATION,
        ExaminationState.SUPERSEDED,
    }
)
#: Tasks that need their officer's work: what workload counts and the tablet lists by default.
WORK_STATES = frozenset(
    {ExaminationState.ASSIGNED, ExaminationState.IN_PROGRESS, ExaminationState.RETURNED}
)
#: What capacity counts as done.
DONE_STATES = frozenset({ExaminationState.COMPLETED, ExaminationState.RELEASED_WITHOUT_EXAMINATION})


class ExaminationReason(Enum):
    """Why a shipment is examined (the form's "Reason for examination" box)."""

    CRITERIA = "CRITERIA"
    RANDOM = "RANDOM"
    OTHER = "OTHER"


@dataclass(frozen=True)
class TraderReference:
    """A trader as written on the declaration."""

    number: str
    display_name: str


@dataclass(frozen=True)
class RequiredDocument:
    """A document a document review must verify."""

    code: str
    description: str


@dataclass(frozen=True)
class Assignment:
    """One assignment of the task; ``assigned_by`` is None for an automatic one."""

    officer_id: str
    assign_time: datetime
    assigned_by: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class SelectedCriterion:
    """One hit of a criterion that selected the declaration; item 0 is the whole declaration."""

    criterion: str
    revision: int
    item_number: int


@dataclass(frozen=True)
class SelectivityDecision:
    """A RED or YELLOW decision of scoring, as relayed from its outbox."""

    assessment: str
    declaration_number: str
    declaration_version: int
    office_id: str
    importer: TraderReference
    broker: TraderReference | None
    carrier: TraderReference | None
    channel: Channel
    examination_level: ExaminationLevel
    documents_to_check: tuple[RequiredDocument, ...]
    examiner_instructions: tuple[str, ...]
    random_selection: bool
    matched_criteria: tuple[str, ...]
    selected_criteria: tuple[SelectedCriterion, ...]
    decide_time: datetime
    #: The selections a capacity policy downgraded; a criterion downgraded to this
    #: channel is among ``matched_criteria``.
    capacity_downgrades: tuple[CapacityDowngrade, ...] = ()

    @property
    def reason(self) -> ExaminationReason:
        """CRITERIA when criteria matched (even if a random draw did too), else RANDOM.

        The report's reason box asks why the shipment was targeted; criteria are
        the more specific answer. ``random_selection`` still marks the task as part
        of the random sample for compliance measurement.
        """
        return ExaminationReason.CRITERIA if self.matched_criteria else ExaminationReason.RANDOM


@dataclass(frozen=True)
class Examination:
    """An examination task at one office for one declaration version."""

    id: str
    source_event_id: str | None
    declaration_number: str
    declaration_version: int
    office_id: str
    assessment: str
    importer: TraderReference
    broker: TraderReference | None
    carrier: TraderReference | None
    channel: Channel
    examination_level: ExaminationLevel
    documents_to_check: tuple[RequiredDocument, ...]
    examiner_instructions: tuple[str, ...]
    reason: ExaminationReason
    matched_criteria: tuple[str, ...]
    #: The hits behind ``matched_criteria``, reported back to criteria per hit.
    selected_criteria: tuple[SelectedCriterion, ...]
    random_selection: bool
    override: str
    state: ExaminationState
    assigned_officer_id: str | None
    facility: str
    assignments: tuple[Assignment, ...]
    exam_report_id: str | None
    decide_time: datetime
    start_time: datetime | None
    complete_time: datetime | None
    create_time: datetime
    update_time: datetime
    version: int = 1
    #: The W3C ``traceparent`` the decision arrived with ("" for an override's
    #: task): what the examination causes continues the declaration's trace.
    trace_parent: str = ""
    #: The selections scoring downgraded for lack of capacity, from the decision.
    capacity_downgrades: tuple[CapacityDowngrade, ...] = ()

    @property
    def type(self) -> ExaminationType:
        """The kind of examination, as capacity counts it."""
        return ExaminationType(self.channel, self.examination_level)

    def assigned_to(self, officer_id: str, now: datetime) -> Examination:
        """The task given automatically to ``officer_id`` (by workload)."""
        return replace(
            self,
            state=ExaminationState.ASSIGNED,
            assigned_officer_id=officer_id,
            assignments=(*self.assignments, Assignment(officer_id, now)),
            update_time=now,
            version=self.version + 1,
        )

    def superseded(self, now: datetime) -> Examination:
        """The task replaced by a decision on a newer declaration version."""
        return replace(
            self,
            state=ExaminationState.SUPERSEDED,
            complete_time=now,
            update_time=now,
            version=self.version + 1,
        )

    def started_by(self, officer_id: str, now: datetime) -> Examination:
        """The task once its assigned officer began examining.

        Starting a task already IN_PROGRESS returns it unchanged, so a tablet
        that retries the call does not move the start time.
        """
        self.require_assigned_to(officer_id)
        if self.state is ExaminationState.IN_PROGRESS:
            return self
        if self.state not in (ExaminationState.ASSIGNED, ExaminationState.RETURNED):
            raise self._wrong_state("EXAMINATION_NOT_STARTABLE", "started")
        return replace(
            self,
            state=ExaminationState.IN_PROGRESS,
            start_time=self.start_time or now,
            update_time=now,
            version=self.version + 1,
        )

    def reported(
        self, exam_report_id: str, examination_time: datetime | None, now: datetime
    ) -> Examination:
        """The task once its report was submitted: it waits for the supervisor's review."""
        return replace(
            self,
            state=ExaminationState.AWAITING_REVIEW,
            exam_report_id=exam_report_id,
            start_time=self.start_time or examination_time,
            update_time=now,
            version=self.version + 1,
        )

    def reassigned(
        self,
        officer_id: str,
        facility: str | None,
        supervisor_id: str,
        reason: str,
        now: datetime,
    ) -> Examination:
        """The open task given by a supervisor to ``officer_id`` (and ``facility`` if given).

        A new officer starts afresh: the task is ASSIGNED to them and the
        previous officer's start no longer counts. Reassigning to the same
        officer (to change the facility) leaves the progress as it is.
        """
        self.require_unreported()
        changes_officer = officer_id != self.assigned_officer_id
        return replace(
            self,
            state=ExaminationState.ASSIGNED if changes_officer else self.state,
            start_time=None if changes_officer else self.start_time,
            assigned_officer_id=officer_id,
            facility=self.facility if facility is None else facility,
            assignments=(
                *self.assignments,
                Assignment(officer_id, now, assigned_by=supervisor_id, reason=reason),
            ),
            update_time=now,
            version=self.version + 1,
        )

    def redesignated(
        self, channel: Channel, level: ExaminationLevel, override_id: str, now: datetime
    ) -> Examination:
        """The task changed to another type or level by an approved override."""
        self.require_unreported()
        return replace(
            self,
            channel=channel,
            examination_level=level,
            override=override_id,
            update_time=now,
            version=self.version + 1,
        )

    def released_without_examination(self, override_id: str, now: datetime) -> Examination:
        """The task closed by an approved override releasing the declaration unexamined."""
        self.require_unreported()
        return replace(
            self,
            state=ExaminationState.RELEASED_WITHOUT_EXAMINATION,
            override=override_id,
            complete_time=now,
            update_time=now,
            version=self.version + 1,
        )

    def completed(self, now: datetime) -> Examination:
        """The task once the supervisor approved its report: the shipment may be released."""
        return replace(
            self,
            state=ExaminationState.COMPLETED,
            complete_time=now,
            update_time=now,
            version=self.version + 1,
        )

    def returned_for_correction(self, now: datetime) -> Examination:
        """The task once the supervisor returned its report: back on the officer's tablet."""
        return replace(
            self, state=ExaminationState.RETURNED, update_time=now, version=self.version + 1
        )

    def require_unreported(self) -> None:
        """FAILED_PRECONDITION unless the task is open and nobody has reported on it yet.

        ``EXAMINATION_CLOSED`` once terminal; ``EXAMINATION_ALREADY_REPORTED`` once a
        report was submitted (its review decides what happens next).
        """
        if self.state in TERMINAL_STATES:
            raise self._wrong_state("EXAMINATION_CLOSED", "changed")
        if self.state not in UNREPORTED_STATES or self.exam_report_id is not None:
            raise self._wrong_state("EXAMINATION_ALREADY_REPORTED", "changed")

    def check_reportable(self, exam_report_id: str) -> None:
        """FAILED_PRECONDITION unless report ``exam_report_id`` may be submitted for this task.

        ``EXAMINATION_CLOSED`` once the task is terminal; ``EXAMINATION_ALREADY_REPORTED``
        if another report answers it (one task, one report, however many tablets).
        """
        if self.state in TERMINAL_STATES:
            raise self._wrong_state("EXAMINATION_CLOSED", "reported")
        if self.exam_report_id is not None and self.exam_report_id != exam_report_id:
            raise FailedPrecondition(
                "EXAMINATION_ALREADY_REPORTED",
                f"examinations/{self.id} already has another report",
                [
                    PreconditionViolation(
                        "EXAMINATION_ALREADY_REPORTED",
                        f"examinations/{self.id}",
                        f"reported in examReports/{self.exam_report_id}",
                    )
                ],
            )

    def require_assigned_to(self, officer_id: str) -> None:
        """PERMISSION_DENIED ``NOT_ASSIGNED_OFFICER`` unless ``officer_id`` holds the task."""
        if self.assigned_officer_id != officer_id:
            raise PermissionDenied(
                "NOT_ASSIGNED_OFFICER",
                f"examinations/{self.id} is not assigned to officers/{officer_id}",
                metadata={"examination": f"examinations/{self.id}"},
            )

    def _wrong_state(self, reason: str, action: str) -> FailedPrecondition:
        return FailedPrecondition(
            reason,
            f"an examination in state {self.state.name} cannot be {action}",
            [
                PreconditionViolation(
                    "STATE", f"examinations/{self.id}", f"state is {self.state.name}"
                )
            ],
        )


def open_examination(
    examination_id: str,
    event_id: str,
    decision: SelectivityDecision,
    now: datetime,
) -> Examination:
    """A new, unassigned task for ``decision``."""
    return Examination(
        id=examination_id,
        source_event_id=event_id,
        declaration_number=decision.declaration_number,
        declaration_version=decision.declaration_version,
        office_id=decision.office_id,
        assessment=decision.assessment,
        importer=decision.importer,
        broker=decision.broker,
        carrier=decision.carrier,
        channel=decision.channel,
        examination_level=decision.examination_level,
        documents_to_check=decision.documents_to_check,
        examiner_instructions=decision.examiner_instructions,
        reason=decision.reason,
        matched_criteria=decision.matched_criteria,
        selected_criteria=decision.selected_criteria,
        random_selection=decision.random_selection,
        override="",
        state=ExaminationState.UNASSIGNED,
        assigned_officer_id=None,
        facility="",
        assignments=(),
        exam_report_id=None,
        decide_time=decision.decide_time,
        start_time=None,
        complete_time=None,
        create_time=now,
        update_time=now,
        capacity_downgrades=decision.capacity_downgrades,
    )


def open_override_examination(
    examination_id: str,
    *,
    override_id: str,
    declaration_number: str,
    declaration_version: int,
    office_id: str,
    importer: TraderReference,
    channel: Channel,
    level: ExaminationLevel,
    officer_id: str,
    supervisor_id: str,
    now: datetime,
) -> Examination:
    """The task an approved override opens for a declaration the system did not designate.

    It goes to the officer who asked (they saw the reason to examine), with the
    approving supervisor recorded as the one who assigned it.
    """
    return Examination(
        id=examination_id,
        source_event_id=None,
        declaration_number=declaration_number,
        declaration_version=declaration_version,
        office_id=office_id,
        assessment="",
        importer=importer,
        broker=None,
        carrier=None,
        channel=channel,
        examination_level=level,
        documents_to_check=(),
        examiner_instructions=(),
        reason=ExaminationReason.OTHER,
        matched_criteria=(),
        selected_criteria=(),
        random_selection=False,
        override=override_id,
        state=ExaminationState.ASSIGNED,
        assigned_officer_id=officer_id,
        facility="",
        assignments=(
            Assignment(
                officer_id,
                now,
                assigned_by=supervisor_id,
                reason=f"override overrides/{override_id} approved",
            ),
        ),
        exam_report_id=None,
        decide_time=now,
        start_time=None,
        complete_time=None,
        create_time=now,
        update_time=now,
    )


@dataclass(frozen=True)
class DecisionEffect:
    """What a decision does to the tasks of its declaration."""

    #: False when a task exists for the same or a newer declaration version.
    opens_task: bool
    #: The older, not yet reported tasks the new one replaces.
    superseded: tuple[Examination, ...]


def effect_of_decision(
    decision: SelectivityDecision, existing: Iterable[Examination]
) -> DecisionEffect:
    """How ``decision`` relates to the tasks already opened for its declaration.

    Declarations are amended into new versions and each version is scored, so
    decisions may arrive late or out of order. The newest version wins: a
    decision on an older (or the same) version than a known task is recorded
    and ignored; a newer one replaces the older tasks nobody has reported on.
    Tasks already reported stay, because their findings are facts.
    """
    tasks: Sequence[Examination] = list(existing)
    if any(task.declaration_version >= decision.declaration_version for task in tasks):
        return DecisionEffect(opens_task=False, superseded=())
    return DecisionEffect(
        opens_task=True,
        superseded=tuple(task for task in tasks if task.state in UNREPORTED_STATES),
    )


@dataclass(frozen=True)
class ExaminationFilter:
    """Which tasks a list returns; every unset criterion matches everything."""

    office_id: str | None = None
    states: frozenset[ExaminationState] = frozenset()
    assigned_officer_id: str | None = None
    declaration_number: str | None = None
    reason: ExaminationReason | None = None
