"""Recording supervisors' decisions in the anchored log, and verifying it.

A decision is appended in the transaction that makes it, and the log's new
head is signed and sent to audit_referral in that same transaction, so every
decision is anchored outside this database the moment it commits.
"""

from __future__ import annotations

from datetime import datetime

from customs_kit.anchoring import HistoryAnchor, verify_anchored
from customs_kit.checkpoints import AnchorCheck
from customs_kit.db import Database
from customs_kit.hash_chain import ChainVerifier, Verification
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.decision_log import DecisionLog
from exam_reports.domain.decision_log import DecisionKind, encode, link, resource_of

_VERIFY_BATCH = 1_000


async def record_decision(
    uow: UnitOfWork,
    anchor: HistoryAnchor | None,
    *,
    resource: str,
    kind: DecisionKind,
    actor: str,
    decide_time: datetime,
    detail: dict[str, str],
) -> None:
    """Appends the decision to the log and checkpoints the new head (with a signing key)."""
    log = DecisionLog(uow.session)
    await log.lock()
    decision = link(resource, kind, actor, decide_time, detail, await log.head())
    await log.add(decision)
    if anchor is not None:
        anchor.publish(uow.outbox, decision.sequence, decision.hash)


async def verify_decision_log(database: Database, anchor: HistoryAnchor | None) -> AnchorCheck:
    """Recomputes the log's chain and compares it with the latest checkpoint kept."""

    async def verify(anchor_sequence: int) -> Verification:
        verifier = ChainVerifier(encode, resource_of, anchor_sequence=anchor_sequence)
        after = 0
        while True:
            async with database.unit_of_work(read_only=True) as uow:
                batch = await DecisionLog(uow.session).after(after, _VERIFY_BATCH)
            for entry in batch:
                if not verifier.check(entry):
                    return verifier.result()
            if len(batch) < _VERIFY_BATCH:
                return verifier.result()
            after = batch[-1].sequence

    return await verify_anchored(anchor, verify)
