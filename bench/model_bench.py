"""The cost the risk model adds to a decision: scoring one declaration, and its reasons."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from labelled_declarations import read_labelled_declarations
from report import percentile

from scoring.domain.risk_model import load_risk_model, train_risk_model
from scoring.service_layer.risk_scoring import ServingModel


@dataclass(frozen=True)
class ScoringCost:
    """Milliseconds per declaration: the score on every decision, reasons when not GREEN."""

    declarations: int
    score_p50_ms: float
    score_p99_ms: float
    reasons_p50_ms: float
    reasons_p99_ms: float
    train_seconds: float


def _timed(work: object, declarations: Sequence[object]) -> list[float]:
    timings = []
    for declaration in declarations:
        started = time.perf_counter()
        work(declaration)  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1_000)
    return timings


def scoring_cost(quick: bool) -> ScoringCost:
    """Trains on train.csv, then times the assessment path's calls on valid.csv's declarations."""
    rows = read_labelled_declarations(files=("train.csv",))
    started = time.perf_counter()
    trained = train_risk_model(rows)
    train_seconds = time.perf_counter() - started
    model = load_risk_model(trained.artifact)
    serving = ServingModel("riskModels/bench", model.version_digest, model)
    declarations = [row.declaration for row in read_labelled_declarations(files=("valid.csv",))]
    declarations = declarations[: 1_000 if quick else 5_000]
    scores = _timed(lambda d: serving.score(d, with_reasons=False), declarations)
    reasons = _timed(lambda d: serving.score(d, with_reasons=True), declarations[:500])
    return ScoringCost(
        len(declarations),
        percentile(scores, 0.5),
        percentile(scores, 0.99),
        percentile(reasons, 0.5),
        percentile(reasons, 0.99),
        train_seconds,
    )
