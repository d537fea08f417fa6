"""The append-only, hash-chained history of every change to profiles, criteria and lists.

Each entry's hash is SHA-256 over its canonical encoding (every field but the
hash itself) followed by the previous entry's hash, so altering, removing or
reordering a stored entry breaks the chain from that entry on. The canonical
encoding is the contract's (deterministic protobuf), supplied by the caller so
that anyone holding the entries can recompute the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from criteria.domain.model import Actor

#: The previous hash of the first entry.
GENESIS_HASH = "0" * 64


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


def chain_hash(canonical: bytes, previous_hash: str) -> str:
    """The hash of an entry whose canonical encoding is ``canonical``."""
    return hashlib.sha256(canonical + previous_hash.encode("ascii")).hexdigest()


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


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain; the ``first_invalid_*`` fields are empty when intact."""

    intact: bool
    entries_verified: int
    first_invalid_sequence: int
    first_invalid_resource: str
    problem: str
    head_hash: str


class ChainVerifier:
    """Recomputes the chain entry by entry (in sequence order) and keeps the first break.

    Incremental so that a long history can be checked in batches.
    """

    def __init__(self, encode: Encoding) -> None:
        self._encode = encode
        self._expected_sequence = 1
        self._previous_hash = GENESIS_HASH
        self._verified = 0
        self._failure: Verification | None = None

    def check(self, entry: HistoryEntry) -> bool:
        """Checks the next entry; returns False (and stops checking) at the first break."""
        if self._failure is not None:
            return False
        self._verified += 1
        problem = ""
        if entry.sequence != self._expected_sequence:
            problem = f"sequence {self._expected_sequence} is missing or out of order"
        elif entry.previous_hash != self._previous_hash:
            problem = "broken link: previous_hash is not the hash of the entry before"
        elif chain_hash(self._encode(entry), entry.previous_hash) != entry.hash:
            problem = "hash mismatch: the entry was altered"
        if problem:
            self._failure = Verification(
                False, self._verified, entry.sequence, entry.resource, problem, ""
            )
            return False
        self._expected_sequence += 1
        self._previous_hash = entry.hash
        return True

    def result(self) -> Verification:
        """The outcome over every entry checked so far."""
        if self._failure is not None:
            return self._failure
        head = self._previous_hash if self._verified else ""
        return Verification(True, self._verified, 0, "", "", head)
