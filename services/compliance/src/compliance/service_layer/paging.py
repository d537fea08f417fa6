"""Keyset pages for the ``List...`` methods.

A page token carries the sort key of the last row returned and a fingerprint
of the list and its filters: a token is only good for the next page of the
same list with the same filters (AIP-158), anything else is refused on
``page_token``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.pagination import PageTokens, clamp_page_size

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one (empty on the last page)."""

    items: list[T]
    next_page_token: str


def stale_token() -> InvalidArgument:
    """The error for a token that does not belong to this list and these filters."""
    return InvalidArgument(
        [FieldViolation("page_token", "does not belong to this list with these filters")]
    )


@dataclass(frozen=True)
class PageRequest:
    """Where a list starts and how long a page is."""

    size: int
    #: The sort key of the last row of the previous page; ``None`` on the first page.
    after: list[Any] | None
    fingerprint: str


def page_request(
    tokens: PageTokens, list_name: str, filters: Mapping[str, Any], page_size: int, page_token: str
) -> PageRequest:
    """Decodes a page request; raises ``InvalidArgument`` on a bad size or token."""
    size = clamp_page_size(page_size)
    fingerprint = hashlib.sha256(
        json.dumps([list_name, filters], sort_keys=True, default=str).encode()
    ).hexdigest()[:32]
    position = tokens.decode(page_token)
    if not position:
        return PageRequest(size, None, fingerprint)
    after = position.get("after")
    if position.get("list") != fingerprint or not isinstance(after, list):
        raise stale_token()
    return PageRequest(size, after, fingerprint)


def page_of(
    tokens: PageTokens,
    request: PageRequest,
    rows: Sequence[T],
    key: Callable[[T], list[Any]],
) -> Page[T]:
    """The page of ``rows`` (fetched with one row more than the page size)."""
    items = list(rows[: request.size])
    if len(rows) <= request.size:
        return Page(items, "")
    return Page(items, tokens.encode({"list": request.fingerprint, "after": key(items[-1])}))
