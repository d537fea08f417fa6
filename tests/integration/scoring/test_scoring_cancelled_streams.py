"""A bulk stream the declaration system hangs up on ends cleanly on the scoring server."""

from __future__ import annotations

import asyncio
import gc

import pytest
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from scoring_support import declaration, item

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys


async def test_cancelled_bulk_streams_leave_no_context_errors(
    stub: scoring_service_pb2_grpc.ScoringServiceStub,
    test_keys: SigningKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metadata = test_keys.metadata(Role.DECLARATION_SYSTEM)
    for number in range(10):
        call = stub.AssessDeclarations(metadata=metadata)
        await call.write(
            scoring_service_pb2.AssessDeclarationsRequest(
                declaration=declaration(f"30/2026/C{number:05d}", item(1))
            )
        )
        assert (await call.read()).declaration_number == f"30/2026/C{number:05d}"
        call.cancel()
    await asyncio.sleep(0.2)
    # Abandoned generators are finalized on collection, where the errors surfaced.
    gc.collect()
    await asyncio.sleep(0.2)
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_info[1] if record.exc_info else ''}"
        for record in caplog.records
    )
    assert "Failed to detach context" not in logged
    assert "different Context" not in logged
