"""NATIONAL_CURRENCY: the currency duties are assessed in, checked before the service starts."""

from __future__ import annotations

import pytest

from customs_kit.settings import SettingsError
from exam_reports.entrypoints.options import ExamReportsOptions


def test_the_national_currency_is_read_from_the_environment() -> None:
    assert ExamReportsOptions.from_env({"NATIONAL_CURRENCY": "KES"}).national_currency == "KES"
    assert ExamReportsOptions.from_env({}).national_currency == "KRW"


@pytest.mark.parametrize("code", ["kes", "KE", "KESH", "K3S"])
def test_a_national_currency_that_is_no_iso_code_stops_the_start(code: str) -> None:
    with pytest.raises(SettingsError, match="NATIONAL_CURRENCY"):
        ExamReportsOptions.from_env({"NATIONAL_CURRENCY": code})
