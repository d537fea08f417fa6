"""Simulate: replaying candidate criteria over stored declarations (impact analysis)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from customs_kit.db import Database
from customs_kit.errors import FieldViolation, InvalidArgument
from scoring.adapters.repositories import AssessmentRepository
from scoring.domain.draws import SelectionSeed
from scoring.domain.rules import Criterion
from scoring.domain.simulation import (
    Simulation,
    Simulator,
    candidate_world,
    referenced_named_lists,
)
from scoring.service_layer.rules import RulesHolder

#: Declarations evaluated per batch; each batch runs off the event loop, so that
#: assessments keep being answered during a long replay.
_BATCH_SIZE = 500


@dataclass(frozen=True)
class Simulate:
    """Replay ``candidates`` (instead of, or added to, the active set) over a window."""

    candidates: Sequence[Criterion]
    replace_active: bool
    lodged_from: datetime
    lodged_before: datetime
    office_codes: Sequence[str]
    #: The request field the candidates came from, to name it in errors.
    candidates_field: str


@dataclass(frozen=True)
class SimulationOutcome:
    """The tallies and the revisions of the active rules they were measured against."""

    simulation: Simulation
    criteria_revision: int


async def simulate(
    command: Simulate, *, database: Database, rules: RulesHolder, seed: SelectionSeed
) -> SimulationOutcome:
    """Replays the candidates; stores nothing and sends no event."""
    active = rules.engine()
    _check_candidates(command, set(active.snapshot.named_lists))
    world = await asyncio.to_thread(
        candidate_world, active, command.candidates, replace_active=command.replace_active
    )
    simulator = Simulator(active, world, [c.name for c in command.candidates], seed)
    # Read-only: a long replay must not hold SQLite's write lock from assessments.
    async with database.unit_of_work(read_only=True) as uow:
        batches = AssessmentRepository(uow.session).lodged_declarations(
            command.lodged_from, command.lodged_before, command.office_codes, _BATCH_SIZE
        )
        async for batch in batches:
            await asyncio.to_thread(simulator.replay, batch)
    return SimulationOutcome(simulator.result(), active.snapshot.revision)


def _check_candidates(command: Simulate, known_lists: set[str]) -> None:
    counts = Counter(c.name for c in command.candidates)
    duplicates = [
        FieldViolation(command.candidates_field, f"criterion {name} appears {count} times")
        for name, count in sorted(counts.items())
        if count > 1
    ]
    if duplicates:
        raise InvalidArgument(duplicates, reason="DUPLICATE_CANDIDATE")
    unknown = [
        FieldViolation(
            command.candidates_field,
            f"criterion {criterion.name} reads named list {name}, which scoring does not hold",
        )
        for criterion in command.candidates
        for name in sorted(set(referenced_named_lists(criterion.rule.condition)))
        if name not in known_lists
    ]
    if unknown:
        raise InvalidArgument(unknown, reason="UNKNOWN_NAMED_LIST")
