"""All five services as processes, started as `make run` starts them, for the fuzz tests.

Each service gets its own database: a fresh PostgreSQL database per service when
TEST_POSTGRES_URL is set (CI), SQLite files otherwise.
"""

from __future__ import annotations

import collections
import contextlib
import os
import secrets
import socket
from collections.abc import Iterator

import pytest
from run_platform import SERVICES, Credentials, Platform, Service, start_platform

from customs_kit.auth import Role
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import SigningKeys

_START_ATTEMPTS = 3
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def fuzzed_platform(
    test_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The five services as processes on free ports, each with its own database."""
    data_dir = tmp_path_factory.mktemp("fuzzed-platform")
    service_token = data_dir / "service.token"
    service_token.write_text(test_keys.token(Role.SERVICE, subject="platform"))
    with contextlib.ExitStack() as stack:
        server = os.environ.get("TEST_POSTGRES_URL")
        database_urls = (
            {s.package: stack.enter_context(fresh_postgres_database(server)) for s in SERVICES}
            if server
            else None
        )
        credentials = Credentials(
            public_key=test_keys.public_key_file,
            service_token=service_token,
            selection_seed=secrets.token_hex(32),
        )
        for attempt in range(_START_ATTEMPTS):
            # A port found free can be taken by another test before a service binds it.
            services = [Service(s.package, _free_port()) for s in SERVICES]
            try:
                running = start_platform(
                    host="127.0.0.1",
                    services=services,
                    credentials=credentials,
                    data_dir=data_dir,
                    startup_timeout=60,
                    database_urls=database_urls,
                    extra_environment={"LOG_LEVEL": "WARNING"},
                )
                break
            except RuntimeError:
                if attempt == _START_ATTEMPTS - 1:
                    raise
        try:
            yield running
        finally:
            running.stop()
