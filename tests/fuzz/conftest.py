"""All five services as processes, started as `make run` starts them, for the fuzz tests.

Each service gets its own database: a fresh PostgreSQL database per service when
TEST_POSTGRES_URL is set (CI), SQLite files otherwise.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
from process_platforms import platform_of_processes
from run_platform import Platform

from customs_kit.testing.services import SigningKeys

_FIGURES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="session")
def fuzz_figures() -> dict[str, collections.Counter[str]]:
    """Status codes answered to generated requests, per service (printed at the end)."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Prints the answers each service gave to the generated requests."""
    for package, codes in sorted(_FIGURES.items()):
        figures = ", ".join(f"{code} {count}" for code, count in codes.most_common())
        terminalreporter.write_line(f"fuzz {package}: {sum(codes.values())} requests: {figures}")


@pytest.fixture(scope="session")
def fuzzed_platform(
    test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The five services as processes on free ports, each with its own database."""
    with platform_of_processes(
        test_keys,
        tmp_path_factory.mktemp("fuzzed-platform"),
        extra_environment={"LOG_LEVEL": "WARNING"},
    ) as running:
        yield running
