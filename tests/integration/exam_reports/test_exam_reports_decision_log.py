"""Supervisors' decisions in an anchored, hash-chained log: a consistent rewrite is reported.

exam_reports signs the decision log's head with every decision and
audit_referral (a real server) keeps the checkpoints. Someone with the
database owner's rights rewrites a decision and recomputes its hash, so that
the chain on its own verifies; VerifyDecisionLog compares it with the signed
checkpoint and reports the rewrite. Runs on PostgreSQL when TEST_POSTGRES_URL
is set, else on SQLite.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
from customs.audit_referral.v1 import audit_referral_service_pb2 as keeper_pb
from customs.audit_referral.v1 import audit_referral_service_pb2_grpc as keeper_grpc
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import Client, EventReceivers, clean_report, open_desk
from sqlalchemy import text

from audit_referral.entrypoints.options import AuditReferralOptions
from audit_referral.entrypoints.server import bootstrap as audit_referral_bootstrap
from customs_kit.auth import Role, generate_key_pair
from customs_kit.checkpoints import CheckpointSigner
from customs_kit.db import Database
from customs_kit.hash_chain import chain_hash
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.adapters.decision_log import DecisionLog
from exam_reports.domain.decision_log import DecisionKind, encode
from exam_reports.entrypoints.options import ExamReportsOptions
from exam_reports.entrypoints.server import bootstrap

_NOWHERE = "127.0.0.1:9"


@dataclasses.dataclass(frozen=True)
class Anchored:
    client: Client
    keeper: RunningService
    keys: SigningKeys

    async def verify(self) -> pb2.DecisionLogVerification:
        response = await self.client.as_(Role.AUDITOR, subject="aude").VerifyDecisionLog(
            pb2.VerifyDecisionLogRequest()
        )
        verification: pb2.DecisionLogVerification = response.verification
        return verification

    async def until_checkpointed(self, sequence: int) -> None:
        stub = keeper_grpc.AuditReferralServiceStub(self.keeper.channel)
        for _ in range(200):
            try:
                response = await stub.GetLatestHistoryCheckpoint(
                    keeper_pb.GetLatestHistoryCheckpointRequest(source="exam-reports"),
                    metadata=self.keys.metadata(Role.AUDITOR, subject="aude"),
                )
                if response.history_checkpoint.sequence >= sequence:
                    return
            except grpc.aio.AioRpcError as error:
                # NOT_FOUND until the relay has delivered the first checkpoint.
                if error.code() is not grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.05)
        raise AssertionError(f"no checkpoint of sequence {sequence} reached audit_referral")


@pytest.fixture
async def anchored(
    settings: ServiceSettings,
    make_settings: Callable[..., ServiceSettings],
    receivers: EventReceivers,
    test_keys: SigningKeys,
    tmp_path: Path,
) -> AsyncIterator[Anchored]:
    signer = CheckpointSigner.from_pem("exam-reports", generate_key_pair()[0])
    keeper_settings = make_settings(
        "audit-referral",
        f"sqlite+aiosqlite:///{tmp_path / 'audit-referral.db'}",
        {"compliance": _NOWHERE, "criteria": _NOWHERE, "scoring": _NOWHERE},
    )
    keeper_options = AuditReferralOptions(checkpoint_keys={"exam-reports": signer.public_key})
    async with running_service(
        keeper_settings, lambda s: audit_referral_bootstrap(s, keeper_options)
    ) as keeper:
        peers = {**receivers.peer_addresses, "audit-referral": keeper.address}
        options = ExamReportsOptions(history_signer=signer)
        async with running_service(
            dataclasses.replace(settings, peer_addresses=peers),
            lambda s: bootstrap(s, options),
        ) as service:
            yield Anchored(Client(service, test_keys), keeper, test_keys)


async def _approve_a_report(anchored: Anchored) -> None:
    desk = await open_desk(anchored.client)
    await desk.approve(await desk.submit(clean_report(desk.examination)))


async def _rewrite(database_url: str, actor: str) -> None:
    """Rewrites the first decision's actor and recomputes its hash, as an owner could."""
    database = Database(database_url)
    try:
        async with database.session_factory() as session:
            [first] = await DecisionLog(session).after(0, 1)
        forged = dataclasses.replace(first, actor=actor, hash="")
        forged = dataclasses.replace(forged, hash=chain_hash(encode(forged), forged.previous_hash))
        async with database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("ALTER TABLE decision_log DISABLE TRIGGER decision_log_append_only")
                )
            else:
                await connection.execute(text("DROP TRIGGER decision_log_no_update"))
            await connection.execute(
                text("UPDATE decision_log SET actor = :actor, hash = :hash WHERE sequence = 1"),
                {"actor": forged.actor, "hash": forged.hash},
            )
    finally:
        await database.dispose()


async def test_a_report_approval_is_logged_and_anchored(anchored: Anchored) -> None:
    await _approve_a_report(anchored)
    await anchored.until_checkpointed(1)

    verification = await anchored.verify()

    assert verification.intact
    assert verification.entries_verified == 1
    assert verification.anchor_state == pb2.DECISION_LOG_ANCHOR_STATE_ANCHORED
    assert verification.checkpoint_head_hash == verification.head_hash


async def test_a_consistent_rewrite_of_a_decision_is_reported(
    anchored: Anchored, database_url: str
) -> None:
    await _approve_a_report(anchored)
    await anchored.until_checkpointed(1)

    await _rewrite(database_url, "someone-else")
    verification = await anchored.verify()

    assert verification.rewritten
    assert not verification.intact
    assert verification.anchor_state == pb2.DECISION_LOG_ANCHOR_STATE_REWRITTEN
    assert verification.first_invalid_sequence == 1


async def test_the_database_refuses_to_change_a_logged_decision(
    anchored: Anchored, database_url: str
) -> None:
    await _approve_a_report(anchored)
    database = Database(database_url)
    try:
        async with database.session_factory() as session:
            [first] = await DecisionLog(session).after(0, 1)
        with pytest.raises(Exception, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text("DELETE FROM decision_log"))
    finally:
        await database.dispose()
    assert first.kind is DecisionKind.REPORT_APPROVED
    assert first.actor == "sam"
