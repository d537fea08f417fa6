"""Opaque, signed page tokens and page-size rules for ``List...`` methods (AIP-158).

A page token carries the keyset position of the next page (the sort key of
the last item returned and its primary key) and a digest of the query that
made it (the list and its filters): AIP-158 makes a token good only for the
next page of the same query, since with other filters it would silently skip
or repeat items. It is signed so a client can neither forge a position nor
widen a filter it was not given; it is not encrypted, so it must not carry
anything the caller may not see.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from customs_kit.errors import FieldViolation, InvalidArgument

_MAC_SIZE = hashlib.sha256().digest_size
_MIN_SECRET_SIZE = 16


class PageTokens:
    """Encodes and verifies page tokens with an HMAC-SHA256 ``secret``."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET_SIZE:
            raise ValueError(f"the page token secret needs at least {_MIN_SECRET_SIZE} bytes")
        self._secret = secret

    def encode(self, position: Mapping[str, Any], *, query: Mapping[str, Any] | None = None) -> str:
        """A URL-safe token for ``position`` (JSON-serialisable values) in ``query``.

        ``query`` names the list and its filters (values rendered with ``str``
        when not JSON); :meth:`decode` refuses the token for any other query.
        """
        content = {"p": dict(position), "q": _digest(query)}
        body = json.dumps(content, separators=(",", ":"), sort_keys=True).encode()
        token = base64.urlsafe_b64encode(self._mac(body) + body)
        return token.rstrip(b"=").decode("ascii")

    def decode(self, token: str, *, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The position in ``token``; ``{}`` for an empty token (the first page).

        Raises ``InvalidArgument`` on ``page_token`` if the token was not made by
        :meth:`encode` with this secret, or was made for another ``query``.
        """
        if not token:
            return {}
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise _invalid() from None
        mac, body = raw[:_MAC_SIZE], raw[_MAC_SIZE:]
        if not hmac.compare_digest(mac, self._mac(body)):
            raise _invalid()
        content = json.loads(body)
        if not isinstance(content, dict) or not isinstance(content.get("p"), dict):
            raise _invalid()
        if content.get("q") != _digest(query):
            raise InvalidArgument(
                [FieldViolation("page_token", "belongs to another list or to other filters")]
            )
        position: dict[str, Any] = content["p"]
        return position

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()


def clamp_page_size(page_size: int, *, default: int = 50, maximum: int = 500) -> int:
    """``page_size`` as AIP-158 wants it: 0 → ``default``, above ``maximum`` → ``maximum``.

    Raises ``InvalidArgument`` on ``page_size`` if it is negative.
    """
    if page_size < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    if page_size == 0:
        return default
    return min(page_size, maximum)


def _digest(query: Mapping[str, Any] | None) -> str:
    if query is None:
        return ""
    canonical = json.dumps(query, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _invalid() -> InvalidArgument:
    return InvalidArgument(
        [FieldViolation("page_token", "is not a token returned by a previous call")]
    )
