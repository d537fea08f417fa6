"""PeriodicTask: runs its work on time, survives a failed run, stops promptly."""

from __future__ import annotations

import asyncio

from customs_kit.background import PeriodicTask


async def test_a_failed_run_does_not_stop_the_next_ones_and_stop_is_prompt() -> None:
    runs: list[int] = []
    third_run = asyncio.Event()

    async def reload() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third_run.set()
        if len(runs) == 1:
            raise RuntimeError("the database is restarting")

    task = PeriodicTask("reload", 0.01, reload)
    await task.start()
    async with asyncio.timeout(2):
        await third_run.wait()
    async with asyncio.timeout(0.5):
        await task.stop()
    stopped_at = len(runs)
    await asyncio.sleep(0.05)

    assert runs[:3] == [0, 1, 2]
    assert len(runs) == stopped_at, "no run after stop()"
