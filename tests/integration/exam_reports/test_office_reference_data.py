"""Offices, their facilities and the daily examination capacity scoring and criteria read."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import office_pb2
from exam_reports_support import (
    Client,
    create_office,
    decision_event,
    error_details,
    reason,
    violated_fields,
)
from google.protobuf.field_mask_pb2 import FieldMask

from customs_kit.auth import Role

_RED_ENFORCEMENT = (selectivity_pb2.CHANNEL_RED, selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT)
_YELLOW = (selectivity_pb2.CHANNEL_YELLOW, selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED)


def _capacity(kind: tuple[int, int], per_day: int) -> office_pb2.ExaminationCapacity:
    return office_pb2.ExaminationCapacity(
        channel=kind[0], examination_level=kind[1], examinations_per_day=per_day
    )


async def _create_facility(
    client: Client, facility_id: str, *capacities: office_pb2.ExaminationCapacity
) -> office_pb2.ExaminationFacility:
    response = await client.operator.CreateExaminationFacility(
        pb2.CreateExaminationFacilityRequest(
            parent="offices/PORT1",
            request_id=str(uuid.uuid4()),
            examination_facility_id=facility_id,
            examination_facility=office_pb2.ExaminationFacility(
                display_name=f"Shed {facility_id}",
                capabilities=[office_pb2.FACILITY_CAPABILITY_CONTAINER_UNLOADING],
                daily_capacities=list(capacities),
                active=True,
            ),
        )
    )
    return response.examination_facility


async def test_an_office_is_created_read_and_listed(client: Client) -> None:
    created = await create_office(client, "PORT1", time_zone="Africa/Nairobi")
    await create_office(client, "AIRPORT")

    read = await client.as_(Role.OFFICER).GetOffice(pb2.GetOfficeRequest(name="offices/PORT1"))
    listed = await client.as_(Role.SERVICE).ListOffices(pb2.ListOfficesRequest())

    assert created.name == "offices/PORT1"
    assert created.time_zone == "Africa/Nairobi"
    assert created.active
    assert read.office == created
    assert [office.name for office in listed.offices] == ["offices/AIRPORT", "offices/PORT1"]


async def test_creating_an_office_again_with_the_same_request_id_returns_the_first(
    client: Client,
) -> None:
    request = pb2.CreateOfficeRequest(
        request_id=str(uuid.uuid4()),
        office_id="PORT1",
        office=office_pb2.Office(display_name="Port", time_zone="UTC", active=True),
    )

    first = await client.operator.CreateOffice(request)
    retry = await client.operator.CreateOffice(request)

    assert retry == first


async def test_an_office_code_cannot_be_taken_twice(client: Client) -> None:
    await create_office(client, "PORT1")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create_office(client, "PORT1")

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_an_office_needs_a_real_time_zone(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create_office(client, "PORT1", time_zone="Mars/Olympus")

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["office.time_zone"]


async def test_only_an_operator_creates_offices(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.ANALYST).CreateOffice(
            pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id="PORT1",
                office=office_pb2.Office(display_name="Port", time_zone="UTC"),
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_office_update_needs_the_current_etag(client: Client) -> None:
    office = await create_office(client)
    change = office_pb2.Office(name=office.name, etag=office.etag, address="Quay 4")

    updated = await client.operator.UpdateOffice(
        pb2.UpdateOfficeRequest(office=change, update_mask=FieldMask(paths=["address"]))
    )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await client.operator.UpdateOffice(
            pb2.UpdateOfficeRequest(office=change, update_mask=FieldMask(paths=["address"]))
        )

    assert updated.office.address == "Quay 4"
    assert updated.office.display_name == office.display_name
    assert updated.office.etag != office.etag
    assert stale.value.code() == grpc.StatusCode.ABORTED


async def test_facility_capacities_round_trip(client: Client) -> None:
    await create_office(client)
    created = await _create_facility(
        client, "shed-a", _capacity(_RED_ENFORCEMENT, 4), _capacity(_YELLOW, 20)
    )

    read = await client.as_(Role.ANALYST).GetExaminationFacility(
        pb2.GetExaminationFacilityRequest(name="offices/PORT1/examinationFacilities/shed-a")
    )
    change = office_pb2.ExaminationFacility(
        name=created.name, etag=created.etag, daily_capacities=[_capacity(_RED_ENFORCEMENT, 6)]
    )
    updated = await client.supervisor.UpdateExaminationFacility(
        pb2.UpdateExaminationFacilityRequest(
            examination_facility=change, update_mask=FieldMask(paths=["daily_capacities"])
        )
    )
    listed = await client.as_(Role.OFFICER).ListExaminationFacilities(
        pb2.ListExaminationFacilitiesRequest(parent="offices/-")
    )

    assert read.examination_facility == created
    assert list(created.daily_capacities) == [
        _capacity(_RED_ENFORCEMENT, 4),
        _capacity(_YELLOW, 20),
    ]
    assert list(updated.examination_facility.daily_capacities) == [_capacity(_RED_ENFORCEMENT, 6)]
    assert list(updated.examination_facility.capabilities) == [
        office_pb2.FACILITY_CAPABILITY_CONTAINER_UNLOADING
    ]
    assert [f.name for f in listed.examination_facilities] == [created.name]


async def test_two_capacities_for_the_same_examination_type_are_refused(client: Client) -> None:
    await create_office(client)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _create_facility(client, "shed-a", _capacity(_YELLOW, 2), _capacity(_YELLOW, 3))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = error_details(raised.value)["BadRequest"].field_violations
    assert [(v.field, v.description.split(":")[0]) for v in violations] == [
        ("examination_facility", "examination_facility.unique_capacity_types")
    ]


async def test_a_facility_of_an_unknown_office_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _create_facility(client, "shed-a", _capacity(_YELLOW, 2))

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_office_capacity_sums_active_facilities_and_counts_opened_tasks(
    client: Client,
) -> None:
    zone = ZoneInfo("Africa/Nairobi")
    await create_office(client, time_zone="Africa/Nairobi")
    await _create_facility(client, "shed-a", _capacity(_RED_ENFORCEMENT, 4), _capacity(_YELLOW, 10))
    await _create_facility(client, "shed-b", _capacity(_RED_ENFORCEMENT, 2))
    closed = await _create_facility(client, "shed-c", _capacity(_RED_ENFORCEMENT, 100))
    await client.operator.UpdateExaminationFacility(
        pb2.UpdateExaminationFacilityRequest(
            examination_facility=office_pb2.ExaminationFacility(
                name=closed.name, etag=closed.etag, active=False
            ),
            update_mask=FieldMask(paths=["active"]),
        )
    )
    day = date(2026, 3, 10)
    # 23:30 in Nairobi on the 10th is 20:30 UTC the same day; 00:30 on the 11th is
    # 21:30 UTC on the 10th: the office's calendar, not UTC's, decides the day.
    for hour, minute in ((9, 0), (23, 30)):
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        await client.scoring.IngestDecisionEvent(
            decision_event(declaration_number=f"D-{hour}", decide_time=local)
        )
    next_day = datetime(2026, 3, 11, 0, 30, tzinfo=zone)
    await client.scoring.IngestDecisionEvent(
        decision_event(declaration_number="D-next", decide_time=next_day)
    )

    response = await client.as_(Role.SERVICE).GetOfficeCapacity(
        pb2.GetOfficeCapacityRequest(
            office="offices/PORT1", start_date="2026-03-10", end_date="2026-03-11"
        )
    )

    days = {d.date: d for d in response.office_capacity.days}
    assert list(days) == ["2026-03-10", "2026-03-11"]
    usage = {(u.channel, u.examination_level): u for u in days["2026-03-10"].usages}
    red = usage[_RED_ENFORCEMENT]
    assert (red.capacity, red.opened, red.completed, red.remaining) == (6, 2, 0, 4)
    assert (usage[_YELLOW].capacity, usage[_YELLOW].opened) == (10, 0)
    following = {(u.channel, u.examination_level): u for u in days["2026-03-11"].usages}
    assert following[_RED_ENFORCEMENT].opened == 1


async def test_capacity_of_every_active_office_is_listed_for_scoring(client: Client) -> None:
    await create_office(client, "PORT1")
    await create_office(client, "AIRPORT")
    await _create_facility(client, "shed-a", _capacity(_YELLOW, 7))
    today = date.today()

    first = await client.as_(Role.SERVICE).ListOfficeCapacities(
        pb2.ListOfficeCapacitiesRequest(
            start_date=today.isoformat(), end_date=today.isoformat(), page_size=1
        )
    )
    second = await client.as_(Role.SERVICE).ListOfficeCapacities(
        pb2.ListOfficeCapacitiesRequest(
            start_date=today.isoformat(),
            end_date=today.isoformat(),
            page_size=1,
            page_token=first.next_page_token,
        )
    )

    assert [c.office for c in first.office_capacities] == ["offices/AIRPORT"]
    assert [c.office for c in second.office_capacities] == ["offices/PORT1"]
    assert second.next_page_token == ""
    usages = second.office_capacities[0].days[0].usages
    assert [(u.channel, u.capacity) for u in usages] == [(selectivity_pb2.CHANNEL_YELLOW, 7)]


async def test_a_capacity_range_longer_than_92_days_is_refused(client: Client) -> None:
    await create_office(client)
    start = date(2026, 1, 1)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.ANALYST).GetOfficeCapacity(
            pb2.GetOfficeCapacityRequest(
                office="offices/PORT1",
                start_date=start.isoformat(),
                end_date=(start + timedelta(days=92)).isoformat(),
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["end_date"]


async def test_capacity_of_an_unknown_office_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.ANALYST).GetOfficeCapacity(
            pb2.GetOfficeCapacityRequest(
                office="offices/NOWHERE", start_date="2026-01-01", end_date="2026-01-01"
            )
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason(raised.value) == "NOT_FOUND"


async def test_officers_do_not_read_capacity(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER).GetOfficeCapacity(
            pb2.GetOfficeCapacityRequest(
                office="offices/PORT1", start_date="2026-01-01", end_date="2026-01-01"
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
