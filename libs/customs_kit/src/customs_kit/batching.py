"""Group commit: concurrent requests are stored together, one transaction per batch.

Under load, a transaction per request spends most of its time on the
round trips and bookkeeping that every transaction pays, not on the
request's own rows. :class:`GroupCommit` lets concurrent callers share
that cost: a caller submits its item and waits; while one batch is being
processed, the items submitted meanwhile queue up and become the next
batch. Nothing waits for a batch to fill, so a lone caller is served at
once, as a batch of one, and batches grow only when callers overlap.

Each item keeps the ``contextvars`` context of its caller: work done for
one item inside ``submission.context.run(...)`` is traced and logged as
part of that caller's request (its span, its log context). The work the
batch shares (its queries, its commit) is traced under the request that
found no batch running and so started the worker.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class Submission(Generic[_Item]):
    """One caller's item and the context it was submitted in."""

    item: _Item
    context: contextvars.Context


class GroupCommit(Generic[_Item, _Result]):
    """Runs ``process`` on batches of concurrently submitted items, one batch at a time.

    ``process`` receives up to ``max_batch`` submissions and returns one
    result per submission, in order. If it raises, every caller of that
    batch gets the exception.
    """

    def __init__(
        self,
        process: Callable[[Sequence[Submission[_Item]]], Awaitable[Sequence[_Result]]],
        *,
        max_batch: int = 100,
    ) -> None:
        if max_batch < 1:
            raise ValueError("a batch holds at least one item")
        self._process = process
        self._max_batch = max_batch
        self._waiting: list[tuple[Submission[_Item], asyncio.Future[_Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: _Item) -> _Result:
        """Processes ``item`` with whatever else is submitted meanwhile; returns its result."""
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((Submission(item, contextvars.copy_context()), future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._run(batch)
        finally:
            self._worker = None

    async def _run(self, batch: list[tuple[Submission[_Item], asyncio.Future[_Result]]]) -> None:
        futures = [future for _, future in batch]
        try:
            results = await self._process([submission for submission, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as error:
            for future in futures:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        for future, result in zip(futures, results, strict=True):
            # A caller that gave up (cancelled) still had its item processed.
            if not future.done():
                future.set_result(result)
