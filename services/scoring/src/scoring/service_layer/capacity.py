"""Capacity policies (read, list, change), office capacity, and the capacity step.

The current policies are held in memory as one immutable
:class:`CapacityPolicies`, replaced whole after each change (and reloaded
when another replica changed them), so an assessment reads them without a
query. Every change is journaled by revision, so that a decision can be
replayed with the policy it was taken under.

Every office's time zone and daily capacity come from exam_reports'
``WatchOfficeCapacity`` stream and are held the same way, as one immutable
:class:`OfficeLimits`. Each message is stored first, with its revision, and
only then swapped in, so memory never runs ahead of the database: a
restarted process decides at once with the limits it last received and
resumes the stream after their revision. A process that has never received
them is not ready and refuses to assess (:class:`OfficeCapacityNotLoaded`):
deciding without them would leave the first selections at a new office
unlimited and booked to the wrong day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog
from customs.exam_reports.v1 import office_pb2
from sqlalchemy.exc import IntegrityError

from customs_kit.db import Database, is_unique_violation, utcnow
from customs_kit.errors import Aborted, NotFound, Unavailable
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork
from scoring.adapters.capacity import (
    CapacityPolicyJournal,
    ExaminationLedger,
    OfficeCapacityStore,
    office_limit_from_proto,
    policy_etag,
)
from scoring.domain.assessment import Assessment, Decision
from scoring.domain.capacity import (
    CapacityPolicies,
    CapacityPolicy,
    CapacitySnapshot,
    CapacityUse,
    ExaminationType,
    OfficeDayCapacity,
    OfficeLimits,
    RandomSelection,
    apply_capacity,
    examination_type,
)
from scoring.domain.declaration import Declaration
from scoring.domain.evaluator import NO_CAPACITY_STEP, Evaluation
from scoring.domain.rules import Channel

_log = structlog.get_logger(__name__)

_POLICY = "capacityPolicy"
_MAX_PAGE_SIZE = 1_000
#: The constraint a concurrent change of the same revision violates.
_REVISION_KEY = "pk_capacity_policy_changes"
#: Changes of different policies at the same moment race for the next revision.
_REVISION_ATTEMPTS = 5
#: Fields UpdateCapacityPolicy may write.
RULES = "rules"
DOWNGRADE_RANDOM = "downgrade_random_examinations"


class CapacityPoliciesHolder:
    """The current capacity policies of this process."""

    def __init__(self) -> None:
        self.current = CapacityPolicies()

    async def reload(self, database: Database) -> None:
        """Loads the policies from the journal if a change was recorded since the last load."""
        async with database.unit_of_work() as uow:
            journal = CapacityPolicyJournal(uow.session)
            revision = await journal.latest_revision()
            if revision == self.current.revision:
                return
            policies = await journal.policies_at(revision)
        if policies.revision > self.current.revision:
            self.current = policies
            _log.info(
                "capacity_policies_loaded", revision=revision, policies=len(policies.policies)
            )


class OfficeCapacityNotLoaded(Unavailable):
    """No office capacity has been received from exam_reports yet; retry shortly."""

    def __init__(self, message: str) -> None:
        super().__init__("OFFICE_CAPACITY_NOT_LOADED", message, retry_after_seconds=1.0)


class OfficeCapacityHolder:
    """Every office's capacity limit in this process, replaced whole on every change.

    ``required`` is False when the process follows no capacity stream (a
    tool or test without exam_reports): it then assesses with no limit.
    """

    def __init__(self, *, required: bool = True) -> None:
        self.current = OfficeLimits()
        self._required = required
        self._loaded = asyncio.Event()
        if not required:
            self._loaded.set()

    def install(self, limits: OfficeLimits) -> None:
        """Swaps in ``limits`` for every assessment from now on."""
        self.current = limits
        self._loaded.set()

    def held(self) -> OfficeLimits:
        """The current limits; raises :class:`OfficeCapacityNotLoaded` before the first ones."""
        if not self._loaded.is_set():
            raise OfficeCapacityNotLoaded(
                "no office capacity has been received from exam_reports yet"
            )
        return self.current

    async def wait_until_loaded(self) -> None:
        """Returns once limits are held (stored by an earlier run, or streamed)."""
        await self._loaded.wait()


async def load_office_capacity(database: Database, holder: OfficeCapacityHolder) -> int:
    """Loads the limits stored by an earlier run into ``holder``; returns their revision.

    0 when nothing was stored yet: the stream then starts with a full snapshot.
    """
    async with database.unit_of_work() as uow:
        store = OfficeCapacityStore(uow.session, database.dialect)
        revision = await store.revision()
        if revision is None:
            return 0
        limits = await store.limits()
    holder.install(OfficeLimits.of(revision, limits))
    _log.info("office_capacity_loaded", revision=revision, offices=len(limits))
    return revision


async def apply_office_capacity_snapshot(
    database: Database,
    holder: OfficeCapacityHolder,
    revision: int,
    messages: Sequence[office_pb2.OfficeCapacityLimit],
) -> None:
    """Replaces every office's limit with a full snapshot at ``revision``: stored, then held."""
    async with database.unit_of_work() as uow:
        store = OfficeCapacityStore(uow.session, database.dialect)
        if await store.advance(revision):
            await store.replace_all(messages)
        await uow.commit()
    holder.install(OfficeLimits.of(revision, [office_limit_from_proto(m) for m in messages]))
    _log.info("office_capacity_snapshot_applied", revision=revision, offices=len(messages))


async def apply_office_capacity_change(
    database: Database,
    holder: OfficeCapacityHolder,
    revision: int,
    message: office_pb2.OfficeCapacityLimit,
) -> None:
    """Applies one office's new limit at ``revision``: stored, then held."""
    async with database.unit_of_work() as uow:
        store = OfficeCapacityStore(uow.session, database.dialect)
        if await store.advance(revision):
            await store.put(message)
        await uow.commit()
    limit = office_limit_from_proto(message)
    holder.install(holder.current.changed(revision, limit))
    _log.info(
        "office_capacity_changed",
        revision=revision,
        office=limit.office_code,
        time_zone=limit.time_zone,
        capacities=len(limit.capacities),
    )


@dataclass(frozen=True)
class CapacityLimits:
    """What the capacity step of an assessment reads: the policies and the office capacity."""

    policies: CapacityPoliciesHolder
    offices: OfficeCapacityHolder


# --- the capacity step -------------------------------------------------------------


class CapacityStep:
    """The capacity step of the assessments of one unit of work (one call or one batch).

    Use is counted from the examinations scoring stored, plus those selected
    earlier in the same unit of work, on the office's own calendar day.

    Rule on concurrency (the overshoot bound): the count is read without a
    lock, so transactions assessing the same office at the same moment do
    not see each other's selections. Each transaction alone stops at the
    threshold, so with ``k`` such transactions in flight, an office's
    examinations of a type that day reach at most ``threshold + (k - 1) *
    (threshold - used)``, where ``used`` is the count they all read; at
    most ``k`` times the threshold. In one process the single-declaration
    calls share one transaction at a time (group commit), so ``k`` is the
    number of replicas plus the bulk streams running at once; with one
    replica and no bulk stream running beside the calls the count is exact,
    and it always is on SQLite, where transactions are serialised. Locking
    the count instead would serialise every examination of an office for the
    length of its transaction and, with bulk batches spanning offices,
    invite deadlocks; an examination more than planned costs less than a
    lodgement that waits.
    """

    def __init__(self, uow: UnitOfWork, limits: CapacityLimits) -> None:
        self._ledger = ExaminationLedger(uow.session)
        self._offices = limits.offices.held()
        self._policies = limits.policies.current
        self._used: dict[tuple[str, str], dict[ExaminationType, int]] = {}

    @property
    def policies_revision(self) -> int:
        """The revision of the policies this step applies."""
        return self._policies.revision

    async def apply(
        self, assessment: Assessment, randoms: Sequence[RandomSelection] = ()
    ) -> Assessment:
        """The assessment after the capacity step, its examination counted for the day."""
        declaration = assessment.declaration
        office = declaration.office_code
        capacity = self._capacity(declaration)
        day = capacity.day.isoformat()
        decision = assessment.decision
        snapshot = CapacitySnapshot(office, day, capacity.known)
        if examination_type(decision) is not None:
            used = await self._used_at(office, day)
            types = sorted(
                set(capacity.capacities) | set(used),
                key=lambda kind: (kind[0].precedence, kind[1].rank),
                reverse=True,
            )
            snapshot = CapacitySnapshot(
                office,
                day,
                capacity.known,
                tuple(
                    CapacityUse(
                        channel,
                        level,
                        capacity.capacities.get((channel, level), 0),
                        used.get((channel, level), 0),
                    )
                    for channel, level in types
                ),
            )
            decision = apply_capacity(
                decision, self._policies.for_office(office), snapshot, randoms=randoms
            )
            examination = examination_type(decision)
            if examination is not None:
                self._ledger.add(assessment.assessment_id, office, day, examination)
                used[examination] = used.get(examination, 0) + 1
        return replace(
            assessment,
            decision=decision,
            replay=replace(
                assessment.replay,
                capacity_policies_revision=self._policies.revision,
                capacity=snapshot,
            ),
        )

    async def load(self, declarations: Sequence[Declaration]) -> None:
        """Reads the use of every office and day of ``declarations`` in one query.

        Without it each office and day is read when first needed, a query each.
        """
        office_days = {
            (declaration.office_code, self._day(declaration)) for declaration in declarations
        }
        missing = [key for key in office_days if key not in self._used]
        self._used.update(await self._ledger.used(missing))

    async def write(self) -> None:
        """Writes the examinations counted by :meth:`apply` (before the unit of work commits)."""
        await self._ledger.write()

    def _capacity(self, declaration: Declaration) -> OfficeDayCapacity:
        return self._offices.on(declaration.office_code, declaration.lodgement_time)

    def _day(self, declaration: Declaration) -> str:
        return self._capacity(declaration).day.isoformat()

    async def _used_at(self, office: str, day: str) -> dict[ExaminationType, int]:
        key = (office, day)
        if key not in self._used:
            self._used.update(await self._ledger.used([key]))
        return self._used[key]


async def replay_capacity(
    database: Database,
    assessment: Assessment,
    replay: Evaluation,
    randoms: Sequence[RandomSelection] = (),
) -> Evaluation:
    """``replay`` (up to the random draws) after the capacity step the assessment recorded.

    Uses the capacity snapshot the assessment recorded and the policies at its
    recorded revision; an assessment recorded without capacity is left as it
    is. The narration's capacity sentence is replaced by what the step did.
    """
    recorded = assessment.replay
    if recorded.capacity is None:
        return replay
    async with database.unit_of_work() as uow:
        policies = await CapacityPolicyJournal(uow.session).policies_at(
            recorded.capacity_policies_revision
        )
    decision = apply_capacity(
        replay.decision,
        policies.for_office(assessment.declaration.office_code),
        recorded.capacity,
        randoms=randoms,
    )
    steps: list[str] = []
    for step in replay.steps:
        if step == NO_CAPACITY_STEP:
            steps.extend(_narrate(decision, recorded.capacity))
        else:
            steps.append(step)
    if decision.capacity_downgrades:
        level = (
            f" at level {decision.examination_level.name}"
            if decision.channel is Channel.RED
            else ""
        )
        steps.append(f"Channel {decision.channel.name}{level} after the capacity downgrades.")
    return replace(replay, decision=decision, steps=tuple(steps))


def _narrate(decision: Decision, snapshot: CapacitySnapshot) -> list[str]:
    """The capacity step in sentences."""
    if not snapshot.known:
        return [
            f"No office capacity limit applied: office {snapshot.office_code} had no capacity "
            f"known to scoring on {snapshot.day}."
        ]
    if not decision.capacity_downgrades:
        return [
            f"Office {snapshot.office_code} had capacity on {snapshot.day}: nothing downgraded."
        ]
    steps = []
    for downgrade in decision.capacity_downgrades:
        kind = downgrade.random_kind
        what = downgrade.criterion or (
            f"The random {kind.name.lower().replace('_', ' ')} draw" if kind else "A draw"
        )
        where = f" on item {downgrade.item_number}" if downgrade.item_number else ""
        steps.append(
            f"{what}{where} downgraded from {downgrade.from_channel.name} to "
            f"{downgrade.to_channel.name} by {downgrade.capacity_policy}: office "
            f"{snapshot.office_code} was at {downgrade.utilisation_percent:g} % of its capacity "
            f"on {snapshot.day}."
        )
    return steps


# --- the policy RPCs ---------------------------------------------------------------


async def get_capacity_policy(name: str, *, database: Database) -> CapacityPolicy:
    """The current policy; raises ``NotFound``."""
    async with database.unit_of_work() as uow:
        policies = await CapacityPolicyJournal(uow.session).current()
    policy = policies.policies.get(name)
    if policy is None:
        raise NotFound(_POLICY, name)
    return policy


@dataclass(frozen=True)
class CapacityPolicyPage:
    """A page of policies by name and the token of the next one (empty on the last page)."""

    policies: list[CapacityPolicy]
    next_page_token: str


async def list_capacity_policies(
    page_size: int, page_token: str, *, database: Database, page_tokens: PageTokens
) -> CapacityPolicyPage:
    """The current policies ordered by name; raises ``InvalidArgument`` on a bad token."""
    limit = clamp_page_size(page_size, default=50, maximum=_MAX_PAGE_SIZE)
    query = {"list": "capacityPolicies"}
    after = page_tokens.decode(page_token, query=query).get("name", "")
    async with database.unit_of_work() as uow:
        policies = await CapacityPolicyJournal(uow.session).current()
    names = sorted(name for name in policies.policies if name > after)
    page = [policies.policies[name] for name in names[:limit]]
    next_token = ""
    if len(names) > limit:
        next_token = page_tokens.encode({"name": page[-1].name}, query=query)
    return CapacityPolicyPage(page, next_token)


@dataclass(frozen=True)
class UpdateCapacityPolicy:
    """Write the fields ``paths`` of ``policy`` (create it when ``allow_missing``)."""

    policy: CapacityPolicy
    paths: frozenset[str]
    etag: str
    allow_missing: bool
    actor: str


async def update_capacity_policy(
    command: UpdateCapacityPolicy, *, database: Database, holder: CapacityPoliciesHolder
) -> CapacityPolicy:
    """Records the change at the next revision and applies it to decisions from now on.

    Raises ``NotFound`` when the policy does not exist and ``allow_missing``
    is false, ``Aborted`` when the etag is not the current one.
    """
    for _ in range(_REVISION_ATTEMPTS):
        try:
            async with database.unit_of_work() as uow:
                changed = await _change(uow, command)
                await uow.commit()
        except IntegrityError as error:
            if is_unique_violation(error, _REVISION_KEY):
                continue
            raise
        await holder.reload(database)
        _log.info(
            "capacity_policy_updated",
            capacity_policy=changed.name,
            revision=changed.revision,
            updated_by=changed.updated_by,
            rules=len(changed.rules),
        )
        return changed
    raise Aborted("REVISION_CONFLICT", "capacity policies changed concurrently; try again")


async def _change(uow: UnitOfWork, command: UpdateCapacityPolicy) -> CapacityPolicy:
    journal = CapacityPolicyJournal(uow.session)
    current = await journal.current()
    name = command.policy.name
    existing = current.policies.get(name)
    if existing is None and not command.allow_missing:
        raise NotFound(_POLICY, name)
    if existing is not None and command.etag and command.etag != policy_etag(existing):
        raise Aborted(
            "ETAG_MISMATCH", f"{name} changed since it was read (revision {existing.revision})"
        )
    base = existing or CapacityPolicy(name)
    changed = CapacityPolicy(
        name=name,
        rules=command.policy.rules if RULES in command.paths else base.rules,
        downgrade_random_examinations=(
            command.policy.downgrade_random_examinations
            if DOWNGRADE_RANDOM in command.paths
            else base.downgrade_random_examinations
        ),
        revision=current.revision + 1,
        update_time=utcnow(),
        updated_by=command.actor,
    )
    await journal.append(changed)
    return changed
