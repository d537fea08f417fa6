"""Importing the declaration system's archive: past declarations with their outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import structlog

from customs_kit.db import Database
from scoring.adapters.history import HistoryRepository
from scoring.domain.history import HistoryConflict, HistoryRecord, ImportCounts

_log = structlog.get_logger(__name__)


async def import_history_batch(
    records: Sequence[HistoryRecord],
    first_position: int,
    counts: ImportCounts,
    *,
    database: Database,
) -> ImportCounts:
    """Stores one batch of the stream in one transaction; returns ``counts`` with it added.

    A record already held with the same content and outcome changes nothing
    (a resumed import); one held with other content raises
    :class:`HistoryConflict` before anything of the batch is written.
    ``first_position`` is the stream position of ``records[0]``, for the error.
    """
    async with database.unit_of_work() as uow:
        repository = HistoryRepository(uow.session)
        held = await repository.held(list({record.key for record in records}))
        new: dict[tuple[str, int], HistoryRecord] = {}
        already = 0
        for offset, record in enumerate(records):
            known = held.get(record.key)
            if known is None and record.key in new:
                first = new[record.key]
                known = (first.content, first.outcome)
            if known is None:
                new[record.key] = record
                continue
            if known != (record.content, record.outcome):
                raise HistoryConflict(record, first_position + offset, counts.imported)
            already += 1
        await repository.add_all(list(new.values()))
        await uow.commit()
    if new:
        _log.info("history_batch_imported", imported=len(new), already_imported=already)
    return replace(
        counts,
        received=counts.received + len(records),
        imported=counts.imported + len(new),
        already_imported=counts.already_imported + already,
    )
