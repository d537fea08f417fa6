"""GroupCommit: concurrent submissions share a batch; each keeps its caller's context."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from customs_kit.batching import GroupCommit, Submission

_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


class Recorder:
    """Processes batches slowly enough for callers to overlap, and remembers them."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_on: int | None = None

    async def process(self, batch: Sequence[Submission[int]]) -> list[str]:
        self.batches.append([submission.item for submission in batch])
        await asyncio.sleep(0.01)
        if self.fail_on in self.batches[-1]:
            raise ValueError("the batch could not be stored")
        return [submission.context.run(_caller.get) + f":{submission.item}" for submission in batch]


async def _submit_as(group: GroupCommit[int, str], caller: str, item: int) -> str:
    _caller.set(caller)
    return await group.submit(item)


async def test_a_lone_caller_is_served_at_once_as_a_batch_of_one() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.process)

    assert await _submit_as(group, "alice", 1) == "alice:1"
    assert recorder.batches == [[1]]


async def test_callers_arriving_during_a_batch_form_the_next_one_and_get_their_own_results() -> (
    None
):
    recorder = Recorder()
    group = GroupCommit(recorder.process, max_batch=4)

    results = await asyncio.gather(*(_submit_as(group, f"caller{n}", n) for n in range(10)))

    assert results == [f"caller{n}:{n}" for n in range(10)]
    # Nothing waits for a batch to fill: each takes what queued while the last ran.
    assert recorder.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_a_failed_batch_fails_its_callers_only() -> None:
    recorder = Recorder()
    recorder.fail_on = 2
    group = GroupCommit(recorder.process, max_batch=2)

    results = await asyncio.gather(
        *(_submit_as(group, "bob", n) for n in range(4)), return_exceptions=True
    )

    assert results[:2] == ["bob:0", "bob:1"]
    assert [type(result) for result in results[2:]] == [ValueError, ValueError]
    assert await _submit_as(group, "bob", 7) == "bob:7"


async def test_a_batch_needs_room_for_one_item() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(Recorder().process, max_batch=0)
