"""What every use case of the service shares: the caller, page positions, etags."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from customs_kit.errors import Aborted, FieldViolation, InvalidArgument
from customs_kit.pagination import PageTokens

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's subject, and whether their roles see every task.

    Officers see only their own tasks and reports; supervisors, analysts, the
    committee and peer services see all of them.
    """

    subject: str
    sees_all: bool


def etag_of(version: int) -> str:
    """The opaque etag of a resource at ``version``."""
    return f'"{version}"'


def check_etag(given: str, version: int) -> None:
    """ABORTED ``ETAG_MISMATCH`` when the client's ``given`` etag is not the current one."""
    if given != etag_of(version):
        raise Aborted(
            "ETAG_MISMATCH", "the resource changed since it was read; read it again and retry"
        )


def encode_time(moment: datetime) -> int:
    """``moment`` as integer microseconds since the epoch (exact, JSON-safe)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def decode_time(micros: int) -> datetime:
    """The inverse of :func:`encode_time`."""
    return _EPOCH + timedelta(microseconds=micros)


class Pager:
    """Page tokens of the lists: the keyset position after the last item returned.

    The chassis binds each token to the query (list and filters) it was issued
    for, so a token presented to another query is refused.
    """

    def __init__(self, tokens: PageTokens) -> None:
        self._tokens = tokens

    def position(self, token: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """The position in ``token``, None for the first page; INVALID_ARGUMENT if foreign."""
        if not token:
            return None
        return self._tokens.decode(token, query=query)

    def token(self, position: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        """The token of the page that starts after ``position``."""
        return self._tokens.encode(position, query=query)


def position_field(position: Mapping[str, Any], key: str, kind: type) -> Any:
    """A typed value of a verified position; INVALID_ARGUMENT if it is not there."""
    value = position.get(key)
    if not isinstance(value, kind):
        raise InvalidArgument([FieldViolation("page_token", "is not a token of this list")])
    return value


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one (empty on the last page)."""

    items: Sequence[T]
    next_page_token: str


def page_of(
    items: Sequence[T],
    limit: int,
    pager: Pager,
    query: Mapping[str, Any],
    position_of: Callable[[T], Mapping[str, Any]],
) -> Page[T]:
    """The first ``limit`` of ``items`` (read one beyond) and the next page's token.

    Reading one item more than the page tells whether a next page exists, so
    the last page never carries a token that leads to an empty page.
    """
    shown = items[:limit]
    next_token = pager.token(position_of(shown[-1]), query) if len(items) > limit else ""
    return Page(shown, next_token)
