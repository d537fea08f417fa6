"""A watch stream its follower hangs up on ends cleanly on the criteria server."""

from __future__ import annotations

import asyncio
import gc

import pytest
from criteria_support import SCORING, Criteria
from customs.criteria.v1 import criteria_service_pb2 as pb


async def test_cancelled_watch_streams_leave_no_context_errors(
    criteria: Criteria, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(10):
        call = criteria.stub.WatchActiveCriteria(
            pb.WatchActiveCriteriaRequest(since_revision=0), metadata=criteria.auth(SCORING)
        )
        assert (await call.read()).WhichOneof("event") == "snapshot_start"
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
