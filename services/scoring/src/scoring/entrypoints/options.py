"""Settings of the scoring service beyond the chassis's: the selection seed, the criteria feed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from customs.criteria.v1 import criteria_service_pb2

from customs_kit.settings import SettingsError
from customs_kit.watch import RETRY_BASE_SECONDS, RETRY_CAP_SECONDS
from scoring.domain.consignments import DEFAULT_RELODGEMENT_WINDOW
from scoring.domain.draws import SelectionSeed

_MIN_SEED_LENGTH = 16


@dataclass(frozen=True)
class ScoringOptions:
    """What ``bootstrap`` needs besides the chassis settings.

    ``initial_rules`` are active-criteria stream messages applied at start-up
    before any stream is followed (as if criteria had sent them); with
    ``watch_criteria`` False no stream is followed. Together they let a test
    or a tool run scoring on a fixed rule set without a criteria service.
    With ``watch_office_capacity`` False exam_reports' office capacity is not
    followed and not waited for: no capacity limit applies then.
    ``capacity_policy_reload_seconds`` is how soon a
    capacity policy changed through another replica applies here, and
    ``random_rates_reload_seconds`` the same for random examination rates.
    With ``watch_trader_profiles`` False compliance's trader profiles are not
    followed: importers are assessed with the approved-trader statuses an
    earlier run stored, if any, else as not approved.
    """

    selection_seed: SelectionSeed
    watch_criteria: bool = True
    initial_rules: Sequence[criteria_service_pb2.WatchActiveCriteriaResponse] = ()
    watch_retry_base_seconds: float = RETRY_BASE_SECONDS
    watch_retry_cap_seconds: float = RETRY_CAP_SECONDS
    watch_office_capacity: bool = True
    capacity_policy_reload_seconds: float = 5.0
    watch_trader_profiles: bool = True
    random_rates_reload_seconds: float = 5.0
    #: How long a decision's channel binds re-lodgements of its consignment.
    relodgement_window: timedelta = DEFAULT_RELODGEMENT_WINDOW

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScoringOptions:
        """Reads ``SELECTION_SEED`` (required, at least 16 characters, no default) and
        ``RELODGEMENT_WINDOW_HOURS`` (optional, 168 by default).

        The seed keys every selection draw: whoever knows it can predict which
        declarations a percentage criterion selects, so it is a secret and
        must stay the same for stored decisions to replay. Raises
        ``SettingsError`` when it is missing or too short.
        """
        env = os.environ if environ is None else environ
        seed = env.get("SELECTION_SEED", "")
        if len(seed) < _MIN_SEED_LENGTH:
            raise SettingsError(
                f"scoring: SELECTION_SEED is required (at least {_MIN_SEED_LENGTH} characters)"
            )
        hours = env.get("RELODGEMENT_WINDOW_HOURS", "")
        try:
            window = timedelta(hours=float(hours)) if hours else DEFAULT_RELODGEMENT_WINDOW
        except ValueError:
            raise SettingsError(
                f"scoring: RELODGEMENT_WINDOW_HOURS must be a number of hours, not {hours!r}"
            ) from None
        if window < timedelta(0):
            raise SettingsError("scoring: RELODGEMENT_WINDOW_HOURS must not be negative")
        return cls(selection_seed=SelectionSeed(seed.encode()), relodgement_window=window)
