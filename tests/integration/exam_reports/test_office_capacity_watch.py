"""WatchOfficeCapacity: every office's time zone and capacity, a snapshot then each change.

Scoring follows this stream and must hold it before it decides, so a change
of an office or of its facilities reaches the stream in the transaction that
makes it, and a client resumes from the last revision it applied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import office_pb2
from exam_reports_support import Client, create_office
from google.protobuf import field_mask_pb2

from customs_kit.auth import Role

RED = selectivity_pb2.CHANNEL_RED
YELLOW = selectivity_pb2.CHANNEL_YELLOW
SAMPLE = selectivity_pb2.EXAMINATION_LEVEL_COMMERCIAL_SAMPLE
NONE = selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED


async def add_facility(
    client: Client, office: str, facility: str, *capacities: tuple[int, int, int]
) -> office_pb2.ExaminationFacility:
    response = await client.operator.CreateExaminationFacility(
        pb2.CreateExaminationFacilityRequest(
            parent=f"offices/{office}",
            request_id=str(uuid.uuid4()),
            examination_facility_id=facility,
            examination_facility=office_pb2.ExaminationFacility(
                display_name=facility,
                daily_capacities=[
                    office_pb2.ExaminationCapacity(
                        channel=channel, examination_level=level, examinations_per_day=per_day
                    )
                    for channel, level, per_day in capacities
                ],
                active=True,
            ),
        )
    )
    return response.examination_facility


class Watch:
    """An open WatchOfficeCapacity stream, read message by message."""

    def __init__(self, client: Client, since_revision: int = 0) -> None:
        self._call = client.scoring.WatchOfficeCapacity(
            pb2.WatchOfficeCapacityRequest(since_revision=since_revision)
        )
        self._messages: AsyncIterator[pb2.WatchOfficeCapacityResponse] = self._call.__aiter__()

    async def next(self) -> pb2.WatchOfficeCapacityResponse:
        return await asyncio.wait_for(self._messages.__anext__(), timeout=10)

    async def snapshot(self) -> tuple[int, dict[str, office_pb2.OfficeCapacityLimit]]:
        start = await self.next()
        assert start.WhichOneof("change") == "snapshot_start"
        limits = {}
        while (message := await self.next()).WhichOneof("change") == "office_capacity_limit":
            assert message.revision == start.revision
            limits[message.office_capacity_limit.office] = message.office_capacity_limit
        assert message.WhichOneof("change") == "snapshot_end"
        return message.revision, limits

    def cancel(self) -> None:
        self._call.cancel()


def capacities(limit: office_pb2.OfficeCapacityLimit) -> list[tuple[int, int, int]]:
    return [
        (entry.channel, entry.examination_level, entry.examinations_per_day)
        for entry in limit.daily_capacities
    ]


async def test_a_watcher_gets_every_office_then_each_change_and_resumes_after_it(
    client: Client,
) -> None:
    await create_office(client, "30", time_zone="Africa/Nairobi")
    await add_facility(client, "30", "shed-1", (RED, SAMPLE, 2), (YELLOW, NONE, 5))
    await add_facility(client, "30", "shed-2", (RED, SAMPLE, 1))
    await create_office(client, "40", time_zone="Asia/Tokyo")

    watch = Watch(client)
    revision, limits = await watch.snapshot()
    assert sorted(limits) == ["offices/30", "offices/40"]
    assert limits["offices/30"].time_zone == "Africa/Nairobi"
    assert capacities(limits["offices/30"]) == [(YELLOW, NONE, 5), (RED, SAMPLE, 3)]
    assert (limits["offices/40"].time_zone, capacities(limits["offices/40"])) == (
        "Asia/Tokyo",
        [],
    )

    # A new office, then a facility closed: each change arrives as it commits.
    await create_office(client, "50", time_zone="Europe/Brussels")
    created = await watch.next()
    assert created.office_capacity_limit.office == "offices/50"
    assert created.revision > revision
    shed = (
        await client.operator.GetExaminationFacility(
            pb2.GetExaminationFacilityRequest(name="offices/30/examinationFacilities/shed-2")
        )
    ).examination_facility
    await client.operator.UpdateExaminationFacility(
        pb2.UpdateExaminationFacilityRequest(
            examination_facility=office_pb2.ExaminationFacility(
                name=shed.name, etag=shed.etag, active=False
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["active"]),
        )
    )
    closed = await watch.next()
    assert closed.revision > created.revision
    assert capacities(closed.office_capacity_limit) == [(YELLOW, NONE, 5), (RED, SAMPLE, 2)]
    watch.cancel()

    # A change that leaves the capacity as it was publishes nothing; the next one
    # reaches a watcher that resumes after the last revision it applied.
    office = (await client.operator.GetOffice(pb2.GetOfficeRequest(name="offices/40"))).office
    await client.operator.UpdateOffice(
        pb2.UpdateOfficeRequest(
            office=office_pb2.Office(name=office.name, etag=office.etag, display_name="Renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        )
    )
    office = (await client.operator.GetOffice(pb2.GetOfficeRequest(name="offices/40"))).office
    await client.operator.UpdateOffice(
        pb2.UpdateOfficeRequest(
            office=office_pb2.Office(name=office.name, etag=office.etag, time_zone="Asia/Seoul"),
            update_mask=field_mask_pb2.FieldMask(paths=["time_zone"]),
        )
    )
    resumed = Watch(client, since_revision=closed.revision)
    moved = await resumed.next()
    assert moved.WhichOneof("change") == "office_capacity_limit"
    assert moved.office_capacity_limit.office == "offices/40"
    assert moved.office_capacity_limit.time_zone == "Asia/Seoul"
    assert moved.revision == closed.revision + 1
    resumed.cancel()


async def test_only_services_watch_office_capacity(client: Client) -> None:
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.OFFICER):
        call = client.as_(role).WatchOfficeCapacity(pb2.WatchOfficeCapacityRequest())
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
