"""The rules the service assesses with: held in memory, journaled in the database.

The criteria stream is applied in two steps: the change is first journaled
(so that any decision taken with it can be replayed later, and so that a
restarted process can assess before criteria answers), then the rules are
compiled into a new immutable engine and swapped in with one assignment. An
assessment takes the engine once at its start and uses it throughout, so it
never sees half of a change. A whole snapshot or a named list (which can
re-file every criterion) is compiled in a worker thread, so that assessments
keep being served meanwhile; one criterion is re-filed in place (a fraction
of a millisecond at ten thousand criteria, a few at a hundred thousand).
"""

from __future__ import annotations

import asyncio

import structlog
from customs.criteria.v1 import criterion_pb2, named_list_pb2

from customs_kit.db import Database
from customs_kit.errors import Unavailable
from scoring.adapters.codec import UnusableRule, criterion_from_proto, named_list_from_proto
from scoring.adapters.repositories import (
    CRITERION,
    NAMED_LIST,
    JournalRecord,
    JournalState,
    RulesJournal,
    snapshot_records,
)
from scoring.domain.engine import SelectivityEngine
from scoring.domain.rules import Criterion, NamedList, RulesSnapshot

_log = structlog.get_logger(__name__)


class CriteriaNotLoaded(Unavailable):
    """No active-criteria snapshot has been received yet: nothing can be assessed."""

    def __init__(self, message: str) -> None:
        super().__init__("CRITERIA_NOT_LOADED", message, retry_after_seconds=1.0)


class RulesHolder:
    """The current rules of this process, compiled, replaced whole on every change."""

    def __init__(self) -> None:
        self._engine: SelectivityEngine | None = None
        self._loaded = asyncio.Event()

    @property
    def snapshot(self) -> RulesSnapshot | None:
        """The current snapshot, or None before the first one."""
        return None if self._engine is None else self._engine.snapshot

    def current(self) -> RulesSnapshot:
        """The current snapshot; raises :class:`CriteriaNotLoaded` before the first one."""
        return self.engine().snapshot

    def engine(self) -> SelectivityEngine:
        """The current engine; raises :class:`CriteriaNotLoaded` before the first snapshot."""
        if self._engine is None:
            raise CriteriaNotLoaded("no active-criteria snapshot has been received yet")
        return self._engine

    async def install(self, snapshot: RulesSnapshot) -> None:
        """Compiles ``snapshot`` aside, then swaps it in for every assessment from now on."""
        engine = await asyncio.to_thread(SelectivityEngine.compile, snapshot)
        self.swap(engine)
        statistics = engine.statistics
        _log.info(
            "rules_compiled",
            revision=snapshot.revision,
            criteria=statistics.criteria,
            unindexed=statistics.unindexed,
            never_hit=statistics.unsatisfiable,
            index_keys=statistics.keys,
        )

    def swap(self, engine: SelectivityEngine) -> None:
        """Swaps in ``engine`` for every assessment that starts from now on."""
        self._engine = engine
        self._loaded.set()

    async def wait_until_loaded(self) -> None:
        """Returns once a first snapshot is held (journaled, injected or streamed)."""
        await self._loaded.wait()


def decode_criterion(payload: bytes) -> Criterion | None:
    """The criterion of a journaled payload, or None if this engine cannot apply it."""
    message = criterion_pb2.ActiveCriterion.FromString(payload)
    try:
        return criterion_from_proto(message)
    except UnusableRule as error:
        _log.error("criterion_not_applicable", criterion=message.name, error=str(error))
        return None


def decode_named_list(payload: bytes) -> NamedList | None:
    """The named list of a journaled payload, or None if this engine cannot use it."""
    message = named_list_pb2.NamedList.FromString(payload)
    try:
        return named_list_from_proto(message)
    except UnusableRule as error:
        _log.error("named_list_not_applicable", named_list=message.name, error=str(error))
        return None


def snapshot_of(state: JournalState) -> RulesSnapshot:
    """The snapshot of journaled state (criteria that cannot be applied are left out)."""
    criteria = [decode_criterion(payload) for payload in state.criteria.values()]
    named_lists = [decode_named_list(payload) for payload in state.named_lists.values()]
    return RulesSnapshot.of(
        state.revision,
        [criterion for criterion in criteria if criterion is not None],
        [named_list for named_list in named_lists if named_list is not None],
    )


async def load_journaled_rules(database: Database, holder: RulesHolder) -> int | None:
    """Loads the latest journaled snapshot into ``holder``; returns its revision, if any."""
    async with database.unit_of_work() as uow:
        journal = RulesJournal(uow.session, database.dialect)
        revision = await journal.latest_revision()
        if revision is None:
            return None
        state = await journal.state_at(revision)
    await holder.install(snapshot_of(state))
    _log.info("rules_loaded", revision=revision, criteria=len(state.criteria))
    return revision


async def journaled_rules_at(database: Database, revision: int) -> RulesSnapshot | None:
    """The snapshot as of ``revision``, or None if the journal does not reach back to it."""
    async with database.unit_of_work() as uow:
        journal = RulesJournal(uow.session, database.dialect)
        earliest = await journal.earliest_revision()
        if earliest is None or earliest > revision:
            return None
        state = await journal.state_at(revision)
    return snapshot_of(state)


async def apply_snapshot(
    database: Database,
    holder: RulesHolder,
    revision: int,
    criteria: dict[str, bytes],
    named_lists: dict[str, bytes],
) -> None:
    """Replaces the whole rule set with a full snapshot at ``revision`` (wire form by name)."""
    async with database.unit_of_work() as uow:
        journal = RulesJournal(uow.session, database.dialect)
        before = await journal.state_at(revision)
        await journal.record(snapshot_records(before, criteria, named_lists))
        await uow.commit()
    await holder.install(snapshot_of(JournalState(revision, criteria, named_lists)))
    _log.info(
        "rules_snapshot_applied",
        revision=revision,
        criteria=len(criteria),
        named_lists=len(named_lists),
    )


async def apply_change(
    database: Database,
    holder: RulesHolder,
    revision: int,
    kind: str,
    key: str,
    payload: bytes | None,
) -> None:
    """Applies one upsert (``payload``) or removal of a criterion or named list."""
    async with database.unit_of_work() as uow:
        journal = RulesJournal(uow.session, database.dialect)
        await journal.record([JournalRecord(kind, key, revision, payload)])
        await uow.commit()
    engine = (
        holder.engine()
        if holder.snapshot is not None
        else SelectivityEngine.compile(RulesSnapshot.of(revision, [], []))
    )
    if kind == CRITERION:
        criterion = decode_criterion(payload) if payload is not None else None
        engine = (
            engine.with_criterion(revision, criterion)
            if criterion is not None
            else engine.without_criterion(revision, key)
        )
    elif kind == NAMED_LIST:
        named_list = decode_named_list(payload) if payload is not None else None
        engine = await (
            asyncio.to_thread(engine.with_named_list, revision, named_list)
            if named_list is not None
            else asyncio.to_thread(engine.without_named_list, revision, key)
        )
    holder.swap(engine)
    _log.info(
        "rules_change_applied", revision=revision, kind=kind, key=key, removed=payload is None
    )
