"""Service settings, read once from the environment by ``main`` and passed down.

Secrets have no defaults: a service that is missing one refuses to start and
names every missing variable at once, so an operator fixes a deployment in one
round instead of one crash per variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from customs_kit.auth import OidcProvider
from customs_kit.channels import TlsFiles
from customs_kit.keepalive import Keepalive
from customs_kit.limits import CallLimits

#: Peer services a process may call, by Kubernetes name, with the variable that holds
#: each address (``host:port``).
PEER_ADDRESS_VARIABLES: Mapping[str, str] = {
    "scoring": "SCORING_ADDR",
    "criteria": "CRITERIA_ADDR",
    "exam-reports": "EXAM_REPORTS_ADDR",
    "compliance": "COMPLIANCE_ADDR",
    "audit-referral": "AUDIT_REFERRAL_ADDR",
}

_DEFAULT_RETENTION_DAYS = 7.0
#: Far beyond any sensible retention, and well inside what a date can be moved back by.
_MAX_RETENTION_DAYS = 36_500.0


class SettingsError(Exception):
    """The environment does not describe a runnable service."""


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the chassis needs to run one service process."""

    service_name: str
    database_url: str
    grpc_host: str
    grpc_port: int
    auth_public_key: bytes
    auth_issuer: str
    page_token_secret: bytes
    service_token: str | None = None
    peer_addresses: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    run_migrations_on_start: bool = True
    shutdown_grace_seconds: float = 10.0
    #: How long delivered outbox events are kept (undelivered ones are kept until delivered).
    outbox_retention: timedelta = timedelta(days=_DEFAULT_RETENTION_DAYS)
    #: How long a stored response answers a retry under the same ``request_id``.
    idempotency_retention: timedelta = timedelta(days=_DEFAULT_RETENTION_DAYS)
    #: Port of the Prometheus ``/metrics`` endpoint (``None``: no endpoint; 0: any free port).
    metrics_port: int | None = None
    #: The keepalive of this process's client channels and the ping policy of its server.
    keepalive: Keepalive = field(default_factory=Keepalive)
    #: How many calls and streams are served at once (``MAX_CALLS``, ``MAX_STREAMS``...).
    call_limits: CallLimits = field(default_factory=CallLimits)
    #: Mutual TLS with the peers (``TLS_CERT_FILE``...); ``None``: plaintext.
    tls: TlsFiles | None = None
    #: A plaintext port serving only the health service, for probes that cannot
    #: present a client certificate (Kubernetes' gRPC probes); ``None``: none.
    health_port: int | None = None
    #: Tokens of the administration's identity provider, beside the static key.
    oidc: OidcProvider | None = None

    @classmethod
    def from_env(
        cls,
        service_name: str,
        default_port: int,
        environ: Mapping[str, str] | None = None,
    ) -> ServiceSettings:
        """Reads the settings of ``service_name`` (e.g. ``exam-reports``).

        Raises ``SettingsError`` naming every missing or malformed variable.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def required_file(variable: str) -> bytes:
            path = env.get(variable, "")
            if not path:
                problems.append(f"{variable} is required")
                return b""
            try:
                return Path(path).read_bytes()
            except OSError as error:
                problems.append(f"{variable}: cannot read {path!r} ({error.strerror})")
                return b""

        def number(variable: str, default: float) -> float:
            raw = env.get(variable, "")
            try:
                return float(raw) if raw else default
            except ValueError:
                problems.append(f"{variable} must be a number, got {raw!r}")
                return default

        def retention(variable: str) -> timedelta:
            days = number(variable, _DEFAULT_RETENTION_DAYS)
            # Written so that NaN fails the check as well.
            if not 0 < days <= _MAX_RETENTION_DAYS:
                problems.append(
                    f"{variable} must be a number of days above 0 and at most "
                    f"{_MAX_RETENTION_DAYS:.0f}, got {env.get(variable, '')!r}"
                )
                return timedelta(days=_DEFAULT_RETENTION_DAYS)
            return timedelta(days=days)

        public_key = required_file("AUTH_PUBLIC_KEY_FILE")
        page_secret = env.get("PAGE_TOKEN_SECRET", "")
        if len(page_secret) < 16:
            problems.append("PAGE_TOKEN_SECRET is required (at least 16 characters)")
        token_path = env.get("SERVICE_TOKEN_FILE", "")
        service_token = required_file("SERVICE_TOKEN_FILE").decode().strip() if token_path else None
        port = int(number("GRPC_PORT", default_port))
        grace = number("SHUTDOWN_GRACE_SECONDS", 10.0)
        outbox_retention = retention("OUTBOX_RETENTION_DAYS")
        idempotency_retention = retention("IDEMPOTENCY_RETENTION_DAYS")

        def optional_port(variable: str) -> int | None:
            raw = env.get(variable, "")
            if not raw:
                return None
            if raw.isdigit() and int(raw) <= 65_535:
                return int(raw)
            problems.append(f"{variable} must be a port number, got {raw!r}")
            return None

        metrics_port = optional_port("METRICS_PORT")
        health_port = optional_port("HEALTH_PORT")
        tls = TlsFiles.from_env(env, problems)
        oidc = OidcProvider.from_env(env, problems)

        def limit(variable: str, default: int) -> int:
            value = number(variable, default)
            if not (value >= 1 and value == int(value)):
                problems.append(f"{variable} must be a whole number of at least 1, got {value!r}")
                return default
            return int(value)

        defaults = CallLimits()
        call_limits = CallLimits(
            calls=limit("MAX_CALLS", defaults.calls),
            calls_per_caller=limit("MAX_CALLS_PER_CALLER", defaults.calls_per_caller),
            streams=limit("MAX_STREAMS", defaults.streams),
            streams_per_caller=limit("MAX_STREAMS_PER_CALLER", defaults.streams_per_caller),
            streams_per_connection=limit(
                "MAX_STREAMS_PER_CONNECTION", defaults.streams_per_connection
            ),
        )
        package = service_name.replace("-", "_")
        migrate = env.get("RUN_MIGRATIONS_ON_START", "true").lower()
        if migrate not in ("true", "false"):
            problems.append(f"RUN_MIGRATIONS_ON_START must be true or false, got {migrate!r}")
        if problems:
            raise SettingsError(f"{service_name}: " + "; ".join(problems))
        return cls(
            service_name=service_name,
            database_url=env.get("DATABASE_URL", f"sqlite+aiosqlite:///var/{package}.db"),
            grpc_host=env.get("GRPC_HOST", "0.0.0.0"),
            grpc_port=port,
            auth_public_key=public_key,
            auth_issuer=env.get("AUTH_ISSUER", "customs-platform"),
            page_token_secret=page_secret.encode(),
            service_token=service_token,
            peer_addresses={
                peer: env[variable]
                for peer, variable in PEER_ADDRESS_VARIABLES.items()
                if env.get(variable) and peer != service_name
            },
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            run_migrations_on_start=migrate == "true",
            shutdown_grace_seconds=grace,
            outbox_retention=outbox_retention,
            idempotency_retention=idempotency_retention,
            metrics_port=metrics_port,
            call_limits=call_limits,
            tls=tls,
            health_port=health_port,
            oidc=oidc,
        )

    def peer_address(self, peer: str) -> str:
        """The address of ``peer``; raises ``SettingsError`` if it is not configured."""
        try:
            return self.peer_addresses[peer]
        except KeyError:
            variable = PEER_ADDRESS_VARIABLES.get(peer, peer)
            raise SettingsError(f"{self.service_name} needs {variable} to call {peer}") from None
