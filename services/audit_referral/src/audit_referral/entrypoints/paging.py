"""Page tokens of the List methods: a keyset position, bound to the query that made it.

The contract says a token is only good for the next page of the same query:
the chassis binds each token to the method and its filters, so a token used
with other filters (which would silently skip or repeat items) is refused.
"""

from __future__ import annotations

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
        self._query = {"method": method, **filters}

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
        return self._tokens.encode(position, query=self._query)

    def _decode(self, token: str) -> dict[str, Any] | None:
        return self._tokens.decode(token, query=self._query) or None


def _invalid() -> InvalidArgument:
    return InvalidArgument(
        [FieldViolation("page_token", "is not a token returned by a previous call")]
    )
