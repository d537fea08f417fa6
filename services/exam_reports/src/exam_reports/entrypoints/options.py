"""Settings of the exam-reports service beyond the chassis's."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from customs_kit.settings import SettingsError

#: The currency of the public declarations data set the platform is developed on.
_DEFAULT_NATIONAL_CURRENCY = "KRW"
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class ExamReportsOptions:
    """What ``bootstrap`` needs besides the chassis settings.

    ``national_currency`` is the ISO 4217 code in which duties and taxes are
    assessed: a report's revenue must be in it, so that revenue adds up per
    criterion, per officer and per declaration.
    """

    national_currency: str = _DEFAULT_NATIONAL_CURRENCY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExamReportsOptions:
        """Reads ``NATIONAL_CURRENCY`` (default KRW; three upper-case letters).

        Raises ``SettingsError`` when it is not such a code.
        """
        env = os.environ if environ is None else environ
        currency = env.get("NATIONAL_CURRENCY", "") or _DEFAULT_NATIONAL_CURRENCY
        if not _CURRENCY_CODE.fullmatch(currency):
            raise SettingsError(
                "exam-reports: NATIONAL_CURRENCY must be an ISO 4217 code of three "
                f"upper-case letters, got {currency!r}"
            )
        return cls(national_currency=currency)
