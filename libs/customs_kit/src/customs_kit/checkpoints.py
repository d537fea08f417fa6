"""Signed checkpoints of a hash chain's head, kept outside the chain's database.

A hash chain (:mod:`customs_kit.hash_chain`) catches an edited link, but
whoever can write its table can also recompute every later hash and leave a
consistent, rewritten chain. A checkpoint closes that gap: the service signs
(source, sequence, head hash, time) with an Ed25519 key it reads from a
mounted secret file (never from its database) and sends it, through its
outbox, to a keeper service (audit_referral) that stores it append-only after
checking the signature against the source's public key. Verifying the chain
then also compares the stored link at the latest checkpoint's sequence with the
signed head: a rewrite shows as a mismatch however consistent the hashes are,
unless the rewriter also holds the signing key.

The signed message is a fixed text encoding, so that anyone with the public
key can check a checkpoint without this code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from customs_kit.hash_chain import Verification
from customs_kit.settings import SettingsError

_DOMAIN = b"customs-history-checkpoint/v1"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that chain ``source`` had ``head_hash`` at ``sequence``."""

    source: str
    sequence: int
    head_hash: str
    sign_time: datetime
    signature: bytes


def signed_message(source: str, sequence: int, head_hash: str, sign_time: datetime) -> bytes:
    """The bytes a checkpoint's signature covers (UTC time to the microsecond)."""
    moment = sign_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return b"\n".join(
        [_DOMAIN, source.encode(), str(sequence).encode(), head_hash.encode(), moment.encode()]
    )


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """Whether ``checkpoint`` was signed by the private half of ``public_key``."""
    message = signed_message(
        checkpoint.source, checkpoint.sequence, checkpoint.head_hash, checkpoint.sign_time
    )
    try:
        public_key.verify(checkpoint.signature, message)
    except InvalidSignature:
        return False
    return True


class CheckpointSigner:
    """Signs checkpoints of one source's chain with its private key."""

    def __init__(self, source: str, private_key: Ed25519PrivateKey) -> None:
        self.source = source
        self._private_key = private_key

    @classmethod
    def from_pem(cls, source: str, pem: bytes) -> CheckpointSigner:
        """A signer from a PKCS#8 PEM Ed25519 private key; ``SettingsError`` if it is not one."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as error:
            raise SettingsError(
                f"{source}: the history signing key is unreadable: {error}"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SettingsError(f"{source}: the history signing key must be an Ed25519 key")
        return cls(source, key)

    @classmethod
    def from_file(cls, source: str, path: str | Path) -> CheckpointSigner:
        """A signer from a mounted secret file (``HISTORY_SIGNING_KEY_FILE``)."""
        try:
            pem = Path(path).read_bytes()
        except OSError as error:
            raise SettingsError(
                f"{source}: cannot read HISTORY_SIGNING_KEY_FILE: {error}"
            ) from None
        return cls.from_pem(source, pem)

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The key that verifies this signer's checkpoints."""
        return self._private_key.public_key()

    def sign(self, sequence: int, head_hash: str, sign_time: datetime) -> Checkpoint:
        """The checkpoint of the chain's link ``sequence`` whose hash is ``head_hash``."""
        message = signed_message(self.source, sequence, head_hash, sign_time)
        return Checkpoint(
            self.source, sequence, head_hash, sign_time, self._private_key.sign(message)
        )


def public_key_from_pem(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key (SubjectPublicKeyInfo PEM); ``SettingsError`` if it is not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as error:
        raise SettingsError(f"a history checkpoint key is unreadable: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SettingsError("a history checkpoint key must be an Ed25519 public key")
    return key


def public_keys_from_setting(value: str) -> dict[str, Ed25519PublicKey]:
    """The keys of ``HISTORY_CHECKPOINT_KEY_FILES``: ``source=path[,source=path...]``."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        source, separator, path = item.partition("=")
        if not separator or not source or not path:
            raise SettingsError(
                f"HISTORY_CHECKPOINT_KEY_FILES: {item!r} is not source=path to a public key"
            )
        try:
            keys[source] = public_key_from_pem(Path(path).read_bytes())
        except OSError as error:
            raise SettingsError(f"HISTORY_CHECKPOINT_KEY_FILES: {error}") from None
    return keys


class AnchorState(enum.Enum):
    """How the chain compares with the latest checkpoint its keeper holds."""

    #: The stored chain hashes, at the checkpoint's sequence, to the signed head.
    ANCHORED = "ANCHORED"
    #: The chain verifies on its own but not against the signed head: it was rewritten.
    REWRITTEN = "REWRITTEN"
    #: The keeper holds no checkpoint of this chain yet.
    NO_CHECKPOINT = "NO_CHECKPOINT"
    #: The keeper could not be asked; the chain is verified on its own only.
    KEEPER_UNAVAILABLE = "KEEPER_UNAVAILABLE"
    #: The keeper's latest checkpoint does not carry this service's signature.
    CHECKPOINT_INVALID = "CHECKPOINT_INVALID"
    #: The chain is broken before the checkpoint could be compared.
    CHAIN_BROKEN = "CHAIN_BROKEN"
    #: No signing key is configured: no checkpoints, the chain is verified on its own.
    UNANCHORED = "UNANCHORED"


@dataclass(frozen=True)
class AnchorCheck:
    """The chain's verification against a checkpoint (``checkpoint`` None: none compared)."""

    state: AnchorState
    checkpoint: Checkpoint | None
    verification: Verification


def check_anchor(
    verification: Verification, checkpoint: Checkpoint | None, public_key: Ed25519PublicKey
) -> AnchorCheck:
    """Compares a chain verified with ``anchor_sequence=checkpoint.sequence`` with the checkpoint.

    A rewrite turns the verification not intact, naming the checkpoint's
    sequence: the stored link there no longer hashes to what was signed.
    """
    if checkpoint is None:
        return AnchorCheck(AnchorState.NO_CHECKPOINT, None, verification)
    if not signature_valid(checkpoint, public_key):
        return AnchorCheck(AnchorState.CHECKPOINT_INVALID, checkpoint, verification)
    if not verification.intact:
        return AnchorCheck(AnchorState.CHAIN_BROKEN, checkpoint, verification)
    if verification.hash_at_anchor == checkpoint.head_hash:
        return AnchorCheck(AnchorState.ANCHORED, checkpoint, verification)
    if verification.hash_at_anchor:
        problem = (
            f"rewritten: entry {checkpoint.sequence} no longer hashes to the head signed "
            f"in the checkpoint of {checkpoint.sign_time.isoformat()}"
        )
    else:
        problem = (
            f"rewritten: the chain has {verification.entries_verified} entries, the "
            f"checkpoint signed {checkpoint.sequence}"
        )
    rewritten = Verification(
        intact=False,
        entries_verified=verification.entries_verified,
        first_invalid_sequence=checkpoint.sequence,
        first_invalid_resource="",
        problem=problem,
        head_hash=verification.head_hash,
        hash_at_anchor=verification.hash_at_anchor,
    )
    return AnchorCheck(AnchorState.REWRITTEN, checkpoint, rewritten)
