"""The hash-chained history: append-only in the database, tampering found by VerifyHistory."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from criteria_support import ANALYST, AUDITOR, OPERATOR, Criteria, criterion
from customs.criteria.v1 import criteria_service_pb2 as pb
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from customs_kit.db import Database


async def _verify(criteria: Criteria) -> pb.VerifyHistoryResponse:
    response: pb.VerifyHistoryResponse = await criteria.call(
        "VerifyHistory", pb.VerifyHistoryRequest(), OPERATOR
    )
    return response


async def _tamper(database_url: str, statement: str) -> None:
    """Changes the history as someone with the database owner's rights could."""
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("ALTER TABLE history_entries DISABLE TRIGGER history_entries_append_only")
                )
            else:
                for trigger in ("history_entries_no_update", "history_entries_no_delete"):
                    await connection.execute(text(f"DROP TRIGGER {trigger}"))
            await connection.execute(text(statement))
    finally:
        await database.dispose()


async def _write_some_history(criteria: Criteria) -> str:
    profile = await criteria.create_profile()
    created = await criteria.create(criterion(profile), criterion_id="cigarettes")
    await criteria.submit(created)
    return created.name


async def test_an_untouched_history_verifies_with_its_head_hash(criteria: Criteria) -> None:
    await _write_some_history(criteria)

    verification = (await _verify(criteria)).verification

    assert verification.intact
    assert verification.entries_verified == 3
    assert verification.first_invalid_sequence == 0
    assert len(verification.head_hash) == 64
    versions = await criteria.call(
        "ListCriterionVersions",
        pb.ListCriterionVersionsRequest(parent="criteria/cigarettes"),
        AUDITOR,
    )
    assert verification.head_hash == versions.criterion_versions[-1].change.hash


async def test_the_database_refuses_to_change_or_remove_a_history_entry(
    criteria: Criteria, database_url: str
) -> None:
    await _write_some_history(criteria)
    database = Database(database_url)
    try:
        for statement in (
            "UPDATE history_entries SET reason = 'nothing happened' WHERE sequence = 2",
            "DELETE FROM history_entries WHERE sequence = 3",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with database.engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await database.dispose()
    assert (await _verify(criteria)).verification.intact


async def test_an_altered_entry_is_reported_as_the_first_invalid_one(
    criteria: Criteria, database_url: str
) -> None:
    name = await _write_some_history(criteria)

    await _tamper(
        database_url, "UPDATE history_entries SET actor = 'someone-else' WHERE sequence = 2"
    )
    verification = (await _verify(criteria)).verification

    assert not verification.intact
    assert verification.first_invalid_sequence == 2
    assert verification.first_invalid_resource == name
    assert "hash mismatch" in verification.problem


async def test_a_removed_entry_is_reported(criteria: Criteria, database_url: str) -> None:
    await _write_some_history(criteria)

    # The risk profile's creation, the first entry of the chain.
    await _tamper(database_url, "DELETE FROM history_entries WHERE sequence = 1")
    verification = (await _verify(criteria)).verification

    assert not verification.intact
    assert verification.first_invalid_sequence == 2
    assert verification.problem == "sequence 1 is missing or out of order"


async def test_only_overseers_verify_the_history(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call("VerifyHistory", pb.VerifyHistoryRequest(), ANALYST)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_concurrent_changes_keep_one_unbroken_chain(criteria: Criteria) -> None:
    profile = await criteria.create_profile()

    created = await asyncio.gather(
        *(criteria.create(criterion(profile), criterion_id=f"c-{n}") for n in range(8))
    )
    await asyncio.gather(*(criteria.submit(c) for c in created))

    verification = (await _verify(criteria)).verification
    assert verification.intact
    assert verification.entries_verified == 1 + 8 + 8
