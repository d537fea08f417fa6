"""audit_referral keeps other services' signed history checkpoints: genuine ones only, for good."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from audit_referral_requests import Callers, PeerSink, timestamp
from customs.audit_referral.v1 import audit_referral_service_pb2 as pb
from customs.audit_referral.v1 import audit_referral_service_pb2_grpc as pb_grpc
from customs.audit_referral.v1 import history_checkpoint_pb2
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from audit_referral.entrypoints.options import AuditReferralOptions
from audit_referral.entrypoints.server import bootstrap
from customs_kit.auth import Role, generate_key_pair
from customs_kit.checkpoints import Checkpoint, CheckpointSigner
from customs_kit.db import Database
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import running_service

_HEAD = "ab" * 32


@dataclass(frozen=True)
class Keeper:
    stub: pb_grpc.AuditReferralServiceStub
    signer: CheckpointSigner
    callers: Callers

    async def record(self, checkpoint: Checkpoint) -> pb.RecordHistoryCheckpointResponse:
        response: pb.RecordHistoryCheckpointResponse = await self.stub.RecordHistoryCheckpoint(
            pb.RecordHistoryCheckpointRequest(history_checkpoint=_message(checkpoint)),
            metadata=self.callers(Role.SERVICE, "criteria"),
        )
        return response

    async def latest(self) -> history_checkpoint_pb2.HistoryCheckpoint:
        response = await self.stub.GetLatestHistoryCheckpoint(
            pb.GetLatestHistoryCheckpointRequest(source="criteria"), metadata=self.callers.auditor
        )
        checkpoint: history_checkpoint_pb2.HistoryCheckpoint = response.history_checkpoint
        return checkpoint


def _message(checkpoint: Checkpoint) -> history_checkpoint_pb2.HistoryCheckpoint:
    return history_checkpoint_pb2.HistoryCheckpoint(
        source=checkpoint.source,
        sequence=checkpoint.sequence,
        head_hash=checkpoint.head_hash,
        sign_time=timestamp(checkpoint.sign_time),
        signature=checkpoint.signature,
    )


def _reason(error: grpc.aio.AioRpcError) -> str:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)  # type: ignore[arg-type]
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info.reason
    return ""


@pytest.fixture
async def keeper(
    make_settings: Callable[..., ServiceSettings],
    database_url: str,
    peers: PeerSink,
    callers: Callers,
) -> AsyncIterator[Keeper]:
    signer = CheckpointSigner.from_pem("criteria", generate_key_pair()[0])
    address = f"127.0.0.1:{peers.port}"
    settings = make_settings(
        "audit-referral",
        database_url,
        {"compliance": address, "criteria": address, "scoring": address},
    )
    options = AuditReferralOptions(checkpoint_keys={"criteria": signer.public_key})
    async with running_service(settings, lambda s: bootstrap(s, options)) as running:
        yield Keeper(pb_grpc.AuditReferralServiceStub(running.channel), signer, callers)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_genuine_checkpoint_is_kept_once_and_is_the_latest(keeper: Keeper) -> None:
    first = await keeper.record(keeper.signer.sign(3, _HEAD, _now()))
    again = await keeper.record(keeper.signer.sign(3, _HEAD, _now()))
    await keeper.record(keeper.signer.sign(2, "cd" * 32, _now()))

    assert not first.duplicate
    assert again.duplicate
    assert again.history_checkpoint == first.history_checkpoint
    latest = await keeper.latest()
    assert (latest.sequence, latest.head_hash) == (3, _HEAD)


async def test_a_forged_checkpoint_is_refused_and_not_kept(keeper: Keeper) -> None:
    await keeper.record(keeper.signer.sign(3, _HEAD, _now()))
    forger = CheckpointSigner.from_pem("criteria", generate_key_pair()[0])

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keeper.record(forger.sign(9, "ef" * 32, _now()))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _reason(refused.value) == "CHECKPOINT_SIGNATURE_INVALID"
    assert (await keeper.latest()).sequence == 3


async def test_a_second_head_for_a_kept_sequence_is_a_conflict(keeper: Keeper) -> None:
    await keeper.record(keeper.signer.sign(3, _HEAD, _now()))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keeper.record(keeper.signer.sign(3, "cd" * 32, _now()))

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert _reason(refused.value) == "CHECKPOINT_CONFLICT"
    assert (await keeper.latest()).head_hash == _HEAD


async def test_a_source_without_a_configured_key_is_refused(keeper: Keeper) -> None:
    stranger = CheckpointSigner.from_pem("exam-reports", generate_key_pair()[0])

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keeper.record(stranger.sign(1, _HEAD, _now()))

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert _reason(refused.value) == "CHECKPOINT_SOURCE_UNKNOWN"


async def test_no_checkpoint_kept_is_not_found(keeper: Keeper) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await keeper.latest()

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_only_services_record_checkpoints(keeper: Keeper) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keeper.stub.RecordHistoryCheckpoint(
            pb.RecordHistoryCheckpointRequest(
                history_checkpoint=_message(keeper.signer.sign(1, _HEAD, _now()))
            ),
            metadata=keeper.callers.auditor,
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_database_refuses_to_change_or_remove_a_kept_checkpoint(
    keeper: Keeper, database_url: str
) -> None:
    await keeper.record(keeper.signer.sign(3, _HEAD, _now()))
    database = Database(database_url)
    try:
        for statement in (
            "UPDATE history_checkpoints SET head_hash = 'x' WHERE sequence = 3",
            "DELETE FROM history_checkpoints",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with database.engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await database.dispose()
