"""Iterating over a paginated listing (AIP-158: ``page_token`` in, ``next_page_token`` out)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_Request = TypeVar("_Request", bound=Message)


def items_field(response: Message) -> str:
    """The name of the one repeated message field of a List response (``criteria``)."""
    repeated = [
        field.name
        for field in response.DESCRIPTOR.fields
        if field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE
    ]
    if len(repeated) != 1:
        raise TypeError(
            f"{response.DESCRIPTOR.full_name} has {len(repeated)} repeated message fields; "
            "name the one to iterate with items="
        )
    return repeated[0]


def paginate(
    method: Callable[[_Request], Message],
    request: _Request,
    *,
    items: str | None = None,
    limit: int | None = None,
) -> Iterator[Any]:
    """Every item of the listing ``method(request)``, fetching page after page.

    ``request`` is not changed. ``items`` names the response's repeated field
    when it cannot be told from the response; ``limit`` stops after that many.
    """
    page = type(request)()
    page.CopyFrom(request)
    produced = 0
    while True:
        response = method(page)
        for item in getattr(response, items or items_field(response)):
            if limit is not None and produced >= limit:
                return
            produced += 1
            yield item
        token = getattr(response, "next_page_token", "")
        if not token:
            return
        page.page_token = token  # type: ignore[attr-defined]
