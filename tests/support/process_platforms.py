"""All five services as processes for a test: free ports, own databases, retried start.

The end-to-end, CLI, demo and fuzz suites each start a platform of their own;
this is the one way they do it. Each service gets a fresh PostgreSQL database
when TEST_POSTGRES_URL is set (CI), a SQLite file in ``data_dir`` otherwise.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

from run_platform import SERVICES, Credentials, Platform, Service, start_platform

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
) -> Iterator[Platform]:
    """The five services, SERVING, until the block ends; then stopped.

    With ``certificates`` (``run_platform.write_certificates``) they run mutual TLS.
    """
    service_token = data_dir / "service.token"
    service_token.write_text(test_keys.token(Role.SERVICE, subject="platform"))
    credentials = Credentials(test_keys.public_key_file, service_token, secrets.token_hex(32))
    with contextlib.ExitStack() as stack:
        server = os.environ.get("TEST_POSTGRES_URL")
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
