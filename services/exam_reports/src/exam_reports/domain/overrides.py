"""Override requests: an officer asks to examine differently than the system designated.

The directive lets an officer override the examination instructions only with
a valid reason and the written approval of a supervisor or shift leader, and
never on their own authority: the supervisor who decides is never the officer
who asked. Every request is kept with who asked, why, who decided and why, so
that integrity analytics can count each officer's overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from customs_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    PreconditionViolation,
)
from exam_reports.domain.examinations import Examination, TraderReference
from exam_reports.domain.officers import Officer, OfficerRole
from exam_reports.domain.selectivity import Channel, ExaminationLevel

#: What the system may have designated for a declaration it did not send for examination.
UNDESIGNATED_CHANNELS = frozenset({Channel.GREEN, Channel.BLUE})


class OverrideKind(Enum):
    """What an override changes compared to the designation."""

    EXAMINE_UNDESIGNATED = "EXAMINE_UNDESIGNATED"
    CHANGE_EXAMINATION = "CHANGE_EXAMINATION"
    RELEASE_WITHOUT_EXAMINATION = "RELEASE_WITHOUT_EXAMINATION"


class OverrideState(Enum):
    """Where a request is in its decision."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class OverrideRequest:
    """What the officer asks: either about an examination, or about an undesignated declaration.

    For an examination the declaration fields are ignored (they are copied
    from the task); for an undesignated declaration they describe it.
    """

    examination_id: str | None
    requested_channel: Channel
    requested_level: ExaminationLevel
    reason: str
    declaration_number: str = ""
    declaration_version: int = 0
    office_id: str = ""
    importer: TraderReference | None = None
    designated_channel: Channel | None = None


@dataclass(frozen=True)
class Override:
    """An override request and the supervisor's decision on it."""

    id: str
    examination_id: str | None
    declaration_number: str
    declaration_version: int
    office_id: str
    importer: TraderReference
    designated_channel: Channel
    designated_level: ExaminationLevel
    requested_channel: Channel
    requested_level: ExaminationLevel
    kind: OverrideKind
    reason: str
    state: OverrideState
    requester_id: str
    decided_by: str | None
    decision_comment: str
    decide_time: datetime | None
    resulting_examination_id: str | None
    create_time: datetime
    update_time: datetime
    version: int = 1

    def approved(
        self, supervisor: Officer, comment: str, resulting_examination_id: str, now: datetime
    ) -> Override:
        """The request approved by ``supervisor``; ``resulting_examination_id`` is the task."""
        return self._decided(
            OverrideState.APPROVED, supervisor, comment, now, resulting_examination_id
        )

    def rejected(self, supervisor: Officer, comment: str, now: datetime) -> Override:
        """The request rejected by ``supervisor``: the designation stands."""
        return self._decided(OverrideState.REJECTED, supervisor, comment, now, None)

    def _decided(
        self,
        state: OverrideState,
        supervisor: Officer,
        comment: str,
        now: datetime,
        resulting_examination_id: str | None,
    ) -> Override:
        return replace(
            self,
            state=state,
            decided_by=supervisor.id,
            decision_comment=comment,
            decide_time=now,
            resulting_examination_id=resulting_examination_id,
            update_time=now,
            version=self.version + 1,
        )

    def check_decidable_by(self, supervisor: Officer) -> None:
        """The rules of a decision: a supervisor who is not the requester, on a PENDING request.

        PERMISSION_DENIED ``SELF_APPROVAL_FORBIDDEN`` when the requester decides
        their own request (four eyes); FAILED_PRECONDITION ``OVERRIDE_NOT_PENDING``
        once it has been decided.
        """
        if supervisor.id == self.requester_id:
            raise PermissionDenied(
                "SELF_APPROVAL_FORBIDDEN",
                f"overrides/{self.id} was requested by officers/{supervisor.id}; "
                "another supervisor must decide it",
                metadata={"override": f"overrides/{self.id}"},
            )
        if self.state is not OverrideState.PENDING:
            raise FailedPrecondition(
                "OVERRIDE_NOT_PENDING",
                f"overrides/{self.id} was already decided",
                [
                    PreconditionViolation(
                        "OVERRIDE_NOT_PENDING",
                        f"overrides/{self.id}",
                        f"state is {self.state.name}",
                    )
                ],
            )

    def authorises_examination(self, examination_id: str, declaration_number: str) -> bool:
        """Whether this approval authorises examining ``examination_id`` for another reason."""
        return (
            self.state is OverrideState.APPROVED
            and self.kind is not OverrideKind.RELEASE_WITHOUT_EXAMINATION
            and self.resulting_examination_id == examination_id
            and self.declaration_number == declaration_number
        )


def require_supervisor(officer: Officer) -> Officer:
    """PERMISSION_DENIED ``NOT_A_SUPERVISOR`` unless ``officer`` is a supervisor or shift leader.

    The token's role lets a caller reach the method; the officer register says
    who is actually a supervisor at an office, and their signature comes from it.
    """
    if officer.role is not OfficerRole.SUPERVISOR:
        raise PermissionDenied(
            "NOT_A_SUPERVISOR",
            f"officers/{officer.id} is not registered as a supervisor",
            metadata={"officer": f"officers/{officer.id}"},
        )
    return officer


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(f"override.{field}", description)])


def new_override(
    override_id: str,
    request: OverrideRequest,
    examination: Examination | None,
    requester: Officer,
    now: datetime,
) -> Override:
    """A PENDING override of ``examination``, or of an undesignated declaration when None.

    For an examination: only its assigned officer asks, only while it is not
    reported, and only for something other than its designation. For an
    undesignated (GREEN or BLUE) declaration: only to examine it.
    """
    if examination is not None:
        examination.require_assigned_to(requester.id)
        examination.require_unreported()
        designated_channel, designated_level = examination.channel, examination.examination_level
        if (request.requested_channel, request.requested_level) == (
            designated_channel,
            designated_level,
        ):
            raise _invalid("requested_channel", "equals the designation: nothing to override")
        kind = (
            OverrideKind.RELEASE_WITHOUT_EXAMINATION
            if request.requested_channel is Channel.GREEN
            else OverrideKind.CHANGE_EXAMINATION
        )
        declaration_number = examination.declaration_number
        declaration_version = examination.declaration_version
        office_id = examination.office_id
        importer = examination.importer
    else:
        if request.designated_channel not in UNDESIGNATED_CHANNELS:
            raise _invalid(
                "designated_channel",
                "must be GREEN or BLUE for a declaration without an examination "
                "(name the examination to change a RED or YELLOW designation)",
            )
        if request.requested_channel not in (Channel.YELLOW, Channel.RED):
            raise _invalid(
                "requested_channel",
                "must be YELLOW or RED: an undesignated declaration is already released",
            )
        if request.importer is None:
            raise _invalid("importer", "is required for an undesignated declaration")
        designated_channel, designated_level = request.designated_channel, ExaminationLevel.NONE
        kind = OverrideKind.EXAMINE_UNDESIGNATED
        declaration_number = request.declaration_number
        declaration_version = request.declaration_version
        office_id = request.office_id
        importer = request.importer
    return Override(
        id=override_id,
        examination_id=None if examination is None else examination.id,
        declaration_number=declaration_number,
        declaration_version=declaration_version,
        office_id=office_id,
        importer=importer,
        designated_channel=designated_channel,
        designated_level=designated_level,
        requested_channel=request.requested_channel,
        requested_level=request.requested_level,
        kind=kind,
        reason=request.reason,
        state=OverrideState.PENDING,
        requester_id=requester.id,
        decided_by=None,
        decision_comment="",
        decide_time=None,
        resulting_examination_id=None,
        create_time=now,
        update_time=now,
    )


def check_no_pending_override(pending: Override | None) -> None:
    """FAILED_PRECONDITION ``OVERRIDE_ALREADY_PENDING`` while another request waits.

    Two open requests about one declaration would let an officer shop for the
    supervisor who says yes.
    """
    if pending is not None:
        raise FailedPrecondition(
            "OVERRIDE_ALREADY_PENDING",
            f"overrides/{pending.id} about this declaration is still waiting for a decision",
            [
                PreconditionViolation(
                    "OVERRIDE_ALREADY_PENDING", f"overrides/{pending.id}", "state is PENDING"
                )
            ],
        )


def check_declaration_undesignated(open_examination: Examination | None) -> None:
    """FAILED_PRECONDITION ``DECLARATION_DESIGNATED`` if the declaration has an open task.

    An override of a designated declaration must name its examination, so that
    approving it changes that task instead of opening a second one.
    """
    if open_examination is not None:
        raise FailedPrecondition(
            "DECLARATION_DESIGNATED",
            "the declaration is designated for examination; name its examination",
            [
                PreconditionViolation(
                    "DECLARATION_DESIGNATED",
                    f"examinations/{open_examination.id}",
                    f"state is {open_examination.state.name}",
                )
            ],
        )


@dataclass(frozen=True)
class OverrideFilter:
    """Which overrides a list returns; every unset criterion matches everything."""

    office_id: str | None = None
    states: frozenset[OverrideState] = frozenset()
    requester_id: str | None = None
    kind: OverrideKind | None = None
