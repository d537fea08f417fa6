"""The hash chain of the history, without a database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from criteria_builders import ANA, NOW, later

from criteria.domain.history import (
    ChangeDraft,
    ChangeKind,
    FieldChange,
    HistoryEntry,
    differences,
    link,
    resource_of,
)
from customs_kit.hash_chain import GENESIS_HASH, ChainVerifier, Verification


def _encode(entry: HistoryEntry) -> bytes:
    # Any deterministic encoding of every field but the hash will do here.
    return repr(replace(entry, hash="")).encode()


def verify(entries: list[HistoryEntry], encode: Callable[[HistoryEntry], bytes]) -> Verification:
    verifier = ChainVerifier(encode, resource_of)
    for entry in entries:
        if not verifier.check(entry):
            break
    return verifier.result()


def _chain(length: int) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    for number in range(length):
        draft = ChangeDraft(
            resource=f"criteria/c{number}",
            kind=ChangeKind.CREATED,
            actor=ANA,
            change_time=later(number),
            reason="",
            field_changes=(FieldChange("title", "", f'"{number}"'),),
        )
        entries.append(link(draft, entries[-1] if entries else None, _encode))
    return entries


def test_the_first_entry_links_to_the_genesis_hash_and_hashes_its_encoding() -> None:
    first = _chain(1)[0]

    assert first.sequence == 1
    assert first.previous_hash == GENESIS_HASH
    expected = hashlib.sha256(_encode(first) + GENESIS_HASH.encode()).hexdigest()
    assert first.hash == expected
    assert first.actor == "ana"
    assert first.actor_roles == ("analyst",)


def test_each_entry_links_to_the_one_before() -> None:
    chain = _chain(3)

    assert [entry.sequence for entry in chain] == [1, 2, 3]
    assert chain[2].previous_hash == chain[1].hash


def test_an_untouched_chain_verifies_and_reports_its_head() -> None:
    chain = _chain(4)

    result = verify(chain, _encode)

    assert result.intact
    assert result.entries_verified == 4
    assert result.head_hash == chain[-1].hash


def test_an_altered_entry_is_the_first_invalid_one() -> None:
    chain = _chain(4)
    chain[1] = replace(chain[1], reason="nothing to see")

    result = verify(chain, _encode)

    assert not result.intact
    assert (result.first_invalid_sequence, result.first_invalid_resource) == (2, "criteria/c1")
    assert result.problem.startswith("hash mismatch")


def test_an_altered_entry_rehashed_by_the_tamperer_breaks_the_next_link() -> None:
    chain = _chain(4)
    forged = replace(chain[1], actor="someone-else")
    chain[1] = replace(forged, hash=hashlib.sha256(_encode(forged) + b"x").hexdigest())

    result = verify(chain, _encode)

    assert not result.intact
    assert result.first_invalid_sequence in (2, 3)


def test_a_removed_entry_is_found() -> None:
    chain = _chain(4)
    del chain[2]

    result = verify(chain, _encode)

    assert not result.intact
    assert result.first_invalid_sequence == 4
    assert "sequence 3 is missing" in result.problem


def test_reordered_entries_are_found() -> None:
    chain = _chain(4)
    chain[1], chain[2] = chain[2], chain[1]

    result = verify(chain, _encode)

    assert not result.intact
    assert result.first_invalid_sequence == 3


def test_an_empty_history_is_intact() -> None:
    result = verify([], _encode)

    assert result.intact
    assert result.entries_verified == 0


def test_differences_name_only_the_fields_that_changed() -> None:
    before = {"title": '"Old"', "rule.selection_percent": "100.0", "campaign_tag": '"q1"'}
    after = {"title": '"Old"', "rule.selection_percent": "10.0", "description": '"New"'}

    changes = differences(before, after)

    assert changes == (
        FieldChange("campaign_tag", '"q1"', ""),
        FieldChange("description", "", '"New"'),
        FieldChange("rule.selection_percent", "100.0", "10.0"),
    )


def test_the_change_time_is_part_of_what_is_hashed() -> None:
    chain = _chain(2)
    chain[0] = replace(chain[0], change_time=NOW.replace(year=2020))

    assert not verify(chain, _encode).intact
