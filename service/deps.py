"""Dependencies for route functions, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.auth import Principal, anonymous
from service.settings import Scope, Settings
from service.state import ServiceState

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`shopmode demo` prints one). Scopes: recommend, events:write, admin.",
)


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


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="shopmode"'})


def require(scope: Scope) -> Callable[[Request, ServiceState, Credentials], Awaitable[Principal]]:
    """A dependency that lets the request through only with ``scope``, within the rate limit."""

    async def check(request: Request, state: StateDep, credentials: Credentials) -> Principal:
        if credentials is None:
            host = request.client.host if request.client else "unknown"
            principal = anonymous(host, state.settings.open_recommend)
            if scope not in principal.scopes:
                raise _unauthorized("an API key is required: Authorization: Bearer <key>")
        else:
            found = state.keys.identify(credentials.credentials)
            if found is None:
                raise _unauthorized("the API key is not valid")
            principal = found
            if scope not in principal.scopes:
                raise HTTPException(403, f"this API key lacks the '{scope}' scope")
        decision = await state.limiter.hit(principal.identity)
        if not decision.allowed:
            raise HTTPException(
                429,
                f"rate limit of {state.settings.rate_limit_per_minute} requests per minute reached",
                headers={"Retry-After": str(decision.retry_after)},
            )
        return principal

    return check


RecommendCaller = Annotated[Principal, Depends(require("recommend"))]
EventWriter = Annotated[Principal, Depends(require("events:write"))]
AdminCaller = Annotated[Principal, Depends(require("admin"))]
