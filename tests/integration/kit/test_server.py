"""The chassis server, called over a real channel: what any caller of any service sees."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from customs_kit.auth import Role, allow, current_principal, generate_key_pair, mint_token
from customs_kit.errors import FailedPrecondition, NotFound, PreconditionViolation
from customs_kit.limits import CallLimits
from customs_kit.server import Application, ServiceRegistration, method_policies
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service

#: The generated probe_pb2 and probe_pb2_grpc modules.
Probe = tuple[ModuleType, ModuleType]


async def _query_once(url: str, *, hold: int) -> None:
    """Queries a real database through a one-connection pool, ``hold`` connections taken."""
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        held = [await engine.connect() for _ in range(hold)]
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            for connection in held:
                await connection.close()
    finally:
        await engine.dispose()


def probe_application(probe: Probe) -> Callable[..., Any]:
    pb2, pb2_grpc = probe

    class ProbeServicer(pb2_grpc.ProbeServiceServicer):  # type: ignore[misc,name-defined]
        @allow(Role.ANALYST)
        async def Echo(self, request: Any, context: Any) -> Any:
            await asyncio.sleep(request.delay_ms / 1000)
            return pb2.EchoResponse(text=request.text, caller=current_principal().subject)

        @allow(Role.ANALYST)
        async def Fail(self, request: Any, context: Any) -> Any:
            if request.kind == "not_found":
                raise NotFound("criterion", "criteria/42")
            if request.kind == "precondition":
                raise FailedPrecondition(
                    "CRITERION_NOT_SUBMITTED",
                    "only a submitted criterion can be approved",
                    [PreconditionViolation("STATE", "criteria/42", "state is DRAFT")],
                )
            if request.kind == "database_lost":
                # Nothing listens on the discard port: the connection is refused.
                await _query_once("postgresql+psycopg://nobody@127.0.0.1:9/gone", hold=0)
            if request.kind == "pool_exhausted":
                await _query_once(request.database_url, hold=1)
            raise RuntimeError("database password is hunter2")

        @allow(Role.ANALYST)
        async def EchoStream(self, requests: AsyncIterator[Any], context: Any) -> Any:
            async for request in requests:
                yield pb2.EchoResponse(text=request.text, caller=current_principal().subject)

        @allow(Role.ANALYST)
        async def Count(self, request: Any, context: Any) -> Any:
            number = 0
            while True:
                number += 1
                yield pb2.EchoResponse(text=str(number), caller=current_principal().subject)
                await asyncio.sleep(request.delay_ms / 1000)

        @allow(Role.ANALYST)
        async def Window(self, request: Any, context: Any) -> Any:
            # As the services' mappers do: convert every time to datetime/timedelta.
            periods = [request, *request.parts]
            texts = [
                f"{p.start_time.ToDatetime()} {p.end_time.ToDatetime()} {p.step.ToTimedelta()}"
                for p in periods
            ]
            return pb2.EchoResponse(text="; ".join(texts))

    async def bootstrap(_settings: ServiceSettings) -> Application:
        return Application(
            registrations=[
                ServiceRegistration(
                    ProbeServicer(),
                    pb2_grpc.add_ProbeServiceServicer_to_server,
                    pb2.DESCRIPTOR.services_by_name["ProbeService"],
                )
            ]
        )

    return bootstrap


@pytest.fixture
async def probe_service(
    probe_modules: Probe, make_settings: Callable[..., ServiceSettings]
) -> AsyncIterator[RunningService]:
    settings = make_settings("probe", "sqlite+aiosqlite:///:memory:")
    async with running_service(settings, probe_application(probe_modules)) as service:
        yield service


def details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, Any] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ResourceInfo,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.__name__] = detail
    return found


async def test_a_call_without_a_token_is_unauthenticated(
    probe_service: RunningService, probe_modules: Probe
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(pb2.EchoRequest(text="hello"))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = details(raised.value)["ErrorInfo"]
    assert info.reason == "MISSING_TOKEN"
    assert info.domain == "probe.customs"


async def test_a_token_signed_by_another_key_is_unauthenticated(
    probe_service: RunningService, probe_modules: Probe
) -> None:
    pb2, pb2_grpc = probe_modules
    forged = mint_token(generate_key_pair()[0], subject="mallory", roles=[Role.ANALYST])
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(
            pb2.EchoRequest(text="hello"), metadata=(("authorization", f"Bearer {forged}"),)
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert details(raised.value)["ErrorInfo"].reason == "INVALID_TOKEN"


async def test_a_caller_without_an_allowed_role_is_denied(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(pb2.EchoRequest(text="hello"), metadata=test_keys.metadata(Role.OFFICER))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details(raised.value)["ErrorInfo"].reason == "ROLE_NOT_ALLOWED"


async def test_an_allowed_caller_is_served_as_themselves(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    response = await stub.Echo(
        pb2.EchoRequest(text="hello"), metadata=test_keys.metadata(Role.ANALYST, subject="ana")
    )
    assert (response.text, response.caller) == ("hello", "ana")


async def test_a_malformed_request_names_the_field_and_the_rule(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    request = pb2.EchoRequest(
        text="hello", items=[pb2.Item(hs_code="080810"), pb2.Item(hs_code="08A8")]
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(request, metadata=test_keys.metadata(Role.ANALYST))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = details(raised.value)["BadRequest"].field_violations
    assert [(v.field, v.description.split(":")[0]) for v in violations] == [
        ("items[1].hs_code", "string.pattern")
    ]


async def test_domain_errors_carry_their_reason_and_standard_details(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    metadata = test_keys.metadata(Role.ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as not_found:
        await stub.Fail(pb2.FailRequest(kind="not_found"), metadata=metadata)
    assert not_found.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(not_found.value)["ResourceInfo"].resource_name == "criteria/42"

    with pytest.raises(grpc.aio.AioRpcError) as precondition:
        await stub.Fail(pb2.FailRequest(kind="precondition"), metadata=metadata)
    assert precondition.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    found = details(precondition.value)
    assert found["ErrorInfo"].reason == "CRITERION_NOT_SUBMITTED"
    assert found["PreconditionFailure"].violations[0].subject == "criteria/42"


async def test_an_unexpected_failure_is_internal_and_reveals_nothing(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Fail(pb2.FailRequest(kind="crash"), metadata=test_keys.metadata(Role.ANALYST))
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in (raised.value.details() or "")
    assert "Traceback" not in (raised.value.details() or "")


async def test_an_rpc_the_servicer_does_not_implement_is_unimplemented(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Unserved(pb2.EchoRequest(text="x"), metadata=test_keys.metadata(Role.ANALYST))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_each_message_of_a_stream_is_validated(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    call = stub.EchoStream(metadata=test_keys.metadata(Role.ANALYST))
    await call.write(pb2.EchoRequest(text="first"))
    assert (await call.read()).text == "first"
    await call.write(pb2.EchoRequest(text=""))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value)["BadRequest"].field_violations[0].field == "text"


async def test_health_reports_serving_and_reflection_lists_the_service(
    probe_service: RunningService,
) -> None:
    health = health_pb2_grpc.HealthStub(probe_service.channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service="probe.v1.ProbeService"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(probe_service.channel)
    call = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = set()
    async for answer in call:
        names = {s.name for s in answer.list_services_response.service}
    assert {"probe.v1.ProbeService", "grpc.health.v1.Health"} <= names


async def test_shutdown_lets_an_in_flight_call_finish(
    probe_modules: Probe,
    make_settings: Callable[..., ServiceSettings],
    test_keys: SigningKeys,
) -> None:
    pb2, pb2_grpc = probe_modules
    settings = make_settings("probe", "sqlite+aiosqlite:///:memory:")
    async with running_service(settings, probe_application(probe_modules)) as service:
        stub = pb2_grpc.ProbeServiceStub(service.channel)
        in_flight = asyncio.ensure_future(
            stub.Echo(
                pb2.EchoRequest(text="slow", delay_ms=300),
                metadata=test_keys.metadata(Role.ANALYST),
            )
        )
        await asyncio.sleep(0.1)
        await service.server.stop()
        assert (await in_flight).text == "slow"


def test_a_servicer_method_without_declared_roles_stops_the_server_from_starting(
    probe_modules: Probe,
) -> None:
    pb2, pb2_grpc = probe_modules

    class Careless(pb2_grpc.ProbeServiceServicer):  # type: ignore[misc,name-defined]
        async def Echo(self, request: Any, context: Any) -> Any:
            return pb2.EchoResponse()

    registration = ServiceRegistration(
        Careless(),
        pb2_grpc.add_ProbeServiceServicer_to_server,
        pb2.DESCRIPTOR.services_by_name["ProbeService"],
    )
    with pytest.raises(ValueError, match=r"Careless\.Echo declares no roles"):
        method_policies([registration])


async def test_the_call_continues_the_callers_trace(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
    span_exporter: Any,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    await stub.Echo(pb2.EchoRequest(text="traced"), metadata=test_keys.metadata(Role.ANALYST))
    spans = [s for s in span_exporter.get_finished_spans() if "Echo" in s.name]
    server = next(s for s in spans if s.kind.name == "SERVER")
    client = next(s for s in spans if s.kind.name == "CLIENT")
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id


def _bad_request(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    violations = details(error)["BadRequest"].field_violations
    return [(v.field, v.description.split(":")[0]) for v in violations]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda r: r.start_time.__setattr__("nanos", -1), [("start_time", "timestamp.range")]),
        (
            lambda r: r.end_time.__setattr__("seconds", 253_402_300_800),
            [("end_time", "timestamp.range")],
        ),
        (lambda r: r.step.__setattr__("seconds", 10**12), [("step", "duration.range")]),
        (
            lambda r: (r.parts.add(), r.parts.add().start_time.__setattr__("nanos", 10**9)),
            [("parts[1].start_time", "timestamp.range")],
        ),
    ],
    ids=["negative-nanos", "after-year-9999", "duration-beyond-10000-years", "nested"],
)
async def test_a_time_out_of_range_is_invalid_argument_naming_the_field(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
    build: Callable[[Any], Any],
    expected: list[tuple[str, str]],
) -> None:
    pb2, pb2_grpc = probe_modules
    request = pb2.WindowRequest()
    build(request)
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Window(request, metadata=test_keys.metadata(Role.ANALYST))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _bad_request(raised.value) == expected


async def test_a_rule_that_cannot_be_evaluated_is_invalid_argument_naming_the_rule(
    probe_service: RunningService, probe_modules: Probe, test_keys: SigningKeys
) -> None:
    pb2, pb2_grpc = probe_modules
    # Both in range, but 9,998 years apart: end_time - start_time overflows CEL.
    request = pb2.WindowRequest()
    request.start_time.seconds = -62_135_596_800
    request.end_time.seconds = 253_402_300_799
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Window(request, metadata=test_keys.metadata(Role.ANALYST))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _bad_request(raised.value) == [("", "window.period_length")]


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]


async def test_undecodable_bytes_are_invalid_argument_without_a_stack(
    probe_service: RunningService,
    test_keys: SigningKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    garbage = b"\x0a\xff\xff\xff\xff\x0f"  # a length beyond the message
    metadata = test_keys.metadata(Role.ANALYST)
    unary = probe_service.channel.unary_unary("/probe.v1.ProbeService/Echo")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await unary(garbage, metadata=metadata)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value)["ErrorInfo"].reason == "UNDECODABLE_MESSAGE"

    streaming = probe_service.channel.stream_stream("/probe.v1.ProbeService/EchoStream")
    call = streaming(metadata=metadata)
    await call.write(garbage)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value)["ErrorInfo"].reason == "UNDECODABLE_MESSAGE"

    server_streaming = probe_service.channel.unary_stream("/probe.v1.ProbeService/Count")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in server_streaming(garbage, metadata=metadata):
            pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _errors_logged(caplog) == []


async def test_cancelled_server_streams_end_cleanly(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    metadata = test_keys.metadata(Role.ANALYST)
    for _ in range(10):
        call = stub.Count(pb2.EchoRequest(text="x", delay_ms=1), metadata=metadata)
        assert (await call.read()).text == "1"
        call.cancel()
        bidi = stub.EchoStream(metadata=metadata)
        await bidi.write(pb2.EchoRequest(text="y"))
        assert (await bidi.read()).text == "y"
        bidi.cancel()
    await asyncio.sleep(0.2)
    # Abandoned async generators are finalized on collection: that is where the
    # context errors of a stream closed outside its own task used to surface.
    gc.collect()
    await asyncio.sleep(0.2)
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_info[1] if record.exc_info else ''}"
        for record in caplog.records
    )
    assert "Failed to detach context" not in logged
    assert "different Context" not in logged
    assert _errors_logged(caplog) == []
    # The server is still whole: a new stream is served.
    again = stub.Count(pb2.EchoRequest(text="x", delay_ms=1), metadata=metadata)
    assert (await again.read()).text == "1"
    again.cancel()


@pytest.fixture
async def limited_probe(
    probe_modules: Probe, make_settings: Callable[..., ServiceSettings]
) -> AsyncIterator[RunningService]:
    settings = replace(
        make_settings("probe", "sqlite+aiosqlite:///:memory:"),
        call_limits=CallLimits(calls=3, calls_per_caller=2, streams=2, streams_per_caller=1),
    )
    async with running_service(settings, probe_application(probe_modules)) as service:
        yield service


def _retry_delay(error: grpc.aio.AioRpcError) -> float:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for packed in status.details:
        if packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            packed.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    raise AssertionError("no RetryInfo")


async def test_calls_over_the_limits_are_refused_with_retry_info_and_health_stays_fast(
    limited_probe: RunningService, probe_modules: Probe, test_keys: SigningKeys
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(limited_probe.channel)
    slow = pb2.EchoRequest(text="slow", delay_ms=1500)

    retry_delays: list[float] = []

    async def outcome(subject: str) -> grpc.StatusCode:
        try:
            await stub.Echo(slow, metadata=test_keys.metadata(Role.ANALYST, subject=subject))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                retry_delays.append(_retry_delay(error))
            return error.code()
        return grpc.StatusCode.OK

    # Ana sends 4 at once (2 admitted: her limit), then, while hers are in
    # progress, Bob 2 (1 admitted: the total is 3).
    calls = [asyncio.ensure_future(outcome("ana")) for _ in range(4)]
    await asyncio.sleep(0.4)
    calls += [asyncio.ensure_future(outcome("bob")) for _ in range(2)]
    await asyncio.sleep(0.2)
    health = health_pb2_grpc.HealthStub(limited_probe.channel)
    started = asyncio.get_running_loop().time()
    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert asyncio.get_running_loop().time() - started < 0.3
    codes = await asyncio.gather(*calls)
    assert codes[:4].count(grpc.StatusCode.OK) == 2
    assert codes[4:].count(grpc.StatusCode.OK) == 1
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 3
    assert len(retry_delays) == 3
    assert min(retry_delays) > 0
    # Once they are done the room is back.
    assert (await stub.Echo(slow, metadata=test_keys.metadata(Role.ANALYST))).text == "slow"


async def test_open_streams_are_limited_per_caller(
    limited_probe: RunningService, probe_modules: Probe, test_keys: SigningKeys
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(limited_probe.channel)
    request = pb2.EchoRequest(text="x", delay_ms=50)
    first = stub.Count(request, metadata=test_keys.metadata(Role.ANALYST, subject="ana"))
    assert (await first.read()).text == "1"
    second = stub.Count(request, metadata=test_keys.metadata(Role.ANALYST, subject="ana"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await second.read()
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details(raised.value)["ErrorInfo"].reason == "TOO_MANY_STREAMS_FROM_CALLER"
    other = stub.Count(request, metadata=test_keys.metadata(Role.ANALYST, subject="bob"))
    assert (await other.read()).text == "1"
    first.cancel()
    other.cancel()
    await asyncio.sleep(0.1)
    again = stub.Count(request, metadata=test_keys.metadata(Role.ANALYST, subject="ana"))
    assert (await again.read()).text == "1"
    again.cancel()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("database_lost", "DATABASE_UNAVAILABLE"), ("pool_exhausted", "DATABASE_BUSY")],
)
async def test_a_database_that_cannot_answer_is_unavailable_with_retry_info(
    probe_service: RunningService,
    probe_modules: Probe,
    test_keys: SigningKeys,
    sqlite_url: str,
    kind: str,
    reason: str,
) -> None:
    pb2, pb2_grpc = probe_modules
    stub = pb2_grpc.ProbeServiceStub(probe_service.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Fail(
            pb2.FailRequest(kind=kind, database_url=sqlite_url),
            metadata=test_keys.metadata(Role.ANALYST),
        )
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert details(raised.value)["ErrorInfo"].reason == reason
    assert _retry_delay(raised.value) > 0
