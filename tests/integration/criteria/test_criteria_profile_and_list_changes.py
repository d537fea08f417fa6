"""Changing a risk profile under an update mask, and deleting a named list no one uses."""

from __future__ import annotations

import uuid

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    RMC,
    SUPERVISOR,
    Caller,
    Criteria,
    criterion,
    error_details,
    list_rule,
    reason,
    violated_fields,
)
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import risk_profile_pb2
from google.protobuf import field_mask_pb2


async def _profile(criteria: Criteria, name: str) -> risk_profile_pb2.RiskProfile:
    response = await criteria.call("GetRiskProfile", pb.GetRiskProfileRequest(name=name), ANALYST)
    found: risk_profile_pb2.RiskProfile = response.risk_profile
    return found


async def _update(
    criteria: Criteria,
    profile: risk_profile_pb2.RiskProfile,
    paths: list[str],
    caller: Caller = ANALYST,
) -> risk_profile_pb2.RiskProfile:
    response = await criteria.call(
        "UpdateRiskProfile",
        pb.UpdateRiskProfileRequest(
            risk_profile=profile, update_mask=field_mask_pb2.FieldMask(paths=paths)
        ),
        caller,
    )
    updated: risk_profile_pb2.RiskProfile = response.risk_profile
    return updated


async def test_only_the_masked_fields_of_a_profile_change_and_the_change_is_recorded(
    criteria: Criteria,
) -> None:
    name = await criteria.create_profile()
    before = await _profile(criteria, name)
    entries = await criteria.history_size()
    edited = risk_profile_pb2.RiskProfile()
    edited.CopyFrom(before)
    edited.rationale = "Seizures at the port and the airport."
    edited.title = "Not meant to change"

    updated = await _update(criteria, edited, ["rationale"])

    assert updated.rationale == "Seizures at the port and the airport."
    assert updated.title == before.title
    assert updated.revision == 2
    assert updated.etag != before.etag
    assert await _profile(criteria, name) == updated
    assert await criteria.history_size() == entries + 1


async def test_a_stale_etag_is_refused_and_nothing_changes(criteria: Criteria) -> None:
    name = await criteria.create_profile()
    before = await _profile(criteria, name)
    await _update(criteria, before, ["owner"])

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _update(criteria, before, ["owner"])

    assert refused.value.code() == grpc.StatusCode.ABORTED
    assert (await _profile(criteria, name)).revision == 2


async def test_only_the_committee_changes_a_profiles_priority(criteria: Criteria) -> None:
    name = await criteria.create_profile(RMC, priority=3)
    ranked = await _profile(criteria, name)
    reranked = risk_profile_pb2.RiskProfile()
    reranked.CopyFrom(ranked)
    reranked.priority = 1

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _update(criteria, reranked, ["priority"])
    ranked.title = "Cigarettes declared as paper"
    retitled = await _update(criteria, ranked, ["title", "priority"])
    reranked.etag = retitled.etag
    by_rmc = await _update(criteria, reranked, ["priority"], RMC)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused.value) == "PRIORITY_RESERVED_TO_RMC"
    assert (retitled.title, retitled.priority) == ("Cigarettes declared as paper", 3)
    assert by_rmc.priority == 1


async def test_a_mask_naming_a_field_that_cannot_be_written_is_refused(criteria: Criteria) -> None:
    profile = await _profile(criteria, await criteria.create_profile())

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _update(criteria, profile, ["revision"])

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["update_mask"]


async def test_profiles_are_changed_by_analysts_and_the_committee_only(
    criteria: Criteria,
) -> None:
    profile = await _profile(criteria, await criteria.create_profile())

    for caller in (SUPERVISOR, AUDITOR):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _update(criteria, profile, ["title"], caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def _delete(criteria: Criteria, name: str, etag: str) -> None:
    await criteria.call(
        "DeleteNamedList",
        pb.DeleteNamedListRequest(name=name, etag=etag, reason="the watch list was disbanded"),
        ANALYST,
    )


async def test_a_list_a_criterion_uses_cannot_be_deleted_until_the_criterion_is_retired(
    criteria: Criteria,
) -> None:
    infringers = await criteria.create_list("known-infringers", "ACME-1")
    profile = await criteria.create_profile()
    user = await criteria.create(criterion(profile, rule=list_rule(infringers.name)))
    entries = await criteria.history_size()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _delete(criteria, infringers.name, infringers.etag)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "NAMED_LIST_IN_USE"
    violations = error_details(refused.value)["PreconditionFailure"].violations
    assert [v.subject for v in violations] == [user.name]
    await criteria.call(
        "RetireCriterion",
        pb.RetireCriterionRequest(
            name=user.name,
            etag=user.etag,
            reason="replaced",
            request_id=str(uuid.uuid4()),
        ),
        ANALYST,
    )

    await _delete(criteria, infringers.name, infringers.etag)

    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await criteria.call("GetNamedList", pb.GetNamedListRequest(name=infringers.name), ANALYST)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert await criteria.history_size() == entries + 2


async def test_deleting_a_list_with_a_stale_etag_or_that_does_not_exist_is_refused(
    criteria: Criteria,
) -> None:
    infringers = await criteria.create_list("known-infringers", "ACME-1")

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await _delete(criteria, infringers.name, "not-the-etag")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await _delete(criteria, "namedLists/nothing-here", "x")
    with pytest.raises(grpc.aio.AioRpcError) as by_rmc:
        await criteria.call(
            "DeleteNamedList",
            pb.DeleteNamedListRequest(name=infringers.name, etag=infringers.etag, reason="x"),
            RMC,
        )

    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert by_rmc.value.code() == grpc.StatusCode.PERMISSION_DENIED
