"""All five services as processes for a test: free ports, own databases, retried start.

The end-to-end, CLI, demo and fuzz suites each start a platform of their own;
this is the one way they do it. Each service gets a fresh PostgreSQL database
when TEST_POSTGRES_URL is set (CI) or a server is given, a SQLite file in
``data_dir`` otherwise. :func:`restart_service` kills one of them and starts
it again on the same database and port, as a crash and a supervisor would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from run_platform import (
    SERVICES,
    Credentials,
    Platform,
    Service,
    start_platform,
    start_service,
    wait_until_serving,
)

from customs_kit.auth import Role
from customs_kit.dev_tls import IssuedCertificate
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import SigningKeys

_START_ATTEMPTS = 3


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def platform_of_processes(
    test_keys: SigningKeys,
    data_dir: Path,
    *,
    startup_timeout: float = 60,
    extra_environment: Mapping[str, str] | None = None,
    certificates: Mapping[str, IssuedCertificate] | None = None,
    postgres_server: str | None = None,
) -> Iterator[Platform]:
    """The five services, SERVING, until the block ends; then stopped.

    With ``certificates`` (``run_platform.write_certificates``) they run mutual TLS.
    ``postgres_server`` (a URL like TEST_POSTGRES_URL) overrides TEST_POSTGRES_URL.
    """
    service_token = data_dir / "service.token"
    service_token.write_text(test_keys.token(Role.SERVICE, subject="platform"))
    credentials = Credentials(test_keys.public_key_file, service_token, secrets.token_hex(32))
    with contextlib.ExitStack() as stack:
        server = postgres_server or os.environ.get("TEST_POSTGRES_URL")
        database_urls = (
            {s.package: stack.enter_context(fresh_postgres_database(server)) for s in SERVICES}
            if server
            else None
        )
        for attempt in range(_START_ATTEMPTS):
            # A port found free can be taken by another test before a service binds it.
            services = [Service(s.package, free_port(), free_port()) for s in SERVICES]
            try:
                running = start_platform(
                    host="127.0.0.1",
                    services=services,
                    credentials=credentials,
                    data_dir=data_dir,
                    startup_timeout=startup_timeout,
                    database_urls=database_urls,
                    extra_environment=extra_environment,
                    certificates=certificates,
                )
                break
            except RuntimeError:
                if attempt == _START_ATTEMPTS - 1:
                    raise
        try:
            yield running
        finally:
            running.stop()


def restart_service(
    platform: Platform,
    package: str,
    *,
    kill_signal: signal.Signals = signal.SIGKILL,
    startup_timeout: float = 240,
) -> float:
    """Kills one service with ``kill_signal`` and starts it again, same database and port.

    Returns the seconds from the kill until the new process reports SERVING.
    """
    index = next(i for i, s in enumerate(platform.services) if s.package == package)
    service = platform.services[index]
    process = platform.processes[index]
    killed = time.monotonic()
    process.send_signal(kill_signal)
    process.wait()
    address = f"{platform.host}:{service.port}"
    for attempt in range(_START_ATTEMPTS):
        replacement = start_service(service, platform.environments[index], platform.log_dir)
        platform.processes[index] = replacement
        if wait_until_serving(address, time.monotonic() + startup_timeout):
            return time.monotonic() - killed
        # The port can still be held for a moment by the killed process's socket.
        replacement.kill()
        replacement.wait()
        if attempt == _START_ATTEMPTS - 1:
            break
    raise RuntimeError(f"{service.name} did not come back; see {platform.log_dir}")
