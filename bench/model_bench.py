"""Part m of `make bench`: the risk model trained on train.csv and measured on valid.csv.

Training runs in a child process, as scoring's training worker does, so its
peak memory is its own. The figures come from the same ``evaluate_ranking``
as the model card.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
import time
from dataclasses import dataclass

from labelled_declarations import read_labelled_declarations
from report import Target, percentile, say

from scoring.domain.risk_model import evaluate_ranking, load_risk_model, train_risk_model

_SCORED = 2_000
_EXPLAINED = 200


@dataclass(frozen=True)
class _Training:
    artifact: bytes
    wall_seconds: float
    cpu_seconds: float


def _train() -> _Training:
    rows = read_labelled_declarations(files=("train.csv",))
    started, cpu = time.perf_counter(), time.process_time()
    trained = train_risk_model(rows)
    return _Training(trained.artifact, time.perf_counter() - started, time.process_time() - cpu)


def _train_in_child(connection: multiprocessing.connection.Connection) -> None:
    connection.send(_train())
    connection.close()


def model_part() -> list[Target]:
    """Trains, validates and times the model; returns its figures beside their targets."""
    say()
    say("m. Risk model: LightGBM trained on train.csv (own child process), measured on valid.csv")
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(target=_train_in_child, args=(sending,))
    child.start()
    training: _Training = receiving.recv()
    child.join()
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    model = load_risk_model(training.artifact)
    valid = read_labelled_declarations(files=("valid.csv",))
    scores = model.score_many([row.declaration for row in valid])
    outcomes = [row.infringement for row in valid]
    metrics = evaluate_ranking(scores, outcomes, [row.revenue for row in valid])
    say(
        f"  trained in {training.wall_seconds:.1f} s ({training.cpu_seconds:.1f} s CPU), "
        f"peak {peak_mib:,.0f} MiB, artifact {len(training.artifact):,} bytes, "
        f"version {model.version_digest[:12]}"
    )
    say(f"  card (last 3 months of train.csv): {_figures(model.card.metrics, metrics)}")
    say(
        f"  valid.csv ({len(valid):,} declarations, base rate "
        f"{sum(outcomes) / len(outcomes):.3f}): {_figures(metrics, metrics)}"
    )
    declarations = [row.declaration for row in valid[:_SCORED]]
    model.score(declarations[0])
    # CPU time is the target, as for the engine (part a): on shared cores the
    # wall time's tail is other processes' turn, and is printed beside it.
    latencies, cpu = [], []
    for declaration in declarations:
        started, started_cpu = time.perf_counter(), time.thread_time()
        model.score(declaration)
        cpu.append((time.thread_time() - started_cpu) * 1e6)
        latencies.append((time.perf_counter() - started) * 1e6)
    explain = []
    for declaration in declarations[:_EXPLAINED]:
        started = time.perf_counter()
        model.explain(declaration)
        explain.append((time.perf_counter() - started) * 1e3)
    p99 = percentile(cpu, 0.99)
    say(
        f"  score one declaration: CPU p50 {percentile(cpu, 0.5):.0f} us, p99 {p99:.0f} us; "
        f"wall p50 {percentile(latencies, 0.5):.0f} us, p99 {percentile(latencies, 0.99):.0f} us; "
        f"explain (top 5 of pred_contrib): p50 {percentile(explain, 0.5):.1f} ms"
    )
    targets = [
        Target(
            "model precision@5% on valid.csv", metrics["precision_at_5"] or 0.0, "", 0.95, False
        ),
        Target(
            "model precision@10% on valid.csv", metrics["precision_at_10"] or 0.0, "", 0.86, False
        ),
        Target("model training time", training.wall_seconds, "s", 120, True),
        Target("model training peak memory", peak_mib, "MiB", 4096, True),
        Target("model score CPU p99 per declaration", p99, "us", 1000, True),
    ]
    for target in targets:
        say(target.line())
    return targets


def _figures(metrics: dict[str, float | None], order: dict[str, float | None]) -> str:
    """``metrics`` in ``order``'s key order (a card read back has its keys sorted)."""
    return ", ".join(
        f"{name.replace('_at_', '@')}% {value:.3f}" if "_at_" in name else f"{name} {value:.3f}"
        for name, value in ((name, metrics.get(name)) for name in order)
        if value is not None
    )
