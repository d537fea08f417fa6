"""An append-only hash chain: each link's hash covers its content and the previous hash.

A link's hash is SHA-256 over its canonical encoding (every field but the hash
itself, supplied by the caller, normally the contract's deterministic
protobuf) followed by the previous link's hash, so altering, removing or
reordering a stored link breaks the chain from that link on. What the chain
alone cannot show is a consistent rewrite by whoever can write the table
(every later hash recomputed): signed checkpoints of the head, kept by another
service, catch that (:mod:`customs_kit.checkpoints`).

Criteria's history and exam_reports' decision log are such chains.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

#: The previous hash of the first link.
GENESIS_HASH = "0" * 64


class ChainLink(Protocol):
    """What the verifier reads of a link: its place and its hashes."""

    @property
    def sequence(self) -> int:
        """1 for the first link, then one more per link."""

    @property
    def previous_hash(self) -> str:
        """The hash of the link before (:data:`GENESIS_HASH` for the first)."""

    @property
    def hash(self) -> str:
        """This link's hash."""


_L = TypeVar("_L", bound=ChainLink)


def chain_hash(canonical: bytes, previous_hash: str) -> str:
    """The hash of a link whose canonical encoding is ``canonical``."""
    return hashlib.sha256(canonical + previous_hash.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Verification:
    """The result of checking a chain; the ``first_invalid_*`` fields are empty when intact.

    ``hash_at_anchor`` is the verified hash of the link at the sequence asked
    for (a checkpoint's), empty if the chain is broken before it or too short.
    """

    intact: bool
    entries_verified: int
    first_invalid_sequence: int
    first_invalid_resource: str
    problem: str
    head_hash: str
    hash_at_anchor: str = ""


class ChainVerifier(Generic[_L]):
    """Recomputes a chain link by link (in sequence order) and keeps the first break.

    Incremental so that a long chain can be checked in batches. ``resource_of``
    names what a broken link was about, for the report. ``anchor_sequence`` is a
    sequence whose verified hash the result carries (a checkpoint's).
    """

    def __init__(
        self,
        encode: Callable[[_L], bytes],
        resource_of: Callable[[_L], str],
        *,
        anchor_sequence: int = 0,
    ) -> None:
        self._encode = encode
        self._resource_of = resource_of
        self._anchor_sequence = anchor_sequence
        self._hash_at_anchor = ""
        self._expected_sequence = 1
        self._previous_hash = GENESIS_HASH
        self._verified = 0
        self._failure: Verification | None = None

    def check(self, link: _L) -> bool:
        """Checks the next link; returns False (and stops checking) at the first break."""
        if self._failure is not None:
            return False
        self._verified += 1
        problem = ""
        if link.sequence != self._expected_sequence:
            problem = f"sequence {self._expected_sequence} is missing or out of order"
        elif link.previous_hash != self._previous_hash:
            problem = "broken link: previous_hash is not the hash of the entry before"
        elif chain_hash(self._encode(link), link.previous_hash) != link.hash:
            problem = "hash mismatch: the entry was altered"
        if problem:
            self._failure = Verification(
                False, self._verified, link.sequence, self._resource_of(link), problem, ""
            )
            return False
        if link.sequence == self._anchor_sequence:
            self._hash_at_anchor = link.hash
        self._expected_sequence += 1
        self._previous_hash = link.hash
        return True

    def result(self) -> Verification:
        """The outcome over every link checked so far."""
        if self._failure is not None:
            return self._failure
        head = self._previous_hash if self._verified else ""
        return Verification(True, self._verified, 0, "", "", head, self._hash_at_anchor)
