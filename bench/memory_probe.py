"""A scoring worker's memory with compiled criteria, measured in a process of its own.

Run by the bench as ``python bench/memory_probe.py RULES.jsonl``: reads the
criteria as the worker receives them, compiles them, and prints its resident
memory holding them (``held_mib``), then compiles the next revision beside
the one held, as the service does before swapping, and prints the peak
(``peak_mib``), in one JSON line.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from rule_files import read_rules

from scoring.adapters.codec import criterion_from_proto
from scoring.domain.engine import SelectivityEngine
from scoring.domain.rules import RulesSnapshot


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    """Prints held and peak resident memory for the rules file named on the command line."""
    criteria = [criterion_from_proto(message) for message in read_rules(Path(sys.argv[1]))]
    held = SelectivityEngine.compile(RulesSnapshot.of(1, criteria, []))
    gc.collect()
    held_mib = _status_mib("VmRSS")
    successor = SelectivityEngine.compile(RulesSnapshot.of(2, criteria, []))
    gc.collect()
    print(
        json.dumps(
            {
                "criteria": held.statistics.criteria,
                "revisions": [held.snapshot.revision, successor.snapshot.revision],
                "held_mib": held_mib,
                "peak_mib": _status_mib("VmHWM"),
            }
        )
    )


if __name__ == "__main__":
    main()
