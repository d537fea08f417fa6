"""METRICS_PORT: where the Prometheus endpoint listens, refused by name when unusable."""

from __future__ import annotations

from pathlib import Path

import pytest

from customs_kit.settings import ServiceSettings, SettingsError


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(b"not read as a key here")
    return {"AUTH_PUBLIC_KEY_FILE": str(key_file), "PAGE_TOKEN_SECRET": "s" * 16}


def test_no_metrics_endpoint_unless_a_port_is_given(environ: dict[str, str]) -> None:
    assert ServiceSettings.from_env("scoring", 50051, environ).metrics_port is None


def test_the_metrics_port_is_read_from_the_environment(environ: dict[str, str]) -> None:
    environ["METRICS_PORT"] = "9464"

    assert ServiceSettings.from_env("scoring", 50051, environ).metrics_port == 9464


@pytest.mark.parametrize("value", ["-1", "65536", "http", "nan", "9464.5"])
def test_an_unusable_metrics_port_is_refused_naming_the_variable(
    environ: dict[str, str], value: str
) -> None:
    environ["METRICS_PORT"] = value

    with pytest.raises(SettingsError, match="METRICS_PORT must be a port number"):
        ServiceSettings.from_env("scoring", 50051, environ)
