"""API keys with scopes, sent as ``Authorization: Bearer <key>``.

Keys are configured as sha256 digests (``Settings.api_keys``), never in clear. A request's
key is hashed and compared with every configured digest by ``hmac.compare_digest``, so
the comparison takes the same time whether or not a prefix matches. No or unknown key:
401 with ``WWW-Authenticate: Bearer``; a known key without the scope: 403.
``Settings.open_recommend`` lets the recommend scope through without a key (demos); it
never opens ``events:write`` or ``admin``. A shopper token (``service.edge.tokens``) is the
other credential: a ``Principal`` bound to one ``shopper``, whom every route checks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from service.settings import ApiKeySpec, Scope


def hash_api_key(key: str) -> str:
    """The sha256 hex digest to put in ``SHOPMODE_API_KEYS`` for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return "sm_" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a named key, a shopper's token (``shopper`` set: it may act for
    that shopper only), or an anonymous caller (open recommend only)."""

    name: str
    scopes: frozenset[str]
    anonymous: bool = False
    shopper: str | None = None

    @property
    def identity(self) -> str:
        if self.shopper is not None:
            return f"shopper:{self.shopper}"
        return self.name if self.anonymous else f"key:{self.name}"

    def may_act_for(self, user_id: str) -> bool:
        return self.shopper is None or self.shopper == user_id


class KeyRing:
    """The configured keys; ``identify`` turns a presented key into a ``Principal``."""

    def __init__(self, specs: tuple[ApiKeySpec, ...]) -> None:
        self._specs = specs

    def identify(self, presented: str) -> Principal | None:
        digest = hash_api_key(presented)
        found: ApiKeySpec | None = None
        for spec in self._specs:
            # Compare against every key (no early exit) so timing reveals nothing.
            if hmac.compare_digest(digest, spec.sha256) and found is None:
                found = spec
        if found is None:
            return None
        return Principal(name=found.name, scopes=frozenset(found.scopes))


def anonymous(client_host: str, open_recommend: bool) -> Principal:
    scopes: frozenset[Scope] = frozenset({"recommend"}) if open_recommend else frozenset()
    return Principal(name=f"anon:{client_host}", scopes=frozenset(scopes), anonymous=True)
