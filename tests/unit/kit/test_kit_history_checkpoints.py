"""Signed checkpoints of a hash chain's head, and a chain compared with them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customs_kit.auth import generate_key_pair
from customs_kit.checkpoints import (
    AnchorState,
    CheckpointSigner,
    check_anchor,
    public_keys_from_setting,
    signature_valid,
    signed_message,
)
from customs_kit.hash_chain import GENESIS_HASH, ChainVerifier, Verification, chain_hash
from customs_kit.settings import SettingsError

_WHEN = datetime(2026, 12, 8, 4, 30, 0, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class _Link:
    sequence: int
    body: str
    previous_hash: str
    hash: str


def _encode(link: _Link) -> bytes:
    return f"{link.sequence}:{link.body}".encode()


def _chain(*bodies: str) -> list[_Link]:
    links: list[_Link] = []
    previous = GENESIS_HASH
    for number, body in enumerate(bodies, start=1):
        unsealed = _Link(number, body, previous, "")
        links.append(replace(unsealed, hash=chain_hash(_encode(unsealed), previous)))
        previous = links[-1].hash
    return links


def _verify(links: list[_Link], anchor_sequence: int) -> Verification:
    verifier = ChainVerifier(_encode, lambda link: link.body, anchor_sequence=anchor_sequence)
    for link in links:
        if not verifier.check(link):
            break
    return verifier.result()


def _signer() -> CheckpointSigner:
    return CheckpointSigner.from_pem("criteria", generate_key_pair()[0])


def test_the_signed_message_is_the_documented_text() -> None:
    assert signed_message("criteria", 12, "ab" * 32, _WHEN) == (
        b"customs-history-checkpoint/v1\ncriteria\n12\n" + b"ab" * 32 + b"\n"
        b"2026-12-08T04:30:00.123456Z"
    )


def test_a_checkpoint_verifies_with_its_key_only_and_only_as_signed() -> None:
    signer, other = _signer(), _signer()
    checkpoint = signer.sign(4, "ab" * 32, _WHEN)

    assert signature_valid(checkpoint, signer.public_key)
    assert not signature_valid(checkpoint, other.public_key)
    assert not signature_valid(replace(checkpoint, head_hash="cd" * 32), signer.public_key)
    assert not signature_valid(replace(checkpoint, sequence=5), signer.public_key)


def test_a_chain_that_agrees_with_its_checkpoint_is_anchored() -> None:
    signer = _signer()
    links = _chain("a", "b", "c", "d")
    checkpoint = signer.sign(3, links[2].hash, _WHEN)

    checked = check_anchor(_verify(links, 3), checkpoint, signer.public_key)

    assert checked.state is AnchorState.ANCHORED
    assert checked.verification.intact


def test_a_consistently_rewritten_chain_verifies_alone_but_not_against_its_checkpoint() -> None:
    signer = _signer()
    checkpoint = signer.sign(3, _chain("a", "b", "c", "d")[2].hash, _WHEN)
    rewritten = _chain("a", "B", "c", "d")

    alone = _verify(rewritten, 3)
    checked = check_anchor(alone, checkpoint, signer.public_key)

    assert alone.intact
    assert checked.state is AnchorState.REWRITTEN
    assert not checked.verification.intact
    assert checked.verification.first_invalid_sequence == 3


def test_a_chain_cut_short_below_its_checkpoint_is_rewritten() -> None:
    signer = _signer()
    links = _chain("a", "b", "c", "d")
    checkpoint = signer.sign(4, links[3].hash, _WHEN)

    checked = check_anchor(_verify(links[:3], 4), checkpoint, signer.public_key)

    assert checked.state is AnchorState.REWRITTEN
    assert "has 3 entries" in checked.verification.problem


def test_a_checkpoint_signed_by_another_key_is_invalid() -> None:
    links = _chain("a", "b")
    forged = _signer().sign(2, links[1].hash, _WHEN)

    checked = check_anchor(_verify(links, 2), forged, _signer().public_key)

    assert checked.state is AnchorState.CHECKPOINT_INVALID


def test_without_a_checkpoint_the_chain_is_verified_on_its_own() -> None:
    checked = check_anchor(_verify(_chain("a"), 0), None, _signer().public_key)

    assert checked.state is AnchorState.NO_CHECKPOINT
    assert checked.verification.intact


def test_the_keeper_reads_one_public_key_per_source(tmp_path: Path) -> None:
    signer = _signer()
    _, public_pem = generate_key_pair()
    (tmp_path / "other.pem").write_bytes(public_pem)

    with pytest.raises(SettingsError, match="source=path"):
        public_keys_from_setting("criteria")
    with pytest.raises(SettingsError):
        public_keys_from_setting(f"criteria={tmp_path / 'missing.pem'}")
    keys = public_keys_from_setting(f"criteria={tmp_path / 'other.pem'}")
    assert set(keys) == {"criteria"}
    assert not signature_valid(signer.sign(1, "ab" * 32, _WHEN), keys["criteria"])


def test_a_signing_key_that_is_not_ed25519_pem_is_a_settings_error(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("not a key")

    with pytest.raises(SettingsError, match="unreadable"):
        CheckpointSigner.from_file("criteria", tmp_path / "key.pem")
