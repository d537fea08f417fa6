"""`make bench`: the selectivity engine and the scoring service, measured on the data set.

a. engine CPU time per declaration (bench/engine_bench.py): the project's
   generated criteria and issue 13's rule shape at 1k, 10k and 100k, beside a
   minimal HS-prefix index and the linear reference evaluator, and a worker's
   memory; with ``--rules FILE.jsonl`` (and ``--declarations FILE.csv``) only
   that rule set;
b. AssessDeclaration over gRPC on loopback with 10k criteria and decisions
   persisted, at concurrency 1 and 32;
c. AssessDeclarations (the bulk stream) throughput, persisted;
h. ImportHistory: the whole data set with its outcomes, one stream, persisted;
m. the risk model: trained on train.csv, precision@5/10 % and AUC on
   valid.csv, training time and memory, artifact size, score latency;
d. delivery: seconds from assessment to examination task (scoring's outbox
   relay to a real exam_reports) over one 2,000-declaration bulk stream.

Decisions are persisted in a SQLite file unless ``--postgres URL`` (or
``TEST_POSTGRES_URL``) names a PostgreSQL server on which a fresh database is
created and dropped. ``--quick`` runs every part on fewer declarations.
The data set is read from ``CUSTOMS_DECLARATIONS_DIR`` or
``../shared/data/customs-declarations``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import engine_bench
from customs.criteria.v1 import criterion_pb2, named_list_pb2
from customs.scoring.v1 import declaration_pb2
from declarations_dataset import read_declarations
from delivery_bench import delivery
from generated_rules import DataProfile, generate_criteria, generate_named_lists, snapshot_messages
from history_bench import history
from model_bench import model_part
from report import Target, machine, say
from service_bench import bulk, ceiling, scoring_server, unary

_SERVER_CRITERIA = 10_000
_DELIVERY_DECLARATIONS = 2_000
_QUICK_DELIVERY_DECLARATIONS = 500


@dataclass(frozen=True)
class _ServiceCounts:
    """Declarations lodged in each service measurement."""

    warm_up: int
    concurrency_1: int
    concurrency_32: int
    bulk: int
    history: int


#: The concurrencies part b runs AssessDeclaration (and the health Check) at.
_CONCURRENCIES = (1, 8, 32, 64)

_SERVICE_COUNTS = _ServiceCounts(
    warm_up=200, concurrency_1=1_000, concurrency_32=4_000, bulk=6_000, history=50_000
)
_QUICK_SERVICE_COUNTS = _ServiceCounts(
    warm_up=100, concurrency_1=300, concurrency_32=1_500, bulk=2_000, history=10_000
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer declarations in every part")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_POSTGRES_URL", ""),
        help="PostgreSQL server URL for the service parts (default: TEST_POSTGRES_URL; "
        "a SQLite file without it)",
    )
    parser.add_argument(
        "--parts", default="abcdhm", help="which parts to run, e.g. 'a' or 'bm' (default: abcdhm)"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        help="part a on this rule set only: JSON lines of customs.common.v1.SelectionRule",
    )
    parser.add_argument(
        "--declarations",
        type=Path,
        help="part a over this CSV in the data set's columns (default: its held-out file)",
    )
    return parser.parse_args()


def main() -> None:
    """Runs the parts asked for and prints their figures against the targets."""
    arguments = _arguments()
    quick = arguments.quick
    started = time.perf_counter()
    say(f"Scoring benchmark{' (--quick)' if quick else ''}: {machine()}")
    targets: list[Target] = []
    if set("abcdh") & set(arguments.parts):
        messages = list(read_declarations())
        say(
            f"Data set: {len(messages):,} declarations, "
            f"{sum(len(message.items) for message in messages):,} items"
        )
        if "a" in arguments.parts:
            part_started = time.perf_counter()
            targets += engine_bench.run(messages, quick, arguments.rules, arguments.declarations)
            say(f"  (part a took {time.perf_counter() - part_started:.0f} s)")
        if set("bcdh") & set(arguments.parts):
            profile = DataProfile.of(messages)
            named_lists = generate_named_lists(profile)
            criteria = generate_criteria(_SERVER_CRITERIA, profile)
            if set("bch") & set(arguments.parts):
                targets += _service_part(
                    messages,
                    criteria,
                    named_lists,
                    arguments.postgres or None,
                    arguments.parts,
                    quick,
                )
            if "d" in arguments.parts:
                targets += _delivery_part(
                    messages, criteria, named_lists, arguments.postgres or None, quick
                )
    if "m" in arguments.parts:
        targets += model_part()
    say()
    say(f"Summary ({time.perf_counter() - started:.0f} s in all)")
    for target in targets:
        say(target.line())


def _service_part(
    messages: Sequence[declaration_pb2.Declaration],
    criteria: Sequence[criterion_pb2.ActiveCriterion],
    named_lists: Sequence[named_list_pb2.NamedList],
    postgres: str | None,
    parts: str,
    quick: bool,
) -> list[Target]:
    rules = snapshot_messages(1, criteria[:_SERVER_CRITERIA], named_lists)
    counts = _QUICK_SERVICE_COUNTS if quick else _SERVICE_COUNTS
    # Every declaration is lodged once: a re-sent version would only be looked up.
    unused = iter(messages)

    def take(count: int) -> list[declaration_pb2.Declaration]:
        return list(itertools.islice(unused, count))

    targets: list[Target] = []
    with scoring_server(rules, postgres) as server:
        say()
        say(
            f"b. AssessDeclaration over gRPC on loopback: {_SERVER_CRITERIA:,} criteria, "
            f"decisions and events persisted in {server.database}, outbox relay delivering"
        )
        if "b" in parts:
            for concurrency in _CONCURRENCIES:
                count = counts.concurrency_1 if concurrency == 1 else counts.concurrency_32
                result = unary(server, take(counts.warm_up), take(count), concurrency)
                # The health Check at the same concurrency, same server, same run.
                per_s_ceiling = ceiling(server, count, concurrency)
                ratio = result.per_second / per_s_ceiling
                say(
                    f"service concurrency={concurrency} p50_ms={result.p50_ms:.2f} "
                    f"p99_ms={result.p99_ms:.2f} per_s={result.per_second:.0f} "
                    f"ceiling_per_s={per_s_ceiling:.0f} ratio={ratio:.2f}"
                )
                if concurrency == 1:
                    targets.append(
                        Target("gRPC p99 at concurrency 1", result.p99_ms, "ms", 15, True)
                    )
                if concurrency == 32:
                    targets.append(
                        Target("gRPC p99 at concurrency 32", result.p99_ms, "ms", 100, True)
                    )
                    targets.append(
                        Target("ratio to the health ceiling at 32", ratio, "", 0.5, False)
                    )
            for target in targets:
                say(target.line())
        if "c" in parts:
            say()
            say(f"c. AssessDeclarations bulk stream, persisted in {server.database}")
            throughput = bulk(server, take(counts.bulk))
            if throughput is None:
                say("  not implemented (the server answers UNIMPLEMENTED)")
            else:
                say(
                    f"  {throughput.declarations:,} declarations in one stream "
                    f"({throughput.errors} errors)"
                )
                say(f"bulk per_s={throughput.per_second:.0f}")
                targets.append(
                    Target("bulk stream throughput", throughput.per_second, "decl/s", 2_000, False)
                )
                say(targets[-1].line())
        if "h" in parts:
            say()
            say(f"h. ImportHistory of the data set with its outcomes, in {server.database}")
            # The archive is a separate table: the declarations lodged above do not clash.
            imported = history(server, messages[: counts.history])
            say(
                f"  history per_s={imported.per_second:.0f} "
                f"({imported.declarations:,} declarations)"
            )
            targets.append(
                Target("history import throughput", imported.per_second, "decl/s", 5_000, False)
            )
            say(targets[-1].line())
    return targets


def _delivery_part(
    messages: Sequence[declaration_pb2.Declaration],
    criteria: Sequence[criterion_pb2.ActiveCriterion],
    named_lists: Sequence[named_list_pb2.NamedList],
    postgres: str | None,
    quick: bool,
) -> list[Target]:
    rules = snapshot_messages(1, criteria[:_SERVER_CRITERIA], named_lists)
    count = _QUICK_DELIVERY_DECLARATIONS if quick else _DELIVERY_DECLARATIONS
    # The last declarations of the data set: parts b and c lodge the first ones.
    declarations = list(messages[-count:])
    say()
    say(
        f"d. Delivery from assessment to examination task: {count:,} declarations in one "
        "bulk stream, scoring and exam_reports as processes"
    )
    latencies, database = delivery(rules, postgres, declarations)
    say(f"  persisted in {database}; tasks not opened in time: {latencies.missing}")
    p50, p99 = latencies.p50_s, latencies.p99_s
    say(f"delivery events={latencies.events} p50_s={p50:.3f} p99_s={p99:.3f}")
    target = Target("delivery p99 from assessment to task", latencies.p99_s, "s", 2, True)
    say(target.line())
    return [target]


if __name__ == "__main__":
    main()
