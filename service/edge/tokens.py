"""Shopper tokens: short-lived credentials, signed by the service, bound to one shopper.

A shop's backend asks for one (``POST /v1/admin/shopper-tokens``, admin scope) when a
shopper signs in and hands it to the browser; ``shopmode demo`` mints one too. The token
lets the browser do what that shopper may do (recommend, ask, their profile, their events,
the explanation stream of their pages) and nothing for anyone else: a request about
another shopper is a 403.

The token is a JWT (HS256, PyJWT) with ``sub`` = the shopper id, ``scope``, ``iat``,
``exp``, ``iss`` ``shopmode`` and ``aud`` ``shopmode:shopper``; no other algorithm is
accepted. The secret is ``SHOPMODE_TOKEN_SECRET``; unset, one is generated on first use
and kept (owner-only) at ``SHOPMODE_HOME/secrets/token_secret``, so every worker and
process on one home signs and checks alike (several machines: set the variable).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from pydantic import SecretStr

ISSUER = "shopmode"
AUDIENCE = "shopmode:shopper"
ALGORITHM = "HS256"
SHOPPER_SCOPES: tuple[str, ...] = ("recommend", "events:write")
_SECRET_FILE = Path("secrets") / "token_secret"


class TokenRejected(Exception):
    """A presented token that is expired, forged or malformed; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ShopperToken:
    token: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: int


def looks_like_token(credential: str) -> bool:
    """A JWT (three dot-separated parts), not an API key."""
    return credential.count(".") == 2 and credential.startswith("eyJ")


def load_secret(configured: SecretStr | None, home: Path) -> SecretStr:
    """The signing secret: configured, or generated once and kept under ``home``."""
    if configured is not None:
        return configured
    path = home / _SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> SecretStr:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return SecretStr(value)
        time.sleep(0.02)
    raise OSError(f"the token secret {path} is empty")


class ShopperTokens:
    """Mints and verifies shopper tokens with one secret."""

    def __init__(self, secret: SecretStr) -> None:
        self._key = secret.get_secret_value()

    def mint(
        self,
        user_id: str,
        ttl_s: int,
        scopes: tuple[str, ...] = SHOPPER_SCOPES,
        now: float | None = None,
    ) -> ShopperToken:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": user_id,
            "scope": " ".join(scopes),
            "iat": issued,
            "exp": issued + ttl_s,
            "iss": ISSUER,
            "aud": AUDIENCE,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return ShopperToken(token, user_id, tuple(scopes), issued + ttl_s)

    def verify(self, token: str) -> ShopperToken:
        """The token's shopper and scopes; ``TokenRejected`` when it may not be used."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "iss", "aud", "scope"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the shopper token has expired") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("the shopper token is not valid") from None
        scopes = tuple(s for s in str(claims["scope"]).split() if s in SHOPPER_SCOPES)
        user_id = claims["sub"]
        if not isinstance(user_id, str) or not user_id:
            raise TokenRejected("the shopper token is not valid")
        return ShopperToken(token, user_id, scopes, int(claims["exp"]))
