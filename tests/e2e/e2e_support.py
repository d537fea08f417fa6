"""What the end-to-end journeys share: waiting for what crosses services asynchronously."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def eventually(probe: Callable[[], _T | None], *, timeout: float = 20.0) -> _T:
    """Polls ``probe`` until it returns something, or fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"nothing after {timeout} s")
