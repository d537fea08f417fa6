"""The oversight report's charts: one PNG and one SVG each, carrying what they show."""

from __future__ import annotations

from pathlib import Path

import pytest

from customs_client import charts

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_drawn(paths: tuple[Path, Path], *texts: str) -> None:
    png, svg = paths
    assert png.suffix == ".png"
    assert png.read_bytes().startswith(_PNG_SIGNATURE)
    assert png.stat().st_size > 5_000, "an empty canvas"
    picture = svg.read_text()
    assert picture.lstrip().startswith("<?xml")
    assert "<svg" in picture
    for text in texts:
        assert text in picture, text


def test_the_channel_mix_shows_every_month_and_channel(tmp_path: Path) -> None:
    counts = {
        "2021-02": {"GREEN": 700, "YELLOW": 150, "RED": 100, "BLUE": 50},
        "2021-01": {"GREEN": 800, "RED": 200},
    }

    assert_drawn(charts.channel_mix(counts, tmp_path), "2021-01", "2021-02", "YELLOW", "BLUE")


def test_hit_rates_are_drawn_against_the_random_baseline(tmp_path: Path) -> None:
    rows = [
        charts.Proportion("criteria/tobacco", 0.42, 0.31, 0.54, 60),
        charts.Proportion("criteria/poultry", 0.05, 0.01, 0.16, 40),
    ]
    baseline = charts.Proportion("random", 0.08, 0.05, 0.12, 300)

    assert_drawn(
        charts.hit_rates(rows, baseline, tmp_path),
        "criteria/tobacco (n=60)",
        "random examinations (n=300)",
    )


def test_compliance_by_segment_marks_the_tolerance(tmp_path: Path) -> None:
    rows = [charts.Proportion("HS 24", 0.81, 0.7, 0.89, 90)]

    assert_drawn(charts.compliance_by_segment(rows, 0.95, tmp_path), "HS 24 (n=90)", "tolerance")


def test_the_model_chart_shows_ranking_and_drift(tmp_path: Path) -> None:
    curve = charts.RankingCurve(
        shares=[0.01, 0.05, 0.1], precision=[0.99, 0.96, 0.88], recall=[0.05, 0.2, 0.37]
    )

    assert_drawn(
        charts.model_ranking(curve, {"2021-01": 0.03, "2021-02": 0.12}, tmp_path),
        "precision",
        "0.25: retrain",
    )


def test_capacity_use_is_a_share_of_each_office_capacity(tmp_path: Path) -> None:
    days = [
        charts.CapacityUse("30", "2021-01-04", 9, 10),
        charts.CapacityUse("30", "2021-01-05", 10, 10),
        charts.CapacityUse("40", "2021-01-04", 2, 0),
    ]

    assert_drawn(charts.capacity_use(days, tmp_path), "office 30", "office 40")


@pytest.mark.parametrize("draw", [charts.hit_rates, charts.compliance_by_segment])
def test_an_empty_report_still_draws_its_axes(tmp_path: Path, draw: object) -> None:
    png, _ = draw([], None, tmp_path)  # type: ignore[operator]

    assert png.read_bytes().startswith(_PNG_SIGNATURE)


def test_the_disparity_chart_names_each_segment_and_marks_selection_justified_by_risk(
    tmp_path: Path,
) -> None:
    segments = [
        charts.SegmentDisparity("origin_country=CN", 2.9, flagged=True),
        charts.SegmentDisparity("origin_country=BE", 0.8, flagged=False),
    ]

    assert_drawn(
        charts.disparity(segments, tmp_path),
        "origin_country=CN",
        "origin_country=BE",
        "selected as its risk justifies",
    )
