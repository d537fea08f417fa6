"""A request retried under the same ``request_id`` has one effect and one answer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from sqlalchemy import func, insert, select

from customs_kit.db import Database, utcnow
from customs_kit.errors import DomainError, InvalidArgument
from customs_kit.idempotency import run_idempotent, stored_response
from customs_kit.uow import UnitOfWork

METHOD = "/test.widgets.v1.WidgetService/CreateWidget"
Types = tuple[type[Message], type[Message]]


def _message_types() -> Types:
    string, int64 = (
        descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    )
    file = descriptor_pb2.FileDescriptorProto(
        name="test_widgets.proto", package="test.widgets.v1", syntax="proto3"
    )
    request = file.message_type.add(name="CreateWidgetRequest")
    request.field.add(name="request_id", number=1, type=string)
    request.field.add(name="name", number=2, type=string)
    widget = file.message_type.add(name="Widget")
    widget.field.add(name="id", number=1, type=int64)
    widget.field.add(name="name", number=2, type=string)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("test.widgets.v1.CreateWidgetRequest")
        ),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("test.widgets.v1.Widget")),
    )


@pytest.fixture
def types() -> Types:
    return _message_types()


class CreateWidget:
    """A handler whose effect is a new row each time it really runs."""

    def __init__(self, schema: dict[str, Any], widget_type: type[Message]) -> None:
        self.table = schema["metadata"].tables["widgets"]
        self.widget_type = widget_type
        self.runs = 0
        self.pause = 0.0

    async def __call__(self, uow: UnitOfWork, request: Any) -> Message:
        self.runs += 1
        name = f"{request.name}/{uuid.uuid4().hex[:8]}"
        widget_id = await uow.session.scalar(
            insert(self.table).values(name=name, created_at=utcnow()).returning(self.table.c.id)
        )
        await asyncio.sleep(self.pause)
        return self.widget_type(id=widget_id, name=name)

    async def count(self, database: Database) -> int:
        async with database.session_factory() as session:
            return int(await session.scalar(select(func.count()).select_from(self.table)) or 0)


@pytest.fixture
def create_widget(schema: dict[str, Any], types: Types) -> Any:
    return CreateWidget(schema, types[1])


async def call(
    database: Database, handler: CreateWidget, request: Any, method: str = METHOD
) -> Any:
    return await run_idempotent(
        database, method, request, lambda uow: handler(uow, request), handler.widget_type
    )


async def test_a_retry_gets_the_first_response_and_has_no_second_effect(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    request = request_type(request_id="req-1", name="bolt")

    first = await call(database, create_widget, request)
    again = await call(database, create_widget, request_type(request_id="req-1", name="bolt"))

    assert again == first
    assert create_widget.runs == 1
    assert await create_widget.count(database) == 1


async def test_the_same_request_id_with_another_payload_is_refused(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    await call(database, create_widget, request_type(request_id="req-1", name="bolt"))

    with pytest.raises(InvalidArgument) as refused:
        await call(database, create_widget, request_type(request_id="req-1", name="nut"))

    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert [violation.field for violation in refused.value.field_violations] == ["request_id"]
    assert await create_widget.count(database) == 1


async def test_work_done_outside_the_transaction_is_answered_from_the_stored_response(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, widget_type = types
    request = request_type(request_id="req-1", name="bolt")
    assert await stored_response(database, METHOD, request, widget_type) is None

    first = await call(database, create_widget, request)

    assert await stored_response(database, METHOD, request, widget_type) == first
    with pytest.raises(InvalidArgument) as refused:
        await stored_response(
            database, METHOD, request_type(request_id="req-1", name="nut"), widget_type
        )
    assert refused.value.reason == "REQUEST_ID_REUSED"


async def test_concurrent_copies_of_a_request_run_once_and_answer_alike(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    create_widget.pause = 0.2

    copies = [request_type(request_id="req-1", name="bolt") for _ in range(2)]

    responses = await asyncio.gather(*(call(database, create_widget, copy) for copy in copies))

    assert responses[0] == responses[1]
    assert create_widget.runs == 1
    assert await create_widget.count(database) == 1


async def test_request_ids_are_scoped_to_the_method(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    request = request_type(request_id="req-1", name="bolt")

    await call(database, create_widget, request)
    await call(database, create_widget, request, method="/test.widgets.v1.WidgetService/Copy")

    assert await create_widget.count(database) == 2


async def test_a_request_without_request_id_runs_every_time(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    request = request_type(name="bolt")

    first = await call(database, create_widget, request)
    second = await call(database, create_widget, request)

    assert first.id != second.id
    assert await create_widget.count(database) == 2


async def test_a_failed_request_stores_nothing_and_can_be_retried(
    database: Database, create_widget: CreateWidget, types: Types
) -> None:
    request_type, _ = types
    request = request_type(request_id="req-1", name="bolt")

    async def failing(uow: UnitOfWork) -> Message:
        await create_widget(uow, request)
        raise DomainError("OFFICE_CLOSED", "the office is closed")

    with pytest.raises(DomainError):
        await run_idempotent(database, METHOD, request, failing, create_widget.widget_type)
    response = await call(database, create_widget, request)

    assert await create_widget.count(database) == 1
    assert response.name.startswith("bolt/")
