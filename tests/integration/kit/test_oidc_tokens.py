"""Tokens of an identity provider, verified with the keys it publishes at a real JWKS URL.

An HTTP server in the test plays the provider (Keycloak's shape: roles in
``realm_access.roles``), publishing RSA and EC keys that the test generates
and rotates. The static key keeps working beside it, and forged tokens of
either kind are refused, with a reason, by the verifier and through a real
gRPC server alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from test_server import Probe, details, probe_application

from customs_kit.auth import JwksKeys, OidcProvider, Principal, Role, TokenVerifier
from customs_kit.errors import Unauthenticated
from customs_kit.settings import ServiceSettings, SettingsError
from customs_kit.testing.services import SigningKeys, running_service

_ISSUER = "https://sso.customs.example/realms/customs"
_AUDIENCE = "customs-platform"
_MIN_FETCH_INTERVAL = 30.0
_REFRESH = 600.0

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def test_the_provider_settings_name_what_is_missing_and_refuse_symmetric_algorithms(
    test_keys: SigningKeys,
) -> None:
    base = {
        "AUTH_PUBLIC_KEY_FILE": str(test_keys.public_key_file),
        "PAGE_TOKEN_SECRET": "0123456789abcdef",
        "OIDC_JWKS_URL": "https://sso.customs.example/realms/customs/protocol/openid-connect/certs",
    }
    with pytest.raises(SettingsError) as missing:
        ServiceSettings.from_env("criteria", 0, {**base, "OIDC_ALGORITHMS": "RS256,HS256"})
    for problem in ("OIDC_ISSUER is required", "OIDC_AUDIENCE is required", "asymmetric"):
        assert problem in str(missing.value)
    settings = ServiceSettings.from_env(
        "criteria",
        0,
        {
            **base,
            "OIDC_ISSUER": _ISSUER,
            "OIDC_AUDIENCE": _AUDIENCE,
            "OIDC_ROLES_CLAIM": "realm_access.roles",
        },
    )
    assert settings.oidc == OidcProvider(
        base["OIDC_JWKS_URL"], _ISSUER, _AUDIENCE, "realm_access.roles"
    )


@dataclass
class Provider:
    """The identity provider: its published keys (``kid`` -> key), and what was fetched."""

    url: str = ""
    keys: dict[str, tuple[PrivateKey, str]] = field(default_factory=dict)
    fetches: int = 0
    failing: bool = False

    def publish(self, kid: str, algorithm: str) -> PrivateKey:
        key: PrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if algorithm.startswith(("RS", "PS"))
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (key, algorithm)
        return key

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid, (key, algorithm) in self.keys.items():
            jwk = json.loads(
                jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(key.public_key())
            )
            published.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
        return {"keys": published}

    def token(
        self,
        kid: str,
        *,
        key: PrivateKey | None = None,
        algorithm: str = "RS256",
        roles: list[str] | None = None,
        ttl: int = 300,
        **claims: Any,
    ) -> str:
        signing_key, algorithm = self.keys[kid] if key is None else (key, algorithm)
        now = int(time.time())
        body = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": "f3b1c2d4-officer",
            "iat": now,
            "exp": now + ttl,
            "realm_access": {"roles": roles if roles is not None else ["analyst"]},
            **claims,
        }
        return jwt.encode(body, signing_key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            # Down, it answers as a proxy in front of it would: an HTML page.
            body = (
                b"<html>bad gateway</html>" if state.failing else json.dumps(state.jwks()).encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/protocol/openid-connect/certs"
    yield state
    server.shutdown()
    thread.join()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _oidc(provider: Provider) -> OidcProvider:
    return OidcProvider(
        jwks_url=provider.url,
        issuer=_ISSUER,
        audience=_AUDIENCE,
        roles_claim="realm_access.roles",
    )


@pytest.fixture
def verifier(provider: Provider, test_keys: SigningKeys, clock: Clock) -> TokenVerifier:
    keys = JwksKeys(
        provider.url, refresh_seconds=_REFRESH, min_fetch_interval=_MIN_FETCH_INTERVAL, clock=clock
    )
    return TokenVerifier(
        test_keys.public_key_file.read_bytes(), "customs-platform", oidc=_oidc(provider), jwks=keys
    )


def _refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert refused.value.reason == "INVALID_TOKEN"
    return refused.value.message


def test_provider_tokens_are_verified_by_kid_with_roles_from_the_configured_claim(
    provider: Provider, verifier: TokenVerifier, test_keys: SigningKeys
) -> None:
    provider.publish("rsa-1", "RS256")
    provider.publish("ec-1", "ES256")
    # Keycloak lists its own default roles beside the realm's: they are not platform roles.
    roles = ["analyst", "supervisor", "offline_access", "default-roles-customs"]
    for kid in ("rsa-1", "ec-1"):
        principal = verifier.verify(provider.token(kid, roles=roles))
        assert principal == Principal(
            "f3b1c2d4-officer", frozenset({Role.ANALYST, Role.SUPERVISOR})
        )
    assert provider.fetches == 1
    # The static key goes on working beside the provider.
    static = verifier.verify(test_keys.token(Role.SERVICE, subject="scoring"))
    assert static == Principal("scoring", frozenset({Role.SERVICE}))


def test_a_rotated_key_is_fetched_at_once_and_unknown_kids_cannot_hammer_the_provider(
    provider: Provider, verifier: TokenVerifier, clock: Clock
) -> None:
    provider.publish("2026-11", "RS256")
    assert verifier.verify(provider.token("2026-11")).subject == "f3b1c2d4-officer"
    clock.now += _MIN_FETCH_INTERVAL
    # The provider rotates: a new key signs from now on, the old one is retired.
    provider.keys.clear()
    provider.publish("2026-12", "RS256")
    assert verifier.verify(provider.token("2026-12")).roles == {Role.ANALYST}
    assert provider.fetches == 2
    # Made-up kids: one fetch per interval at most, each refused with its kid named.
    for attempt in range(5):
        forged = jwt.encode({"iss": _ISSUER}, "x" * 32, headers={"kid": f"made-up-{attempt}"})
        assert f"publishes no key with kid 'made-up-{attempt}'" in _refusal(verifier, forged)
    assert provider.fetches == 2
    clock.now += _MIN_FETCH_INTERVAL
    _refusal(verifier, jwt.encode({"iss": _ISSUER}, "x" * 32, headers={"kid": "later"}))
    assert provider.fetches == 3


def test_keys_are_refreshed_periodically_and_held_through_an_outage_of_the_provider(
    provider: Provider, verifier: TokenVerifier, clock: Clock
) -> None:
    old = provider.publish("old", "ES256")
    assert verifier.verify(provider.token("old", jti="1")).roles == {Role.ANALYST}
    # The provider is down at the next refresh: the keys held still verify tokens.
    provider.failing = True
    clock.now += _REFRESH
    assert verifier.verify(provider.token("old", jti="2")).roles == {Role.ANALYST}
    assert provider.fetches == 2
    # Back, it has retired the key: the next refresh drops it.
    provider.failing = False
    provider.keys.clear()
    provider.publish("new", "ES256")
    clock.now += _REFRESH
    retired = provider.token("old", key=old, algorithm="ES256", jti="3")
    assert "publishes no key with kid 'old'" in _refusal(verifier, retired)
    assert provider.fetches == 3


def test_expired_wrong_issuer_wrong_audience_and_unpublished_signatures_are_refused(
    provider: Provider, verifier: TokenVerifier
) -> None:
    provider.publish("rsa-1", "RS256")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "expired" in _refusal(verifier, provider.token("rsa-1", ttl=-120))
    assert "Invalid issuer" in _refusal(
        verifier, provider.token("rsa-1", iss="https://sso.elsewhere.example/realms/x")
    )
    assert "Audience doesn't match" in _refusal(verifier, provider.token("rsa-1", aud="account"))
    assert "Signature verification failed" in _refusal(
        verifier, provider.token("rsa-1", key=stranger)
    )
    assert "must be a list" in _refusal(
        verifier, provider.token("rsa-1", realm_access={"roles": "analyst"})
    )


def _segment(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hmac_signed(header: str, payload: str, secret: bytes) -> str:
    """A token HS256-signed with ``secret``: PyJWT refuses to make one with a PEM."""
    signed = f"{header}.{payload}"
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_segment(mac)}"


def _forged_tokens(provider: Provider, test_keys: SigningKeys) -> dict[str, str]:
    """Forgeries against both kinds of token, each a different way of cheating."""
    key, _ = provider.keys["rsa-1"]
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    genuine = provider.token("rsa-1")
    header, payload, signature = genuine.split(".")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    escalated = _segment({**claims, "realm_access": {"roles": ["supervisor"]}})
    now = int(time.time())
    static_claims = {"sub": "x", "iss": "customs-platform", "iat": now, "exp": now + 60}
    other = ec.generate_private_key(ec.SECP256R1())
    other_signature = provider.token("rsa-1", jti="z").split(".")[2]
    return {
        "alg none": f"{_segment({'alg': 'none', 'kid': 'rsa-1'})}.{payload}.",
        "HS256 with the public key as secret": _hmac_signed(
            _segment({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}), payload, public_pem
        ),
        "roles edited after signing": f"{header}.{escalated}.{signature}",
        "signature removed": f"{header}.{payload}.",
        "signature of another token": f"{header}.{payload}.{other_signature}",
        "kid pointing at another algorithm": jwt.encode(
            claims, other, algorithm="ES256", headers={"kid": "rsa-1"}
        ),
        "no kid": jwt.encode(claims, key, algorithm="RS256"),
        "kid not a string": f"{_segment({'alg': 'RS256', 'kid': 7})}.{payload}.{signature}",
        "no sub": jwt.encode(
            {k: v for k, v in claims.items() if k != "sub"},
            key,
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        ),
        "no aud": jwt.encode(
            {k: v for k, v in claims.items() if k != "aud"},
            key,
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        ),
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"},
            key,
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        ),
        "provider issuer on a static-key token": jwt.encode(
            {**static_claims, "iss": _ISSUER, "aud": _AUDIENCE},
            serialization.load_pem_private_key(test_keys.private_pem, None),
            algorithm="EdDSA",
        ),
        "static issuer signed by the provider's key": jwt.encode(
            static_claims, key, algorithm="RS256", headers={"kid": "rsa-1"}
        ),
        "payload not an object": f"{header}.{_segment(b'[1, 2]')}.{signature}",
        "not base64": "@@@.###.$$$",
        "two segments": f"{header}.{payload}",
        "empty": "",
    }


@pytest.fixture
def forged(provider: Provider, test_keys: SigningKeys) -> dict[str, str]:
    provider.publish("rsa-1", "RS256")
    return _forged_tokens(provider, test_keys)


def test_forged_tokens_are_refused_with_a_reason(
    verifier: TokenVerifier, forged: dict[str, str]
) -> None:
    for how, token in forged.items():
        assert _refusal(verifier, token).startswith("invalid token:"), how


async def test_a_provider_token_calls_a_real_service_and_a_forged_one_is_unauthenticated(
    provider: Provider,
    forged: dict[str, str],
    probe_modules: Probe,
    make_settings: Callable[..., ServiceSettings],
) -> None:
    pb2, pb2_grpc = probe_modules
    settings = replace(make_settings("probe", "sqlite+aiosqlite:///:memory:"), oidc=_oidc(provider))
    async with running_service(settings, probe_application(probe_modules)) as service:
        stub = pb2_grpc.ProbeServiceStub(service.channel)
        answer = await stub.Echo(
            pb2.EchoRequest(text="hi"),
            metadata=(("authorization", f"Bearer {provider.token('rsa-1')}"),),
        )
        assert answer.caller == "f3b1c2d4-officer"
        for how, token in {**forged, "expired": provider.token("rsa-1", ttl=-120)}.items():
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Echo(
                    pb2.EchoRequest(text="hi"), metadata=(("authorization", f"Bearer {token}"),)
                )
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, how
            reason = "MISSING_TOKEN" if how == "empty" else "INVALID_TOKEN"
            assert details(refused.value)["ErrorInfo"].reason == reason, how
