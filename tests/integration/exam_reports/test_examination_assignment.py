"""Officers, shifts, and who receives a new examination task."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
import pytest
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import examination_pb2, officer_pb2
from exam_reports_support import (
    Client,
    create_office,
    create_officer,
    decision_event,
    now,
    put_on_shift,
    reason,
    timestamp,
)
from google.protobuf.field_mask_pb2 import FieldMask

from customs_kit.auth import Role
from customs_kit.db import Database
from customs_kit.settings import ServiceSettings
from exam_reports.service_layer.examinations import WaitingTaskAssigner


async def _assignee(client: Client, examination: str) -> str:
    response = await client.supervisor.GetExamination(pb2.GetExaminationRequest(name=examination))
    return response.examination.assigned_officer


async def _ingest(client: Client, declaration_number: str) -> str:
    response = await client.scoring.IngestDecisionEvent(
        decision_event(declaration_number=declaration_number)
    )
    return response.examination


async def test_new_tasks_go_to_the_officer_on_shift_with_the_fewest_open_tasks(
    client: Client,
) -> None:
    await create_office(client)
    for officer in ("anna", "ben"):
        await create_officer(client, officer)
        await put_on_shift(client, officer)

    assignees = [await _assignee(client, await _ingest(client, f"D-{n}")) for n in range(4)]

    assert assignees == ["officers/anna", "officers/ben", "officers/anna", "officers/ben"]
    task = (
        await client.supervisor.GetExamination(
            pb2.GetExaminationRequest(name=await _ingest(client, "D-5"))
        )
    ).examination
    assert task.state == examination_pb2.EXAMINATION_STATE_ASSIGNED
    assert [(a.officer, a.assigned_by) for a in task.assignments] == [("officers/anna", "")]


async def test_officers_off_shift_elsewhere_or_inactive_receive_nothing(client: Client) -> None:
    await create_office(client, "PORT1")
    await create_office(client, "AIRPORT")
    await create_officer(client, "at-airport", office="offices/AIRPORT")
    await put_on_shift(client, "at-airport")
    await create_officer(client, "off-duty")
    await client.supervisor.CreateShift(
        pb2.CreateShiftRequest(
            parent="officers/off-duty",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=timestamp(now() - timedelta(hours=10)),
                end_time=timestamp(now() - timedelta(hours=2)),
            ),
        )
    )
    retired = await create_officer(client, "retired")
    await put_on_shift(client, "retired")
    await client.operator.UpdateOfficer(
        pb2.UpdateOfficerRequest(
            officer=officer_pb2.Officer(name=retired.name, etag=retired.etag, active=False),
            update_mask=FieldMask(paths=["active"]),
        )
    )

    assert await _assignee(client, await _ingest(client, "D-1")) == ""


async def test_a_supervisor_examines_only_when_no_inspector_is_on_shift(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "chief", role=officer_pb2.OFFICER_ROLE_SUPERVISOR)
    await put_on_shift(client, "chief")

    first = await _assignee(client, await _ingest(client, "D-1"))
    await create_officer(client, "zed")
    await put_on_shift(client, "zed")
    second = await _assignee(client, await _ingest(client, "D-2"))
    third = await _assignee(client, await _ingest(client, "D-3"))

    assert (first, second, third) == ("officers/chief", "officers/zed", "officers/zed")


async def test_a_shift_that_is_running_picks_up_the_waiting_tasks(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    waiting = await _ingest(client, "D-1")
    assert await _assignee(client, waiting) == ""

    await put_on_shift(client, "anna")

    mine = await client.as_(Role.OFFICER, subject="anna").ListMyExaminations(
        pb2.ListMyExaminationsRequest()
    )
    assert [task.name for task in mine.examinations] == [waiting]


async def test_a_task_waiting_for_a_later_shift_is_assigned_when_it_starts(
    client: Client, settings: ServiceSettings
) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    start = now() + timedelta(seconds=1)
    await client.supervisor.CreateShift(
        pb2.CreateShiftRequest(
            parent="officers/anna",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=timestamp(start), end_time=timestamp(start + timedelta(hours=8))
            ),
        )
    )
    waiting = await _ingest(client, "D-1")
    database = Database(settings.database_url)
    assigner = WaitingTaskAssigner(database, interval=0.1)

    await assigner.start()
    try:
        for _ in range(50):
            if await _assignee(client, waiting):
                break
            await asyncio.sleep(0.1)
    finally:
        await assigner.stop()
        await database.dispose()

    assert await _assignee(client, waiting) == "officers/anna"


async def test_overlapping_shifts_of_one_officer_are_refused(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    await put_on_shift(client, "anna", hours_before=1, hours_after=7)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await put_on_shift(client, "anna", hours_before=0, hours_after=2)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "SHIFT_OVERLAPS"


async def test_only_a_shift_that_has_not_started_can_be_deleted(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    running = await put_on_shift(client, "anna")
    later = await client.supervisor.CreateShift(
        pb2.CreateShiftRequest(
            parent="officers/anna",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=timestamp(now() + timedelta(days=1)),
                end_time=timestamp(now() + timedelta(days=1, hours=8)),
            ),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.DeleteShift(pb2.DeleteShiftRequest(name=running.name))
    await client.supervisor.DeleteShift(pb2.DeleteShiftRequest(name=later.shift.name))
    shifts = await client.as_(Role.OFFICER, subject="anna").ListShifts(
        pb2.ListShiftsRequest(parent="officers/anna")
    )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [shift.name for shift in shifts.shifts] == [running.name]


async def test_an_officer_subject_belongs_to_one_officer(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.operator.CreateOfficer(
            pb2.CreateOfficerRequest(
                request_id=str(uuid.uuid4()),
                officer_id="anna-2",
                officer=officer_pb2.Officer(
                    display_name="Anna Again",
                    badge_number="B-2",
                    office="offices/PORT1",
                    role=officer_pb2.OFFICER_ROLE_INSPECTOR,
                    subject="anna",
                    active=True,
                ),
            )
        )

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_an_officer_needs_an_existing_office(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create_officer(client, "anna", office="offices/NOWHERE")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_officers_are_listed_by_office(client: Client) -> None:
    await create_office(client, "PORT1")
    await create_office(client, "AIRPORT")
    await create_officer(client, "anna")
    await create_officer(client, "ben", office="offices/AIRPORT")

    listed = await client.supervisor.ListOfficers(pb2.ListOfficersRequest(office="offices/PORT1"))
    read = await client.as_(Role.OFFICER).GetOfficer(pb2.GetOfficerRequest(name="officers/ben"))

    assert [officer.name for officer in listed.officers] == ["officers/anna"]
    assert read.officer.office == "offices/AIRPORT"
