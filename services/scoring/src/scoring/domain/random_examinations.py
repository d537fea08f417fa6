"""Random compliance examinations: the rates, and the draws made on every declaration.

The step after the criteria (handbook step 11 and appendix 1): a share of
declarations is sent to document review and a share to physical
examination at random, independently of the criteria, so that their
examinations are an unbiased sample for compliance measurement. Approved
traders are never exempt; they are drawn at their own rates.

A pure function of (decision, declaration, rates, seed), so that a replay
with the rates at the recorded revision and the recorded approved-trader
status gives the same draws.

Semantics (scoring/v1/random_examination_rate.proto):

* The rate that applies is the most specific configuration: office and
  procedure, then office with any procedure, then any office with the
  procedure, then any office and any procedure; without one, no draw is made.
* Document review and physical examination are drawn separately, each with
  its own keyed draw; a draw selects when it is below rate / 100.
* The draw is keyed on the consignment (draw scheme 2), so that re-lodging
  the same goods cannot re-roll it; decisions taken before were keyed on the
  declaration's version (scheme 1), and are replayed with it.
* A selected physical examination makes the channel at least RED, at the
  highest of its level and the criteria's; a selected document review makes
  it at least YELLOW. Each selected draw adds an instruction that says the
  examination is random, and nothing about any criterion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from scoring.domain.assessment import Decision, ExaminerInstruction
from scoring.domain.capacity import RandomKind, RandomSelection
from scoring.domain.consignments import consignment_key
from scoring.domain.declaration import Declaration
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import NO_RANDOM_STEP
from scoring.domain.rules import Channel, ExaminationLevel

RATE_PREFIX = "randomExaminationRates/"
_ANY = "any"
_MAX_ID_LENGTH = 63
#: The order in which the draws are made and recorded.
KINDS = (RandomKind.DOCUMENT_REVIEW, RandomKind.PHYSICAL)
#: Draws keyed on the declaration's number and version (decisions before scheme 2).
VERSION_DRAW_SCHEME = 1
#: Draws keyed on the consignment: the scheme of every new decision.
CONSIGNMENT_DRAW_SCHEME = 2

_LEVEL_WORDS = {
    ExaminationLevel.COMMERCIAL_SAMPLE: "commercial compliance examination of representative "
    "packages",
    ExaminationLevel.ENFORCEMENT: "enforcement examination of the unloaded cargo",
    ExaminationLevel.FULL: "100 % examination of all cargo and the conveyance",
}


def rate_name(office_code: str, procedure_code: str) -> str:
    """The resource name of the configuration of an office and procedure ("" = any).

    Readable (``randomExaminationRates/30-B``, ``randomExaminationRates/any-B``)
    when the codes fit the name's alphabet; otherwise a digest of both codes.
    The two forms cannot collide: a readable name has a procedure part of at
    most four characters, a digest name one of forty.
    """
    readable = f"{office_code or _ANY}-{procedure_code or _ANY}"
    plain = office_code.isascii() and (office_code.isalnum() or not office_code)
    if (
        plain
        and office_code.lower() != _ANY
        and procedure_code.lower() != _ANY
        and len(readable) <= _MAX_ID_LENGTH
    ):
        return f"{RATE_PREFIX}{readable}"
    digest = hashlib.sha256(f"{office_code}\x1f{procedure_code}".encode()).hexdigest()[:40]
    return f"{RATE_PREFIX}h-{digest}"


@dataclass(frozen=True)
class RandomExaminationRate:
    """The random examination rates of one office and procedure ("" = any), in percent."""

    office_code: str
    procedure_code: str
    document_review_percent: float = 0.0
    physical_examination_percent: float = 0.0
    physical_examination_level: ExaminationLevel = ExaminationLevel.NONE
    approved_trader_document_review_percent: float = 0.0
    approved_trader_physical_examination_percent: float = 0.0
    revision: int = 0
    update_time: datetime | None = None
    updated_by: str = ""
    reason: str = ""

    @property
    def name(self) -> str:
        """``randomExaminationRates/{random_examination_rate}``."""
        return rate_name(self.office_code, self.procedure_code)

    @property
    def key(self) -> tuple[str, str]:
        """(office code, procedure code)."""
        return self.office_code, self.procedure_code

    def percent(self, kind: RandomKind, *, approved_trader: bool) -> float:
        """The rate of ``kind`` for an importer that is (or is not) an approved trader."""
        if kind is RandomKind.PHYSICAL:
            if approved_trader:
                return self.approved_trader_physical_examination_percent
            return self.physical_examination_percent
        if approved_trader:
            return self.approved_trader_document_review_percent
        return self.document_review_percent

    def same_rates(self, other: RandomExaminationRate) -> bool:
        """Whether ``other`` sets the same rates and level (setting them again changes nothing)."""
        return rates_of(self) == rates_of(other)


def rates_of(rate: RandomExaminationRate) -> tuple[object, ...]:
    """What a caller sets: the codes, the four rates and the level."""
    return (
        rate.office_code,
        rate.procedure_code,
        rate.document_review_percent,
        rate.physical_examination_percent,
        rate.physical_examination_level,
        rate.approved_trader_document_review_percent,
        rate.approved_trader_physical_examination_percent,
    )


@dataclass(frozen=True)
class RandomExaminationRates:
    """Every configured rate as of one revision (shared by all rates; 0 before any)."""

    revision: int = 0
    rates: Mapping[tuple[str, str], RandomExaminationRate] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def of(cls, revision: int, rates: Sequence[RandomExaminationRate]) -> RandomExaminationRates:
        """The set of ``rates`` at ``revision``."""
        return cls(revision, MappingProxyType({rate.key: rate for rate in rates}))

    def applicable(self, office_code: str, procedure_code: str) -> RandomExaminationRate | None:
        """The most specific configuration for the office and procedure, if any."""
        for key in (
            (office_code, procedure_code),
            (office_code, ""),
            ("", procedure_code),
            ("", ""),
        ):
            rate = self.rates.get(key)
            if rate is not None:
                return rate
        return None

    def by_name(self, name: str) -> RandomExaminationRate | None:
        """The configuration named ``name``, if it exists."""
        return next((rate for rate in self.rates.values() if rate.name == name), None)


@dataclass(frozen=True)
class RandomDraw:
    """One random draw as the decision records it (the draw's value is not stored)."""

    kind: RandomKind
    random_examination_rate: str
    rate_percent: float
    approved_trader_rate: bool
    selected: bool
    #: The level of a selected physical examination; NONE otherwise.
    examination_level: ExaminationLevel = ExaminationLevel.NONE


@dataclass(frozen=True)
class RandomDrawEvaluation:
    """A draw with the keyed value behind it, for explanations."""

    draw: RandomDraw
    value: float

    @property
    def threshold(self) -> float:
        """The value must be below this to select: rate / 100."""
        return self.draw.rate_percent / 100.0


@dataclass(frozen=True)
class RandomStep:
    """The decision after the random draws, and each draw with its value."""

    decision: Decision
    evaluations: tuple[RandomDrawEvaluation, ...]


def draw_random_examinations(
    decision: Decision,
    declaration: Declaration,
    rates: RandomExaminationRates,
    seed: SelectionSeed,
    scheme: int = CONSIGNMENT_DRAW_SCHEME,
) -> RandomStep:
    """The random draws on ``declaration`` and the decision they lead to.

    The importer's approved-trader status is the one ``decision`` was taken
    with, so that criteria and random draws always agree on it. ``scheme``
    is the draw scheme recorded with the decision (a replay passes it).
    """
    rate = rates.applicable(declaration.office_code, declaration.procedure_code)
    if rate is None:
        return RandomStep(decision, ())
    approved = decision.importer_approved_trader
    evaluations = []
    for kind in KINDS:
        percent = rate.percent(kind, approved_trader=approved)
        value = (
            seed.random_draw(kind.value, declaration.declaration_number, declaration.version)
            if scheme == VERSION_DRAW_SCHEME
            else seed.consignment_random_draw(kind.value, consignment_key(declaration))
        )
        selected = value < percent / 100.0
        level = (
            rate.physical_examination_level
            if selected and kind is RandomKind.PHYSICAL
            else ExaminationLevel.NONE
        )
        draw = RandomDraw(kind, rate.name, percent, approved, selected, level)
        evaluations.append(RandomDrawEvaluation(draw, value))
    draws = tuple(evaluation.draw for evaluation in evaluations)
    return RandomStep(with_random_draws(decision, draws), tuple(evaluations))


def with_random_draws(decision: Decision, draws: Sequence[RandomDraw]) -> Decision:
    """``decision`` (of the criteria) with ``draws`` recorded and the selected ones applied."""
    channel, level = decision.channel, decision.examination_level
    instructions = list(decision.examiner_instructions)
    selected = [draw for draw in draws if draw.selected]
    for draw in selected:
        if draw.kind is RandomKind.PHYSICAL:
            if channel is Channel.RED:
                level = max(level, draw.examination_level, key=lambda lvl: lvl.rank)
            else:
                channel, level = Channel.RED, draw.examination_level
        elif channel.precedence < Channel.YELLOW.precedence:
            channel = Channel.YELLOW
        instructions.append(random_instruction(draw))
    return replace(
        decision,
        channel=channel,
        examination_level=level,
        examiner_instructions=tuple(instructions),
        random_draws=tuple(draws),
        randomly_selected=bool(selected),
    )


def random_instruction(draw: RandomDraw) -> ExaminerInstruction:
    """What the officer is told about a selected draw: that it is random, and how to examine."""
    if draw.kind is RandomKind.PHYSICAL:
        how = _LEVEL_WORDS.get(draw.examination_level, "physical examination")
        text = (
            f"Random compliance examination ({how}): examine as thoroughly as any other "
            "examination and report the result like any other."
        )
    else:
        text = (
            "Random compliance document review: vet the declaration and every supporting "
            "document in full and report the result like any other review."
        )
    return ExaminerInstruction(0, text)


def random_selections(decision: Decision) -> tuple[RandomSelection, ...]:
    """The selected draws of ``decision`` as the capacity step takes them."""
    return tuple(
        RandomSelection(draw.kind, draw.examination_level, random_instruction(draw))
        for draw in decision.random_draws
        if draw.selected
    )


def narrate_draws(step: RandomStep) -> list[str]:
    """The random draws in sentences, one per draw."""
    if not step.evaluations:
        return [NO_RANDOM_STEP]
    sentences = []
    for evaluation in step.evaluations:
        draw = evaluation.draw
        what = draw.kind.value.lower().replace("_", " ")
        rate = "approved-trader rate" if draw.approved_trader_rate else "rate"
        verdict = "selected" if draw.selected else "not selected"
        sentences.append(
            f"Random {what} under {draw.random_examination_rate} at the {rate} of "
            f"{draw.rate_percent:g} %: draw {evaluation.value:.6f} against "
            f"{evaluation.threshold:.6f}: {verdict}."
        )
    return sentences


def narrate_channel_change(step: RandomStep, before: Decision) -> str | None:
    """The sentence for a channel the draws changed; ``before`` is the criteria's decision."""
    after = step.decision
    if (after.channel, after.examination_level) == (before.channel, before.examination_level):
        return None
    level = f" at level {after.examination_level.name}" if after.channel is Channel.RED else ""
    return f"Channel {after.channel.name}{level} after the random draws."
