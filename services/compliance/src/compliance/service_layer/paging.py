"""Keyset pages for the ``List...`` methods.

A page token carries the sort key of the last row returned, bound by the
chassis to the list and its filters it was made for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
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
    """The error for a signed token whose position this list cannot use."""
    return InvalidArgument(
        [FieldViolation("page_token", "is not a token returned by a previous call")]
    )


def time_position(after: list[Any] | None) -> tuple[datetime, str] | None:
    """The (time, id) a list ordered by time then id resumes after; ``None`` on a first page."""
    if after is None:
        return None
    try:
        time, key = after
        return datetime.fromisoformat(str(time)), str(key)
    except (ValueError, TypeError):
        raise stale_token() from None


@dataclass(frozen=True)
class PageRequest:
    """Where a list starts and how long a page is."""

    size: int
    #: The sort key of the last row of the previous page; ``None`` on the first page.
    after: list[Any] | None
    #: The list and its filters, which the page tokens are bound to.
    query: Mapping[str, Any]


def page_request(
    tokens: PageTokens, list_name: str, filters: Mapping[str, Any], page_size: int, page_token: str
) -> PageRequest:
    """Decodes a page request; raises ``InvalidArgument`` on a bad size or token."""
    size = clamp_page_size(page_size)
    query = {"list": list_name, "filters": dict(filters)}
    position = tokens.decode(page_token, query=query)
    if not position:
        return PageRequest(size, None, query)
    after = position.get("after")
    if not isinstance(after, list):
        raise stale_token()
    return PageRequest(size, after, query)


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
    return Page(items, tokens.encode({"after": key(items[-1])}, query=request.query))
