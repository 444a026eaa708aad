"""The demo shop page at ``/`` and the two shopper-facing reads it needs.

The page is static HTML, CSS and JavaScript calling the public API with a shopper token
(``service.edge.tokens``): whatever runs in the browser can act for that one shopper only.
With ``SHOPMODE_DEMO_PAGE`` the page plays the shop's backend of a demo without logins:
it signs the visitor in as the shopper in ``?shopper=`` (a few to try are listed in the
page), and switching shopper loads the page again for the other one. Without it the page
asks for a token. The demo API key (``SHOPMODE_DEMO_KEY``, recommend + events:write for any
shopper) is for trying the API by hand and never reaches the page.
``/v1/users/{id}/profile`` shows a shopper what they would see of themselves in a shop
(recent activity, followed brands, liked categories, region), never raw features;
``/v1/shoppers/demo`` lists a few shoppers to try (API keys only).
"""

from __future__ import annotations

import html
import time
from importlib import resources
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from features.store.regions import region_of
from features.store.shoppers import shoppers_with_state
from service.api.deps import RecommendCaller, StateDep, for_shopper, no_shopper_tokens
from service.edge.auth import hash_api_key
from service.edge.problems import Problem
from service.settings import ApiKeySpec, Settings
from shopmode.errors import InvalidInput, StoreUnavailable

router = APIRouter(tags=["shop page"])

DEMO_SCOPES: tuple[Literal["recommend"], Literal["events:write"]] = ("recommend", "events:write")
_ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}
PROFILE_RECENT = 10
DEMO_SCAN_LIMIT = 2000

UserId = Annotated[str, Path(min_length=1, max_length=128, examples=["u000042"])]


def demo_key_specs(settings: Settings) -> tuple[ApiKeySpec, ...]:
    """The demo key as a key-ring entry (first, so its narrow scopes win any overlap)."""
    if settings.demo_key is None:
        return ()
    digest = hash_api_key(settings.demo_key.get_secret_value())
    return (ApiKeySpec(name="demo-page", sha256=digest, scopes=DEMO_SCOPES),)


def _static(name: str) -> str:
    return resources.files("service.api").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
async def shop_page(
    state: StateDep,
    shopper: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Response:
    token, signed_in, listed = "", "", "[]"
    if state.settings.demo_page:
        shoppers = await _demo_shoppers_or_none(state) or []
        if shopper is not None and (not shopper.strip() or not shopper.isprintable()):
            raise InvalidInput("must be printable and not only whitespace", "shopper")
        signed_in = shopper or (shoppers[0].user_id if shoppers else "guest")
        minted = state.tokens.mint(signed_in, state.settings.shopper_token_ttl_s)
        token = minted.token
        listed = orjson.dumps([s.model_dump() for s in shoppers]).decode()
    page = (
        _static("index.html")
        .replace("{{SHOPPER_TOKEN}}", html.escape(token, quote=True))
        .replace("{{SHOPPER}}", html.escape(signed_in, quote=True))
        .replace("{{DEMO_SHOPPERS}}", html.escape(listed, quote=True))
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/static/{asset}", include_in_schema=False)
async def shop_asset(asset: str) -> Response:
    media_type = _ASSETS.get(asset)
    if media_type is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {**_HEADERS, "Cache-Control": "no-cache"}
    return Response(_static(asset), media_type=f"{media_type}; charset=utf-8", headers=headers)


class RecentActivity(BaseModel):
    product_id: str
    title: str | None = Field(description="None when the product left the catalog.")
    type: str = Field(description="The strongest interaction: view, click, add_to_cart, purchase.")
    ts: float


class ProfilePublic(BaseModel):
    """What a shopper would see of themselves in a shop: no scores, no raw features."""

    user_id: str
    known: bool = Field(description="The shop has seen activity or interests from them.")
    region: str | None
    recent: list[RecentActivity]
    followed_brands: list[str]
    liked_categories: list[str]
    purchases: int = Field(description="How many products they have bought.")


@router.get(
    "/v1/users/{user_id}/profile",
    summary="A shopper's own activity and interests",
    responses={
        403: {"model": Problem, "description": "A shopper token for another shopper."},
        503: {"model": Problem, "description": "The feature store is unreachable."},
    },
)
async def shopper_profile(
    user_id: UserId, caller: RecommendCaller, state: StateDep
) -> ProfilePublic:
    for_shopper(caller, user_id)
    snapshot, store = state.snapshot, state.store
    if snapshot is None or store is None or not state.health.up:
        raise StoreUnavailable("the feature store is unavailable", retry_after=5)
    try:
        shopper = await store.user_state(user_id, time.time())
        region = await state.runner.run(region_of(user_id))
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        raise StoreUnavailable("the feature store is unavailable", retry_after=5) from None
    titles = snapshot.catalog.frame["title"]
    recent = []
    for item in shopper.recent[:PROFILE_RECENT]:
        position = snapshot.catalog.position(item.product_id)
        title = str(titles.iat[position]) if position >= 0 else None
        recent.append(
            RecentActivity(
                product_id=item.product_id, title=title, type=item.type.value, ts=item.ts
            )
        )
    return ProfilePublic(
        user_id=user_id,
        known=shopper.known,
        region=region,
        recent=recent,
        followed_brands=[b for b, _ in sorted(shopper.followed_brands.items(), key=_latest)],
        liked_categories=[c for c, _ in sorted(shopper.liked_categories.items(), key=_latest)],
        purchases=len(shopper.purchased),
    )


def _latest(pair: tuple[str, float]) -> tuple[float, str]:
    return (-pair[1], pair[0])


class DemoShopper(BaseModel):
    user_id: str
    label: str


class DemoShoppers(BaseModel):
    shoppers: list[DemoShopper]


@router.get(
    "/v1/shoppers/demo",
    summary="A few shoppers to try the demo page with",
    responses={
        403: {"model": Problem, "description": "A shopper token (it may see only its shopper)."},
        503: {"model": Problem, "description": "The feature store is unreachable."},
    },
)
async def demo_shoppers(caller: RecommendCaller, state: StateDep) -> DemoShoppers:
    """The most active shoppers among the first ones found, one with interests only, a guest."""
    no_shopper_tokens(caller)
    found = await _demo_shoppers_or_none(state)
    if found is None:
        raise StoreUnavailable("the feature store is unavailable", retry_after=5)
    return DemoShoppers(shoppers=found)


async def _demo_shoppers_or_none(state: StateDep) -> list[DemoShopper] | None:
    """A few shoppers to try; None when Redis cannot be read."""
    try:
        found = await state.runner.run(shoppers_with_state(DEMO_SCAN_LIMIT))
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        return None
    by_activity = sorted(found, key=lambda p: (-p[1], p[0]))
    shoppers = [
        DemoShopper(user_id=u, label=f"{u} · {n} recent products")
        for u, n in by_activity[:4]
        if n > 0
    ]
    quiet = next((u for u, n in reversed(by_activity) if n == 0), None)
    if quiet is not None:
        shoppers.append(DemoShopper(user_id=quiet, label=f"{quiet} · interests only"))
    shoppers.append(DemoShopper(user_id="guest", label="guest · brand new, nothing known"))
    return shoppers
