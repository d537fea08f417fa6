"""A service whose PostgreSQL goes away and comes back, under load and with a watcher.

Compliance runs on a PostgreSQL server of the test's own, which the test stops
for a few seconds while calls keep arriving and scoring-like follower keeps a
``WatchTraderProfiles`` stream open. During the outage every failed call is
UNAVAILABLE with a ``RetryInfo`` (what gRPC's retry guidance lets a client
retry), readiness is NOT_SERVING while liveness stays SERVING; afterwards calls
succeed, readiness is back and the watch is reconnected within a second,
without restarting anything.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from customs.common.v1 import money_pb2
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import compliance_service_pb2_grpc, events_pb2, trader_pb2
from customs.events.v1 import event_delivery_service_pb2, event_delivery_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from private_postgres import PrivatePostgres

from compliance.entrypoints.server import bootstrap
from customs_kit.auth import Role
from customs_kit.readiness import LIVENESS_SERVICE
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service
from customs_kit.watch import WatchFollower

pytestmark = pytest.mark.postgres

#: Long enough for a backoff that doubles without a low cap to reach seconds.
_OUTAGE_SECONDS = 6.0


@dataclass
class Outcomes:
    """What the callers saw: successes, and each failure's code and retry delay."""

    ok: int = 0
    failures: list[tuple[str, float | None]] = field(default_factory=list)
    first_ok_after: dict[str, float] = field(default_factory=dict)


def retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    """The ``RetryInfo`` delay in the error's status details, if any."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToNanoseconds() / 1e9
    return None


class SnapshotRecorder:
    """A watch applier that asks for a full snapshot on every connection and times them."""

    def __init__(self) -> None:
        self.snapshots: list[float] = []

    @property
    def revision(self) -> int:
        return 0

    def reset(self) -> None:
        pass

    async def apply(self, message: service_pb2.WatchTraderProfilesResponse) -> None:
        if message.WhichOneof("change") == "snapshot_start":
            self.snapshots.append(time.monotonic())


def assessment_event() -> event_delivery_service_pb2.EventEnvelope:
    """A decision of scoring's, enveloped as its outbox relay sends it in batches."""
    now = Timestamp()
    now.GetCurrentTime()
    number = f"DEC-{uuid.uuid4().hex[:12]}"
    request = service_pb2.IngestAssessmentEventRequest(
        event_id=str(uuid.uuid4()),
        source_service="scoring",
        occur_time=now,
        assessed_declaration=events_pb2.AssessedDeclaration(
            assessment=f"assessments/{number}",
            declaration_number=number,
            declaration_version=1,
            office="offices/BEANR",
            lodgement_time=now,
            importer=events_pb2.PartyReference(number="IMP1", display_name="Importer One"),
            items=[
                events_pb2.AssessedItem(
                    item_number=1,
                    hs_code="610910",
                    origin_country="CN",
                    customs_value=money_pb2.Money(currency_code="EUR", units=1000),
                    duties=money_pb2.Money(currency_code="EUR", units=120),
                    tax_rate=12.0,
                )
            ],
            channel="CHANNEL_GREEN",
            decide_time=now,
        ),
    )
    return event_delivery_service_pb2.EventEnvelope(
        event_id=request.event_id,
        method="/customs.compliance.v1.ComplianceService/IngestAssessmentEvent",
        payload=request.SerializeToString(),
    )


async def deliver(
    delivery: event_delivery_service_pb2_grpc.EventDeliveryServiceStub,
    metadata: tuple[tuple[str, str], ...],
    outcomes: Outcomes,
) -> None:
    """Delivers one event in a batch; an event the batch refuses counts as a failure."""
    answer = await delivery.IngestEventBatch(
        event_delivery_service_pb2.IngestEventBatchRequest(events=[assessment_event()]),
        metadata=metadata,
    )
    for result in answer.results:
        if result.code == code_pb2.OK:
            outcomes.ok += 1
        else:
            # A per-event result carries no details: its code is all a sender has.
            outcomes.failures.append((code_pb2.Code.Name(result.code), 1.0))


async def keep_calling(
    stub: compliance_service_pb2_grpc.ComplianceServiceStub,
    delivery: event_delivery_service_pb2_grpc.EventDeliveryServiceStub,
    metadata: tuple[tuple[str, str], ...],
    service_metadata: tuple[tuple[str, str], ...],
    outcomes: Outcomes,
    stop: asyncio.Event,
) -> None:
    """Reads, writes and ingests events in turn until ``stop``, recording how each ended."""
    while not stop.is_set():
        create = service_pb2.CreateTraderRequest(
            request_id=str(uuid.uuid4()),
            trader_id=f"T{uuid.uuid4().hex[:10].upper()}",
            trader=trader_pb2.Trader(
                display_name="Acme Imports NV", roles=["TRADER_ROLE_IMPORTER"]
            ),
        )
        calls: list[Awaitable[object]] = [
            stub.ListTraders(service_pb2.ListTradersRequest(), metadata=metadata),
            stub.CreateTrader(create, metadata=metadata),
            deliver(delivery, service_metadata, outcomes),
        ]
        for call in calls:
            try:
                if await call is not None:
                    outcomes.ok += 1
            except grpc.aio.AioRpcError as error:
                outcomes.failures.append((error.code().name, retry_delay(error)))
        await asyncio.sleep(0.05)


async def health_of(channel: grpc.aio.Channel, service: str) -> str:
    """The health status name of ``service`` on the channel's server."""
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=5
    )
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


async def eventually(condition: Callable[[], bool | Awaitable[bool]], within: float) -> float:
    """Seconds until ``condition`` holds; fails after ``within`` seconds."""
    started = time.monotonic()
    while not await _holds(condition):
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return await result if inspect.isawaitable(result) else bool(result)


def readiness_is(channel: grpc.aio.Channel, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await health_of(channel, "") == status

    return check


async def test_a_lost_database_is_unavailable_with_retry_info_and_everything_recovers(
    make_settings: Callable[..., ServiceSettings],
    test_keys: SigningKeys,
    postgres_server: PrivatePostgres,
) -> None:
    url = postgres_server.create_database("compliance_outage")
    settings = make_settings("compliance", url)
    async with running_service(settings, bootstrap) as service:
        stub = compliance_service_pb2_grpc.ComplianceServiceStub(service.channel)
        metadata = test_keys.metadata(Role.COMPLIANCE, subject="carla")
        recorder = SnapshotRecorder()
        watcher_metadata = test_keys.metadata(Role.SERVICE, subject="scoring")
        follower = WatchFollower(
            "trader-watch",
            lambda since, md: stub.WatchTraderProfiles(
                service_pb2.WatchTraderProfilesRequest(since_revision=since), metadata=md
            ),
            recorder,
            lambda: watcher_metadata,
        )
        await follower.start()
        outcomes = Outcomes()
        stop = asyncio.Event()
        delivery = event_delivery_service_pb2_grpc.EventDeliveryServiceStub(service.channel)
        callers = [
            asyncio.create_task(
                keep_calling(stub, delivery, metadata, watcher_metadata, outcomes, stop)
            )
            for _ in range(4)
        ]
        try:
            await eventually(readiness_is(service.channel, "SERVING"), 5)
            await eventually(lambda: bool(recorder.snapshots), 5)
            served_before = outcomes.ok

            await asyncio.to_thread(postgres_server.stop, "fast")
            not_serving_after = await eventually(readiness_is(service.channel, "NOT_SERVING"), 5)
            assert await health_of(service.channel, LIVENESS_SERVICE) == "SERVING"
            await asyncio.sleep(_OUTAGE_SECONDS - not_serving_after)
            assert await health_of(service.channel, LIVENESS_SERVICE) == "SERVING"
            failed_during = len(outcomes.failures)

            await asyncio.to_thread(postgres_server.start)
            back = time.monotonic()
            serving_after = await eventually(readiness_is(service.channel, "SERVING"), 5)
            ok_at_restart = outcomes.ok
            await eventually(lambda: outcomes.ok >= ok_at_restart + 8, 5)
            await eventually(lambda: any(at > back for at in recorder.snapshots), 10)
            watch_back_after = next(at for at in recorder.snapshots if at > back) - back
        finally:
            stop.set()
            await asyncio.gather(*callers)
            await follower.stop()

    assert served_before > 0
    assert failed_during > 0, "no call ran into the outage"
    codes = {code for code, _ in outcomes.failures}
    assert codes == {"UNAVAILABLE"}, outcomes.failures
    assert all(delay is not None and delay > 0 for _, delay in outcomes.failures), (
        "an UNAVAILABLE without RetryInfo"
    )
    assert outcomes.ok >= ok_at_restart + 8, "calls did not succeed again after the outage"
    assert not_serving_after < 3.0
    assert serving_after < 3.0
    print(
        f"\noutage {_OUTAGE_SECONDS:.0f} s: {failed_during} calls UNAVAILABLE with RetryInfo; "
        f"readiness NOT_SERVING after {not_serving_after:.2f} s, SERVING "
        f"{serving_after:.2f} s after the database was back; watch back after "
        f"{watch_back_after:.2f} s"
    )
    assert watch_back_after < 1.0, f"the watch reconnected {watch_back_after:.2f} s after"
