"""Operator actions (scope ``admin``): model reloads, shopper tokens."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.deps import AdminCaller, StateDep
from service.edge.problems import Problem
from service.runtime.freshness import sync_model
from service.schemas.health import ModelReloadPublic
from shopmode.errors import StoreUnavailable

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post(
    "/models/reload",
    summary="Load the current model version now",
    description="Re-reads `shopmode:v1:model:current` and loads that version, even one that "
    "failed before. A version that fails to load leaves the previous model serving.",
)
async def reload_model(caller: AdminCaller, state: StateDep) -> ModelReloadPublic:
    if not await state.health.probe():
        raise StoreUnavailable("Redis is unavailable: cannot read the current model version")
    result = await sync_model(state, force=True)
    if result is None:
        raise StoreUnavailable("Redis is unavailable: cannot read the current model version")
    return ModelReloadPublic(
        wanted=result.wanted, serving=result.serving, changed=result.changed, error=result.error
    )


ShopperScope = Literal["recommend", "events:write"]


def _all_scopes() -> list[ShopperScope]:
    return ["recommend", "events:write"]


class ShopperTokenCreate(BaseModel):
    """A token for one shopper, for the shop's backend to hand to their browser."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "u000042", "ttl_seconds": 3600}]},
    )

    user_id: str = Field(min_length=1, max_length=128, examples=["u000042"])
    ttl_seconds: int | None = Field(
        default=None,
        ge=60,
        le=86_400,
        strict=True,
        description="Lifetime (60 s to 1 day); default SHOPMODE_SHOPPER_TOKEN_TTL_S.",
    )
    scopes: list[ShopperScope] = Field(
        default_factory=_all_scopes,
        min_length=1,
        description="What the token may do for its shopper: recommend (recommendations, "
        "ask, profile, explanation streams) and events:write (their own events).",
    )

    @field_validator("user_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or not value.isprintable():
            raise ValueError("must be printable and not only whitespace")
        return value


class ShopperTokenPublic(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    user_id: str
    scopes: list[str]
    expires_at: int = Field(description="Unix time after which the token is refused (401).")


@router.post(
    "/shopper-tokens",
    summary="Mint a shopper token",
    description="A short-lived token bound to one shopper: with it a browser may get that "
    "shopper's recommendations, ask, read their profile, send their events and follow the "
    "explanation streams of their pages; anything for another shopper is a 403.",
    status_code=201,
    responses={422: {"model": Problem, "description": "An invalid field (named in `errors`)."}},
)
async def mint_shopper_token(
    body: ShopperTokenCreate, caller: AdminCaller, state: StateDep
) -> ShopperTokenPublic:
    ttl = body.ttl_seconds or state.settings.shopper_token_ttl_s
    minted = state.tokens.mint(body.user_id, ttl, tuple(dict.fromkeys(body.scopes)))
    return ShopperTokenPublic(
        token=minted.token,
        user_id=minted.user_id,
        scopes=list(minted.scopes),
        expires_at=minted.expires_at,
    )
