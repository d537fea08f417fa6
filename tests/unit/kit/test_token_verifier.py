"""TokenVerifier: a verified token is remembered only while it is valid."""

from __future__ import annotations

import time

import pytest

from customs_kit.auth import Role, TokenVerifier, generate_key_pair, mint_token
from customs_kit.errors import Unauthenticated


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_stops_working_when_it_expires() -> None:
    private_pem, public_pem = generate_key_pair()
    clock = Clock()
    verifier = TokenVerifier(public_pem, "customs-platform", clock=clock)
    token = mint_token(
        private_pem, subject="asycuda", roles=[Role.DECLARATION_SYSTEM], ttl_seconds=60
    )

    assert verifier.verify(token).subject == "asycuda"
    clock.now += 60 + 30 + 1  # past expiry and the tolerated clock skew
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_only_the_exact_token_verified_is_remembered() -> None:
    private_pem, public_pem = generate_key_pair()
    verifier = TokenVerifier(public_pem, "customs-platform")
    token = mint_token(private_pem, subject="asycuda", roles=[Role.DECLARATION_SYSTEM])
    verifier.verify(token)
    header, claims, signature = token.split(".")
    forged = ".".join(
        [header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")]
    )

    with pytest.raises(Unauthenticated, match="invalid token"):
        verifier.verify(forged)


def test_a_token_of_another_key_is_refused_even_after_a_valid_one() -> None:
    private_pem, public_pem = generate_key_pair()
    other_private, _ = generate_key_pair()
    verifier = TokenVerifier(public_pem, "customs-platform", remembered=1)
    verifier.verify(mint_token(private_pem, subject="a", roles=[Role.ANALYST]))

    with pytest.raises(Unauthenticated):
        verifier.verify(mint_token(other_private, subject="a", roles=[Role.ANALYST]))
