"""Page tokens are opaque to clients and cannot be forged; page sizes follow AIP-158."""

from __future__ import annotations

import base64

import pytest

from customs_kit.errors import InvalidArgument
from customs_kit.pagination import PageTokens, clamp_page_size

SECRET = b"0123456789abcdef0123456789abcdef"


def test_a_token_gives_back_the_position_it_was_made_from() -> None:
    tokens = PageTokens(SECRET)
    position = {"after_time": "2025-03-01T09:30:00Z", "after_id": 42, "filter": "office=ZA01"}

    token = tokens.encode(position)

    assert tokens.decode(token) == position
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_empty_token_means_the_first_page() -> None:
    assert PageTokens(SECRET).decode("") == {}


def _field_of(error: InvalidArgument) -> list[str]:
    return [violation.field for violation in error.field_violations]


def test_a_tampered_token_is_invalid() -> None:
    tokens = PageTokens(SECRET)
    raw = bytearray(base64.urlsafe_b64decode(tokens.encode({"after_id": 42}) + "=="))
    raw[-3] ^= 0x01  # Changes one digit of the position, keeping the signature.
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    with pytest.raises(InvalidArgument) as refused:
        tokens.decode(forged)

    assert _field_of(refused.value) == ["page_token"]


def test_a_token_signed_with_another_secret_is_invalid() -> None:
    token = PageTokens(b"another secret of 32 bytes......").encode({"after_id": 42})

    with pytest.raises(InvalidArgument):
        PageTokens(SECRET).decode(token)


@pytest.mark.parametrize("token", ["not a token", "%%%", "YQ", "x" * 200])
def test_garbage_is_an_invalid_token(token: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        PageTokens(SECRET).decode(token)

    assert _field_of(refused.value) == ["page_token"]


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PageTokens(b"short")


@pytest.mark.parametrize(
    ("requested", "granted"), [(0, 50), (1, 1), (50, 50), (500, 500), (501, 500), (10**9, 500)]
)
def test_page_size_zero_means_default_and_large_means_maximum(requested: int, granted: int) -> None:
    assert clamp_page_size(requested) == granted


def test_page_size_limits_can_be_chosen_per_method() -> None:
    assert clamp_page_size(0, default=10, maximum=20) == 10
    assert clamp_page_size(30, default=10, maximum=20) == 20


def test_a_negative_page_size_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as refused:
        clamp_page_size(-1)

    assert _field_of(refused.value) == ["page_size"]


def test_a_token_is_refused_for_another_query() -> None:
    tokens = PageTokens(b"0123456789abcdef0123")
    listing = {"list": "criteria", "filters": {"state": "ACTIVE"}}
    token = tokens.encode({"after": ["criteria/7"]}, query=listing)

    assert tokens.decode(token, query=listing) == {"after": ["criteria/7"]}
    with pytest.raises(InvalidArgument) as raised:
        tokens.decode(token, query={"list": "criteria", "filters": {"state": "DRAFT"}})
    assert raised.value.field_violations[0].field == "page_token"
