"""Writing criteria and getting them approved by someone else, through a real server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    OTHER_ANALYST,
    RMC,
    SUPERVISOR,
    Criteria,
    criterion,
    error_details,
    hs_rule,
    list_rule,
    reason,
    timestamp,
    violated_fields,
)
from customs.common.v1 import selection_rule_pb2 as rules
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import criterion_pb2

from customs_kit.auth import Role

DRAFT = criterion_pb2.CRITERION_STATE_DRAFT
SUBMITTED = criterion_pb2.CRITERION_STATE_SUBMITTED
ACTIVE = criterion_pb2.CRITERION_STATE_ACTIVE


async def test_an_analyst_creates_a_draft_criterion_under_a_profile_as_its_author(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()

    created = await criteria.create(criterion(profile), criterion_id="cigarettes-2402")

    assert created.name == "criteria/cigarettes-2402"
    assert created.state == DRAFT
    assert created.revision == 1
    assert created.active_revision == 0
    assert created.author == "ana"
    assert created.revision_author == "ana"
    assert created.rule.condition.predicate.hs_code_prefix.prefixes == ["2402"]
    assert await criteria.get(created.name) == created


async def test_the_same_request_id_twice_returns_the_first_criterion_and_stores_one(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    request_id = str(uuid.uuid4())

    first = await criteria.create(criterion(profile), request_id=request_id)
    again = await criteria.create(criterion(profile), request_id=request_id)

    assert again == first
    assert [c.name for c in await criteria.list_criteria()] == [first.name]
    versions = await criteria.call(
        "ListCriterionVersions", pb.ListCriterionVersionsRequest(parent=first.name), ANALYST
    )
    assert len(versions.criterion_versions) == 1


async def test_a_request_id_reused_for_another_criterion_is_refused(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    request_id = str(uuid.uuid4())
    await criteria.create(criterion(profile), request_id=request_id)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.create(criterion(profile, title="Other"), request_id=request_id)

    assert reason(refused.value) == "REQUEST_ID_REUSED"
    assert len(await criteria.list_criteria()) == 1


async def test_an_author_cannot_approve_their_own_criterion(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    # The author also sits on the committee: still not their own criterion.
    submitted = await criteria.submit(await criteria.create(criterion(profile)))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(submitted, (Role.RMC, "ana"))

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused.value) == "SELF_APPROVAL"
    assert (await criteria.get(submitted.name)).state == SUBMITTED


async def test_a_committee_member_who_did_not_write_it_approves_it_into_force(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    submitted = await criteria.submit(await criteria.create(criterion(profile)))

    approved = await criteria.approve(submitted, RMC)

    assert approved.state == ACTIVE
    assert approved.active_revision == 1
    assert approved.approver == "rita"
    assert approved.HasField("approve_time")
    assert await criteria.get(approved.name) == approved


async def test_a_caller_without_an_approver_role_is_denied(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    submitted = await criteria.submit(await criteria.create(criterion(profile)))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(submitted, OTHER_ANALYST)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await criteria.get(submitted.name)).state == SUBMITTED


async def test_a_call_without_a_token_is_unauthenticated(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.stub.ListCriteria(pb.ListCriteriaRequest())

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_only_a_submitted_revision_can_be_approved(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    draft = await criteria.create(criterion(profile))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(draft, SUPERVISOR)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "NOT_SUBMITTED"


async def test_a_rejected_criterion_returns_to_draft_for_its_author(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    submitted = await criteria.submit(await criteria.create(criterion(profile)))

    response = await criteria.call(
        "RejectCriterion",
        pb.RejectCriterionRequest(
            name=submitted.name,
            etag=submitted.etag,
            reason="the instructions disclose the rule",
            request_id=str(uuid.uuid4()),
        ),
        SUPERVISOR,
    )

    assert response.criterion.state == DRAFT


def _malformed(profile: str, case: str) -> criterion_pb2.Criterion:
    now = datetime.now(UTC)
    if case == "hs_prefix_with_letters":
        return criterion(profile, rule=hs_rule("24AB"))
    if case == "percentage_over_100":
        return criterion(profile, rule=hs_rule("2402", percent=120))
    if case == "validity_ends_before_it_starts":
        message = criterion(profile, end=now + timedelta(days=1))
        message.validity_start_time.CopyFrom(timestamp(now + timedelta(days=2)))
        return message
    if case == "unknown_named_list":
        return criterion(profile, rule=list_rule("namedLists/nobody-knows"))
    if case == "unknown_risk_profile":
        return criterion("riskProfiles/nobody-wrote-it")
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "field", "expected_reason"),
    [
        (
            "hs_prefix_with_letters",
            "criterion.rule.condition.predicate.hs_code_prefix.prefixes[0]",
            "INVALID_ARGUMENT",
        ),
        ("percentage_over_100", "criterion.rule.selection_percent", "INVALID_ARGUMENT"),
        ("validity_ends_before_it_starts", "criterion", "INVALID_ARGUMENT"),
        (
            "unknown_named_list",
            "criterion.rule.condition.all_of.conditions[1].predicate.in_named_list.named_list",
            "UNKNOWN_NAMED_LIST",
        ),
        ("unknown_risk_profile", "criterion.risk_profile", "UNKNOWN_RISK_PROFILE"),
    ],
)
async def test_a_malformed_criterion_is_refused_naming_the_field_and_nothing_is_stored(
    criteria: Criteria, case: str, field: str, expected_reason: str
) -> None:
    profile = await criteria.create_profile()
    history_before = await criteria.history_size()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.create(_malformed(profile, case))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(refused.value) == expected_reason
    assert field in violated_fields(refused.value)
    assert await criteria.list_criteria() == []
    assert await criteria.history_size() == history_before


async def test_the_validity_rule_names_the_window_fields(criteria: Criteria) -> None:
    profile = await criteria.create_profile()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.create(_malformed(profile, "validity_ends_before_it_starts"))

    bad_request = error_details(refused.value)["BadRequest"]
    assert "validity_end_time" in bad_request.field_violations[0].description


async def test_a_list_of_companies_cannot_be_tested_against_a_country(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    await criteria.create_list("known-infringers", "ACME-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.create(
            criterion(
                profile,
                rule=list_rule(
                    "namedLists/known-infringers", rules.CODE_ELEMENT_ITEM_ORIGIN_COUNTRY
                ),
            )
        )

    assert reason(refused.value) == "NAMED_LIST_KIND_MISMATCH"
    assert violated_fields(refused.value) == [
        "criterion.rule.condition.all_of.conditions[1].predicate.in_named_list.named_list"
    ]


async def test_a_criterion_may_test_an_existing_list_of_the_right_kind(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    await criteria.create_list("known-infringers", "ACME-1")

    created = await criteria.create(
        criterion(profile, rule=list_rule("namedLists/known-infringers"))
    )

    assert created.state == DRAFT


async def test_an_update_with_a_stale_etag_is_aborted(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    created = await criteria.create(criterion(profile))
    created.title = "First edit"
    await criteria.update(created, ["title"])
    created.title = "Edit of a stale copy"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.update(created, ["title"])

    assert refused.value.code() == grpc.StatusCode.ABORTED
    assert reason(refused.value) == "ETAG_MISMATCH"
    assert (await criteria.get(created.name)).title == "First edit"


async def test_an_update_writes_only_the_masked_fields_as_a_new_revision(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    created = await criteria.create(criterion(profile))
    edited = criterion_pb2.Criterion()
    edited.CopyFrom(created)
    edited.rule.selection_percent = 10
    edited.title = "not in the mask"

    updated = await criteria.update(edited, ["rule.selection_percent"])

    assert updated.revision == 2
    assert updated.rule.selection_percent == 10
    assert updated.title == created.title
    assert updated.etag != created.etag


async def test_editing_a_submitted_criterion_withdraws_the_submission(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    submitted = await criteria.submit(await criteria.create(criterion(profile)))
    submitted.title = "Second thoughts"

    updated = await criteria.update(submitted, ["title"])

    assert updated.state == DRAFT


async def test_editing_an_active_criterion_creates_an_amendment_that_needs_approval(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    active = await criteria.activate(criterion(profile))
    active.rule.selection_percent = 10

    amended = await criteria.update(active, ["rule.selection_percent"], caller=OTHER_ANALYST)

    assert amended.state == ACTIVE
    assert amended.amendment_state == criterion_pb2.AMENDMENT_STATE_DRAFT
    assert (amended.revision, amended.active_revision) == (2, 1)
    submitted = await criteria.submit(amended)
    assert submitted.amendment_state == criterion_pb2.AMENDMENT_STATE_SUBMITTED
    approved = await criteria.approve(submitted, SUPERVISOR)
    assert approved.active_revision == 2
    assert approved.amendment_state == criterion_pb2.AMENDMENT_STATE_NONE


async def test_the_author_of_an_amendment_cannot_approve_it_either(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    active = await criteria.activate(criterion(profile))
    active.rule.selection_percent = 50
    analyst_on_the_committee = ((Role.ANALYST, Role.RMC), "rob")
    amended = await criteria.update(
        active, ["rule.selection_percent"], caller=analyst_on_the_committee
    )
    submitted = await criteria.submit(amended)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(submitted, analyst_on_the_committee)

    assert reason(refused.value) == "SELF_APPROVAL"


async def test_a_retired_criterion_can_no_longer_be_edited(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    created = await criteria.create(criterion(profile))
    retired = (
        await criteria.call(
            "RetireCriterion",
            pb.RetireCriterionRequest(
                name=created.name,
                etag=created.etag,
                reason="duplicate of another criterion",
                request_id=str(uuid.uuid4()),
            ),
            ANALYST,
        )
    ).criterion
    retired.title = "Revived"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.update(retired, ["title"])

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "CRITERION_RETIRED"


async def test_every_change_is_listed_oldest_first_with_who_why_and_what_changed(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    created = await criteria.create(criterion(profile))
    created.rule.selection_percent = 25
    updated = await criteria.update(created, ["rule.selection_percent"], reason="fewer exams")
    submitted = await criteria.submit(updated)
    analysis = await criteria.analyze(submitted)
    approved = await criteria.approve(submitted, RMC, impact_analysis=analysis.name)

    response = await criteria.call(
        "ListCriterionVersions", pb.ListCriterionVersionsRequest(parent=approved.name), AUDITOR
    )

    versions = response.criterion_versions
    assert [v.change.kind for v in versions] == [1, 2, 3, 4]  # created, updated, submitted, ...
    assert [v.change.actor for v in versions] == ["ana", "ana", "ana", "rita"]
    assert versions[1].change.reason == "fewer exams"
    changes = {c.path: (c.old_value, c.new_value) for c in versions[1].change.field_changes}
    assert changes["rule.selection_percent"] == ("100.0", "25.0")
    assert changes["revision"] == ('"1"', '"2"')
    approval = {c.path: c.new_value for c in versions[3].change.field_changes}
    assert approval["state"] == '"CRITERION_STATE_ACTIVE"'
    assert approval["impact_analysis"] == f'"{analysis.name}"'
    assert "capacity_justification" not in approval
    assert versions[3].criterion == approved
    assert versions[0].criterion.state == DRAFT
    assert versions[1].change.previous_hash == versions[0].change.hash


async def test_lists_page_by_name_with_a_token_bound_to_the_filters(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    for criterion_id in ("c-3", "c-1", "c-2"):
        await criteria.create(criterion(profile), criterion_id=criterion_id)

    first = await criteria.call("ListCriteria", pb.ListCriteriaRequest(page_size=2), ANALYST)
    second = await criteria.call(
        "ListCriteria",
        pb.ListCriteriaRequest(page_size=2, page_token=first.next_page_token),
        ANALYST,
    )

    assert [c.name for c in first.criteria] == ["criteria/c-1", "criteria/c-2"]
    assert [c.name for c in second.criteria] == ["criteria/c-3"]
    assert second.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "ListCriteria",
            pb.ListCriteriaRequest(
                page_size=2, page_token=first.next_page_token, author="someone-else"
            ),
            ANALYST,
        )
    assert violated_fields(refused.value) == ["page_token"]


async def test_criteria_are_filtered_by_state_and_author(criteria: Criteria) -> None:
    profile = await criteria.create_profile()
    draft = await criteria.create(criterion(profile), caller=ANALYST)
    active = await criteria.activate(criterion(profile))
    by_omar = await criteria.create(criterion(profile), caller=OTHER_ANALYST)

    actives = await criteria.list_criteria(states=[ACTIVE])
    drafts_by_ana = await criteria.list_criteria(states=[DRAFT], author="ana")

    assert [c.name for c in actives] == [active.name]
    assert [c.name for c in drafts_by_ana] == [draft.name]
    assert by_omar.name not in {c.name for c in drafts_by_ana}
