"""The append-only, hash-chained history of every change to profiles, criteria and lists.

The entries form a :mod:`customs_kit.hash_chain`: each entry's hash is SHA-256
over its canonical encoding (every field but the hash itself) followed by the
previous entry's hash, so altering, removing or reordering a stored entry
breaks the chain from that entry on, and signed checkpoints of its head kept by
audit_referral catch a consistent rewrite. The canonical encoding is the
contract's (deterministic protobuf), supplied by the caller so that anyone
holding the entries can recompute the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from criteria.domain.model import Actor
from customs_kit.hash_chain import GENESIS_HASH, chain_hash


class ChangeKind(Enum):
    """The kind of a recorded change; values are the contract's enum names."""

    CREATED = "CHANGE_KIND_CREATED"
    UPDATED = "CHANGE_KIND_UPDATED"
    SUBMITTED = "CHANGE_KIND_SUBMITTED"
    APPROVED = "CHANGE_KIND_APPROVED"
    REJECTED = "CHANGE_KIND_REJECTED"
    SUSPENDED = "CHANGE_KIND_SUSPENDED"
    REACTIVATED = "CHANGE_KIND_REACTIVATED"
    RETIRED = "CHANGE_KIND_RETIRED"
    EXPIRED = "CHANGE_KIND_EXPIRED"
    DELETED = "CHANGE_KIND_DELETED"


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its path and its old and new values ("" when unset)."""

    path: str
    old_value: str
    new_value: str


@dataclass(frozen=True)
class ChangeDraft:
    """A change about to be recorded: everything but its place in the chain."""

    resource: str
    kind: ChangeKind
    actor: Actor
    change_time: datetime
    reason: str
    field_changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class HistoryEntry:
    """A recorded change, linked into the chain."""

    sequence: int
    resource: str
    kind: ChangeKind
    actor: str
    actor_roles: tuple[str, ...]
    change_time: datetime
    reason: str
    field_changes: tuple[FieldChange, ...]
    previous_hash: str
    hash: str


#: The canonical encoding of an entry (its ``hash`` is ignored).
Encoding = Callable[[HistoryEntry], bytes]


def differences(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[FieldChange, ...]:
    """The fields whose values differ between two flat views, by path."""
    return tuple(
        FieldChange(path, before.get(path, ""), after.get(path, ""))
        for path in sorted(before.keys() | after.keys())
        if before.get(path, "") != after.get(path, "")
    )


def link(draft: ChangeDraft, head: HistoryEntry | None, encode: Encoding) -> HistoryEntry:
    """``draft`` as the entry that follows ``head`` (``None`` for the first one), sealed."""
    unsealed = HistoryEntry(
        sequence=1 if head is None else head.sequence + 1,
        resource=draft.resource,
        kind=draft.kind,
        actor=draft.actor.subject,
        actor_roles=tuple(sorted(draft.actor.roles)),
        change_time=draft.change_time,
        reason=draft.reason,
        field_changes=draft.field_changes,
        previous_hash=GENESIS_HASH if head is None else head.hash,
        hash="",
    )
    return replace(unsealed, hash=chain_hash(encode(unsealed), unsealed.previous_hash))


def resource_of(entry: HistoryEntry) -> str:
    """What an entry is about, named when the chain breaks there."""
    return entry.resource
