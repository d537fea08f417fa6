"""Override requests: what may be asked, who decides, and what an approval authorises."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from review_builders import ANNA, CLEAN, EXAMINED, NOW, SAM, SARA, examination

from customs_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from exam_reports.domain.exam_reports import check_override_approved_before_examination
from exam_reports.domain.examinations import ExaminationReason, TraderReference
from exam_reports.domain.overrides import (
    Override,
    OverrideKind,
    OverrideRequest,
    OverrideState,
    new_override,
    require_supervisor,
)
from exam_reports.domain.selectivity import Channel, ExaminationLevel

_WHY = "The seal number differs from the bill of lading."


def _ask(channel: Channel, level: ExaminationLevel = ExaminationLevel.NONE) -> OverrideRequest:
    """A request about anna's task e-1."""
    return OverrideRequest(
        examination_id="e-1", requested_channel=channel, requested_level=level, reason=_WHY
    )


def _undesignated(
    designated: Channel = Channel.GREEN, requested: Channel = Channel.RED
) -> OverrideRequest:
    return OverrideRequest(
        examination_id=None,
        requested_channel=requested,
        requested_level=(
            ExaminationLevel.FULL if requested is Channel.RED else ExaminationLevel.NONE
        ),
        reason=_WHY,
        declaration_number="DCL-9",
        declaration_version=1,
        office_id="PORT1",
        importer=TraderReference("IMP-77", "Acme Imports"),
        designated_channel=designated,
    )


def _pending(request: OverrideRequest | None = None) -> Override:
    task = None if request is not None and request.examination_id is None else examination()
    return new_override("o-1", request or _ask(Channel.GREEN), task, ANNA, NOW)


def test_the_kind_follows_from_the_designation_and_the_request() -> None:
    task = examination()

    release = new_override("o-1", _ask(Channel.GREEN), task, ANNA, NOW)
    change = new_override("o-2", _ask(Channel.RED, ExaminationLevel.FULL), task, ANNA, NOW)
    examine = new_override("o-3", _undesignated(), None, ANNA, NOW)

    assert release.kind is OverrideKind.RELEASE_WITHOUT_EXAMINATION
    assert change.kind is OverrideKind.CHANGE_EXAMINATION
    assert (change.designated_channel, change.designated_level) == (
        Channel.RED,
        ExaminationLevel.ENFORCEMENT,
    )
    assert change.declaration_number == "DCL-1"
    assert examine.kind is OverrideKind.EXAMINE_UNDESIGNATED
    assert all(o.state is OverrideState.PENDING for o in (release, change, examine))


def test_asking_for_the_designation_itself_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        new_override(
            "o-1", _ask(Channel.RED, ExaminationLevel.ENFORCEMENT), examination(), ANNA, NOW
        )

    assert [v.field for v in raised.value.field_violations] == ["override.requested_channel"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (_undesignated(designated=Channel.RED), "override.designated_channel"),
        (_undesignated(requested=Channel.GREEN), "override.requested_channel"),
        (replace(_undesignated(), importer=None), "override.importer"),
    ],
)
def test_an_undesignated_declaration_can_only_be_asked_to_be_examined(
    request_: OverrideRequest, field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        new_override("o-1", request_, None, ANNA, NOW)

    assert [v.field for v in raised.value.field_violations] == [field]


def test_only_the_officer_holding_an_open_task_asks_to_override_it() -> None:
    with pytest.raises(PermissionDenied):
        new_override("o-1", _ask(Channel.GREEN), examination(assigned_to="ben"), ANNA, NOW)
    reported = replace(examination(), exam_report_id="r-1")
    with pytest.raises(FailedPrecondition) as raised:
        new_override("o-1", _ask(Channel.GREEN), reported, ANNA, NOW)
    assert raised.value.reason == "EXAMINATION_ALREADY_REPORTED"


def test_the_requester_never_decides_their_own_request() -> None:
    own = new_override("o-1", _undesignated(), None, SAM, NOW)

    with pytest.raises(PermissionDenied) as raised:
        own.check_decidable_by(SAM)

    assert raised.value.reason == "SELF_APPROVAL_FORBIDDEN"
    own.check_decidable_by(SARA)


def test_a_decided_request_is_not_decided_again() -> None:
    approved = _pending().approved(SAM, "ok", "e-1", NOW)

    with pytest.raises(FailedPrecondition) as raised:
        approved.check_decidable_by(SARA)

    assert raised.value.reason == "OVERRIDE_NOT_PENDING"
    assert (approved.decided_by, approved.decision_comment, approved.decide_time) == (
        "sam",
        "ok",
        NOW,
    )


def test_only_a_registered_supervisor_decides() -> None:
    with pytest.raises(PermissionDenied) as raised:
        require_supervisor(ANNA)

    assert raised.value.reason == "NOT_A_SUPERVISOR"
    assert require_supervisor(SAM) is SAM


_OTHER = replace(CLEAN, reason=ExaminationReason.OTHER, other_reason=_WHY, override_id="o-1")


def _approved_change(decided: datetime = EXAMINED - timedelta(minutes=5)) -> Override:
    pending = new_override(
        "o-1", _ask(Channel.RED, ExaminationLevel.FULL), examination(), ANNA, NOW
    )
    return pending.approved(SAM, "go", "e-1", decided)


def test_reason_other_needs_an_approval_of_this_examination_before_it_began() -> None:
    check_override_approved_before_examination(_OTHER, _approved_change())

    for override in (
        _pending(_ask(Channel.RED, ExaminationLevel.FULL)),
        _approved_change(decided=EXAMINED + timedelta(seconds=1)),
        replace(_approved_change(), resulting_examination_id="e-2"),
        replace(_approved_change(), declaration_number="DCL-2"),
        replace(_approved_change(), kind=OverrideKind.RELEASE_WITHOUT_EXAMINATION),
        replace(_approved_change(), state=OverrideState.REJECTED),
    ):
        with pytest.raises(FailedPrecondition) as raised:
            check_override_approved_before_examination(_OTHER, override)
        assert raised.value.reason == "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION"
