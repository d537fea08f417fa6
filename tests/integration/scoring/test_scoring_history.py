"""ImportHistory, the archive of past declarations with their outcomes, through a real server."""

from __future__ import annotations

import grpc
import pytest
from customs.scoring.v1 import (
    risk_model_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from google.rpc import error_details_pb2, status_pb2
from risk_model_support import import_history, outcome
from scoring_support import declaration, item, query

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub
Request = scoring_service_pb2.ImportHistoryRequest


def archive(count: int, *, prefix: str = "H") -> list[Request]:
    """``count`` past declarations, every fourth with an infringement."""
    return [
        Request(
            declaration=declaration(f"30/2025/{prefix}{number:06d}"),
            outcome=outcome(found=number % 4 == 0),
        )
        for number in range(count)
    ]


def _error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info
    raise AssertionError("no ErrorInfo in the error")


async def _held(database_url: str) -> list[tuple[str, int, bool]]:
    rows = await query(
        database_url,
        "SELECT declaration_number, version, infringement_found FROM history_declarations "
        "ORDER BY declaration_number",
    )
    return [(row[0], row[1], bool(row[2])) for row in rows]


async def test_an_archive_is_imported_in_batches_and_a_rerun_adds_nothing(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    requests = archive(1_100)

    first = await import_history(stub, test_keys, requests)
    again = await import_history(stub, test_keys, requests, role=Role.ANALYST)

    assert (first.received, first.imported, first.already_imported) == (1_100, 1_100, 0)
    assert (again.received, again.imported, again.already_imported) == (1_100, 0, 1_100)
    held = await _held(database_url)
    assert len(held) == 1_100
    assert sum(found for _, _, found in held) == 275


async def test_an_interrupted_import_resumes_by_sending_the_archive_again(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    requests = archive(1_100)
    await import_history(stub, test_keys, requests[:1_050])

    resumed = await import_history(stub, test_keys, requests)

    assert (resumed.imported, resumed.already_imported) == (50, 1_050)
    assert len(await _held(database_url)) == 1_100


async def test_a_held_version_with_other_content_is_refused_by_name_and_nothing_changes(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    await import_history(stub, test_keys, archive(10))
    changed = Request(
        declaration=declaration("30/2025/H000003", item(1, net_mass_kg=999.0)),
        outcome=outcome(),
    )
    batch = [*archive(5, prefix="N"), changed]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await import_history(stub, test_keys, batch)

    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = _error_info(refused.value)
    assert info.reason == "HISTORY_DECLARATION_CONFLICT"
    assert info.metadata["declaration_number"] == "30/2025/H000003"
    assert "30/2025/H000003 version 1" in (refused.value.details() or "")
    # The new declarations of the same batch were not written either.
    assert len(await _held(database_url)) == 10


async def test_the_same_declaration_with_another_outcome_is_a_conflict(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await import_history(stub, test_keys, archive(3))
    relabelled = Request(declaration=declaration("30/2025/H000001"), outcome=outcome(found=True))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await import_history(stub, test_keys, [relabelled])

    assert _error_info(refused.value).reason == "HISTORY_DECLARATION_CONFLICT"


async def test_an_invalid_message_is_refused_with_its_position_and_its_batch_is_not_written(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    bad = Request(
        declaration=declaration("30/2025/BAD", item(1, hs_code="12")),
        outcome=risk_model_pb2.HistoryOutcome(examined=False, infringement_found=True),
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await import_history(stub, test_keys, [*archive(4), bad])

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = refused.value.details() or ""
    assert "message 4" in details
    assert await _held(database_url) == []


async def test_officers_may_not_import_history(stub: Stub, test_keys: SigningKeys) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await import_history(stub, test_keys, archive(1), role=Role.OFFICER)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
