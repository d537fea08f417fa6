"""Part a: the indexed engine beside the linear reference evaluator, in process.

Times are CPU time of the assessing thread (``time.thread_time_ns``), so that
other processes on the machine do not inflate them; the gRPC part measures
wall-clock latency. Before timing, the heap is collected and frozen
(``gc.freeze``): the rules are long-lived, and a full garbage collection
walking a hundred thousand criteria would otherwise land in a few
declarations' time at random.
"""

from __future__ import annotations

import functools
import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from report import Target, percentile, say

from scoring.domain.declaration import Declaration
from scoring.domain.draws import SelectionSeed
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import assess
from scoring.domain.rules import Criterion, NamedList, RulesSnapshot

_MS = 1e6


@dataclass(frozen=True)
class EngineFigures:
    """What one rule-set size measured."""

    criteria: int
    unindexed: int
    compile_seconds: float
    declarations: int
    candidates_mean: float
    hits_mean: float
    engine_p50_ms: float
    engine_p99_ms: float
    linear_sample: int
    linear_p50_ms: float
    linear_p99_ms: float
    sample_engine_p50_ms: float
    #: Mean linear time over mean engine time on the same sample.
    speedup: float


def _cpu_ms(work: Callable[[], object]) -> float:
    started = time.thread_time_ns()
    work()
    return (time.thread_time_ns() - started) / _MS


def measure(
    criteria: Sequence[Criterion],
    named_lists: Sequence[NamedList],
    declarations: Sequence[Declaration],
    linear_sample: int,
    seed: SelectionSeed,
) -> EngineFigures:
    """Times the engine on every declaration and both evaluators on a sample."""
    snapshot = RulesSnapshot.of(1, list(criteria), list(named_lists))
    started = time.perf_counter()
    engine = SelectivityEngine.compile(snapshot)
    compile_seconds = time.perf_counter() - started
    gc.collect()
    gc.freeze()
    try:
        engine_ms = [
            _cpu_ms(functools.partial(engine.assess, declaration, seed))
            for declaration in declarations
        ]
        sample = random.Random(7).sample(list(declarations), min(linear_sample, len(declarations)))
        sample_engine_ms: list[float] = []
        linear_ms: list[float] = []
        for declaration in sample:
            decided = engine.assess(declaration, seed)
            if decided != assess(snapshot, declaration, seed):
                number = declaration.declaration_number
                raise AssertionError(f"the engine and the linear evaluator differ on {number}")
            sample_engine_ms.append(_cpu_ms(functools.partial(engine.assess, declaration, seed)))
            linear_ms.append(_cpu_ms(functools.partial(assess, snapshot, declaration, seed)))
    finally:
        gc.unfreeze()
    statistics_sample = declarations[:: max(1, len(declarations) // 2_000)]
    return EngineFigures(
        criteria=len(criteria),
        unindexed=engine.statistics.unindexed,
        compile_seconds=compile_seconds,
        declarations=len(declarations),
        candidates_mean=statistics.mean(engine.candidate_count(d) for d in statistics_sample),
        hits_mean=statistics.mean(
            len(engine.assess(d, seed).criterion_hits) for d in statistics_sample
        ),
        engine_p50_ms=percentile(engine_ms, 0.5),
        engine_p99_ms=percentile(engine_ms, 0.99),
        linear_sample=len(sample),
        linear_p50_ms=percentile(linear_ms, 0.5),
        linear_p99_ms=percentile(linear_ms, 0.99),
        sample_engine_p50_ms=percentile(sample_engine_ms, 0.5),
        speedup=statistics.mean(linear_ms) / statistics.mean(sample_engine_ms),
    )


def print_figures(figures: Sequence[EngineFigures]) -> list[Target]:
    """The table of part a and its targets."""
    say(
        f"  {'criteria':>9} {'unindexed':>9} {'compile':>8} {'cand/decl':>9} {'hits/decl':>9} "
        f"{'engine p50':>10} {'engine p99':>10} {'linear p50':>10} {'linear p99':>10} "
        f"{'sample':>6} {'linear/engine':>13}"
    )
    for row in figures:
        say(
            f"  {row.criteria:>9,} {row.unindexed:>9,} {row.compile_seconds:>7.2f}s "
            f"{row.candidates_mean:>9.1f} {row.hits_mean:>9.2f} "
            f"{row.engine_p50_ms:>8.3f}ms {row.engine_p99_ms:>8.3f}ms "
            f"{row.linear_p50_ms:>8.2f}ms {row.linear_p99_ms:>8.2f}ms "
            f"{row.linear_sample:>6,} {row.speedup:>12.0f}x"
        )
    say(
        "  engine p50/p99 over every declaration; linear on a random sample of them (engine "
        "and linear decisions compared equal on that sample); linear/engine = ratio of means "
        "on the sample."
    )
    targets = []
    by_size = {row.criteria: row for row in figures}
    if 10_000 in by_size:
        targets.append(
            Target("engine p99 at 10k criteria", by_size[10_000].engine_p99_ms, "ms", 1.0, True)
        )
    if 100_000 in by_size:
        targets.append(
            Target("engine vs linear at 100k criteria", by_size[100_000].speedup, "x", 50, False)
        )
    for target in targets:
        say(target.line())
    return targets
