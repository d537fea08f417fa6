"""Capacity awareness: downgrading selections when an office's examinations for the day run out.

The last step of a decision, after the criteria and the random draws: a pure
function of (decision, capacity policy, capacity snapshot), so that a replay
with the recorded snapshot and the policy at the recorded revision gives the
same result.

Semantics (scoring/v1/capacity_policy.proto):

* A *selection* is what sends the declaration to one channel: all the
  selected criterion hits and random draws whose (current) channel is that
  channel. Only the top channel of the decision is an examination the office
  must carry out, so the step looks at the top RED or YELLOW selection, and
  again at the next one down after a downgrade, until one is kept.
* Its examination type is the channel and, for RED, the highest level among
  its members; its utilisation is the examinations of that type already
  selected at the office that day divided by the day's capacity, in percent.
  A type without capacity (none published, or a capacity of 0) is unlimited,
  as is every type when the capacity is not known.
* Its priority is the best (lowest) priority number of its criteria; a random
  draw counts as priority 100.
* A selection with a mandatory criterion is never downgraded, nor one with a
  random draw unless the policy sets ``downgrade_random_examinations``.
* The first rule of the policy whose channel is the selection's, whose
  utilisation threshold is reached and whose ``min_priority`` is at most the
  selection's priority downgrades every member to ``downgrade_to``; each gets
  a :class:`CapacityDowngrade` entry and criterion hits the outcome
  DOWNGRADED. A member downgraded twice (RED to YELLOW, then YELLOW to GREEN)
  has two entries.
* The decision is then rebuilt: a member downgraded to YELLOW is a document
  review of its criterion's documents and those the rule names (no level, no
  instruction: the examination it described no longer takes place); one
  downgraded to BLUE refers the declaration to audit; one downgraded to GREEN
  releases. Audit referrals a criterion asked for are kept. A criterion
  downgraded to YELLOW still selects the declaration (:func:`examined_hits`):
  its task names it and records the downgrade.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scoring.domain.assessment import (
    CriterionHit,
    Decision,
    DocumentCheck,
    ExaminerInstruction,
    HitOutcome,
)
from scoring.domain.evaluator import merge_documents
from scoring.domain.rules import Channel, DocumentRequirement, ExaminationLevel

#: The policy of every office without its own.
DEFAULT_POLICY = "capacityPolicies/default"
_POLICY_PREFIX = "capacityPolicies/"
#: The priority a random draw counts with: the lowest there is.
RANDOM_PRIORITY = 100
#: The channels whose selections are examinations an office must staff.
EXAMINATION_CHANNELS = (Channel.RED, Channel.YELLOW)


class RandomKind(Enum):
    """The kind of a random compliance examination."""

    DOCUMENT_REVIEW = "DOCUMENT_REVIEW"
    PHYSICAL = "PHYSICAL"


def policy_name(office_code: str) -> str:
    """The name of an office's own policy, ``capacityPolicies/{office_code}``."""
    return f"{_POLICY_PREFIX}{office_code}"


@dataclass(frozen=True)
class DowngradeRule:
    """Downgrades ``selected_channel`` selections of priority number >= ``min_priority``.

    Applies once the utilisation of the selection's examination type reaches
    ``utilisation_percent``. ``documents`` are what a selection downgraded to
    YELLOW is checked against, besides its criterion's own documents.
    """

    selected_channel: Channel
    utilisation_percent: float
    min_priority: int
    downgrade_to: Channel
    documents: tuple[DocumentRequirement, ...] = ()

    def matches(self, channel: Channel, utilisation_percent: float, priority: int) -> bool:
        """Whether the rule downgrades a selection of this channel, utilisation and priority."""
        return (
            channel is self.selected_channel
            and utilisation_percent >= self.utilisation_percent
            and priority >= self.min_priority
        )


@dataclass(frozen=True)
class CapacityPolicy:
    """How selections are downgraded as capacity runs out, for one office or by default."""

    name: str
    rules: tuple[DowngradeRule, ...] = ()
    downgrade_random_examinations: bool = False
    revision: int = 0
    update_time: datetime | None = None
    updated_by: str = ""

    def first_rule(
        self, channel: Channel, utilisation_percent: float, priority: int
    ) -> DowngradeRule | None:
        """The first rule that downgrades such a selection, if any."""
        return next(
            (rule for rule in self.rules if rule.matches(channel, utilisation_percent, priority)),
            None,
        )


@dataclass(frozen=True)
class CapacityPolicies:
    """Every capacity policy as of one revision (shared by all policies; 0 before any)."""

    revision: int = 0
    policies: Mapping[str, CapacityPolicy] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, revision: int, policies: Sequence[CapacityPolicy]) -> CapacityPolicies:
        """The set of ``policies`` at ``revision``."""
        return cls(revision, MappingProxyType({policy.name: policy for policy in policies}))

    def for_office(self, office_code: str) -> CapacityPolicy | None:
        """The office's own policy, else the default one, else None (never downgrade)."""
        return self.policies.get(policy_name(office_code)) or self.policies.get(DEFAULT_POLICY)


@dataclass(frozen=True)
class CapacityUse:
    """The day's capacity of one examination type at an office, and what is already used."""

    channel: Channel
    examination_level: ExaminationLevel
    capacity: int
    used: int

    @property
    def utilisation_percent(self) -> float | None:
        """``used / capacity`` in percent; None when the type has no capacity (unlimited)."""
        if self.capacity <= 0:
            return None
        return self.used * 100.0 / self.capacity


@dataclass(frozen=True)
class CapacitySnapshot:
    """An office's capacity and use on the lodgement day, as the decision saw it.

    ``uses`` lists the examination types with capacity or use that day; it is
    empty when the decision selected no examination (capacity cannot change
    such a decision, so the use was not read).
    """

    office_code: str
    day: str
    known: bool
    uses: tuple[CapacityUse, ...] = ()

    def use(self, channel: Channel, level: ExaminationLevel) -> CapacityUse | None:
        """The use of one examination type, if it has capacity or use that day."""
        return next(
            (u for u in self.uses if u.channel is channel and u.examination_level is level), None
        )


@dataclass(frozen=True)
class CapacityDowngrade:
    """One selection downgraded for lack of capacity, under ``capacity_policy``.

    ``criterion`` is empty and ``random_kind`` set for a random draw.
    """

    criterion: str
    item_number: int
    random_kind: RandomKind | None
    from_channel: Channel
    from_examination_level: ExaminationLevel
    to_channel: Channel
    capacity_policy: str
    utilisation_percent: float


#: An examination type: (channel, level); the level is NONE for YELLOW.
ExaminationType = tuple[Channel, ExaminationLevel]


@dataclass(frozen=True)
class OfficeLimit:
    """An office's time zone and daily capacity per examination type, as exam_reports has it.

    A type without an entry has no capacity (unlimited for the capacity step).
    """

    office_code: str
    time_zone: str
    capacities: Mapping[ExaminationType, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class OfficeDayCapacity:
    """An office's daily capacity per examination type on one day (office time zone).

    ``known`` is False for an office exam_reports does not know: no capacity
    limit applies then, and its day is the UTC day.
    """

    office_code: str
    day: date
    known: bool
    capacities: Mapping[ExaminationType, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class OfficeLimits:
    """Every office's capacity limit as of one revision of exam_reports' capacity stream.

    Revision 0: nothing received yet.
    """

    revision: int = 0
    offices: Mapping[str, OfficeLimit] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, revision: int, limits: Sequence[OfficeLimit]) -> OfficeLimits:
        """The set of ``limits`` at ``revision``."""
        return cls(revision, MappingProxyType({limit.office_code: limit for limit in limits}))

    def changed(self, revision: int, limit: OfficeLimit) -> OfficeLimits:
        """These limits with one office's replaced, at ``revision``."""
        return OfficeLimits(revision, MappingProxyType({**self.offices, limit.office_code: limit}))

    def on(self, office_code: str, moment: datetime) -> OfficeDayCapacity:
        """The office's capacity on the calendar day of ``moment`` in its own time zone."""
        limit = self.offices.get(office_code)
        if limit is None:
            return OfficeDayCapacity(office_code, office_day(moment, ""), known=False)
        return OfficeDayCapacity(
            office_code, office_day(moment, limit.time_zone), True, limit.capacities
        )


def office_day(moment: datetime, time_zone: str) -> date:
    """The calendar day of ``moment`` in the office's IANA zone (UTC when unknown or empty)."""
    zone: ZoneInfo | None = None
    if time_zone:
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    return moment.astimezone(zone or UTC).date()


def examination_type(decision: Decision) -> tuple[Channel, ExaminationLevel] | None:
    """The examination the decision asks of the office (channel, level), if any."""
    if decision.channel in EXAMINATION_CHANNELS:
        return decision.channel, decision.examination_level
    return None


# --- the downgrade step ------------------------------------------------------------


@dataclass(frozen=True)
class RandomSelection:
    """A selected random draw as the capacity step sees it."""

    kind: RandomKind
    examination_level: ExaminationLevel = ExaminationLevel.NONE
    #: What the random step told the examiner; withdrawn if the draw is downgraded.
    instruction: ExaminerInstruction | None = None

    @property
    def channel(self) -> Channel:
        """RED for a physical examination, YELLOW for a document review."""
        return Channel.RED if self.kind is RandomKind.PHYSICAL else Channel.YELLOW


@dataclass(frozen=True)
class _Member:
    """One member of a selection: a selected hit, or a selected random draw."""

    hit: CriterionHit | None
    random: RandomSelection | None

    @property
    def channel(self) -> Channel:
        if self.hit is not None:
            return self.hit.treatment.channel
        return self.random.channel if self.random is not None else Channel.GREEN

    @property
    def level(self) -> ExaminationLevel:
        if self.hit is not None:
            return self.hit.treatment.examination_level
        return self.random.examination_level if self.random is not None else ExaminationLevel.NONE

    @property
    def priority(self) -> int:
        return self.hit.priority if self.hit is not None else RANDOM_PRIORITY

    def downgradable(self, policy: CapacityPolicy) -> bool:
        if self.hit is not None:
            return not self.hit.mandatory
        return policy.downgrade_random_examinations

    def downgrade(
        self, to: Channel, from_channel: Channel, policy: CapacityPolicy, utilisation: float
    ) -> CapacityDowngrade:
        return CapacityDowngrade(
            criterion=self.hit.criterion if self.hit is not None else "",
            item_number=self.hit.item_number if self.hit is not None else 0,
            random_kind=self.random.kind if self.random is not None else None,
            from_channel=from_channel,
            from_examination_level=self.level
            if from_channel is Channel.RED
            else ExaminationLevel.NONE,
            to_channel=to,
            capacity_policy=policy.name,
            utilisation_percent=utilisation,
        )


def plan_downgrades(
    hits: Sequence[CriterionHit],
    randoms: Sequence[RandomSelection],
    policy: CapacityPolicy | None,
    snapshot: CapacitySnapshot,
) -> tuple[CapacityDowngrade, ...]:
    """The downgrades the policy makes of the selected hits and random draws (module doc)."""
    return tuple(downgrade for downgrade, _ in _plan(hits, randoms, policy, snapshot))


def _plan(
    hits: Sequence[CriterionHit],
    randoms: Sequence[RandomSelection],
    policy: CapacityPolicy | None,
    snapshot: CapacitySnapshot,
) -> list[tuple[CapacityDowngrade, DowngradeRule]]:
    """Each downgrade with the rule that made it."""
    if policy is None or not policy.rules or not snapshot.known:
        return []
    members = [_Member(hit, None) for hit in hits if hit.outcome is HitOutcome.SELECTED]
    members += [_Member(None, random) for random in randoms]
    channels = {index: member.channel for index, member in enumerate(members)}
    downgrades: list[tuple[CapacityDowngrade, DowngradeRule]] = []
    while True:
        top = max(channels.values(), key=lambda channel: channel.precedence, default=Channel.GREEN)
        if top not in EXAMINATION_CHANNELS:
            break
        selection = [index for index, channel in channels.items() if channel is top]
        level = ExaminationLevel.NONE
        if top is Channel.RED:
            level = max((members[i].level for i in selection), key=lambda lvl: lvl.rank)
        use = snapshot.use(top, level)
        utilisation = use.utilisation_percent if use is not None else None
        if utilisation is None or not all(members[i].downgradable(policy) for i in selection):
            break
        priority = min(members[i].priority for i in selection)
        rule = policy.first_rule(top, utilisation, priority)
        if rule is None:
            break
        for index in selection:
            downgrade = members[index].downgrade(rule.downgrade_to, top, policy, utilisation)
            downgrades.append((downgrade, rule))
            channels[index] = rule.downgrade_to
    return downgrades


def apply_capacity(
    decision: Decision,
    policy: CapacityPolicy | None,
    snapshot: CapacitySnapshot,
    *,
    randoms: Sequence[RandomSelection] = (),
) -> Decision:
    """The decision after the capacity step: ``decision`` itself when nothing is downgraded.

    ``randoms`` are the random draws that selected the declaration. A random
    examination downgraded to no examination at all (BLUE or GREEN) no longer
    makes the declaration part of the random sample.
    """
    planned = _plan(decision.criterion_hits, randoms, policy, snapshot)
    if not planned:
        return decision
    downgrades = tuple(downgrade for downgrade, _ in planned)
    final: dict[tuple[str, int], Channel] = {}
    final_random: dict[RandomKind, Channel] = {}
    #: The documents of the last rule that downgraded each member to YELLOW.
    rule_documents: dict[tuple[str, int] | RandomKind, tuple[DocumentRequirement, ...]] = {}
    for downgrade, rule in planned:
        key: tuple[str, int] | RandomKind
        if downgrade.random_kind is not None:
            key = downgrade.random_kind
            final_random[downgrade.random_kind] = downgrade.to_channel
        else:
            key = (downgrade.criterion, downgrade.item_number)
            final[key] = downgrade.to_channel
        rule_documents[key] = rule.documents if downgrade.to_channel is Channel.YELLOW else ()
    hits = tuple(
        replace(hit, outcome=HitOutcome.DOWNGRADED)
        if hit.outcome is HitOutcome.SELECTED and (hit.criterion, hit.item_number) in final
        else hit
        for hit in decision.criterion_hits
    )
    applied = list(_applied(hits, final))
    for random in randoms:
        to = final_random.get(random.kind, random.channel)
        level = random.examination_level if to is Channel.RED else ExaminationLevel.NONE
        applied.append((to, level, to is Channel.BLUE))
    channel = max(
        (entry[0] for entry in applied), key=lambda c: c.precedence, default=Channel.GREEN
    )
    level = ExaminationLevel.NONE
    if channel is Channel.RED:
        level = max(
            (entry[1] for entry in applied if entry[0] is Channel.RED), key=lambda lvl: lvl.rank
        )
    checked = [
        hit
        if hit.outcome is HitOutcome.SELECTED
        else replace(
            hit,
            treatment=replace(
                hit.treatment,
                documents_to_check=hit.treatment.documents_to_check
                + rule_documents[(hit.criterion, hit.item_number)],
            ),
        )
        for hit in hits
        if hit.outcome is HitOutcome.SELECTED
        or (
            hit.outcome is HitOutcome.DOWNGRADED
            and final[(hit.criterion, hit.item_number)] is Channel.YELLOW
        )
    ]
    documents = merge_documents(checked)
    # A random draw checks the documents for the whole declaration.
    listed = {check.document.document_type_code for check in documents}
    for kind, to in final_random.items():
        for document in rule_documents[kind] if to is Channel.YELLOW else ():
            if document.document_type_code not in listed:
                listed.add(document.document_type_code)
                documents += (DocumentCheck(document),)
    return replace(
        decision,
        channel=channel,
        examination_level=level,
        refer_to_audit=any(entry[2] for entry in applied),
        documents_to_check=documents,
        examiner_instructions=_kept_instructions(decision, final, final_random, randoms),
        criterion_hits=hits,
        capacity_downgrades=downgrades,
        randomly_selected=any(
            final_random.get(random.kind, random.channel) in EXAMINATION_CHANNELS
            for random in randoms
        ),
    )


def examined_hits(decision: Decision) -> tuple[CriterionHit, ...]:
    """The hits the decision's examination carries out: selected, or downgraded to it.

    A criterion downgraded from RED to YELLOW still selected the declaration
    for the document review it now gets, so its task names it. Hits
    downgraded to no examination (BLUE, GREEN) are not examined.
    """
    final = {
        (downgrade.criterion, downgrade.item_number): downgrade.to_channel
        for downgrade in decision.capacity_downgrades
        if downgrade.random_kind is None
    }
    return tuple(
        hit
        for hit in decision.criterion_hits
        if hit.outcome is HitOutcome.SELECTED
        or (
            hit.outcome is HitOutcome.DOWNGRADED
            and final.get((hit.criterion, hit.item_number)) in EXAMINATION_CHANNELS
        )
    )


def _applied(
    hits: Sequence[CriterionHit], final: Mapping[tuple[str, int], Channel]
) -> Iterator[tuple[Channel, ExaminationLevel, bool]]:
    """(channel, level, refers to audit) of every hit still applying, downgraded or not."""
    for hit in hits:
        treatment = hit.treatment
        if hit.outcome is HitOutcome.SELECTED:
            yield treatment.channel, treatment.examination_level, treatment.refers_to_audit
        elif hit.outcome is HitOutcome.DOWNGRADED:
            to = final[(hit.criterion, hit.item_number)]
            # An audit referral costs the office no examination: the criterion's request stands.
            yield to, ExaminationLevel.NONE, to is Channel.BLUE or treatment.also_refer_to_audit


def _kept_instructions(
    decision: Decision,
    final: Mapping[tuple[str, int], Channel],
    final_random: Mapping[RandomKind, Channel],
    randoms: Sequence[RandomSelection],
) -> tuple[ExaminerInstruction, ...]:
    """The instructions of the selections that were not downgraded.

    The decision gives one instruction per selected hit, in the order of its
    selected hits, followed by those of its random draws. A downgraded
    selection's instruction is withdrawn: it describes an examination that
    no longer takes place.
    """
    selected = decision.selected_hits
    instructions = decision.examiner_instructions
    kept = [
        instruction
        for hit, instruction in zip(selected, instructions[: len(selected)], strict=True)
        if (hit.criterion, hit.item_number) not in final
    ]
    withdrawn = [
        random.instruction
        for random in randoms
        if random.kind in final_random and random.instruction is not None
    ]
    for instruction in instructions[len(selected) :]:
        if instruction in withdrawn:
            withdrawn.remove(instruction)
        else:
            kept.append(instruction)
    return tuple(kept)
