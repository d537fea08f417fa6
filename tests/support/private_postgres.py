"""A PostgreSQL server of a test's own, which the test may stop, restart or kill.

The suite's shared server (TEST_POSTGRES_URL) serves every other test at the
same time, so outage tests run their services on a server started here, on a
free port, from an empty data directory: initdb, pg_ctl, trust authentication
on loopback, test data only (fsync off). As root, initdb and the server run
as the ``postgres`` user, which they require.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from process_platforms import free_port

_PG_MAJOR = 15


def _bindir() -> Path | None:
    candidates = [os.environ.get("CI_POSTGRES_BINDIR", ""), f"/usr/lib/postgresql/{_PG_MAJOR}/bin"]
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.insert(1, found.stdout.strip())
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


@dataclass
class PrivatePostgres:
    """One PostgreSQL server in ``data`` on ``port``, stopped and started at will."""

    bindir: Path
    data: Path
    port: int

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def _pg_ctl(self, *arguments: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "--pgdata", str(self.data), *arguments)

    def initialise(self) -> None:
        """Creates the cluster (once)."""
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            f"--pgdata={self.data}",
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            # Test data only: not waiting for the disk saves most of initdb's time.
            "--no-sync",
        )
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.data}'\n"
            "max_connections = 200\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        self._pg_ctl("--log", str(self.data / "server.log"), "--wait", "--timeout=60", "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Stops the server: ``fast`` ends every session, ``immediate`` is a crash."""
        self._pg_ctl("--mode", mode, "--wait", "stop")

    def restart(self, mode: str = "fast") -> None:
        """Stops and starts the server again."""
        self.stop(mode)
        self.start()

    def dsn(self, database: str) -> str:
        """A libpq connection string for ``database``."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        """An async SQLAlchemy URL of ``database``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, database: str) -> str:
        """Creates ``database``; returns its URL."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running server of the test's own; stopped and deleted afterwards.

    Skips the test where no PostgreSQL is installed, except in CI.
    """
    bindir = _bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) must be installed in CI")
        pytest.skip("no PostgreSQL binaries (initdb) found")
    # Not under pytest's temporary directory: its parents are private to the
    # user running the tests, and the server may run as another.
    data = Path(tempfile.mkdtemp(prefix="customs-chaos-postgres."))
    server = PrivatePostgres(bindir, data, free_port())
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop("immediate")
        shutil.rmtree(data, ignore_errors=True)
