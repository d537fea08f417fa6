"""Starts all five services for development (`make run`), on SQLite or PostgreSQL.

Creates a development signing key in .run/ on first use, starts each service as
its own process with its own SQLite file in var/ (or, with ``--database`` /
``CUSTOMS_DATABASE`` naming a PostgreSQL server, its own database there,
created if missing and migrated by the service), waits until every one reports
SERVING, prints the addresses and a ready-to-use token, and on Ctrl-C (or
SIGTERM) stops them gracefully. The development key never leaves this machine;
production services are given only a public key by their deployment.

With ``--tls`` (``make run TLS=1``) the services talk mutual TLS: a throw-away
CA and a certificate per service and for the developer are written to
``<data dir>/tls/`` on each start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from customs_kit.auth import Role, generate_key_pair, mint_token
from customs_kit.dev_tls import IssuedCertificate, write_development_ca


@dataclass(frozen=True)
class Service:
    """One service of the platform and how `make run` serves it."""

    package: str
    port: int
    #: Port of the service's Prometheus ``/metrics`` endpoint.
    metrics_port: int

    @property
    def name(self) -> str:
        """The Kubernetes-style name (``exam-reports``)."""
        return self.package.replace("_", "-")

    @property
    def address_variable(self) -> str:
        """The variable peers read this service's address from."""
        return f"{self.package.upper()}_ADDR"


SERVICES = (
    Service("scoring", 50051, 9461),
    Service("criteria", 50052, 9462),
    Service("exam_reports", 50053, 9463),
    Service("compliance", 50054, 9464),
    Service("audit_referral", 50055, 9465),
)

#: ``--database postgresql``: the server tools/ci_postgres.sh starts on this machine.
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

#: Roles of the token printed for a developer: every human role, so each RPC can be tried.
DEVELOPER_ROLES = [role for role in Role if role is not Role.SERVICE]


@dataclass(frozen=True)
class Credentials:
    """What the services of one platform share: key, service token, selection seed."""

    public_key: Path
    service_token: Path
    selection_seed: str


def prepare_credentials(run_dir: Path) -> tuple[Credentials, bytes]:
    """The dev key pair and selection seed (made once), a fresh service token.

    Returns the credentials and the private key that mints developer tokens.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    seed = run_dir / "selection-seed"
    if not seed.exists():
        # Kept across restarts so that stored decisions replay with the same draws.
        seed.write_text(secrets.token_hex(32))
        seed.chmod(0o600)
    private_key = run_dir / "dev-private.pem"
    public_key = run_dir / "dev-public.pem"
    if not private_key.exists():
        private_pem, public_pem = generate_key_pair()
        private_key.write_bytes(private_pem)
        private_key.chmod(0o600)
        public_key.write_bytes(public_pem)
    private_pem = private_key.read_bytes()
    service_token = run_dir / "service.token"
    service_token.write_text(mint_token(private_pem, subject="platform", roles=[Role.SERVICE]))
    service_token.chmod(0o600)
    credentials = Credentials(public_key, service_token, seed.read_text().strip())
    return credentials, private_pem


def service_environment(
    service: Service,
    *,
    host: str,
    public_key: Path,
    service_token: Path,
    page_secret: str,
    selection_seed: str,
    data_dir: Path,
    base: Mapping[str, str],
) -> dict[str, str]:
    """The environment one service process runs with."""
    environment = dict(base)
    environment.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / service.package}.db",
            "GRPC_HOST": host,
            "GRPC_PORT": str(service.port),
            "AUTH_PUBLIC_KEY_FILE": str(public_key),
            "SERVICE_TOKEN_FILE": str(service_token),
            "PAGE_TOKEN_SECRET": page_secret,
            "METRICS_PORT": str(service.metrics_port),
        }
    )
    if service.package == "scoring":
        environment["SELECTION_SEED"] = selection_seed
    for peer in SERVICES:
        environment.setdefault(peer.address_variable, f"{host}:{peer.port}")
    return environment


#: The holder of the certificate the developer's tools (and the health checks) present.
DEVELOPER_CERTIFICATE = "developer"


def write_certificates(data_dir: Path, services: Sequence[Service]) -> dict[str, IssuedCertificate]:
    """A fresh development CA, a certificate per service and one for the developer."""
    return write_development_ca(
        data_dir.resolve() / "tls", [*(s.name for s in services), DEVELOPER_CERTIFICATE]
    )


def client_credentials(issued: IssuedCertificate) -> grpc.ChannelCredentials:
    """Channel credentials presenting ``issued`` and trusting its CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=issued.ca.read_bytes(),
        private_key=issued.key.read_bytes(),
        certificate_chain=issued.certificate.read_bytes(),
    )


#: The services whose history audit_referral anchors, by package, with their source names.
_ANCHORED_HISTORIES = {"criteria": "criteria", "exam_reports": "exam-reports"}


def history_key_environment(package: str, data_dir: Path) -> dict[str, str]:
    """The history checkpoint keys of ``package``: the anchored sign, audit_referral verifies.

    A throwaway Ed25519 pair per anchored service, made once in ``data_dir``
    (outside every database) and kept across restarts, so that the checkpoints
    audit_referral keeps still verify after one.
    """
    keys: dict[str, tuple[Path, Path]] = {}
    for anchored in _ANCHORED_HISTORIES:
        private_key = data_dir / f"history-signing-{anchored}.pem"
        public_key = data_dir / f"history-signing-{anchored}.pub.pem"
        if not private_key.exists():
            private_pem, public_pem = generate_key_pair()
            private_key.write_bytes(private_pem)
            private_key.chmod(0o600)
            public_key.write_bytes(public_pem)
        keys[anchored] = (private_key, public_key)
    if package in keys:
        return {"HISTORY_SIGNING_KEY_FILE": str(keys[package][0])}
    if package == "audit_referral":
        return {
            "HISTORY_CHECKPOINT_KEY_FILES": ",".join(
                f"{source}={keys[anchored][1]}" for anchored, source in _ANCHORED_HISTORIES.items()
            )
        }
    return {}


def wait_until_serving(
    address: str, deadline: float, credentials: grpc.ChannelCredentials | None = None
) -> bool:
    """Polls the standard health service at ``address`` until SERVING or ``deadline``."""
    with (
        grpc.insecure_channel(address)
        if credentials is None
        else grpc.secure_channel(address, credentials)
    ) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                response = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


def stop_all(processes: Sequence[subprocess.Popen[bytes]], grace_seconds: float) -> None:
    """SIGTERM to every service, then SIGKILL to any still running after the grace."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Platform:
    """The five services running as processes."""

    host: str
    services: Sequence[Service]
    processes: list[subprocess.Popen[bytes]]
    log_dir: Path
    #: The environment each process was started with, to start it again the same way.
    environments: list[dict[str, str]] = field(default_factory=list)

    def address(self, package: str) -> str:
        """``host:port`` of the service whose Python package is ``package``."""
        service = next(s for s in self.services if s.package == package)
        return f"{self.host}:{service.port}"

    def metrics_url(self, package: str) -> str:
        """The Prometheus endpoint of the service whose Python package is ``package``."""
        service = next(s for s in self.services if s.package == package)
        return f"http://{self.host}:{service.metrics_port}/metrics"

    def exited(self) -> list[tuple[Service, int]]:
        """The services whose process has ended, with their exit codes."""
        return [
            (service, process.returncode)
            for service, process in zip(self.services, self.processes, strict=True)
            if process.poll() is not None
        ]

    def stop(self, grace_seconds: float = 15.0) -> list[int]:
        """Stops every service gracefully; returns their exit codes."""
        stop_all(self.processes, grace_seconds)
        return [process.returncode for process in self.processes]


def start_service(
    service: Service, environment: Mapping[str, str], log_dir: Path
) -> subprocess.Popen[bytes]:
    """Starts one service's process, appending its output to its log."""
    with (log_dir / f"{service.package}.log").open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", f"{service.package}.entrypoints.server"],
            env=dict(environment),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def postgres_databases(server: str, services: Sequence[Service]) -> dict[str, str]:
    """One database per service on the PostgreSQL ``server`` URL, created if missing.

    Returns each service's async URL; every service migrates its own at start.
    """
    url = make_url(server)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {url.render_as_string()}")
    url = url.set(drivername="postgresql+psycopg")
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with contextlib.closing(admin.connect()) as connection:
        existing = set(connection.scalars(text("SELECT datname FROM pg_database")))
        for service in services:
            if service.package not in existing:
                connection.execute(text(f'CREATE DATABASE "{service.package}"'))
    admin.dispose()
    return {
        s.package: url.set(database=s.package).render_as_string(hide_password=False)
        for s in services
    }


def start_platform(
    *,
    host: str,
    services: Sequence[Service],
    credentials: Credentials,
    data_dir: Path,
    startup_timeout: float,
    database_urls: Mapping[str, str] | None = None,
    extra_environment: Mapping[str, str] | None = None,
    certificates: Mapping[str, IssuedCertificate] | None = None,
) -> Platform:
    """Starts every service and waits until each is SERVING.

    With ``certificates`` (by service name, and ``developer`` for the health
    checks, as :func:`write_certificates` makes them) the services run mutual TLS.

    Raises ``RuntimeError`` naming the service and its log if one does not come up.
    """
    log_dir = data_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    page_secret = secrets.token_hex(32)
    processes: list[subprocess.Popen[bytes]] = []
    environments: list[dict[str, str]] = []
    peers = {peer.address_variable: f"{host}:{peer.port}" for peer in services}
    for service in services:
        environment = service_environment(
            service,
            host=host,
            public_key=credentials.public_key.resolve(),
            service_token=credentials.service_token.resolve(),
            page_secret=page_secret,
            selection_seed=credentials.selection_seed,
            data_dir=data_dir.resolve(),
            base={**os.environ, **peers, **(extra_environment or {})},
        )
        environment.update(history_key_environment(service.package, data_dir.resolve()))
        if database_urls and service.package in database_urls:
            environment["DATABASE_URL"] = database_urls[service.package]
        if certificates is not None:
            environment.update(certificates[service.name].environment())
        environments.append(environment)
        processes.append(start_service(service, environment, log_dir))
    platform = Platform(
        host=host,
        services=services,
        processes=processes,
        log_dir=log_dir,
        environments=environments,
    )
    deadline = time.monotonic() + startup_timeout
    checked_with = (
        None if certificates is None else client_credentials(certificates[DEVELOPER_CERTIFICATE])
    )
    for service, process in zip(services, processes, strict=True):
        address = f"{host}:{service.port}"
        serving = wait_until_serving(address, deadline, checked_with)
        if not serving or process.poll() is not None:
            platform.stop(10)
            raise RuntimeError(
                f"{service.name} did not become healthy at {address}; "
                f"see {log_dir / service.package}.log"
            )
    return platform


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--run-dir", type=Path, default=Path(".run"))
    # Generous: on a busy 2-core machine scoring alone was measured taking two minutes.
    parser.add_argument("--startup-timeout", type=float, default=240.0)
    parser.add_argument(
        "--tls", action="store_true", help="mutual TLS between everything, with a development CA"
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("CUSTOMS_DATABASE", "sqlite"),
        help="sqlite (a file per service in --data-dir), or the URL of a PostgreSQL server "
        "(postgresql alone: the one on 127.0.0.1:5432) on which each service gets a "
        "database of its name (default: $CUSTOMS_DATABASE or sqlite)",
    )
    args = parser.parse_args(argv)
    certificates = write_certificates(args.data_dir, SERVICES) if args.tls else None
    if args.database == "postgresql":
        args.database = LOCAL_POSTGRES

    credentials, private_pem = prepare_credentials(args.run_dir)
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    started = time.monotonic()
    try:
        database_urls = (
            None if args.database == "sqlite" else postgres_databases(args.database, SERVICES)
        )
        platform = start_platform(
            host=args.host,
            services=SERVICES,
            credentials=credentials,
            data_dir=args.data_dir,
            startup_timeout=args.startup_timeout,
            certificates=certificates,
            database_urls=database_urls,
        )
    except (RuntimeError, ValueError, SQLAlchemyError) as error:
        sys.stderr.write(f"{error}\n")
        return 1

    token = mint_token(private_pem, subject="developer", roles=DEVELOPER_ROLES)
    token_file = args.run_dir / "developer.token"
    token_file.write_text(token)
    print(f"All services SERVING after {time.monotonic() - started:.1f} s:")
    for service in SERVICES:
        print(
            f"  {service.name:<15} {args.host}:{service.port}"
            f"   metrics http://{args.host}:{service.metrics_port}/metrics"
        )
    databases = (
        f"{args.data_dir}/<service>.db"
        if database_urls is None
        else make_url(args.database).set(database="<service>").render_as_string()
    )
    print(f"\nLogs: {platform.log_dir}/<service>.log   Databases: {databases}")
    print(f"\nDeveloper token (roles: {', '.join(DEVELOPER_ROLES)}), also in {token_file}:")
    print(f"  export TOKEN={token}")
    print("Another identity (four-eyes approvals need two people):")
    print(
        f"  {sys.executable} -m customs_kit.auth mint --key {args.run_dir}/dev-private.pem "
        "--subject supervisor-2 --role rmc --role supervisor"
    )
    if certificates is not None:
        developer = certificates[DEVELOPER_CERTIFICATE]
        print("\nMutual TLS is on; the customs command line needs the developer certificate:")
        print(f"  export CUSTOMS_TLS_CA_FILE={developer.ca}")
        print(f"  export CUSTOMS_TLS_CERT_FILE={developer.certificate}")
        print(f"  export CUSTOMS_TLS_KEY_FILE={developer.key}")
    print("\nPress Ctrl-C to stop.", flush=True)

    while not stopping:
        for service, code in platform.exited():
            sys.stderr.write(f"{service.name} exited with code {code}\n")
            stopping = True
        time.sleep(0.5)
    print("\nStopping...", flush=True)
    platform.stop()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
