"""Scoring follows criteria's WatchActiveCriteria stream, served by a real gRPC server.

The server is a minimal implementation of CriteriaService.WatchActiveCriteria
on a real port, built on the generated servicer base: it serves whatever
stream messages the test hands it, and ends the stream when told to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from scoring_support import StartScoring, criterion, declaration, hs_prefix, item, snapshot

from customs_kit.auth import Role, TokenVerifier
from customs_kit.testing.services import SigningKeys

_END_OF_STREAM = None


@dataclass
class CriteriaStream(criteria_service_pb2_grpc.CriteriaServiceServicer):  # type: ignore[misc]
    """Serves queued stream messages; ``None`` in the queue ends the current stream."""

    outgoing: asyncio.Queue[criteria_service_pb2.WatchActiveCriteriaResponse | None] = field(
        default_factory=asyncio.Queue
    )
    #: (since_revision, authorization header) of every WatchActiveCriteria call.
    calls: list[tuple[int, str]] = field(default_factory=list)

    async def WatchActiveCriteria(
        self, request: criteria_service_pb2.WatchActiveCriteriaRequest, context: Any
    ) -> AsyncIterator[criteria_service_pb2.WatchActiveCriteriaResponse]:
        metadata = dict(context.invocation_metadata() or ())
        self.calls.append((request.since_revision, metadata.get("authorization", "")))
        while (message := await self.outgoing.get()) is not _END_OF_STREAM:
            yield message

    def send(self, *messages: criteria_service_pb2.WatchActiveCriteriaResponse | None) -> None:
        for message in messages:
            self.outgoing.put_nowait(message)


@pytest.fixture
async def criteria_stream() -> AsyncIterator[tuple[CriteriaStream, int]]:
    """The stream servicer and the port it is served on."""
    servicer = CriteriaStream()
    server = grpc.aio.server()
    criteria_service_pb2_grpc.add_CriteriaServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, port
    await server.stop(grace=None)


async def eventually(
    check: Callable[[], Awaitable[assessment_pb2.Assessment | None]],
) -> assessment_pb2.Assessment:
    """Retries ``check`` for up to 5 s until it returns an assessment."""
    async with asyncio.timeout(5):
        while True:
            found = await check()
            if found is not None:
                return found
            await asyncio.sleep(0.05)


async def test_scoring_follows_the_criteria_stream_and_resumes_after_a_disconnect(
    start_scoring: StartScoring,
    criteria_stream: tuple[CriteriaStream, int],
    test_keys: SigningKeys,
) -> None:
    stream, port = criteria_stream
    attempts = iter(range(1_000))

    async with start_scoring(
        initial_rules=(), watch_criteria=True, peers={"criteria": f"127.0.0.1:{port}"}
    ) as scoring:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)
        metadata = test_keys.metadata(Role.DECLARATION_SYSTEM)

        def cigarettes_assessed_at(revision: int) -> Callable[[], Awaitable[Any]]:
            """Lodges new cigarette declarations until one is decided at ``revision``."""

            async def check() -> assessment_pb2.Assessment | None:
                message = declaration(f"WATCH-{next(attempts)}", item(1, hs_code="240220"))
                try:
                    response = await stub.AssessDeclaration(
                        scoring_service_pb2.AssessDeclarationRequest(declaration=message),
                        metadata=metadata,
                    )
                except grpc.aio.AioRpcError as error:
                    # Only "criteria not loaded yet" is worth waiting for.
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    return None
                assessment = response.assessment
                return assessment if assessment.replay.criteria_revision == revision else None

            return check

        stream.send(*snapshot(5, [criterion("cigarettes", hs_prefix("2402"))]))
        first = await eventually(cigarettes_assessed_at(5))
        assert first.channel == selectivity_pb2.CHANNEL_RED
        assert first.criterion_hits[0].criterion == "criteria/cigarettes"

        stream.send(
            criteria_service_pb2.WatchActiveCriteriaResponse(
                revision=6, removed_criterion="criteria/cigarettes"
            )
        )
        removed = await eventually(cigarettes_assessed_at(6))
        assert removed.channel == selectivity_pb2.CHANNEL_GREEN

        # Criteria goes away mid-stream; scoring reconnects from the revision it holds.
        stream.send(
            _END_OF_STREAM,
            criteria_service_pb2.WatchActiveCriteriaResponse(
                revision=7,
                criterion=criterion("cigarettes", hs_prefix("2402"), channel="YELLOW", revision=2),
            ),
        )
        resumed = await eventually(cigarettes_assessed_at(7))
        assert resumed.channel == selectivity_pb2.CHANNEL_YELLOW
        assert resumed.criterion_hits[0].criterion_revision == 2

    assert [since for since, _ in stream.calls] == [0, 6]
    verifier = TokenVerifier(test_keys.public_key_file.read_bytes(), "customs-platform")
    for _, authorization in stream.calls:
        assert Role.SERVICE in verifier.verify(authorization.removeprefix("Bearer ")).roles


async def test_a_criteria_revision_arriving_mid_stream_is_swapped_in_without_a_pause(
    start_scoring: StartScoring,
    criteria_stream: tuple[CriteriaStream, int],
    test_keys: SigningKeys,
) -> None:
    stream, port = criteria_stream
    stream.send(*snapshot(5, [criterion("cigarettes", hs_prefix("2402"), percent=100.0)]))
    outgoing: asyncio.Queue[scoring_service_pb2.AssessDeclarationsRequest | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[scoring_service_pb2.AssessDeclarationsRequest]:
        while (request := await outgoing.get()) is not None:
            yield request

    def lodge(count: int, start: int) -> None:
        for number in range(start, start + count):
            outgoing.put_nowait(
                scoring_service_pb2.AssessDeclarationsRequest(
                    declaration=declaration(f"SWAP-{number:05d}", item(1, hs_code="240220"))
                )
            )

    async with start_scoring(
        initial_rules=(), watch_criteria=True, peers={"criteria": f"127.0.0.1:{port}"}
    ) as scoring:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)
        # The first declaration is only sent once revision 5 is in force.
        await eventually(_assessed_at(stub, test_keys, 5))
        call = stub.AssessDeclarations(
            requests(), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM)
        )
        answers: list[scoring_service_pb2.AssessDeclarationsResponse] = []
        sent = 0
        lodge(100, sent)
        sent += 100
        swapped = False
        async for answer in call:
            answers.append(answer)
            if len(answers) == 50 and not swapped:
                # Revision 6 turns the criterion YELLOW while declarations flow.
                stream.send(
                    criteria_service_pb2.WatchActiveCriteriaResponse(
                        revision=6,
                        criterion=criterion(
                            "cigarettes", hs_prefix("2402"), channel="YELLOW", revision=2
                        ),
                    )
                )
                swapped = True
            if len(answers) == sent:
                if answers[-1].assessment.replay.criteria_revision == 6 or sent >= 5_000:
                    outgoing.put_nowait(None)
                else:
                    lodge(50, sent)
                    sent += 50

    assert all(answer.HasField("assessment") for answer in answers), "no declaration failed"
    revisions = [answer.assessment.replay.criteria_revision for answer in answers]
    assert (revisions[0], revisions[-1]) == (5, 6)
    assert revisions == sorted(revisions), "once swapped in, revision 6 applies to every later one"
    for answer in answers:
        assessment = answer.assessment
        expected = {5: (selectivity_pb2.CHANNEL_RED, 1), 6: (selectivity_pb2.CHANNEL_YELLOW, 2)}
        assert (assessment.channel, assessment.criterion_hits[0].criterion_revision) == expected[
            assessment.replay.criteria_revision
        ]


def _assessed_at(
    stub: scoring_service_pb2_grpc.ScoringServiceStub, keys: SigningKeys, revision: int
) -> Callable[[], Awaitable[assessment_pb2.Assessment | None]]:
    """A check that lodges a probe declaration and returns it once decided at ``revision``."""
    probes = iter(range(1_000))

    async def check() -> assessment_pb2.Assessment | None:
        message = declaration(f"PROBE-{next(probes)}", item(1, hs_code="010121"))
        try:
            response = await stub.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(declaration=message),
                metadata=keys.metadata(Role.DECLARATION_SYSTEM),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            return None
        assessment = response.assessment
        return assessment if assessment.replay.criteria_revision == revision else None

    return check


async def test_scoring_reports_serving_only_once_it_holds_criteria(
    start_scoring: StartScoring, criteria_stream: tuple[CriteriaStream, int]
) -> None:
    stream, port = criteria_stream
    async with start_scoring(
        initial_rules=(), watch_criteria=True, peers={"criteria": f"127.0.0.1:{port}"}
    ) as scoring:
        health = health_pb2_grpc.HealthStub(scoring.channel)
        statuses = health.Watch(
            health_pb2.HealthCheckRequest(service="customs.scoring.v1.ScoringService")
        )

        # A load balancer must not send declarations that could only be refused.
        assert (await statuses.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        stream.send(*snapshot(5, [criterion("cigarettes", hs_prefix("2402"))]))
        async with asyncio.timeout(5):
            assert (await statuses.read()).status == health_pb2.HealthCheckResponse.SERVING
        statuses.cancel()
