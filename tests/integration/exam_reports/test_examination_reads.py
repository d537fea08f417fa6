"""Reading examination tasks: one, a paged list, and the tablet's own list."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import examination_pb2
from exam_reports_support import (
    Client,
    create_office,
    create_officer,
    decision_event,
    now,
    put_on_shift,
    reason,
    violated_fields,
)

from customs_kit.auth import Role


async def _open_three(client: Client) -> list[str]:
    """Opens three tasks decided one minute apart; returns their names, oldest first."""
    start = now() - timedelta(hours=1)
    names = []
    for minute in range(3):
        response = await client.scoring.IngestDecisionEvent(
            decision_event(
                declaration_number=f"DCL-{minute}",
                decide_time=start + timedelta(minutes=minute),
            )
        )
        names.append(response.examination)
    return names


async def test_a_page_size_of_one_walks_all_tasks_newest_first(client: Client) -> None:
    await create_office(client)
    opened = await _open_three(client)

    seen, token = [], ""
    for _ in range(3):
        page = await client.supervisor.ListExaminations(
            pb2.ListExaminationsRequest(page_size=1, page_token=token)
        )
        assert len(page.examinations) == 1
        seen.append(page.examinations[0].name)
        token = page.next_page_token
    assert token == ""
    assert seen == list(reversed(opened))


async def test_a_tampered_page_token_is_refused(client: Client) -> None:
    await create_office(client)
    await _open_three(client)
    page = await client.supervisor.ListExaminations(pb2.ListExaminationsRequest(page_size=1))
    tampered = page.next_page_token[:-2] + ("AA" if page.next_page_token[-2:] != "AA" else "BB")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.ListExaminations(
            pb2.ListExaminationsRequest(page_size=1, page_token=tampered)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["page_token"]


async def test_a_page_token_is_refused_with_other_filters(client: Client) -> None:
    await create_office(client)
    await _open_three(client)
    page = await client.supervisor.ListExaminations(pb2.ListExaminationsRequest(page_size=1))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.ListExaminations(
            pb2.ListExaminationsRequest(
                page_size=1, page_token=page.next_page_token, office="offices/OTHER"
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["page_token"]


async def test_lists_filter_by_office_state_and_declaration(client: Client) -> None:
    await create_office(client, "PORT1")
    await create_office(client, "AIRPORT")
    at_port = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="A-1"))
    at_airport = await client.scoring.IngestDecisionEvent(
        decision_event(office="offices/AIRPORT", declaration_number="B-1")
    )

    by_office = await client.supervisor.ListExaminations(
        pb2.ListExaminationsRequest(office="offices/AIRPORT")
    )
    by_declaration = await client.as_(Role.ANALYST).ListExaminations(
        pb2.ListExaminationsRequest(declaration_number="A-1")
    )
    assigned = await client.supervisor.ListExaminations(
        pb2.ListExaminationsRequest(states=[examination_pb2.EXAMINATION_STATE_ASSIGNED])
    )

    assert [task.name for task in by_office.examinations] == [at_airport.examination]
    assert [task.name for task in by_declaration.examinations] == [at_port.examination]
    assert list(assigned.examinations) == []


async def test_an_unknown_examination_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.GetExamination(
            pb2.GetExaminationRequest(name="examinations/does-not-exist")
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_officers_may_not_list_every_task(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER).ListExaminations(pb2.ListExaminationsRequest())

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_reading_tasks_without_a_token_is_unauthenticated(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.ListExaminations(pb2.ListExaminationsRequest())

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_officer_sees_only_their_own_tasks(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    await create_officer(client, "ben")
    await put_on_shift(client, "anna")
    for_anna = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="X-1"))
    await put_on_shift(client, "ben")
    for_ben = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="X-2"))
    anna = client.as_(Role.OFFICER, subject="anna")

    mine = await anna.ListMyExaminations(pb2.ListMyExaminationsRequest())
    own = await anna.GetExamination(pb2.GetExaminationRequest(name=for_anna.examination))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await anna.GetExamination(pb2.GetExaminationRequest(name=for_ben.examination))

    assert [task.name for task in mine.examinations] == [for_anna.examination]
    assert own.examination.assigned_officer == "officers/anna"
    assert own.examination.examiner_instructions
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_my_examinations_are_oldest_first_and_paged(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    await put_on_shift(client, "anna")
    opened = await _open_three(client)
    anna = client.as_(Role.OFFICER, subject="anna")

    first = await anna.ListMyExaminations(pb2.ListMyExaminationsRequest(page_size=2))
    rest = await anna.ListMyExaminations(
        pb2.ListMyExaminationsRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [task.name for task in [*first.examinations, *rest.examinations]] == opened
    assert rest.next_page_token == ""


async def test_a_caller_who_is_not_an_officer_has_no_examinations_of_their_own(
    client: Client,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER, subject="stranger").ListMyExaminations(
            pb2.ListMyExaminationsRequest()
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "NOT_AN_OFFICER"


async def test_the_assigned_officer_starts_the_examination_once(client: Client) -> None:
    await create_office(client)
    await create_officer(client, "anna")
    await create_officer(client, "ben")
    await put_on_shift(client, "anna")
    opened = await client.scoring.IngestDecisionEvent(decision_event())
    anna = client.as_(Role.OFFICER, subject="anna")
    task = (
        await anna.GetExamination(pb2.GetExaminationRequest(name=opened.examination))
    ).examination

    with pytest.raises(grpc.aio.AioRpcError) as not_hers:
        await client.as_(Role.OFFICER, subject="ben").StartExamination(
            pb2.StartExaminationRequest(name=opened.examination)
        )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await anna.StartExamination(
            pb2.StartExaminationRequest(name=opened.examination, etag='"999"')
        )
    started = await anna.StartExamination(
        pb2.StartExaminationRequest(name=opened.examination, etag=task.etag)
    )
    again = await anna.StartExamination(pb2.StartExaminationRequest(name=opened.examination))

    assert not_hers.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert started.examination.state == examination_pb2.EXAMINATION_STATE_IN_PROGRESS
    assert started.examination.HasField("start_time")
    assert again.examination == started.examination
