"""A scoring server process for the benchmark: the real service, rules injected at start.

Run as ``python bench/scoring_server.py RULES_FILE`` with the service's usual
environment (DATABASE_URL, GRPC_PORT, AUTH_PUBLIC_KEY_FILE, SELECTION_SEED...).
It is the production entrypoint but for three options: the active criteria come
from RULES_FILE (stream messages, as criteria would send them) through the
``initial_rules`` seam, no criteria stream is followed, and no office capacity
stream either (the benchmark has no exam_reports: no capacity limit applies).
"""

from __future__ import annotations

import functools
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from customs.criteria.v1 import criteria_service_pb2

from customs_kit.server import run_service
from scoring.entrypoints.options import ScoringOptions
from scoring.entrypoints.server import DEFAULT_PORT, SERVICE_NAME, bootstrap

_LENGTH = struct.Struct(">I")
Message = criteria_service_pb2.WatchActiveCriteriaResponse


def write_rules(path: Path, messages: Sequence[Message]) -> None:
    """Writes stream messages, each prefixed with its length."""
    with path.open("wb") as handle:
        for message in messages:
            payload = message.SerializeToString()
            handle.write(_LENGTH.pack(len(payload)))
            handle.write(payload)


def read_rules(path: Path) -> Iterator[Message]:
    """The stream messages written by :func:`write_rules`."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        yield Message.FromString(data[offset : offset + length])
        offset += length


def main() -> None:
    """Serves scoring with the rules of ``sys.argv[1]`` until SIGTERM."""
    rules = list(read_rules(Path(sys.argv[1])))
    options = replace(
        ScoringOptions.from_env(),
        watch_criteria=False,
        initial_rules=rules,
        watch_office_capacity=False,
    )
    run_service(SERVICE_NAME, DEFAULT_PORT, functools.partial(bootstrap, options=options))


if __name__ == "__main__":
    main()
