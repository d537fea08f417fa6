"""Disparity monitoring: are the selections of a segment justified by its measured risk?

WTO TFA art. 7.4 asks that risk management avoid arbitrary or unjustifiable
discrimination. For every selector (each criterion, the risk model and the
selection as a whole) and every segment of every dimension (origin country,
importer size band, approved-trader status, office, mode of transport) the
report gives the selection rate and the selector's hit rate, each with a
95 % Wilson interval, and the random arm's hit rate: the segment's measured
risk, the only one not biased by the selection itself.

The disparity ratio compares a segment with the rest of the population::

    D = (s_seg / s_rest) / (r_seg / r_rest)

where ``s`` is the selection rate and ``r`` the hit rate on the random arm,
each with half a count added to successes and failures (Haldane) so that an
empty cell gives a finite ratio. D = 1 is a segment selected exactly as much
more (or less) than the others as its risk is higher (or lower); D = 2 is a
segment selected twice as much as its risk justifies.

The test is one-sided, on the log ratio with the delta-method variance of
the four independent proportions: ``z = ln D / sqrt(sum((1 - p) / (n p)))``,
``p = 1 - Phi(z)``. The p-values of all the segments tested in one report
are adjusted by Benjamini-Hochberg; a segment whose adjusted p-value is
below 0.05 raises a finding. Only the risk model and the selection as a
whole are tested: a criterion targets some segments by design, so its
disparity is judged by what it adds to the selection as a whole, and each
finding names the criteria that select the segment more than the rest.
A segment is tested only with at least ``MIN_RANDOM_OUTCOMES`` random-arm
outcomes in the segment and in the rest: with fewer its risk is not measured.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from statistics import NormalDist

from customs_kit.statistics import wilson_interval
from scoring.domain.declaration import Declaration

#: The selector of the selection as a whole (YELLOW or RED, by criteria, model or draw).
ALL_SELECTIONS = "selection"
#: The selector of the risk model (its score at or above the threshold).
RISK_MODEL = "riskModel"
#: Random-arm outcomes a segment (and the rest) needs before it is tested.
MIN_RANDOM_OUTCOMES = 10
#: The false discovery rate of the Benjamini-Hochberg procedure.
FALSE_DISCOVERY_RATE = 0.05
#: How many criteria a finding names at most, the largest excess first.
_DRIVERS = 3
_NORMAL = NormalDist()


class Dimension(Enum):
    """A way of cutting the declarations into segments."""

    ORIGIN_COUNTRY = "origin_country"
    IMPORTER_SIZE = "importer_size"
    APPROVED_TRADER = "approved_trader"
    OFFICE = "office"
    TRANSPORT_MODE = "transport_mode"


#: Importer size bands by the importer's total declared customs value in the
#: period, in the declared (national) currency: (upper bound exclusive, band);
#: the last band has no bound. On the public data set a month's importers split
#: about 75 / 15 / 8 / 2 % into them.
SIZE_BANDS: tuple[tuple[Decimal | None, str], ...] = (
    (Decimal(1_000_000), "small"),
    (Decimal(10_000_000), "medium"),
    (Decimal(100_000_000), "large"),
    (None, "very_large"),
)


def size_band(total_value: Decimal) -> str:
    """The size band of an importer that declared ``total_value`` in the period."""
    for bound, band in SIZE_BANDS:
        if bound is None or total_value < bound:
            return band
    raise AssertionError("the last band is unbounded")


def declared_value(declaration: Declaration) -> Decimal:
    """The declaration's total customs value, as declared."""
    return sum((item.customs_value.amount for item in declaration.items), Decimal(0))


def principal_origin(declaration: Declaration) -> str:
    """The origin of the item of highest customs value (the first on a tie); "" without items."""
    if not declaration.items:
        return ""
    best = max(declaration.items, key=lambda item: (item.customs_value.amount, -item.item_number))
    return best.origin_country_code


@dataclass(frozen=True)
class Observation:
    """One assessed declaration as the monitor counts it.

    ``selected_by`` holds the selectors that selected it: ``criteria/...``
    names, :data:`RISK_MODEL`, :data:`ALL_SELECTIONS`. ``infringement`` is
    None without an examination outcome; ``random_examined`` says that the
    outcome came from a random compliance examination.
    """

    declaration: Declaration
    approved_trader: bool
    selected_by: frozenset[str]
    infringement: bool | None
    random_examined: bool


@dataclass(frozen=True)
class Rate:
    """``successes`` of ``trials`` with the 95 % Wilson interval."""

    successes: int
    trials: int
    lower: float
    upper: float

    @classmethod
    def of(cls, successes: int, trials: int) -> Rate:
        """The rate and its interval."""
        lower, upper = wilson_interval(successes, trials)
        return cls(successes, trials, lower, upper)

    @property
    def value(self) -> float:
        """successes / trials; 0 without trials."""
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class SegmentDisparity:
    """One selector in one segment: its rates, the segment's risk, the ratio and the test.

    ``p_value`` and ``adjusted_p_value`` are None when the segment was not
    tested (a criterion, or too few random-arm outcomes).
    """

    selector: str
    dimension: Dimension
    segment: str
    selection: Rate
    hit_rate: Rate
    random_hit_rate: Rate
    rest_selection: Rate
    rest_random_hit_rate: Rate
    disparity_ratio: float
    p_value: float | None = None
    adjusted_p_value: float | None = None
    flagged: bool = False


@dataclass(frozen=True)
class DisparityFinding:
    """A segment selected significantly more than its risk justifies, for the committee."""

    selector: str
    dimension: Dimension
    segment: str
    disparity_ratio: float
    adjusted_p_value: float
    #: The criteria selecting the segment more than the rest, the largest excess first.
    driving_criteria: tuple[str, ...]


@dataclass(frozen=True)
class DisparityReport:
    """Every selector in every segment, and the findings."""

    declarations: int
    random_outcomes: int
    segments: tuple[SegmentDisparity, ...] = ()
    findings: tuple[DisparityFinding, ...] = field(default=())


def _corrected(successes: int, trials: int) -> tuple[float, float]:
    """The Haldane-corrected proportion and its trials."""
    return (successes + 0.5) / (trials + 1.0), trials + 1.0


def disparity(
    selection: tuple[int, int],
    rest_selection: tuple[int, int],
    risk: tuple[int, int],
    rest_risk: tuple[int, int],
) -> tuple[float, float]:
    """The disparity ratio and its one-sided p-value (H0: D <= 1), from (successes, trials)."""
    log_ratio, variance = 0.0, 0.0
    for (successes, trials), sign in (
        (selection, 1),
        (rest_selection, -1),
        (risk, -1),
        (rest_risk, 1),
    ):
        p, n = _corrected(successes, trials)
        log_ratio += sign * math.log(p)
        variance += (1 - p) / (n * p)
    z = log_ratio / math.sqrt(variance)
    return math.exp(log_ratio), 1.0 - _NORMAL.cdf(z)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """The Benjamini-Hochberg adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = running
    return adjusted


def segments_of(
    observations: Sequence[Observation],
) -> list[dict[Dimension, str]]:
    """Each observation's segment in every dimension (the size band needs the whole period)."""
    values: dict[str, Decimal] = defaultdict(Decimal)
    for observation in observations:
        values[observation.declaration.importer.id] += declared_value(observation.declaration)
    return [
        {
            Dimension.ORIGIN_COUNTRY: principal_origin(observation.declaration),
            Dimension.IMPORTER_SIZE: size_band(values[observation.declaration.importer.id]),
            Dimension.APPROVED_TRADER: "approved"
            if observation.approved_trader
            else "not_approved",
            Dimension.OFFICE: observation.declaration.office_code,
            Dimension.TRANSPORT_MODE: observation.declaration.transport_mode_code,
        }
        for observation in observations
    ]


@dataclass
class _Cell:
    declarations: int = 0
    random_outcomes: int = 0
    random_hits: int = 0
    selected: Counter[str] = field(default_factory=Counter)
    selected_outcomes: Counter[str] = field(default_factory=Counter)
    selected_hits: Counter[str] = field(default_factory=Counter)

    def add(self, observation: Observation) -> None:
        self.declarations += 1
        if observation.random_examined and observation.infringement is not None:
            self.random_outcomes += 1
            self.random_hits += observation.infringement
        for selector in observation.selected_by:
            self.selected[selector] += 1
            if observation.infringement is not None:
                self.selected_outcomes[selector] += 1
                self.selected_hits[selector] += observation.infringement


def _tested(selector: str) -> bool:
    return selector in (ALL_SELECTIONS, RISK_MODEL)


def monitor(observations: Sequence[Observation], selectors: Iterable[str] = ()) -> DisparityReport:
    """The disparity report of ``observations``.

    ``selectors`` are reported even when they selected nothing (the active
    criteria); every selector found in an observation is reported too.
    """
    total = _Cell()
    cells: dict[tuple[Dimension, str], _Cell] = defaultdict(_Cell)
    for observation, segments in zip(observations, segments_of(observations), strict=True):
        total.add(observation)
        for dimension, segment in segments.items():
            cells[dimension, segment].add(observation)
    every = sorted(set(selectors) | set(total.selected) | {ALL_SELECTIONS})
    rows: list[SegmentDisparity] = []
    tested: list[int] = []
    p_values: list[float] = []
    for selector in every:
        for (dimension, segment), cell in sorted(
            cells.items(), key=lambda entry: (entry[0][0].value, entry[0][1])
        ):
            rest_declarations = total.declarations - cell.declarations
            rest_selected = total.selected[selector] - cell.selected[selector]
            rest_outcomes = total.random_outcomes - cell.random_outcomes
            rest_hits = total.random_hits - cell.random_hits
            ratio, p_value = disparity(
                (cell.selected[selector], cell.declarations),
                (rest_selected, rest_declarations),
                (cell.random_hits, cell.random_outcomes),
                (rest_hits, rest_outcomes),
            )
            testable = (
                _tested(selector)
                and cell.random_outcomes >= MIN_RANDOM_OUTCOMES
                and rest_outcomes >= MIN_RANDOM_OUTCOMES
            )
            if testable:
                tested.append(len(rows))
                p_values.append(p_value)
            rows.append(
                SegmentDisparity(
                    selector=selector,
                    dimension=dimension,
                    segment=segment,
                    selection=Rate.of(cell.selected[selector], cell.declarations),
                    hit_rate=Rate.of(
                        cell.selected_hits[selector], cell.selected_outcomes[selector]
                    ),
                    random_hit_rate=Rate.of(cell.random_hits, cell.random_outcomes),
                    rest_selection=Rate.of(rest_selected, rest_declarations),
                    rest_random_hit_rate=Rate.of(rest_hits, rest_outcomes),
                    disparity_ratio=ratio,
                    p_value=p_value if testable else None,
                )
            )
    findings: list[DisparityFinding] = []
    for index, adjusted in zip(tested, benjamini_hochberg(p_values), strict=True):
        row = rows[index]
        flagged = adjusted < FALSE_DISCOVERY_RATE and row.disparity_ratio > 1.0
        rows[index] = replace(row, adjusted_p_value=adjusted, flagged=flagged)
        if flagged:
            findings.append(
                DisparityFinding(
                    selector=row.selector,
                    dimension=row.dimension,
                    segment=row.segment,
                    disparity_ratio=row.disparity_ratio,
                    adjusted_p_value=adjusted,
                    driving_criteria=_drivers(cells[row.dimension, row.segment], total),
                )
            )
    return DisparityReport(
        declarations=total.declarations,
        random_outcomes=total.random_outcomes,
        segments=tuple(rows),
        findings=tuple(findings),
    )


def _drivers(cell: _Cell, total: _Cell) -> tuple[str, ...]:
    """The criteria selecting the segment more than the rest, by excess selections."""
    rest_declarations = total.declarations - cell.declarations
    excess: dict[str, float] = {}
    for selector, selected in cell.selected.items():
        if not selector.startswith("criteria/"):
            continue
        rest_rate = (
            (total.selected[selector] - selected) / rest_declarations if rest_declarations else 0.0
        )
        extra = selected - rest_rate * cell.declarations
        if extra > 0:
            excess[selector] = extra
    ranked = sorted(excess.items(), key=lambda entry: (-entry[1], entry[0]))
    return tuple(name for name, _ in ranked[:_DRIVERS])


def observation_selectors(
    criteria: Iterable[str], channel_selected: bool, risk_model_selected: bool
) -> frozenset[str]:
    """The selectors of one decision: its selecting criteria, the model, the whole."""
    found = set(criteria)
    if risk_model_selected:
        found.add(RISK_MODEL)
    if channel_selected:
        found.add(ALL_SELECTIONS)
    return frozenset(found)
