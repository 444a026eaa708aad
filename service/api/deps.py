"""Dependencies for route functions, as ``Annotated`` aliases.

A caller presents an API key or a shopper token (``service.edge.tokens``) as
``Authorization: Bearer``. A token is bound to one shopper: a route that acts for a
shopper calls ``for_shopper(principal, user_id, field)``, a 403 naming the field when the
token belongs to someone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.edge.auth import Principal, anonymous
from service.edge.problems import FieldError, FieldProblem
from service.edge.tokens import TokenRejected, looks_like_token
from service.runtime.state import ServiceState
from service.settings import Scope, Settings

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (scopes recommend, events:write, admin) or a shopper token "
    "(recommend and events for one shopper: POST /v1/admin/shopper-tokens).",
)
_CREDENTIAL = "Authorization"


# Async (though they never wait): FastAPI runs a plain ``def`` dependency in a worker
# thread, a hop that costs more than the lookup on every request.
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.shopmode
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(detail: str) -> FieldProblem:
    return FieldProblem(
        401,
        detail,
        [FieldError(field=_CREDENTIAL, message=detail)],
        headers={"WWW-Authenticate": 'Bearer realm="shopmode"'},
    )


def _identify(state: ServiceState, presented: str) -> Principal:
    if looks_like_token(presented):
        try:
            token = state.tokens.verify(presented)
        except TokenRejected as exc:
            raise _unauthorized(exc.reason) from None
        return Principal(
            name=f"shopper:{token.user_id}", scopes=frozenset(token.scopes), shopper=token.user_id
        )
    found = state.keys.identify(presented)
    if found is None:
        raise _unauthorized("the API key is not valid")
    return found


def require(scope: Scope) -> Callable[[Request, ServiceState, Credentials], Awaitable[Principal]]:
    """A dependency that lets the request through only with ``scope``, within the rate limit."""

    async def check(request: Request, state: StateDep, credentials: Credentials) -> Principal:
        if credentials is None:
            host = request.client.host if request.client else "unknown"
            principal = anonymous(host, state.settings.open_recommend)
            if scope not in principal.scopes:
                raise _unauthorized("an API key is required: Authorization: Bearer <key>")
        else:
            principal = _identify(state, credentials.credentials)
            if scope not in principal.scopes:
                what = "shopper token" if principal.shopper is not None else "API key"
                raise HTTPException(403, f"this {what} lacks the '{scope}' scope")
        decision = await state.limiter.hit(principal.identity)
        if not decision.allowed:
            raise HTTPException(
                429,
                f"rate limit of {state.settings.rate_limit_per_minute} requests per minute reached",
                headers={"Retry-After": str(decision.retry_after)},
            )
        return principal

    return check


def for_shopper(principal: Principal, user_id: str, field: str = "user_id") -> None:
    """403 (naming ``field``) unless ``principal`` may act for ``user_id``."""
    others = [] if principal.may_act_for(user_id) else [field]
    refuse_others(principal, others)


def refuse_others(principal: Principal, fields: Iterable[str]) -> None:
    """403 naming every field that holds another shopper than the token's."""
    errors = [
        FieldError(field=f, message=f"this shopper token is for shopper {principal.shopper!r}")
        for f in fields
    ]
    if errors:
        raise FieldProblem(403, "a shopper token acts for its own shopper only", errors)


def no_shopper_tokens(principal: Principal) -> None:
    """403 for a shopper token on a route about the shop, not about one shopper."""
    if principal.shopper is not None:
        raise HTTPException(403, "a shopper token cannot do this: use an API key")


RecommendCaller = Annotated[Principal, Depends(require("recommend"))]
EventWriter = Annotated[Principal, Depends(require("events:write"))]
AdminCaller = Annotated[Principal, Depends(require("admin"))]
