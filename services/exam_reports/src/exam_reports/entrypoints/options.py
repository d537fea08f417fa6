"""Settings of the exam-reports service beyond the chassis's."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from customs_kit.checkpoints import CheckpointSigner
from customs_kit.settings import SettingsError

#: The currency of the public declarations data set the platform is developed on.
_DEFAULT_NATIONAL_CURRENCY = "KRW"
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
#: The source name this service signs its decision log checkpoints with.
HISTORY_SOURCE = "exam-reports"


@dataclass(frozen=True)
class ExamReportsOptions:
    """What ``bootstrap`` needs besides the chassis settings.

    ``national_currency`` is the ISO 4217 code in which duties and taxes are
    assessed: a report's revenue must be in it, so that revenue adds up per
    criterion, per officer and per declaration.

    ``history_signer`` signs checkpoints of the decision log's head with the
    key of ``HISTORY_SIGNING_KEY_FILE`` (None: the log is verified on its own
    only); every decision checkpoints the head at once.
    """

    national_currency: str = _DEFAULT_NATIONAL_CURRENCY
    history_signer: CheckpointSigner | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExamReportsOptions:
        """Reads ``NATIONAL_CURRENCY`` (default KRW; three upper-case letters) and
        ``HISTORY_SIGNING_KEY_FILE`` (a PEM Ed25519 private key; optional).

        Raises ``SettingsError`` when one is not such a value.
        """
        env = os.environ if environ is None else environ
        currency = env.get("NATIONAL_CURRENCY", "") or _DEFAULT_NATIONAL_CURRENCY
        if not _CURRENCY_CODE.fullmatch(currency):
            raise SettingsError(
                "exam-reports: NATIONAL_CURRENCY must be an ISO 4217 code of three "
                f"upper-case letters, got {currency!r}"
            )
        key_file = env.get("HISTORY_SIGNING_KEY_FILE", "")
        signer = CheckpointSigner.from_file(HISTORY_SOURCE, key_file) if key_file else None
        return cls(national_currency=currency, history_signer=signer)
