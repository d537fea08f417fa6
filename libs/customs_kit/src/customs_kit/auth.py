"""Caller authentication (signed JWT) and per-RPC roles.

Callers present ``authorization: Bearer <JWT>``. Two kinds of token are
accepted, told apart by their issuer: tokens signed with the platform's static
Ed25519 key (``EdDSA``; the services' own tokens, ``make run``'s), of which
each service holds only the public key, so a compromised service cannot mint
tokens; and, with ``OIDC_JWKS_URL`` set, the access tokens of the
administration's identity provider (Keycloak, Entra ID...), verified with the
keys it publishes at its JWKS URL, chosen by ``kid`` (see :class:`JwksKeys`).

Each servicer method declares who may call it with :func:`allow`, next
to its implementation; a method without a declaration is refused to everyone,
so forgetting one fails closed.

``python -m customs_kit.auth`` generates a development key pair and mints
tokens from it (``make run`` uses it); production tokens come from the
administration's identity provider.
"""

from __future__ import annotations

import argparse
import contextvars
import logging
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_kit.errors import PermissionDenied, Unauthenticated

_ALGORITHM = "EdDSA"
#: Clock skew tolerated between the token issuer and this service.
_LEEWAY_SECONDS = 30
_ALLOWED_ROLES_ATTRIBUTE = "__allowed_roles__"
#: Algorithms accepted from an identity provider unless ``OIDC_ALGORITHMS`` says
#: otherwise: asymmetric only, so a public key can never be used as an HMAC secret.
_OIDC_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
_ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_log = logging.getLogger(__name__)


class Role(StrEnum):
    """The roles a token may carry (DOMAIN.md, "Who does what")."""

    DECLARATION_SYSTEM = "declaration-system"
    ANALYST = "analyst"
    RMC = "rmc"
    SUPERVISOR = "supervisor"
    OFFICER = "officer"
    AUDITOR = "auditor"
    COMPLIANCE = "compliance"
    OPERATOR = "operator"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: ``subject`` is the user or service id from ``sub``."""

    subject: str
    roles: frozenset[Role]

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


_current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "customs_principal", default=None
)

_Method = TypeVar("_Method", bound=Callable[..., Any])


def allow(*roles: Role) -> Callable[[_Method], _Method]:
    """Declares the roles allowed to call the decorated servicer method."""
    if not roles:
        raise ValueError("allow() needs at least one role")

    def decorate(method: _Method) -> _Method:
        setattr(method, _ALLOWED_ROLES_ATTRIBUTE, frozenset(roles))
        return method

    return decorate


def allowed_roles(method: object) -> frozenset[Role] | None:
    """The roles declared on ``method`` with :func:`allow`, or None if it declares none."""
    roles = getattr(method, _ALLOWED_ROLES_ATTRIBUTE, None)
    return roles if isinstance(roles, frozenset) else None


def current_principal() -> Principal:
    """The caller of the RPC being served; raises ``Unauthenticated`` outside one."""
    principal = _current_principal.get()
    if principal is None:
        raise Unauthenticated("UNAUTHENTICATED", "no authenticated caller")
    return principal


def current_subject() -> str:
    """The subject of the RPC's caller, or ``""`` for work no caller asked for (relays)."""
    principal = _current_principal.get()
    return "" if principal is None else principal.subject


def set_current_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    """Binds ``principal`` for the current context (the auth interceptor does this)."""
    return _current_principal.set(principal)


def reset_current_principal(token: contextvars.Token[Principal | None]) -> None:
    """Restores the principal bound before :func:`set_current_principal`."""
    _current_principal.reset(token)


@dataclass(frozen=True)
class OidcProvider:
    """How the administration's identity provider issues tokens (``OIDC_*`` settings).

    ``roles_claim`` is the dotted path of the claim listing the caller's roles
    (Keycloak puts realm roles in ``realm_access.roles``); roles are the
    platform's role names (``analyst``), others are ignored.
    """

    jwks_url: str
    issuer: str
    audience: str
    roles_claim: str = "roles"
    algorithms: tuple[str, ...] = _OIDC_ALGORITHMS

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> OidcProvider | None:
        """The provider ``OIDC_JWKS_URL`` and its companions describe; None without it.

        Appends to ``problems`` what is missing or malformed.
        """
        url = env.get("OIDC_JWKS_URL", "")
        if not url:
            return None
        if not url.startswith(("https://", "http://")):
            problems.append(f"OIDC_JWKS_URL must be an http(s) URL, got {url!r}")
        for variable in ("OIDC_ISSUER", "OIDC_AUDIENCE"):
            if not env.get(variable):
                problems.append(f"{variable} is required with OIDC_JWKS_URL")
        raw_algorithms = env.get("OIDC_ALGORITHMS", "")
        algorithms = tuple(a.strip() for a in raw_algorithms.split(",") if a.strip())
        if not set(algorithms) <= _ASYMMETRIC_ALGORITHMS:
            problems.append(
                f"OIDC_ALGORITHMS must list asymmetric JWS algorithms, got {raw_algorithms!r}"
            )
        return cls(
            jwks_url=url,
            issuer=env.get("OIDC_ISSUER", ""),
            audience=env.get("OIDC_AUDIENCE", ""),
            roles_claim=env.get("OIDC_ROLES_CLAIM", "") or "roles",
            algorithms=algorithms or _OIDC_ALGORITHMS,
        )


class JwksKeys:
    r"""The signing keys an identity provider publishes at its JWKS URL, by ``kid``.

    Fetched on first use, again every ``refresh_seconds`` (a provider retires
    keys), and at once when a token names a ``kid`` not held (a provider that
    rotates signs with the new key right away). Fetches are at least
    ``min_fetch_interval`` apart, so tokens with made-up key ids cannot make
    the service hammer the provider; a failed fetch keeps the keys held, so an
    outage of the provider does not lock every caller out. A fetch runs in the
    calling thread with a short timeout; it happens rarely, and a verified
    token is remembered (see :class:`TokenVerifier`).
    """

    def __init__(
        self,
        url: str,
        *,
        refresh_seconds: float = 600.0,
        min_fetch_interval: float = 30.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout_seconds)
        self._refresh_seconds = refresh_seconds
        self._min_fetch_interval = min_fetch_interval
        self._clock = clock
        #: kid -> (key, the algorithm the provider declares for it, if it does).
        self._keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    def key(self, kid: str) -> tuple[jwt.PyJWK, str | None]:
        """The key ``kid`` and its declared ``alg``; raises ``Unauthenticated`` if unpublished."""
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self._refresh_seconds
        if stale or kid not in self._keys:
            self._fetch(now)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated(
                "INVALID_TOKEN",
                f"invalid token: the identity provider publishes no key with kid {kid!r}",
            )
        return key

    def _fetch(self, now: float) -> None:
        if self._attempted_at is not None and now - self._attempted_at < self._min_fetch_interval:
            return
        self._attempted_at = now
        try:
            published = self._client.fetch_data()
        # ValueError: a body that is not JSON (a proxy's error page).
        except (jwt.PyJWTError, ValueError) as error:
            _log.warning("jwks_fetch_failed: %s", error)
            return
        entries = published.get("keys")
        if not isinstance(entries, list):
            _log.warning("jwks_fetch_failed: the key set has no list of keys")
            return
        keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
        for entry in entries:
            # Keys of a type this service cannot use (encryption keys, unknown
            # curves) are skipped, as RFC 7517 asks, instead of failing the set.
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
            if key.key_id:
                declared = entry.get("alg")
                keys[key.key_id] = (key, declared if isinstance(declared, str) else None)
        self._keys = keys
        self._fetched_at = now


class TokenVerifier:
    """Verifies bearer tokens: the static key's issuer, and the identity provider's.

    A caller presents the same token on every call until it expires (the
    declaration system thousands of times a minute), so a verified token is
    remembered with its expiry, and checking it again costs a dictionary
    lookup instead of a signature verification. Only the exact token string
    verified is remembered, never longer than it is valid.
    """

    def __init__(
        self,
        public_key_pem: bytes,
        issuer: str,
        *,
        oidc: OidcProvider | None = None,
        jwks: JwksKeys | None = None,
        remembered: int = 1_024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem)
        self._issuer = issuer
        self._oidc = oidc
        self._jwks = jwks if jwks is not None or oidc is None else JwksKeys(oidc.jwks_url)
        self._remembered = remembered
        self._clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        """Returns the caller of a valid token; raises ``Unauthenticated`` otherwise."""
        known = self._verified.get(token)
        if known is not None:
            principal, valid_until = known
            if self._clock() < valid_until:
                return principal
            del self._verified[token]
        principal, expires = self._verify(token)
        self._verified[token] = (principal, expires + _LEEWAY_SECONDS)
        if len(self._verified) > self._remembered:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            issuer = None if self._oidc is None else _unverified_issuer(token)
            if self._oidc is not None and issuer == self._oidc.issuer:
                claims = self._provider_claims(token, self._oidc)
                roles_claim = self._oidc.roles_claim
            elif self._oidc is not None and issuer != self._issuer:
                raise Unauthenticated(
                    "INVALID_TOKEN",
                    f"invalid token: Invalid issuer {issuer!r}, neither the identity "
                    f"provider's ({self._oidc.issuer!r}) nor the platform's ({self._issuer!r})",
                )
            else:
                claims = jwt.decode(
                    token,
                    self._key,  # type: ignore[arg-type]
                    algorithms=[_ALGORITHM],
                    issuer=self._issuer,
                    # Expiry is checked below against this verifier's clock, the one
                    # that also ends a remembered token.
                    options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False},
                    leeway=_LEEWAY_SECONDS,
                )
                roles_claim = "roles"
        except jwt.PyJWTError as error:
            raise Unauthenticated("INVALID_TOKEN", f"invalid token: {error}") from None
        expires = claims["exp"]
        if not isinstance(expires, int | float):
            raise Unauthenticated("INVALID_TOKEN", "invalid token: exp must be a number")
        if self._clock() >= expires + _LEEWAY_SECONDS:
            raise Unauthenticated("INVALID_TOKEN", "invalid token: the token has expired")
        raw_roles = _claim(claims, roles_claim)
        if not isinstance(raw_roles, list):
            raise Unauthenticated("INVALID_TOKEN", f"invalid token: {roles_claim} must be a list")
        known = {role.value for role in Role}
        roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in known)
        return Principal(subject=str(claims["sub"]), roles=roles), float(expires)

    def _provider_claims(self, token: str, oidc: OidcProvider) -> dict[str, Any]:
        assert self._jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("INVALID_TOKEN", "invalid token: its header names no kid")
        key, declared = self._jwks.key(kid)
        # A key published for one algorithm is used for that one only.
        algorithms = [declared] if declared else list(oidc.algorithms)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[a for a in algorithms if a in oidc.algorithms],
            issuer=oidc.issuer,
            audience=oidc.audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_exp": False},
            leeway=_LEEWAY_SECONDS,
        )
        return claims


def _unverified_issuer(token: str) -> object:
    """The ``iss`` a token claims, read before its signature is checked to pick the key."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims.get("iss")


def _claim(claims: Mapping[str, Any], path: str) -> object:
    """The value at dotted ``path`` (``realm_access.roles``); an absent claim lists no roles."""
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    return value


def authorize(principal: Principal, method: str, roles: frozenset[Role] | None) -> None:
    """Raises ``PermissionDenied`` unless ``principal`` holds one of ``roles``."""
    if roles is None or not principal.has_any(roles):
        raise PermissionDenied(
            "ROLE_NOT_ALLOWED",
            f"{method} is not allowed for roles {sorted(principal.roles)}",
            metadata={"method": method},
        )


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def mint_token(
    private_key_pem: bytes,
    *,
    subject: str,
    roles: Sequence[Role | str],
    issuer: str = "customs-platform",
    ttl_seconds: int = 12 * 3600,
) -> str:
    """A signed token for ``subject`` with ``roles``, valid for ``ttl_seconds``."""
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "roles": [Role(role).value for role in roles],
    }
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm=_ALGORITHM)  # type: ignore[arg-type]


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m customs_kit.auth", description="Development keys and tokens."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="write dev-private.pem and dev-public.pem")
    keygen.add_argument("--out-dir", type=Path, required=True)
    mint = commands.add_parser("mint", help="print a token signed with a private key")
    mint.add_argument("--key", type=Path, required=True, help="private key PEM file")
    mint.add_argument("--subject", required=True)
    mint.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    mint.add_argument("--issuer", default="customs-platform")
    mint.add_argument("--ttl-seconds", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    if args.command == "keygen":
        args.out_dir.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem = generate_key_pair()
        private_path = args.out_dir / "dev-private.pem"
        private_path.write_bytes(private_pem)
        private_path.chmod(0o600)
        (args.out_dir / "dev-public.pem").write_bytes(public_pem)
        return 0
    token = mint_token(
        args.key.read_bytes(),
        subject=args.subject,
        roles=args.role,
        issuer=args.issuer,
        ttl_seconds=args.ttl_seconds,
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
