"""Running `customs` against the five services the end-to-end platform started."""

from __future__ import annotations

from run_platform import SERVICES, Platform
from typer.testing import CliRunner, Result

from customs_client.cli import app


def addresses(platform: Platform) -> dict[str, str]:
    """The ``CUSTOMS_*_ADDR`` variables that point the client at ``platform``."""
    return {
        f"CUSTOMS_{service.package.upper()}_ADDR": platform.address(service.package)
        for service in SERVICES
    }


def customs(platform: Platform, token: str, *arguments: str) -> Result:
    """``customs ARGUMENTS`` run in-process with ``token``, as a shell would run it."""
    environment = {**addresses(platform), "CUSTOMS_TOKEN": token}
    return CliRunner().invoke(app, list(arguments), env=environment)
