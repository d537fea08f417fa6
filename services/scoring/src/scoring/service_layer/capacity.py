"""Capacity policies (read, list, change) and the capacity step of every assessment.

The current policies are held in memory as one immutable
:class:`CapacityPolicies`, replaced whole after each change (and reloaded
when another replica changed them), so an assessment reads them without a
query. Every change is journaled by revision, so that a decision can be
replayed with the policy it was taken under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog
from sqlalchemy.exc import IntegrityError

from customs_kit.db import Database, is_unique_violation, utcnow
from customs_kit.errors import Aborted, NotFound
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork
from scoring.adapters.capacity import (
    CapacityPolicyJournal,
    ExaminationLedger,
    ExaminationType,
    OfficeCapacityCache,
    policy_etag,
)
from scoring.domain.assessment import Assessment, Decision
from scoring.domain.capacity import (
    CapacityPolicies,
    CapacityPolicy,
    CapacitySnapshot,
    CapacityUse,
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


@dataclass(frozen=True)
class CapacityLimits:
    """What the capacity step of an assessment reads: the policies and the office capacity."""

    policies: CapacityPoliciesHolder
    offices: OfficeCapacityCache


# --- the capacity step -------------------------------------------------------------


class CapacityStep:
    """The capacity step of the assessments of one unit of work (one call or one batch).

    Use is counted from the examinations scoring stored, plus those selected
    earlier in the same unit of work. Rule on concurrency: the count is read
    without a lock, so decisions taken at the same moment at the same office
    in other transactions do not see each other; each can select at most one
    examination, so an office's selections may exceed a policy's threshold
    by at most the number of assessments of that office in flight
    concurrently (one per concurrent call, up to a bulk batch's size). The
    count is exact when one assessment of the office is taken at a time, and
    always on SQLite, where transactions are serialised. Locking the count
    instead would serialise every examination of an office for the length of
    its transaction and, with bulk batches spanning offices, invite
    deadlocks; an examination more than planned costs less than a lodgement
    that waits.
    """

    def __init__(self, uow: UnitOfWork, limits: CapacityLimits) -> None:
        self._ledger = ExaminationLedger(uow.session)
        self._limits = limits
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
        capacity = self._limits.offices.lookup(office, declaration.lodgement_time)
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

    def _day(self, declaration: Declaration) -> str:
        office = declaration.office_code
        return self._limits.offices.lookup(office, declaration.lodgement_time).day.isoformat()

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
            f"No office capacity limit applied: the capacity of office {snapshot.office_code} "
            f"on {snapshot.day} was not known."
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
