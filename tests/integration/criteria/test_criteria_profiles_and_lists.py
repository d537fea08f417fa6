"""Risk profiles and named lists, through a real server."""

from __future__ import annotations

import uuid

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    RMC,
    Criteria,
    company_list,
    profile_message,
    reason,
    violated_fields,
)
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import named_list_pb2
from google.protobuf import field_mask_pb2


async def test_a_profile_is_stored_as_written_and_read_back(criteria: Criteria) -> None:
    written = profile_message()

    response = await criteria.call(
        "CreateRiskProfile",
        pb.CreateRiskProfileRequest(
            risk_profile=written, risk_profile_id="cigarettes", request_id=str(uuid.uuid4())
        ),
        ANALYST,
    )
    read = await criteria.call(
        "GetRiskProfile", pb.GetRiskProfileRequest(name="riskProfiles/cigarettes"), AUDITOR
    )

    created = response.risk_profile
    assert read.risk_profile == created
    assert created.revision == 1
    assert created.etag
    for field in ("title", "risk_area", "rationale", "sources", "indicators", "owner"):
        assert getattr(created, field) == getattr(written, field), field
    assert created.intended_treatment == written.intended_treatment


async def test_only_the_committee_sets_a_profile_priority(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.create_profile(ANALYST, priority=3)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused.value) == "PRIORITY_RESERVED_TO_RMC"
    assert await criteria.create_profile(RMC, priority=3)


async def test_a_review_date_that_is_not_on_the_calendar_is_refused(criteria: Criteria) -> None:
    profile = profile_message()
    profile.next_review_date = "2026-02-30"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "CreateRiskProfile",
            pb.CreateRiskProfileRequest(risk_profile=profile, request_id=str(uuid.uuid4())),
            ANALYST,
        )

    assert violated_fields(refused.value) == ["risk_profile.next_review_date"]


async def test_profiles_are_listed_by_priority_with_unranked_ones_last(
    criteria: Criteria,
) -> None:
    unranked = await criteria.create_profile(RMC)
    second = await criteria.create_profile(RMC, priority=20)
    first = await criteria.create_profile(RMC, priority=1)

    page = await criteria.call("ListRiskProfiles", pb.ListRiskProfilesRequest(page_size=2), ANALYST)
    rest = await criteria.call(
        "ListRiskProfiles",
        pb.ListRiskProfilesRequest(page_size=2, page_token=page.next_page_token),
        ANALYST,
    )

    assert [p.name for p in page.risk_profiles] == [first, second]
    assert [p.name for p in rest.risk_profiles] == [unranked]
    assert rest.next_page_token == ""


async def test_an_unknown_profile_is_not_found(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "GetRiskProfile", pb.GetRiskProfileRequest(name="riskProfiles/nobody"), ANALYST
        )

    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_taken_profile_id_already_exists(criteria: Criteria) -> None:
    request = pb.CreateRiskProfileRequest(
        risk_profile=profile_message(), risk_profile_id="tobacco", request_id=str(uuid.uuid4())
    )
    await criteria.call("CreateRiskProfile", request, ANALYST)
    request.request_id = str(uuid.uuid4())

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call("CreateRiskProfile", request, ANALYST)

    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_a_list_is_read_whole_but_listed_without_its_entries(criteria: Criteria) -> None:
    created = await criteria.create_list("known-infringers", "ACME-1", "GLOBEX-7")

    read = await criteria.call("GetNamedList", pb.GetNamedListRequest(name=created.name), AUDITOR)
    basic = await criteria.call("ListNamedLists", pb.ListNamedListsRequest(), ANALYST)
    full = await criteria.call(
        "ListNamedLists", pb.ListNamedListsRequest(view=pb.NAMED_LIST_VIEW_FULL), ANALYST
    )

    assert read.named_list == created
    assert [e.value for e in created.entries] == ["ACME-1", "GLOBEX-7"]
    assert created.revision == 1
    assert created.last_editor == "ana"
    assert [n.name for n in basic.named_lists] == [created.name]
    assert list(basic.named_lists[0].entries) == []
    assert full.named_lists[0] == created


async def test_lists_are_filtered_by_kind(criteria: Criteria) -> None:
    await criteria.create_list("known-infringers", "ACME-1")
    countries = company_list()
    countries.kind = named_list_pb2.NAMED_LIST_KIND_COUNTRIES
    countries.entries.add(value="CN")
    await criteria.call(
        "CreateNamedList",
        pb.CreateNamedListRequest(
            named_list=countries, named_list_id="risky-origins", request_id=str(uuid.uuid4())
        ),
        ANALYST,
    )

    found = await criteria.call(
        "ListNamedLists",
        pb.ListNamedListsRequest(kind=named_list_pb2.NAMED_LIST_KIND_COUNTRIES),
        ANALYST,
    )

    assert [n.name for n in found.named_lists] == ["namedLists/risky-origins"]


async def test_a_list_update_is_a_new_revision_and_needs_the_current_etag(
    criteria: Criteria,
) -> None:
    created = await criteria.create_list("known-infringers", "ACME-1")
    edited = named_list_pb2.NamedList()
    edited.CopyFrom(created)
    edited.title = "Known IPR infringers, 2026"
    request = pb.UpdateNamedListRequest(
        named_list=edited,
        update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        reason="yearly review",
    )

    updated = (await criteria.call("UpdateNamedList", request, ANALYST)).named_list
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call("UpdateNamedList", request, ANALYST)

    assert updated.revision == 2
    assert updated.title == "Known IPR infringers, 2026"
    assert [e.value for e in updated.entries] == ["ACME-1"]
    assert refused.value.code() == grpc.StatusCode.ABORTED


async def test_a_list_update_is_checked_against_the_stored_kind(criteria: Criteria) -> None:
    countries = company_list()
    countries.kind = named_list_pb2.NAMED_LIST_KIND_COUNTRIES
    countries.entries.add(value="CN")
    created = (
        await criteria.call(
            "CreateNamedList",
            pb.CreateNamedListRequest(named_list=countries, request_id=str(uuid.uuid4())),
            ANALYST,
        )
    ).named_list
    # Sent as a company list, so the request itself is valid; applied to the
    # stored country list, "ACME-1" is not a country code.
    edited = company_list("ACME-1")
    edited.name = created.name
    edited.etag = created.etag

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "UpdateNamedList",
            pb.UpdateNamedListRequest(
                named_list=edited,
                update_mask=field_mask_pb2.FieldMask(paths=["entries"]),
                reason="typo",
            ),
            ANALYST,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["named_list"]
    stored = await criteria.call("GetNamedList", pb.GetNamedListRequest(name=created.name), ANALYST)
    assert stored.named_list == created


async def test_the_versions_of_a_list_show_each_revision_and_why_it_changed(
    criteria: Criteria,
) -> None:
    created = await criteria.create_list("known-infringers", "ACME-1")
    created.entries.add(value="GLOBEX-7")
    await criteria.call(
        "UpdateNamedList",
        pb.UpdateNamedListRequest(
            named_list=created,
            update_mask=field_mask_pb2.FieldMask(paths=["entries"]),
            reason="seizure 2026/114",
        ),
        ANALYST,
    )

    response = await criteria.call(
        "ListNamedListVersions", pb.ListNamedListVersionsRequest(parent=created.name), AUDITOR
    )

    versions = response.named_list_versions
    assert [v.version for v in versions] == [1, 2]
    assert [e.value for e in versions[0].named_list.entries] == ["ACME-1"]
    assert versions[1].change.reason == "seizure 2026/114"
    changes = {c.path: (c.old_value, c.new_value) for c in versions[1].change.field_changes}
    assert changes['entries["GLOBEX-7"]'] == ("", '{"value":"GLOBEX-7"}')
    assert 'entries["ACME-1"]' not in changes
