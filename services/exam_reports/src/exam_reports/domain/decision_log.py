"""The append-only, hash-chained log of supervisors' decisions: overrides and report approvals.

Step 19 of the handbook asks that overrides and sign-offs can be audited; the
log is a :mod:`customs_kit.hash_chain` whose head is signed and kept by
audit_referral (:mod:`customs_kit.anchoring`), so neither an edited decision
nor a consistent rewrite of the log by whoever holds the database goes unseen.
The canonical encoding is compact JSON with sorted keys of every field but the
hash, so that anyone holding the entries can recompute the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

from customs_kit.hash_chain import GENESIS_HASH, chain_hash


class DecisionKind(Enum):
    """What a supervisor decided."""

    OVERRIDE_APPROVED = "OVERRIDE_APPROVED"
    OVERRIDE_REJECTED = "OVERRIDE_REJECTED"
    REPORT_APPROVED = "REPORT_APPROVED"


@dataclass(frozen=True)
class Decision:
    """One entry of the log: who decided what about which resource, and when."""

    sequence: int
    resource: str
    kind: DecisionKind
    actor: str
    decide_time: datetime
    detail: tuple[tuple[str, str], ...]
    previous_hash: str
    hash: str


def encode(decision: Decision) -> bytes:
    """The canonical encoding of an entry (its ``hash`` is ignored)."""
    return json.dumps(
        {
            "sequence": decision.sequence,
            "resource": decision.resource,
            "kind": decision.kind.value,
            "actor": decision.actor,
            "decide_time": decision.decide_time.astimezone(UTC).isoformat(),
            "detail": [list(pair) for pair in decision.detail],
            "previous_hash": decision.previous_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def link(
    resource: str,
    kind: DecisionKind,
    actor: str,
    decide_time: datetime,
    detail: dict[str, str],
    head: Decision | None,
) -> Decision:
    """The decision as the entry that follows ``head`` (``None`` for the first one), sealed."""
    unsealed = Decision(
        sequence=1 if head is None else head.sequence + 1,
        resource=resource,
        kind=kind,
        actor=actor,
        decide_time=decide_time,
        detail=tuple(sorted(detail.items())),
        previous_hash=GENESIS_HASH if head is None else head.hash,
        hash="",
    )
    return replace(unsealed, hash=chain_hash(encode(unsealed), unsealed.previous_hash))


def resource_of(decision: Decision) -> str:
    """What an entry is about, named when the chain breaks there."""
    return decision.resource
