"""Anchoring a service's hash chain at a keeper: publishing checkpoints, checking against them.

A service whose history is a :mod:`customs_kit.hash_chain` signs its head
(:mod:`customs_kit.checkpoints`) on every approval, in the approval's own
transaction, and periodically in the background, and writes the checkpoint
to its outbox for audit_referral's ``RecordHistoryCheckpoint``: the relay
delivers it at least once, and the keeper is idempotent by (source,
sequence). Verifying the chain asks the keeper for its latest checkpoint and
compares the chain with it, so a consistent rewrite shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

import grpc
import structlog
from customs.audit_referral.v1 import audit_referral_service_pb2 as keeper_pb2
from customs.audit_referral.v1 import history_checkpoint_pb2
from google.protobuf import timestamp_pb2

from customs_kit.background import PeriodicTask
from customs_kit.checkpoints import (
    AnchorCheck,
    AnchorState,
    Checkpoint,
    CheckpointSigner,
    check_anchor,
)
from customs_kit.db import utcnow

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database
    from customs_kit.hash_chain import Verification
    from customs_kit.outbox import OutboxWriter

_log = structlog.get_logger(__name__)

#: The service that keeps the checkpoints (an outbox destination of every anchored service).
KEEPER = "audit-referral"
_SERVICE = "/customs.audit_referral.v1.AuditReferralService"
_RECORD = f"{_SERVICE}/RecordHistoryCheckpoint"
_LATEST = f"{_SERVICE}/GetLatestHistoryCheckpoint"
_KEEPER_TIMEOUT_SECONDS = 10.0

#: Call metadata that authenticates this service to the keeper (``Peers.metadata``).
MetadataProvider = Callable[[], Sequence[tuple[str, str]]]
#: The chain's head (sequence, hash) read in a session, None while the chain is empty.
HeadReader = Callable[["AsyncSession"], Awaitable["tuple[int, str] | None"]]


class KeeperUnavailable(Exception):
    """The keeper could not be asked for its latest checkpoint."""


def _timestamp(checkpoint: Checkpoint) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(checkpoint.sign_time.astimezone(UTC))
    return stamp


def _checkpoint_of(message: history_checkpoint_pb2.HistoryCheckpoint) -> Checkpoint:
    return Checkpoint(
        source=message.source,
        sequence=message.sequence,
        head_hash=message.head_hash,
        sign_time=message.sign_time.ToDatetime(tzinfo=UTC),
        signature=message.signature,
    )


@dataclass(frozen=True)
class HistoryAnchor:
    """One service's chain anchored at the keeper: its signer and a channel to the keeper."""

    signer: CheckpointSigner
    keeper: grpc.aio.Channel
    metadata: MetadataProvider

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The key the service's own checkpoints verify with."""
        return self.signer.public_key

    def publish(self, outbox: OutboxWriter, sequence: int, head_hash: str) -> Checkpoint:
        """Signs the head and adds it to ``outbox`` (the caller's transaction) for the keeper."""
        checkpoint = self.signer.sign(sequence, head_hash, utcnow())
        request = keeper_pb2.RecordHistoryCheckpointRequest(
            history_checkpoint=history_checkpoint_pb2.HistoryCheckpoint(
                source=checkpoint.source,
                sequence=checkpoint.sequence,
                head_hash=checkpoint.head_hash,
                sign_time=_timestamp(checkpoint),
                signature=checkpoint.signature,
            )
        )
        outbox.add(
            KEEPER,
            _RECORD,
            request.SerializeToString(),
            str(uuid.uuid4()),
            resource=f"historyCheckpoints/{checkpoint.source}/{checkpoint.sequence}",
        )
        return checkpoint

    async def latest(self) -> Checkpoint | None:
        """The keeper's latest checkpoint of this chain; None if it keeps none."""
        call = self.keeper.unary_unary(
            _LATEST,
            request_serializer=keeper_pb2.GetLatestHistoryCheckpointRequest.SerializeToString,
            response_deserializer=keeper_pb2.GetLatestHistoryCheckpointResponse.FromString,
        )
        try:
            response = await call(
                keeper_pb2.GetLatestHistoryCheckpointRequest(source=self.signer.source),
                metadata=self.metadata(),
                timeout=_KEEPER_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise KeeperUnavailable(f"{error.code().name}: {error.details()}") from error
        return _checkpoint_of(response.history_checkpoint)


async def verify_anchored(
    anchor: HistoryAnchor | None, verify: Callable[[int], Awaitable[Verification]]
) -> AnchorCheck:
    """Verifies the chain (``verify(anchor_sequence)``) against the keeper's latest checkpoint.

    Without an anchor (no signing key configured) or a reachable keeper the
    chain is verified on its own, and the state says so.
    """
    if anchor is None:
        return AnchorCheck(AnchorState.UNANCHORED, None, await verify(0))
    try:
        checkpoint = await anchor.latest()
    except KeeperUnavailable as error:
        _log.warning("history_keeper_unavailable", error=str(error))
        return AnchorCheck(AnchorState.KEEPER_UNAVAILABLE, None, await verify(0))
    verification = await verify(checkpoint.sequence if checkpoint else 0)
    checked = check_anchor(verification, checkpoint, anchor.public_key)
    if checked.state is not AnchorState.ANCHORED and checked.state is not AnchorState.NO_CHECKPOINT:
        _log.error(
            "history_not_anchored",
            state=checked.state.value,
            problem=checked.verification.problem,
            checkpoint_sequence=checkpoint.sequence if checkpoint else 0,
        )
    return checked


class CheckpointPublisher(PeriodicTask):
    """Signs and sends the chain's head every ``interval`` seconds when it moved.

    Between approvals (which publish in their own transaction) the other
    changes are anchored at most ``interval`` seconds late. The first run
    after a start publishes the head whatever was sent before: a repeat is
    idempotent at the keeper.
    """

    def __init__(
        self, database: Database, anchor: HistoryAnchor, head: HeadReader, interval: float
    ) -> None:
        super().__init__("history checkpoints", interval, self.publish_once)
        self._database = database
        self._anchor = anchor
        self._head = head
        self._published = 0

    async def publish_once(self) -> Checkpoint | None:
        """Publishes the head if it moved since the last run; the checkpoint, if any."""
        async with self._database.unit_of_work() as uow:
            head = await self._head(uow.session)
            if head is None or head[0] <= self._published:
                return None
            checkpoint = self._anchor.publish(uow.outbox, *head)
            await uow.commit()
        self._published = checkpoint.sequence
        _log.info(
            "history_checkpoint_published",
            source=checkpoint.source,
            sequence=checkpoint.sequence,
            head_hash=checkpoint.head_hash,
        )
        return checkpoint
