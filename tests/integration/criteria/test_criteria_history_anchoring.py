"""The history anchored at audit_referral: a consistent rewrite in the database is reported.

Criteria signs its history's head on every approval (and periodically) and
audit_referral keeps the checkpoints. Someone with the database owner's rights
drops the append-only triggers, rewrites an entry and recomputes every later
hash, so that the chain on its own verifies; VerifyHistory compares it with the
latest signed checkpoint and reports the rewrite. Runs on PostgreSQL when
TEST_POSTGRES_URL is set, else on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from criteria_support import (
    AUDITOR,
    NOWHERE,
    OPERATOR,
    Criteria,
    PeerServices,
    StartCriteria,
    criterion,
    timestamp,
)
from customs.audit_referral.v1 import audit_referral_service_pb2 as keeper_pb
from customs.audit_referral.v1 import audit_referral_service_pb2_grpc as keeper_grpc
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import history_pb2, oversight_report_pb2
from sqlalchemy import text

from audit_referral.entrypoints.options import AuditReferralOptions
from audit_referral.entrypoints.server import bootstrap as audit_referral_bootstrap
from criteria.adapters.repositories import Repository
from criteria.entrypoints.mappers import ProtoEncoder
from criteria.entrypoints.options import CriteriaOptions
from customs_kit.auth import Role, generate_key_pair
from customs_kit.checkpoints import CheckpointSigner
from customs_kit.db import Database
from customs_kit.hash_chain import chain_hash
from customs_kit.testing.services import RunningService, SigningKeys, running_service

_ANCHORED = history_pb2.HISTORY_ANCHOR_STATE_ANCHORED


@dataclasses.dataclass(frozen=True)
class Anchored:
    """Criteria with a signing key, and audit_referral keeping its checkpoints."""

    criteria: Criteria
    keeper: RunningService
    keys: SigningKeys

    async def latest_checkpoint_sequence(self) -> int:
        stub = keeper_grpc.AuditReferralServiceStub(self.keeper.channel)
        try:
            response = await stub.GetLatestHistoryCheckpoint(
                keeper_pb.GetLatestHistoryCheckpointRequest(source="criteria"),
                metadata=self.keys.metadata(Role.AUDITOR, subject="aude"),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return 0
            raise
        return response.history_checkpoint.sequence

    async def until_checkpointed(self, sequence: int) -> None:
        """Waits until the relay has delivered the checkpoint of ``sequence`` (or later)."""
        for _ in range(200):
            if await self.latest_checkpoint_sequence() >= sequence:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no checkpoint of sequence {sequence} reached audit_referral")


@contextlib.asynccontextmanager
async def _anchored(
    make_settings: object,
    start_criteria: StartCriteria,
    peer_services: PeerServices,
    test_keys: SigningKeys,
    tmp_path: Path,
    *,
    checkpoint_interval: timedelta = timedelta(hours=1),
) -> AsyncIterator[Anchored]:
    private_pem, _ = generate_key_pair()
    signer = CheckpointSigner.from_pem("criteria", private_pem)
    keeper_settings = make_settings(  # type: ignore[operator]
        "audit-referral",
        f"sqlite+aiosqlite:///{tmp_path / 'audit-referral.db'}",
        {"compliance": NOWHERE, "criteria": NOWHERE, "scoring": NOWHERE},
    )
    keeper_options = AuditReferralOptions(checkpoint_keys={"criteria": signer.public_key})
    async with running_service(
        keeper_settings, lambda settings: audit_referral_bootstrap(settings, keeper_options)
    ) as keeper:
        addresses = {**peer_services.addresses, "audit-referral": keeper.address}
        options = CriteriaOptions(history_signer=signer, checkpoint_interval=checkpoint_interval)
        async with start_criteria(addresses, options) as criteria:
            yield Anchored(criteria, keeper, test_keys)


@pytest.fixture
async def anchored(
    make_settings: object,
    start_criteria: StartCriteria,
    peer_services: PeerServices,
    test_keys: SigningKeys,
    tmp_path: Path,
) -> AsyncIterator[Anchored]:
    async with _anchored(make_settings, start_criteria, peer_services, test_keys, tmp_path) as it:
        yield it


async def _verify(criteria: Criteria) -> history_pb2.HistoryVerification:
    response = await criteria.call("VerifyHistory", pb.VerifyHistoryRequest(), OPERATOR)
    verification: history_pb2.HistoryVerification = response.verification
    return verification


async def _approve_one(criteria: Criteria) -> int:
    """Activates a criterion (four-eyes); the history's length afterwards."""
    profile = await criteria.create_profile()
    await criteria.activate(criterion(profile))
    return await criteria.history_size()


async def _rewrite_consistently(database_url: str, sequence: int, reason: str) -> None:
    """Rewrites entry ``sequence``'s reason and recomputes every later hash, as an owner could."""
    encoder = ProtoEncoder()
    database = Database(database_url)
    try:
        async with database.session_factory() as session:
            entries = await Repository(session).history_after(0, 10_000)
        async with database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("ALTER TABLE history_entries DISABLE TRIGGER history_entries_append_only")
                )
            else:
                for trigger in ("history_entries_no_update", "history_entries_no_delete"):
                    await connection.execute(text(f"DROP TRIGGER {trigger}"))
            previous = entries[sequence - 2].hash if sequence > 1 else entries[0].previous_hash
            for entry in entries[sequence - 1 :]:
                forged = dataclasses.replace(
                    entry,
                    reason=reason if entry.sequence == sequence else entry.reason,
                    previous_hash=previous,
                    hash="",
                )
                forged = dataclasses.replace(
                    forged, hash=chain_hash(encoder.change_record(forged), previous)
                )
                await connection.execute(
                    text(
                        "UPDATE history_entries SET reason = :reason, previous_hash = :previous,"
                        " hash = :hash WHERE sequence = :sequence"
                    ),
                    {
                        "reason": forged.reason,
                        "previous": forged.previous_hash,
                        "hash": forged.hash,
                        "sequence": forged.sequence,
                    },
                )
                previous = forged.hash
    finally:
        await database.dispose()


async def test_an_approval_is_checkpointed_and_the_untouched_history_verifies_anchored(
    anchored: Anchored,
) -> None:
    head = await _approve_one(anchored.criteria)

    await anchored.until_checkpointed(head)
    verification = await _verify(anchored.criteria)

    assert verification.intact
    assert not verification.rewritten
    assert verification.anchor_state == _ANCHORED
    assert verification.checkpoint_sequence == head
    assert verification.checkpoint_head_hash == verification.head_hash


async def test_a_consistent_rewrite_of_the_database_is_reported_as_a_rewrite(
    anchored: Anchored, database_url: str
) -> None:
    head = await _approve_one(anchored.criteria)
    await anchored.until_checkpointed(head)

    await _rewrite_consistently(database_url, 2, "nothing to see here")
    verification = await _verify(anchored.criteria)

    assert verification.rewritten
    assert not verification.intact
    assert verification.anchor_state == history_pb2.HISTORY_ANCHOR_STATE_REWRITTEN
    assert verification.first_invalid_sequence == head
    assert verification.entries_verified == head
    assert "rewritten" in verification.problem


async def test_changes_between_approvals_are_checkpointed_periodically(
    make_settings: object,
    start_criteria: StartCriteria,
    peer_services: PeerServices,
    test_keys: SigningKeys,
    tmp_path: Path,
) -> None:
    async with _anchored(
        make_settings,
        start_criteria,
        peer_services,
        test_keys,
        tmp_path,
        checkpoint_interval=timedelta(seconds=0.2),
    ) as anchored:
        await anchored.criteria.create_profile()

        await anchored.until_checkpointed(1)

        assert (await _verify(anchored.criteria)).anchor_state == _ANCHORED


async def test_the_oversight_report_prints_the_latest_checkpoint(anchored: Anchored) -> None:
    head = await _approve_one(anchored.criteria)
    await anchored.until_checkpointed(head)
    now = datetime.now(UTC)

    exported = await anchored.criteria.call(
        "ExportOversightReport",
        pb.ExportOversightReportRequest(
            format=oversight_report_pb2.REPORT_FORMAT_TEXT,
            start_time=timestamp(now - timedelta(days=1)),
            end_time=timestamp(now + timedelta(days=1)),
        ),
        AUDITOR,
    )

    body = exported.content.decode("utf-8")
    verification = await _verify(anchored.criteria)
    assert (
        f"Checkpoint: sequence {head}, head hash {verification.checkpoint_head_hash}, signed"
        in body
    )
    assert "kept by audit-referral: the history agrees with it" in body


async def test_without_a_signing_key_the_history_says_it_is_not_anchored(
    criteria: Criteria,
) -> None:
    await criteria.create_profile()

    verification = await _verify(criteria)

    assert verification.intact
    assert verification.anchor_state == history_pb2.HISTORY_ANCHOR_STATE_UNANCHORED
