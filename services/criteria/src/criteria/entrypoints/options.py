"""Settings of the criteria service beyond the chassis's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from criteria.domain.recommendations import RecommendationPolicy
from customs_kit.checkpoints import CheckpointSigner
from customs_kit.settings import SettingsError

_DEFAULT_MAX_AGE_DAYS = 30.0
_MAX_AGE_DAYS_LIMIT = 3660.0
_DEFAULT_CHECKPOINT_SECONDS = 300.0
#: The source name this service signs its history checkpoints with.
HISTORY_SOURCE = "criteria"


@dataclass(frozen=True)
class CriteriaOptions:
    """What ``bootstrap`` needs besides the chassis settings.

    ``recommendation_policy`` holds the thresholds of the recommendation rules
    (the handbook's defaults unless a deployment is given others).

    ``impact_analysis_max_age`` is how old an impact analysis may be when an
    approval cites it: the traffic it replayed, the active set it was
    compared with and the offices' capacity all drift.

    The active risk model is measured every ``risk_model_check_interval``
    seconds over the last ``risk_model_check_window`` (a retrain is proposed
    when it stops performing): hourly over 30 days, the period the committee
    reviews.

    ``history_signer`` signs checkpoints of the history's head with the key of
    ``HISTORY_SIGNING_KEY_FILE`` (None: no checkpoints, the history is then
    verified on its own only); ``checkpoint_interval`` is how often the head is
    checkpointed between approvals, which checkpoint it at once.
    """

    impact_analysis_max_age: timedelta = timedelta(days=_DEFAULT_MAX_AGE_DAYS)
    recommendation_policy: RecommendationPolicy = field(default_factory=RecommendationPolicy)
    risk_model_check_interval: float = 3600.0
    risk_model_check_window: timedelta = timedelta(days=30)
    history_signer: CheckpointSigner | None = None
    checkpoint_interval: timedelta = timedelta(seconds=_DEFAULT_CHECKPOINT_SECONDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CriteriaOptions:
        """Reads ``IMPACT_ANALYSIS_MAX_AGE_DAYS`` (default 30; more than 0, at most 3660),
        ``HISTORY_SIGNING_KEY_FILE`` (a PEM Ed25519 private key; optional) and
        ``HISTORY_CHECKPOINT_INTERVAL_SECONDS`` (default 300, at least 1).

        Raises ``SettingsError`` when one is not such a value.
        """
        env = os.environ if environ is None else environ
        raw = env.get("IMPACT_ANALYSIS_MAX_AGE_DAYS", "")
        try:
            days = float(raw) if raw else _DEFAULT_MAX_AGE_DAYS
        except ValueError:
            days = 0.0
        # Written this way round so that NaN is refused too.
        if not 0 < days <= _MAX_AGE_DAYS_LIMIT:
            raise SettingsError(
                "criteria: IMPACT_ANALYSIS_MAX_AGE_DAYS must be a number of days above 0 "
                f"and at most {_MAX_AGE_DAYS_LIMIT:.0f}, got {raw!r}"
            )
        key_file = env.get("HISTORY_SIGNING_KEY_FILE", "")
        signer = CheckpointSigner.from_file(HISTORY_SOURCE, key_file) if key_file else None
        raw_interval = env.get("HISTORY_CHECKPOINT_INTERVAL_SECONDS", "")
        try:
            interval = float(raw_interval) if raw_interval else _DEFAULT_CHECKPOINT_SECONDS
        except ValueError:
            interval = 0.0
        if not 1 <= interval <= 86_400:
            raise SettingsError(
                "criteria: HISTORY_CHECKPOINT_INTERVAL_SECONDS must be a number of seconds "
                f"from 1 to 86400, got {raw_interval!r}"
            )
        return cls(
            impact_analysis_max_age=timedelta(days=days),
            history_signer=signer,
            checkpoint_interval=timedelta(seconds=interval),
        )
