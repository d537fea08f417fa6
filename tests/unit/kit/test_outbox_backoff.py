"""Failed deliveries back off exponentially with full jitter, up to a cap."""

from __future__ import annotations

import random

import pytest

from customs_kit.outbox import backoff_delay


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 0.2), (2, 0.4), (3, 0.8), (6, 6.4)])
def test_the_ceiling_doubles_with_each_failed_attempt(attempts: int, ceiling: float) -> None:
    assert backoff_delay(attempts, rng=lambda: 1.0) == pytest.approx(ceiling)
    assert backoff_delay(attempts, rng=lambda: 0.0) == 0.0


@pytest.mark.parametrize("attempts", [10, 11, 100, 10_000])
def test_the_delay_never_exceeds_the_cap(attempts: int) -> None:
    assert backoff_delay(attempts, rng=lambda: 1.0) == 60.0
    assert backoff_delay(attempts, cap=5.0, rng=lambda: 1.0) == 5.0


def test_delays_of_events_that_failed_together_are_spread_out() -> None:
    rng = random.Random(7)

    delays = [backoff_delay(5, rng=rng.random) for _ in range(100)]

    assert all(0.0 <= delay < 3.2 for delay in delays)
    assert len({round(delay, 3) for delay in delays}) > 90
