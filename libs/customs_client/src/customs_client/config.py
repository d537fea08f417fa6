"""Where the services are and who is calling: the environment, else `make run`'s defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The file `make run` writes its developer token to, relative to the repository root.
DEVELOPER_TOKEN_FILE = Path(".run") / "developer.token"


@dataclass(frozen=True)
class ServiceSpec:
    """One service: its Python package name and the port `make run` serves it on."""

    package: str
    default_port: int

    @property
    def address_variable(self) -> str:
        """The variable that overrides this service's address (``CUSTOMS_EXAM_REPORTS_ADDR``)."""
        return f"CUSTOMS_{self.package.upper()}_ADDR"


SERVICES: Mapping[str, ServiceSpec] = {
    spec.package: spec
    for spec in (
        ServiceSpec("scoring", 50051),
        ServiceSpec("criteria", 50052),
        ServiceSpec("exam_reports", 50053),
        ServiceSpec("compliance", 50054),
        ServiceSpec("audit_referral", 50055),
    )
}


class ConfigurationError(Exception):
    """The client cannot be set up: no token, or an unknown service."""


def service_address(package: str, environ: Mapping[str, str] | None = None) -> str:
    """``host:port`` of ``package``: ``CUSTOMS_<PACKAGE>_ADDR``, else 127.0.0.1 and its port."""
    spec = SERVICES.get(package)
    if spec is None:
        raise ConfigurationError(f"unknown service {package!r}; one of {', '.join(SERVICES)}")
    source = os.environ if environ is None else environ
    return source.get(spec.address_variable) or f"127.0.0.1:{spec.default_port}"


def load_token(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """``CUSTOMS_TOKEN``, else the developer token `make run` left in ``.run/``.

    Raises ``ConfigurationError`` saying how to get a token when there is none.
    """
    source = os.environ if environ is None else environ
    token = source.get("CUSTOMS_TOKEN", "").strip()
    if token:
        return token
    fallback = (cwd or Path.cwd()) / DEVELOPER_TOKEN_FILE
    if fallback.is_file():
        return fallback.read_text(encoding="utf-8").strip()
    raise ConfigurationError(
        "no token: set CUSTOMS_TOKEN (make run prints one) or run from the repository "
        f"root after make run, which writes {DEVELOPER_TOKEN_FILE}"
    )
