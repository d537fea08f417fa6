"""Page tokens of the List methods: a keyset position, bound to the query that made it.

The contract says a token is only good for the next page of the same query:
each token carries a digest of the method and its filters, so a token used
with other filters (which would silently skip or repeat items) is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audit_referral.adapters.repositories import ReferralPosition, TimePosition
from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.pagination import PageTokens


class QueryTokens:
    """Encodes and decodes the page tokens of one List query."""

    def __init__(self, tokens: PageTokens, method: str, filters: Mapping[str, Any]) -> None:
        self._tokens = tokens
        canonical = json.dumps({"method": method, **filters}, sort_keys=True, default=str)
        self._query = hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def referral_position(self, token: str) -> ReferralPosition | None:
        """The position in ``token`` (None: first page)."""
        position = self._decode(token)
        if position is None:
            return None
        try:
            return ReferralPosition(
                int(position["p"]), datetime.fromisoformat(position["t"]), str(position["i"])
            )
        except (KeyError, TypeError, ValueError):
            raise _invalid() from None

    def time_position(self, token: str) -> TimePosition | None:
        """The position in ``token`` (None: first page)."""
        position = self._decode(token)
        if position is None:
            return None
        try:
            return TimePosition(datetime.fromisoformat(position["t"]), str(position["i"]))
        except (KeyError, TypeError, ValueError):
            raise _invalid() from None

    def encode_referral(self, position: ReferralPosition | None) -> str:
        """The next_page_token for ``position`` ("" on the last page)."""
        if position is None:
            return ""
        return self._encode(
            {"p": position.priority, "t": position.create_time.isoformat(), "i": position.id}
        )

    def encode_time(self, position: TimePosition | None) -> str:
        """The next_page_token for ``position`` ("" on the last page)."""
        if position is None:
            return ""
        return self._encode({"t": position.create_time.isoformat(), "i": position.id})

    def _encode(self, position: dict[str, Any]) -> str:
        return self._tokens.encode({**position, "q": self._query})

    def _decode(self, token: str) -> dict[str, Any] | None:
        position = self._tokens.decode(token)
        if not position:
            return None
        if position.get("q") != self._query:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "page_token", "was returned by a query with other filters or method"
                    )
                ]
            )
        return position


def _invalid() -> InvalidArgument:
    return InvalidArgument(
        [FieldViolation("page_token", "is not a token returned by a previous call")]
    )
