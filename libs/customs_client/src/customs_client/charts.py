"""The oversight report's pictures, drawn with matplotlib as PNG and SVG.

Each function takes plain figures (what the services' reports already hold)
and writes ``<name>.png`` and ``<name>.svg`` into a directory, returning the
two paths. Nothing here calls a service: the command line gathers the figures
and hands them over, so the charts are tested on data made in the test.

Figures are built with matplotlib's object interface rather than pyplot, so
no display backend or global figure state is involved: a chart drawn on a
server or in CI is the one drawn on a laptop.

Intervals are drawn as error bars from the interval's bounds, never from a
symmetric standard error, because Wilson intervals near 0 or 1 are lopsided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: The channels in routing order, with the colours the customs lanes are known by.
CHANNEL_COLOURS: Mapping[str, str] = {
    "GREEN": "#2e7d32",
    "YELLOW": "#f9a825",
    "RED": "#c62828",
    "BLUE": "#1565c0",
}


@dataclass(frozen=True)
class Proportion:
    """A rate with its confidence interval, e.g. a criterion's hit rate."""

    label: str
    rate: float
    lower: float
    upper: float
    #: How many observations the rate rests on (shown beside the label).
    observations: int


@dataclass(frozen=True)
class CapacityUse:
    """One office's examinations on one day against its daily capacity."""

    office: str
    day: str
    used: int
    capacity: int


@dataclass(frozen=True)
class SegmentDisparity:
    """A segment's selection rate against its risk on the random arm, both relative to the rest."""

    label: str
    disparity_ratio: float
    flagged: bool


@dataclass(frozen=True)
class RankingCurve:
    """A risk model's precision and recall when the top share of declarations is selected."""

    shares: Sequence[float]
    precision: Sequence[float]
    recall: Sequence[float]


def _figure(rows: int = 1, columns: int = 1, *, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns)


def _save(figure: Figure, directory: Path, name: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    png, svg = directory / f"{name}.png", directory / f"{name}.svg"
    figure.tight_layout()
    figure.savefig(png, dpi=120)
    # Text stays text in the SVG: searchable, selectable, read by screen readers.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(svg)
    return png, svg


def channel_mix(
    counts_by_period: Mapping[str, Mapping[str, int]], directory: Path
) -> tuple[Path, Path]:
    """Stacked shares of each channel per period (e.g. month), in period order."""
    periods = sorted(counts_by_period)
    figure, axes = _figure(figsize=(8, 4.5))
    bottoms = [0.0] * len(periods)
    for channel, colour in CHANNEL_COLOURS.items():
        shares = []
        for period in periods:
            total = sum(counts_by_period[period].values())
            shares.append(100 * counts_by_period[period].get(channel, 0) / total if total else 0)
        axes.bar(periods, shares, bottom=bottoms, color=colour, label=channel)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    axes.set_ylabel("declarations (%)")
    axes.set_ylim(0, 100)
    axes.set_title("Channel mix")
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return _save(figure, directory, "channel_mix")


def _intervals(axes: Axes, rows: Sequence[Proportion], colour: str) -> list[str]:
    positions = range(len(rows))
    rates = [100 * row.rate for row in rows]
    errors = [
        [100 * (row.rate - row.lower) for row in rows],
        [100 * (row.upper - row.rate) for row in rows],
    ]
    axes.errorbar(rates, list(positions), xerr=errors, fmt="o", color=colour, capsize=3)
    return [f"{row.label} (n={row.observations})" for row in rows]


def hit_rates(
    criteria: Sequence[Proportion], random_baseline: Proportion | None, directory: Path
) -> tuple[Path, Path]:
    """Each criterion's hit rate with its interval, against the random-examination rate."""
    figure, axes = _figure(figsize=(8, 1.2 + 0.45 * max(1, len(criteria))))
    labels = _intervals(axes, criteria, "#37474f")
    if random_baseline is not None:
        axes.axvspan(
            100 * random_baseline.lower,
            100 * random_baseline.upper,
            color="#90a4ae",
            alpha=0.3,
            label=f"random examinations (n={random_baseline.observations})",
        )
        axes.axvline(100 * random_baseline.rate, color="#546e7a", linestyle="--")
        axes.legend(loc="lower right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("examinations with a discrepancy (%)")
    axes.set_xlim(0, 100)
    axes.set_title("Hit rate per criterion (95 % Wilson interval)")
    return _save(figure, directory, "hit_rates")


def compliance_by_segment(
    segments: Sequence[Proportion], tolerance: float | None, directory: Path
) -> tuple[Path, Path]:
    """Compliance rate per segment (trader, HS chapter, origin...) with its interval."""
    figure, axes = _figure(figsize=(8, 1.2 + 0.45 * max(1, len(segments))))
    labels = _intervals(axes, segments, "#2e7d32")
    if tolerance is not None:
        axes.axvline(100 * tolerance, color="#c62828", linestyle="--", label="tolerance")
        axes.legend(loc="lower left")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("compliant examinations (%)")
    axes.set_xlim(0, 100)
    axes.set_title("Compliance rate by segment (95 % interval)")
    return _save(figure, directory, "compliance_by_segment")


def model_ranking(
    curve: RankingCurve, drift_by_period: Mapping[str, float], directory: Path
) -> tuple[Path, Path]:
    """Precision and recall by share selected, and the score drift (PSI) per period."""
    figure, (ranking, drift) = _figure(1, 2, figsize=(10, 4))
    shares = [100 * share for share in curve.shares]
    ranking.plot(shares, list(curve.precision), marker="o", label="precision")
    ranking.plot(shares, list(curve.recall), marker="s", label="recall")
    ranking.set_xlabel("declarations selected, highest scores first (%)")
    ranking.set_ylim(0, 1)
    ranking.set_title("Risk model: precision and recall")
    ranking.legend()
    periods = sorted(drift_by_period)
    drift.bar(periods, [drift_by_period[p] for p in periods], color="#6a1b9a")
    # The usual reading of a population stability index.
    drift.axhline(0.1, color="#f9a825", linestyle="--", label="0.1: watch")
    drift.axhline(0.25, color="#c62828", linestyle="--", label="0.25: retrain")
    drift.set_ylabel("population stability index")
    drift.set_title("Score drift against training")
    drift.legend()
    return _save(figure, directory, "model_ranking")


def capacity_use(days: Sequence[CapacityUse], directory: Path) -> tuple[Path, Path]:
    """Each office's daily examinations as a share of its capacity."""
    figure, axes = _figure(figsize=(9, 4.5))
    offices = sorted({day.office for day in days})
    for office in offices:
        series = sorted((d for d in days if d.office == office), key=lambda d: d.day)
        axes.plot(
            [d.day for d in series],
            [100 * d.used / d.capacity if d.capacity else 0 for d in series],
            marker=".",
            label=f"office {office}",
        )
    axes.axhline(100, color="#c62828", linestyle="--", label="capacity")
    axes.set_ylabel("capacity used (%)")
    axes.set_title("Examination capacity used per office")
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return _save(figure, directory, "capacity_use")


def disparity(segments: Sequence[SegmentDisparity], directory: Path) -> tuple[Path, Path]:
    """Each segment's disparity ratio on a log scale, flagged ones in red, 1 marked."""
    figure, axes = _figure(figsize=(8, 1.2 + 0.35 * max(1, len(segments))))
    positions = list(range(len(segments)))
    # A ratio is at least the Haldane-corrected floor, never 0: safe on a log axis.
    ratios = [max(segment.disparity_ratio, 1e-3) for segment in segments]
    colours = ["#c62828" if segment.flagged else "#546e7a" for segment in segments]
    axes.barh(positions, ratios, color=colours)
    axes.set_xscale("log")
    axes.axvline(1.0, color="#37474f", linestyle="--", label="selected as its risk justifies")
    axes.set_yticks(positions, [segment.label for segment in segments])
    axes.set_xlabel("selection relative to the rest / random-arm risk relative to the rest")
    axes.set_title("Disparity by segment (red: flagged, Benjamini-Hochberg p < 0.05)")
    axes.legend(loc="lower right")
    return _save(figure, directory, "disparity")
