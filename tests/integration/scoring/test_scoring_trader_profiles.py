"""Approved-trader statuses from compliance: stored as they arrive, used again after a restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from approved_traders import approve_trader
from customs.common.v1 import selection_rule_pb2, selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc, trader_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from scoring_support import StartScoring, criterion, declaration, hs_prefix, snapshot
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from compliance.entrypoints.server import bootstrap as compliance_bootstrap
from customs_kit.auth import Role
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service
from scoring.entrypoints.server import MIGRATIONS
from scoring.entrypoints.trader_watch import ProfileApplier
from scoring.service_layer.trader_profiles import TraderProfilesHolder, load_approved_traders

Stub = scoring_service_pb2_grpc.ScoringServiceStub
Compliance = compliance_service_pb2_grpc.ComplianceServiceStub
Response = compliance_service_pb2.WatchTraderProfilesResponse
APPROVED = trader_pb2.APPROVED_TRADER_STATUS_APPROVED


# --- the stream applied to the database ---------------------------------------------


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """Scoring's migrated database."""
    run_migrations(database_url, MIGRATIONS)
    database = Database(database_url)
    yield database
    await database.dispose()


def profile(trader: str, status: int, revision: int) -> Response:
    """A profile change of ``traders/{trader}`` at ``revision``."""
    return Response(
        revision=revision,
        profile=trader_pb2.TraderProfile(
            trader=f"traders/{trader}", approved_trader_status=status, revision=revision
        ),
    )


def profiles_snapshot(revision: int, *profiles: Response) -> list[Response]:
    """The messages of a full snapshot at ``revision``."""
    return [
        Response(revision=revision, snapshot_start=compliance_service_pb2.SnapshotStart()),
        *profiles,
        Response(revision=revision, snapshot_end=compliance_service_pb2.SnapshotEnd()),
    ]


async def restarted(database: Database) -> tuple[int, frozenset[str]]:
    """What a restarted process would hold: the stored revision and approved traders."""
    holder = TraderProfilesHolder()
    revision = await load_approved_traders(database, holder)
    assert holder.current.revision == revision
    return revision, holder.current.trader_ids


async def test_the_trader_stream_keeps_and_stores_only_traders_with_an_agreement_in_force(
    database: Database,
) -> None:
    holder = TraderProfilesHolder()
    applier = ProfileApplier(database, holder)
    *half, end = profiles_snapshot(
        5,
        profile("A1", APPROVED, 5),
        profile("N1", trader_pb2.APPROVED_TRADER_STATUS_NOT_APPROVED, 5),
        profile("A2", APPROVED, 5),
    )
    for message in half:
        await applier.apply(message)
    assert holder.current.revision == 0, "half a snapshot is never installed"
    assert await restarted(database) == (0, frozenset()), "nor stored"

    await applier.apply(end)
    assert (holder.current.revision, holder.current.trader_ids) == (5, {"A1", "A2"})
    assert await restarted(database) == (5, {"A1", "A2"})

    await applier.apply(profile("A1", trader_pb2.APPROVED_TRADER_STATUS_REVOKED, 6))
    await applier.apply(Response(revision=7, removed_trader="traders/A2"))
    await applier.apply(profile("N1", APPROVED, 8))
    assert (holder.current.revision, holder.current.trader_ids) == (8, {"N1"})
    assert applier.revision == 8
    assert await restarted(database) == (8, {"N1"})

    for message in profiles_snapshot(9, profile("S1", APPROVED, 9)):
        await applier.apply(message)
    assert await restarted(database) == (9, {"S1"}), "a snapshot replaces the whole set"


async def test_a_replica_behind_the_stream_never_overwrites_what_one_ahead_stored(
    database: Database,
) -> None:
    ahead = ProfileApplier(database, TraderProfilesHolder())
    for message in profiles_snapshot(10, profile("A1", APPROVED, 10)):
        await ahead.apply(message)
    behind_holder = TraderProfilesHolder()
    behind = ProfileApplier(database, behind_holder)

    await behind.apply(profile("OLD1", APPROVED, 9))

    assert (behind_holder.current.revision, behind_holder.current.trader_ids) == (9, {"OLD1"})
    assert await restarted(database) == (10, {"A1"})


async def _execute(database_url: str, sql: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def test_a_status_that_cannot_be_stored_is_not_used_and_is_received_again(
    database: Database, database_url: str
) -> None:
    holder = TraderProfilesHolder()
    applier = ProfileApplier(database, holder)
    for message in profiles_snapshot(3, profile("A1", APPROVED, 3)):
        await applier.apply(message)
    await _execute(database_url, "DROP TABLE approved_traders")

    with pytest.raises(DBAPIError, match="approved_traders"):
        await applier.apply(profile("A1", trader_pb2.APPROVED_TRADER_STATUS_REVOKED, 4))

    assert (holder.current.revision, holder.current.trader_ids) == (3, {"A1"})
    assert applier.revision == 3, "the stream resumes before the change"


# --- through real servers, across a restart ------------------------------------------


def _wood() -> list[criteria_service_pb2.WatchActiveCriteriaResponse]:
    """Rules whose only criterion selects wood, except from approved traders."""
    wood = criterion("wood", hs_prefix("44"), level="ENFORCEMENT")
    wood.rule.approved_traders = selection_rule_pb2.APPROVED_TRADER_SCOPE_EXCLUDED
    return snapshot(3, [wood])


async def lodge(
    stub: Stub, keys: SigningKeys, number: str, importer: str
) -> assessment_pb2.Assessment:
    """Lodges one declaration of wood (HS 440890) imported by ``importer``; its assessment."""
    response = await stub.AssessDeclaration(
        scoring_service_pb2.AssessDeclarationRequest(
            declaration=declaration(number, importer={"id": importer})
        ),
        metadata=keys.metadata(Role.DECLARATION_SYSTEM),
    )
    return response.assessment


async def lodge_until(
    stub: Stub, keys: SigningKeys, prefix: str, importer: str, *, approved: bool
) -> assessment_pb2.Assessment:
    """Lodges declarations of ``importer`` until scoring assesses it as ``approved`` (10 s)."""
    deadline = time.monotonic() + 10.0
    number = 0
    while True:
        number += 1
        assessment = await lodge(stub, keys, f"30/2026/{prefix}{number:05d}", importer)
        if assessment.importer_approved_trader == approved or time.monotonic() > deadline:
            return assessment
        await asyncio.sleep(0.05)


async def revoke(compliance: Compliance, keys: SigningKeys, trader_id: str) -> None:
    """Revokes the agreement of ``trader_id`` as a compliance specialist would."""
    auth = keys.metadata(Role.COMPLIANCE, subject="carla")
    listed = await compliance.ListTraderApplications(
        compliance_service_pb2.ListTraderApplicationsRequest(trader=f"traders/{trader_id}"),
        metadata=auth,
    )
    [application] = listed.trader_applications
    await compliance.RevokeTraderApplication(
        compliance_service_pb2.RevokeTraderApplicationRequest(
            name=application.name,
            request_id=str(uuid.uuid4()),
            etag=application.etag,
            reason="Smuggling found at the premises during a visit.",
        ),
        metadata=auth,
    )


async def test_a_restarted_scoring_keeps_approved_traders_approved_while_compliance_is_down(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    compliance_database_url: str,
    test_keys: SigningKeys,
) -> None:
    compliance_settings = make_settings("compliance", compliance_database_url)
    async with running_service(compliance_settings, compliance_bootstrap) as compliance:
        await approve_trader(Compliance(compliance.channel), test_keys, "AEO0001")
        async with start_scoring(_wood(), peers={"compliance": compliance.address}) as scoring:
            before = await lodge_until(
                Stub(scoring.channel), test_keys, "A", "AEO0001", approved=True
            )
    assert before.importer_approved_trader

    # Restarted on the same database; compliance is stopped and its address unreachable.
    async with start_scoring(_wood()) as scoring:
        after = await lodge(Stub(scoring.channel), test_keys, "30/2026/B00001", "AEO0001")

    assert after.importer_approved_trader
    assert after.replay.trader_profiles_revision == before.replay.trader_profiles_revision > 0
    [hit] = after.criterion_hits
    assert hit.outcome == assessment_pb2.HIT_OUTCOME_APPROVED_TRADER_EXCLUDED
    assert after.channel == selectivity_pb2.CHANNEL_GREEN


async def test_a_restarted_scoring_resumes_the_trader_stream_after_the_stored_revision(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    compliance_database_url: str,
    test_keys: SigningKeys,
    span_exporter: InMemorySpanExporter,
) -> None:
    compliance_settings = make_settings("compliance", compliance_database_url)
    async with running_service(compliance_settings, compliance_bootstrap) as compliance:
        traders = Compliance(compliance.channel)
        peers = {"compliance": compliance.address}
        await approve_trader(traders, test_keys, "AEO0002")
        async with start_scoring(_wood(), peers=peers) as scoring:
            before = await lodge_until(
                Stub(scoring.channel), test_keys, "A", "AEO0002", approved=True
            )

        await revoke(traders, test_keys, "AEO0002")
        span_exporter.clear()
        async with start_scoring(_wood(), peers=peers) as scoring:
            after = await lodge_until(
                Stub(scoring.channel), test_keys, "B", "AEO0002", approved=False
            )

    assert before.importer_approved_trader
    assert not after.importer_approved_trader, "the revocation reached scoring"
    assert after.replay.trader_profiles_revision > before.replay.trader_profiles_revision
    assert after.channel == selectivity_pb2.CHANNEL_RED
    applied = [
        dict(span.attributes or {})
        for span in span_exporter.get_finished_spans()
        if span.name == "trader profiles apply"
    ]
    # Only the changes made meanwhile came (the revocation among them), no new snapshot.
    assert {str(span["customs.change"]) for span in applied} == {"profile"}
    assert min(int(str(span["customs.revision"])) for span in applied) > (
        before.replay.trader_profiles_revision
    )
