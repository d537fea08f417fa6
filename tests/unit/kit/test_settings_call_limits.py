"""Concurrency limits: whole numbers from the environment, refused with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from customs_kit.limits import CallLimits
from customs_kit.settings import ServiceSettings, SettingsError


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(b"not read as a key here")
    return {"AUTH_PUBLIC_KEY_FILE": str(key_file), "PAGE_TOKEN_SECRET": "s" * 16}


def test_limits_are_read_from_the_environment(environ: dict[str, str]) -> None:
    environ |= {
        "MAX_CALLS": "10",
        "MAX_CALLS_PER_CALLER": "5",
        "MAX_STREAMS": "8",
        "MAX_STREAMS_PER_CALLER": "2",
        "MAX_STREAMS_PER_CONNECTION": "20",
    }

    limits = ServiceSettings.from_env("criteria", 50052, environ).call_limits

    assert (
        limits.calls,
        limits.calls_per_caller,
        limits.streams,
        limits.streams_per_caller,
        limits.streams_per_connection,
    ) == (10, 5, 8, 2, 20)


def test_limits_have_defaults(environ: dict[str, str]) -> None:
    assert ServiceSettings.from_env("criteria", 50052, environ).call_limits == CallLimits()


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "many", "nan"])
def test_an_unusable_limit_is_refused_naming_the_variable(
    environ: dict[str, str], value: str
) -> None:
    environ["MAX_CALLS_PER_CALLER"] = value
    with pytest.raises(SettingsError, match="MAX_CALLS_PER_CALLER"):
        ServiceSettings.from_env("criteria", 50052, environ)
