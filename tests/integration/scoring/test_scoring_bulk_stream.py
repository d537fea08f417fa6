"""AssessDeclarations, the bulk lodgement stream, through a real scoring server."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import grpc
import pytest
import structlog
from customs.common.v1 import selectivity_pb2
from customs.scoring.v1 import (
    assessment_pb2,
    declaration_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from google.rpc import code_pb2
from scoring_support import StartScoring, criterion, declaration, hs_prefix, item, query, snapshot
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub
Request = scoring_service_pb2.AssessDeclarationsRequest
Response = scoring_service_pb2.AssessDeclarationsResponse


async def _requests(messages: Sequence[declaration_pb2.Declaration]) -> AsyncIterator[Request]:
    for message in messages:
        yield Request(declaration=message)


async def bulk(
    stub: Stub, keys: SigningKeys, messages: Sequence[declaration_pb2.Declaration]
) -> list[Response]:
    """Lodges ``messages`` on one stream as the declaration system; every answer."""
    call = stub.AssessDeclarations(
        _requests(messages), metadata=keys.metadata(Role.DECLARATION_SYSTEM)
    )
    return [response async for response in call]


async def test_every_declaration_of_the_stream_is_answered_in_order_and_stored(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    phones = item(1, hs_code="851713", origin_country_code="CN")
    lodged = [
        declaration(f"30/2026/B{number:05d}", phones if number % 3 == 0 else item(1))
        for number in range(250)
    ]

    responses = await bulk(stub, test_keys, lodged)

    assert [(r.declaration_number, r.version) for r in responses] == [
        (message.declaration_number, 1) for message in lodged
    ]
    channels = [response.assessment.channel for response in responses]
    assert channels == [
        selectivity_pb2.CHANNEL_RED if number % 3 == 0 else selectivity_pb2.CHANNEL_GREEN
        for number in range(250)
    ]
    [[stored]] = await query(database_url, "SELECT count(*) FROM assessments")
    assert stored == 250
    [[events]] = await query(
        database_url, "SELECT count(*) FROM outbox_events WHERE destination = 'exam-reports'"
    )
    assert events == 84


async def test_an_invalid_declaration_gets_its_error_in_place_and_the_stream_goes_on(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    bad_hs_code = declaration("30/2026/B00002", item(1, hs_code="85"))
    in_doubloons = declaration(
        "30/2026/B00003",
        item(1, customs_value={"currency_code": "XDB", "units": 10}),
    )

    first, invalid, unknown_currency, last = await bulk(
        stub,
        test_keys,
        [declaration("30/2026/B00001"), bad_hs_code, in_doubloons, declaration("30/2026/B00004")],
    )

    assert first.HasField("assessment")
    assert last.HasField("assessment")
    assert invalid.error.code == code_pb2.INVALID_ARGUMENT
    assert [(v.field, v.rule) for v in invalid.error.field_violations] == [
        ("declaration.items[0].hs_code", "string.pattern")
    ]
    assert (unknown_currency.error.code, unknown_currency.error.reason) == (
        code_pb2.INVALID_ARGUMENT,
        "UNKNOWN_CURRENCY",
    )
    assert [v.field for v in unknown_currency.error.field_violations] == [
        "declaration.items[0].customs_value.currency_code"
    ]
    stored = await query(database_url, "SELECT declaration_number FROM assessments")
    assert sorted(number for (number,) in stored) == ["30/2026/B00001", "30/2026/B00004"]


async def test_a_resent_version_is_answered_as_stored_and_a_changed_one_as_a_conflict(
    stub: Stub, test_keys: SigningKeys
) -> None:
    original = declaration("30/2026/B00010")
    changed = declaration("30/2026/B00010", office_code="40")

    first, resent, conflicting = await bulk(stub, test_keys, [original, original, changed])
    again = await bulk(stub, test_keys, [original])

    assert not first.already_assessed
    assert resent.already_assessed
    assert resent.assessment == first.assessment
    assert again[0].assessment == first.assessment
    assert (conflicting.error.code, conflicting.error.reason) == (
        code_pb2.ALREADY_EXISTS,
        "DECLARATION_VERSION_CONFLICT",
    )


async def test_a_declaration_sent_alone_is_answered_before_the_next_is_sent(
    stub: Stub, test_keys: SigningKeys
) -> None:
    outgoing: asyncio.Queue[Request | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[Request]:
        while (request := await outgoing.get()) is not None:
            yield request

    call = stub.AssessDeclarations(requests(), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM))
    outgoing.put_nowait(Request(declaration=declaration("30/2026/B00020")))
    answer = await asyncio.wait_for(call.read(), timeout=5)
    outgoing.put_nowait(None)

    assert answer.declaration_number == "30/2026/B00020"
    assert await call.read() is grpc.aio.EOF


async def test_only_the_declaration_system_may_lodge_in_bulk(
    stub: Stub, test_keys: SigningKeys
) -> None:
    call = stub.AssessDeclarations(
        _requests([declaration("30/2026/B00030")]), metadata=test_keys.metadata(Role.ANALYST)
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_a_criterion_selects_its_percentage_of_hits_and_answers_resends_alike(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    # 30 % of 1,500 hits: 450 expected, standard deviation 17.7; 4 of them either way.
    rules = snapshot(5, [criterion("timber", hs_prefix("4408"), percent=30.0)])
    lodged = [declaration(f"30/2026/P{number:05d}") for number in range(1_500)]

    async with start_scoring(rules) as scoring:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)
        responses = await bulk(stub, test_keys, lodged)
        resent = await bulk(stub, test_keys, lodged[:300])

    outcomes = [response.assessment.criterion_hits[0].outcome for response in responses]
    selected = outcomes.count(assessment_pb2.HIT_OUTCOME_SELECTED)
    assert 450 - 4 * 17.7 <= selected <= 450 + 4 * 17.7
    assert selected + outcomes.count(assessment_pb2.HIT_OUTCOME_NOT_DRAWN) == 1_500
    red = [r.assessment.channel == selectivity_pb2.CHANNEL_RED for r in responses]
    assert red == [outcome == assessment_pb2.HIT_OUTCOME_SELECTED for outcome in outcomes]
    # The draw is keyed on the declaration: a re-send is answered with the same decision.
    assert [r.assessment for r in resent] == [r.assessment for r in responses[:300]]
    assert all(r.already_assessed for r in resent)


@contextlib.contextmanager
def _database_refusing_connections(database_url: str) -> Iterator[Callable[[], None]]:
    """Cuts scoring's database off (its connections ended, new ones refused) until the
    returned callable brings it back, as a database restart or a network cut does."""
    server = os.environ["TEST_POSTGRES_URL"]
    name = make_url(database_url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allowed}'))

    allow(False)
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    try:
        yield functools.partial(allow, True)
    finally:
        allow(True)
        admin.dispose()


@pytest.fixture
def plain_tracebacks() -> Iterator[None]:
    """Errors logged as plain tracebacks: every background task logs the outage, and the
    console's default rich tracebacks (with every frame's locals) would hold up the event
    loop the server shares with the test for seconds each."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[
            *saved["processors"][:-1],
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ]
    )
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.mark.skipif(
    not os.environ.get("TEST_POSTGRES_URL"), reason="cuts a PostgreSQL database off"
)
@pytest.mark.usefixtures("plain_tracebacks")
async def test_a_lost_database_answers_each_declaration_unavailable_and_the_stream_goes_on(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    outgoing: asyncio.Queue[Request | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[Request]:
        while (request := await outgoing.get()) is not None:
            yield request

    async def lodge(number: str) -> Response:
        outgoing.put_nowait(Request(declaration=declaration(number)))
        answer = await asyncio.wait_for(call.read(), timeout=30)
        assert isinstance(answer, Response)
        return answer

    call = stub.AssessDeclarations(requests(), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM))
    before = await lodge("30/2026/B00040")
    with _database_refusing_connections(database_url) as bring_back:
        during = [await lodge(f"30/2026/B0004{n}") for n in (1, 2)]
        bring_back()
        after = await lodge("30/2026/B00043")
    resent = await lodge("30/2026/B00041")
    outgoing.put_nowait(None)

    assert before.HasField("assessment")
    assert [(a.error.code, a.error.reason) for a in during] == [
        (code_pb2.UNAVAILABLE, "DATABASE_UNAVAILABLE")
    ] * 2
    assert all(a.error.retry_delay.ToNanoseconds() > 0 for a in during)
    assert after.HasField("assessment")
    assert resent.HasField("assessment")
    assert not resent.already_assessed
    assert await call.read() is grpc.aio.EOF
    stored = await query(database_url, "SELECT declaration_number FROM assessments")
    assert sorted(number for (number,) in stored) == [
        "30/2026/B00040",
        "30/2026/B00041",
        "30/2026/B00043",
    ]
