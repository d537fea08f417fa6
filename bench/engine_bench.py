"""Part a: the compiled engine on anyone's rules, beside a minimal index and the linear loop.

Every run prints one line, ``engine rules=N declarations=M cpu_p50_us=X
cpu_p99_us=Y hits_per_declaration=Z``: process CPU time per declaration of
the full decision (hits, draws, channel), so other processes on the machine
do not inflate it. Runs, by default:

* the project's generated criteria (``generated_rules``) at 1k, 10k, 100k
  over the data set;
* criteria of issue 13's shape (``shaped_rules``) written from the training
  file at 1k, 10k, 100k, over the held-out file, beside the minimal HS-prefix
  index and the linear reference evaluator on a sample (all three compared
  decision for decision on it);
* with ``--rules FILE.jsonl``, only that rule set, over ``--declarations
  FILE.csv`` (default: the held-out file), with the same comparisons;
* the memory of a worker holding 100k compiled criteria, and of compiling the
  next revision beside them (``memory_probe``).

Before timing, the heap is collected and frozen (``gc.freeze``): the rules
are long-lived, and a full collection walking them would otherwise land in a
few declarations' time at random.
"""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from customs.criteria.v1 import criterion_pb2
from customs.scoring.v1 import declaration_pb2
from declarations_dataset import read_declarations
from generated_rules import DataProfile, generate_criteria, generate_named_lists
from report import Target, percentile, say
from rule_files import read_rules, write_rules
from shaped_rules import shaped_rules

from scoring.adapters.codec import (
    criterion_from_proto,
    declaration_from_proto,
    named_list_from_proto,
)
from scoring.domain.assessment import Decision
from scoring.domain.declaration import Declaration
from scoring.domain.draws import SelectionSeed
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import Subject, assess, conclude, holds
from scoring.domain.rules import AllOf, Condition, Criterion, HsCodePrefix, NamedList, RulesSnapshot

_SIZES = (1_000, 10_000, 100_000)
#: Declarations the slow evaluators are timed on, by rule-set size (a quarter with --quick).
_SAMPLES = {1_000: 1_000, 10_000: 200, 100_000: 40}
_QUICK_DECLARATIONS = 2_000
#: Declarations the engine is timed on per run: 8,000 put 80 above the p99,
#: and timing all 45,000 of the data set at three sizes bought no precision.
_DECLARATIONS = 8_000
_US = 1e3
_MIB_LIMIT_HELD = 1024
_MIB_LIMIT_PEAK = 2048


@dataclass(frozen=True)
class EngineRun:
    """What one rule set measured."""

    label: str
    rules: int
    declarations: int
    compile_seconds: float
    p50_us: float
    p99_us: float
    hits_per_declaration: float
    #: On the sample: mean time of each evaluator (µs), by name.
    sample_means_us: dict[str, float]

    def line(self) -> str:
        return (
            f"engine rules={self.rules} declarations={self.declarations} "
            f"cpu_p50_us={self.p50_us:.0f} cpu_p99_us={self.p99_us:.0f} "
            f"hits_per_declaration={self.hits_per_declaration:.1f}"
        )


class MinimalIndex:
    """What a newcomer writes in an afternoon: criteria bucketed by (HS-prefix length, prefix).

    A criterion whose condition is an HS prefix, or an all_of with one, is
    filed under each of its prefixes; every other one is checked on every
    subject. Each candidate is then checked in full by the reference
    evaluator, and the decision made by the same ``conclude``.
    """

    def __init__(self, snapshot: RulesSnapshot) -> None:
        self._snapshot = snapshot
        self._buckets: dict[tuple[int, str], list[Criterion]] = {}
        self._always_header: list[Criterion] = []
        self._always_items: list[Criterion] = []
        for criterion in snapshot.criteria.values():
            prefixes = _hs_prefixes(criterion.rule.condition)
            if prefixes:
                for prefix in prefixes:
                    self._buckets.setdefault((len(prefix), prefix), []).append(criterion)
            elif criterion.rule.item_level:
                self._always_items.append(criterion)
            else:
                self._always_header.append(criterion)
        self._lengths = sorted({length for length, _ in self._buckets})

    def assess(self, declaration: Declaration, seed: SelectionSeed) -> Decision:
        return conclude(
            declaration, seed, self._matches(declaration), importer_approved=False, explain=False
        ).decision

    def _matches(self, declaration: Declaration) -> Iterator[tuple[Criterion, Subject]]:
        lists, moment = self._snapshot.named_lists, declaration.lodgement_time
        header = Subject(declaration, None, lists)
        for criterion in self._always_header:
            if criterion.is_valid_at(moment) and holds(criterion.rule.condition, header):
                yield criterion, header
        for item in declaration.items:
            subject = Subject(declaration, item, lists)
            candidates = list(self._always_items)
            for length in self._lengths:
                candidates += self._buckets.get((length, item.hs_code[:length]), ())
            for criterion in dict.fromkeys(candidates):
                if criterion.is_valid_at(moment) and holds(criterion.rule.condition, subject):
                    yield criterion, subject


def _hs_prefixes(condition: Condition) -> tuple[str, ...]:
    if isinstance(condition, HsCodePrefix):
        return condition.prefixes
    if isinstance(condition, AllOf):
        for child in condition.conditions:
            if isinstance(child, HsCodePrefix) and child.prefixes:
                return child.prefixes
    return ()


def _cpu_us(work: Callable[[], object]) -> float:
    started = time.process_time_ns()
    work()
    return (time.process_time_ns() - started) / _US


def measure(
    label: str,
    criteria: Sequence[Criterion],
    named_lists: Sequence[NamedList],
    declarations: Sequence[Declaration],
    sample_size: int,
    seed: SelectionSeed,
) -> EngineRun:
    """Times the engine on every declaration, and every evaluator on a sample."""
    snapshot = RulesSnapshot.of(1, list(criteria), list(named_lists))
    started = time.perf_counter()
    engine = SelectivityEngine.compile(snapshot)
    compile_seconds = time.perf_counter() - started
    minimal = MinimalIndex(snapshot)
    evaluators: dict[str, Callable[[Declaration], Decision]] = {
        "engine": lambda declaration: engine.assess(declaration, seed),
        "minimal index": lambda declaration: minimal.assess(declaration, seed),
        "linear loop": lambda declaration: assess(snapshot, declaration, seed),
    }
    gc.collect()
    gc.freeze()
    try:
        hits = 0
        engine_us = []
        for declaration in declarations:
            started_ns = time.process_time_ns()
            decision = engine.assess(declaration, seed)
            engine_us.append((time.process_time_ns() - started_ns) / _US)
            hits += len(decision.criterion_hits)
        sample = random.Random(7).sample(list(declarations), min(sample_size, len(declarations)))
        times: dict[str, list[float]] = {name: [] for name in evaluators}
        for declaration in sample:
            decisions = {name: decide(declaration) for name, decide in evaluators.items()}
            if len({repr(decision) for decision in decisions.values()}) != 1:
                number = declaration.declaration_number
                raise AssertionError(f"the evaluators' decisions differ on {number}")
            for name, decide in evaluators.items():
                times[name].append(_cpu_us(lambda: decide(declaration)))  # noqa: B023
    finally:
        gc.unfreeze()
    return EngineRun(
        label=label,
        rules=len(criteria),
        declarations=len(declarations),
        compile_seconds=compile_seconds,
        p50_us=percentile(engine_us, 0.5),
        p99_us=percentile(engine_us, 0.99),
        hits_per_declaration=hits / max(1, len(declarations)),
        sample_means_us={name: sum(t) / len(t) for name, t in times.items() if t},
    )


def _report(run: EngineRun, sample_size: int) -> list[Target]:
    say(f"  {run.label}: compiled in {run.compile_seconds:.1f} s")
    say(f"  {run.line()}")
    means = run.sample_means_us
    engine_mean = means["engine"]
    say(
        f"    on a sample of {min(sample_size, run.declarations)} (decisions equal), mean CPU "
        "per declaration and its ratio to the engine's: "
        + ", ".join(
            f"{name} {value:,.0f} us ({value / engine_mean:,.1f}x)" for name, value in means.items()
        )
    )
    targets = []
    if run.rules >= 100_000:
        engine = means["engine"]
        targets += [
            Target(f"{run.label}: p50", run.p50_us, "us", 1_000, True),
            Target(f"{run.label}: p99", run.p99_us, "us", 5_000, True),
            Target(f"{run.label}: linear / engine", means["linear loop"] / engine, "x", 100, False),
            Target(
                f"{run.label}: minimal index / engine",
                means["minimal index"] / engine,
                "x",
                1,
                False,
            ),
        ]
    elif run.rules >= 10_000:
        targets.append(Target(f"{run.label}: p99", run.p99_us, "us", 1_000, True))
    for target in targets:
        say(target.line())
    return targets


def _domain(
    criteria: Sequence[criterion_pb2.ActiveCriterion],
) -> list[Criterion]:
    return [criterion_from_proto(criterion) for criterion in criteria]


def _memory(rules_file: Path) -> list[Target]:
    probe = Path(__file__).with_name("memory_probe.py")
    output = subprocess.run(
        [sys.executable, str(probe), str(rules_file)], check=True, capture_output=True, text=True
    ).stdout
    figures = json.loads(output.splitlines()[-1])
    say(
        f"  a worker holding {figures['criteria']:,} compiled criteria: "
        f"{figures['held_mib']:,.0f} MiB resident; compiling the next revision beside them: "
        f"{figures['peak_mib']:,.0f} MiB peak"
    )
    targets = [
        Target("memory holding 100k criteria", figures["held_mib"], "MiB", _MIB_LIMIT_HELD, True),
        Target(
            "memory compiling a revision beside them",
            figures["peak_mib"],
            "MiB",
            _MIB_LIMIT_PEAK,
            True,
        ),
    ]
    for target in targets:
        say(target.line())
    return targets


def run(
    messages: Sequence[declaration_pb2.Declaration],
    quick: bool,
    rules_file: Path | None,
    declarations_file: Path | None,
) -> list[Target]:
    """Part a: prints every run and returns its targets."""
    seed = SelectionSeed(b"bench-selection-seed-0123456789ab")
    divisor = 4 if quick else 1
    if declarations_file is not None:
        held_out = [
            declaration_from_proto(m)
            for m in read_declarations(declarations_file.parent, (declarations_file.name,))
        ]
    else:
        held_out = [declaration_from_proto(m) for m in read_declarations(files=("valid.csv",))]
    if quick:
        held_out = held_out[:: max(1, len(held_out) // _QUICK_DECLARATIONS)]
    say()
    if rules_file is not None:
        criteria = _domain(read_rules(rules_file))
        say(f"a. Engine on {rules_file.name}: {len(criteria):,} criteria")
        size = max((s for s in _SIZES if s <= len(criteria)), default=_SIZES[0])
        measured = measure(rules_file.name, criteria, [], held_out, _SAMPLES[size] // divisor, seed)
        return _report(measured, _SAMPLES[size] // divisor)
    targets: list[Target] = []
    say("a. Engine CPU time per declaration, full decision (hits, draws, channel)")
    count = _QUICK_DECLARATIONS if quick else _DECLARATIONS
    everything = [
        declaration_from_proto(message) for message in messages[:: max(1, len(messages) // count)]
    ]
    profile = DataProfile.of(messages)
    generated = _domain(generate_criteria(max(_SIZES), profile))
    lists: list[NamedList] = [
        named_list_from_proto(named_list) for named_list in generate_named_lists(profile)
    ]
    for size in _SIZES:
        measured = measure(
            f"project's generated rules, {size:,}",
            generated[:size],
            lists,
            everything,
            _SAMPLES[size] // divisor,
            seed,
        )
        targets += _report(measured, _SAMPLES[size] // divisor)
    del generated
    training = list(read_declarations(files=("train.csv",)))
    shaped = shaped_rules(max(_SIZES), training)
    with tempfile.TemporaryDirectory() as scratch:
        # Through a rules file, exactly as --rules reads one.
        rules_path = Path(scratch) / "shaped.jsonl"
        write_rules(rules_path, shaped)
        criteria = _domain(read_rules(rules_path))
        for size in _SIZES:
            measured = measure(
                f"issue-13-shaped rules, {size:,}",
                criteria[:size],
                [],
                held_out,
                _SAMPLES[size] // divisor,
                seed,
            )
            targets += _report(measured, _SAMPLES[size] // divisor)
        del criteria
        say()
        say("a. Memory of a scoring worker (a process of its own)")
        targets += _memory(rules_path)
    return targets
