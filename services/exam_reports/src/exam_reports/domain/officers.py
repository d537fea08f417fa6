"""Officers, their shifts, and who gets a new examination.

The caller of an RPC is matched to an officer through the token's ``sub``
claim (``Officer.subject``); roles in the token say what a caller may call,
the officer record says which office and tasks are theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from customs_kit.errors import FailedPrecondition, PermissionDenied, PreconditionViolation


class OfficerRole(Enum):
    """What an officer may do at the office."""

    INSPECTOR = "INSPECTOR"
    SUPERVISOR = "SUPERVISOR"


@dataclass(frozen=True)
class Officer:
    """A customs officer or supervisor."""

    id: str
    display_name: str
    badge_number: str
    office_id: str
    role: OfficerRole
    subject: str
    active: bool
    create_time: datetime
    update_time: datetime
    version: int = 1


def updated_officer(officer: Officer, changes: Mapping[str, Any], now: datetime) -> Officer:
    """``officer`` with the attributes in ``changes`` replaced (an update's field mask)."""
    return replace(officer, **changes, update_time=now, version=officer.version + 1)


def require_active_officer(officer: Officer | None, subject: str) -> Officer:
    """The caller's officer record; PERMISSION_DENIED ``NOT_AN_OFFICER`` without an active one."""
    if officer is None or not officer.active:
        raise PermissionDenied(
            "NOT_AN_OFFICER",
            f"the caller {subject!r} is not an active officer of any office",
            metadata={"subject": subject},
        )
    return officer


@dataclass(frozen=True)
class Shift:
    """A period during which an officer is on duty at an office."""

    id: str
    officer_id: str
    office_id: str
    start_time: datetime
    end_time: datetime
    create_time: datetime

    def covers(self, moment: datetime) -> bool:
        """Whether the officer is on duty at ``moment`` (start included, end excluded)."""
        return self.start_time <= moment < self.end_time

    def overlaps(self, other: Shift) -> bool:
        """Whether the two shifts share any instant."""
        return self.start_time < other.end_time and other.start_time < self.end_time


def check_no_overlap(shift: Shift, existing: Iterable[Shift]) -> None:
    """Raises FAILED_PRECONDITION ``SHIFT_OVERLAPS`` if ``shift`` overlaps another of the officer.

    An officer cannot be on duty twice at once; overlapping shifts would also
    count the officer twice in workload and integrity norms.
    """
    clashes = [other for other in existing if other.overlaps(shift)]
    if clashes:
        raise FailedPrecondition(
            "SHIFT_OVERLAPS",
            "the shift overlaps another shift of the same officer",
            [
                PreconditionViolation(
                    "SHIFT_OVERLAPS",
                    f"officers/{other.officer_id}/shifts/{other.id}",
                    f"runs from {other.start_time.isoformat()} to {other.end_time.isoformat()}",
                )
                for other in clashes
            ],
        )


def check_deletable(shift: Shift, now: datetime) -> None:
    """Raises FAILED_PRECONDITION ``SHIFT_STARTED`` once the shift has begun.

    A started shift is a fact that assignments and integrity analytics rely on.
    """
    if shift.start_time <= now:
        raise FailedPrecondition(
            "SHIFT_STARTED",
            "a shift that has started cannot be deleted",
            [
                PreconditionViolation(
                    "SHIFT_STARTED",
                    f"officers/{shift.officer_id}/shifts/{shift.id}",
                    f"started at {shift.start_time.isoformat()}",
                )
            ],
        )


@dataclass(frozen=True)
class AssignmentCandidate:
    """An active officer on shift at the office, with the tasks they already hold."""

    officer_id: str
    role: OfficerRole
    open_tasks: int


def choose_assignee(candidates: Sequence[AssignmentCandidate]) -> str | None:
    """The officer who gets a new examination, or None when nobody is on shift.

    Inspectors are preferred: supervisors may examine, but their first duty is
    reviewing reports and approving overrides, so they take tasks only when no
    inspector is on shift. Among the same role the one with the fewest open
    tasks wins; ties go to the lowest officer ID so the choice is reproducible.
    """
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda c: (c.role is not OfficerRole.INSPECTOR, c.open_tasks, c.officer_id),
    )
    return best.officer_id
