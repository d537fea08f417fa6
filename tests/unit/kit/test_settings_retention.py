"""Retention settings: days from the environment, refused with the variable's name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from customs_kit.settings import ServiceSettings, SettingsError


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(b"not read as a key here")
    return {"AUTH_PUBLIC_KEY_FILE": str(key_file), "PAGE_TOKEN_SECRET": "s" * 16}


def test_both_retentions_default_to_seven_days(environ: dict[str, str]) -> None:
    settings = ServiceSettings.from_env("scoring", 50051, environ)

    assert settings.outbox_retention == timedelta(days=7)
    assert settings.idempotency_retention == timedelta(days=7)


def test_retentions_are_read_in_days_fractions_included(environ: dict[str, str]) -> None:
    environ |= {"OUTBOX_RETENTION_DAYS": "30", "IDEMPOTENCY_RETENTION_DAYS": "0.5"}

    settings = ServiceSettings.from_env("scoring", 50051, environ)

    assert settings.outbox_retention == timedelta(days=30)
    assert settings.idempotency_retention == timedelta(hours=12)


@pytest.mark.parametrize("variable", ["OUTBOX_RETENTION_DAYS", "IDEMPOTENCY_RETENTION_DAYS"])
@pytest.mark.parametrize("value", ["-1", "0", "seven", "nan", "inf", "100000"])
def test_an_unusable_retention_is_refused_naming_the_variable(
    environ: dict[str, str], variable: str, value: str
) -> None:
    environ[variable] = value

    with pytest.raises(SettingsError, match=variable) as refused:
        ServiceSettings.from_env("scoring", 50051, environ)

    assert repr(value) in str(refused.value)


def test_retention_problems_are_reported_with_the_others(environ: dict[str, str]) -> None:
    del environ["PAGE_TOKEN_SECRET"]
    environ |= {"OUTBOX_RETENTION_DAYS": "-3", "IDEMPOTENCY_RETENTION_DAYS": "a week"}

    with pytest.raises(SettingsError) as refused:
        ServiceSettings.from_env("scoring", 50051, environ)

    message = str(refused.value)
    assert "PAGE_TOKEN_SECRET" in message
    assert "OUTBOX_RETENTION_DAYS" in message
    assert "IDEMPOTENCY_RETENTION_DAYS" in message
