"""The shop page at / and the shopper-facing reads it uses (profile, demo shoppers)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shop_support import ADMIN_KEY, DEMO_KEY, ShopWorld, bearer, build_shop

from service.api.app import create_app


@pytest.fixture(scope="module")
def shop(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> ShopWorld:
    return build_shop(redis_server_url, tmp_path_factory.mktemp("shop") / "world")


@pytest.fixture(scope="module")
def client(shop: ShopWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = shop.settings(tmp_path_factory.mktemp("home"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _meta(page: str, name: str) -> str:
    found = re.search(rf'<meta name="{name}" content="([^"]*)">', page)
    assert found is not None, name
    return html.unescape(found.group(1))


def test_page_signs_in_one_shopper_with_a_token_and_a_strict_policy(
    client: TestClient, shop: ShopWorld
) -> None:
    user = shop.active_shopper()
    page = client.get("/", params={"shopper": user})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # The browser holds a token for this shopper, never an API key.
    assert DEMO_KEY not in page.text
    assert ADMIN_KEY not in page.text
    token = _meta(page.text, "shopmode-token")
    assert _meta(page.text, "shopmode-shopper") == user
    mine = client.get(f"/v1/users/{user}/profile", headers=bearer(token))
    assert mine.status_code == 200
    other = client.get("/v1/users/u000001/profile", headers=bearer(token))
    assert other.status_code == 403
    # A few shoppers to try are listed in the page itself (no API call needs a wide key).
    listed = json.loads(_meta(page.text, "shopmode-shoppers"))
    assert listed[-1]["user_id"] == "guest"
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/v1/ask" in script.text
    assert "text/event-stream" in script.text
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/static/index.html").status_code == 404


def test_page_without_a_shopper_signs_in_the_first_demo_shopper(client: TestClient) -> None:
    page = client.get("/")
    listed = json.loads(_meta(page.text, "shopmode-shoppers"))
    assert _meta(page.text, "shopmode-shopper") == listed[0]["user_id"]


def test_a_bad_shopper_in_the_address_names_the_field(client: TestClient) -> None:
    for bad in ("x" * 200, "a\x01b", "   "):
        answer = client.get("/", params={"shopper": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "shopper"


def test_page_outside_demo_mode_holds_no_credential(shop: ShopWorld, tmp_path: Path) -> None:
    with TestClient(create_app(shop.settings(tmp_path, demo_page=False))) as plain:
        page = plain.get("/", params={"shopper": shop.active_shopper()})
    assert _meta(page.text, "shopmode-token") == ""
    assert DEMO_KEY not in page.text
    assert 'id="key-panel"' in page.text


def test_demo_key_can_recommend_and_send_events_but_never_admin(
    client: TestClient, shop: ShopWorld
) -> None:
    user = shop.active_shopper()
    answer = client.post(
        "/v1/recommendations", json={"user_id": user, "k": 3}, headers=bearer(DEMO_KEY)
    )
    assert answer.status_code == 200
    assert len(answer.json()["items"]) == 3
    product = answer.json()["items"][0]["product_id"]
    sent = client.post(
        "/v1/events",
        json={"user_id": user, "type": "view", "product_id": product, "ts": time.time() - 1},
        headers=bearer(DEMO_KEY),
    )
    assert sent.status_code == 200
    assert sent.json()["results"][0]["status"] == "accepted"
    admin = client.get(f"/v1/users/{user}/features", headers=bearer(DEMO_KEY))
    assert admin.status_code == 403
    assert "admin" in admin.json()["detail"]


def test_demo_key_stays_narrow_even_if_configured_as_admin(shop: ShopWorld, tmp_path: Path) -> None:
    from service.edge.auth import hash_api_key

    risky = shop.settings(
        tmp_path,
        api_keys=[
            {"name": "oops", "sha256": hash_api_key(DEMO_KEY), "scopes": ["admin", "recommend"]}
        ],
    )
    with TestClient(create_app(risky)) as app_client:
        answer = app_client.get("/v1/users/u000001/features", headers=bearer(DEMO_KEY))
    assert answer.status_code == 403


def test_profile_shows_what_the_shopper_did_and_declared(
    client: TestClient, shop: ShopWorld
) -> None:
    user = shop.active_shopper()
    answer = client.get(f"/v1/users/{user}/profile", headers=bearer(DEMO_KEY))
    assert answer.status_code == 200
    profile = answer.json()
    assert profile["known"] is True
    row = shop.users[shop.users["user_id"] == user].iloc[0]
    assert profile["region"] == row["region"]
    assert set(profile["followed_brands"]) >= set(row["brands_followed"])
    assert set(profile["liked_categories"]) >= set(row["categories_liked"])
    mine = shop.events[(shop.events["user_id"] == user) & (shop.events["type"] == "view")]
    shown = {r["product_id"] for r in profile["recent"]}
    assert shown & set(mine["product_id"])
    titles = dict(zip(shop.catalog.product_ids, shop.catalog.frame["title"], strict=True))
    assert all(r["title"] == titles[r["product_id"]] for r in profile["recent"])
    # What a shopper sees of themselves, not the feature store's internals.
    assert set(profile) == {
        "user_id",
        "known",
        "region",
        "recent",
        "followed_brands",
        "liked_categories",
        "purchases",
    }


def test_profile_of_a_stranger_is_empty(client: TestClient) -> None:
    answer = client.get("/v1/users/nobody-at-all/profile", headers=bearer(DEMO_KEY))
    assert answer.json() == {
        "user_id": "nobody-at-all",
        "known": False,
        "region": None,
        "recent": [],
        "followed_brands": [],
        "liked_categories": [],
        "purchases": 0,
    }


def test_profile_needs_the_recommend_scope(client: TestClient) -> None:
    assert client.get("/v1/users/u000001/profile").status_code == 401
    too_long = client.get("/v1/users/" + "x" * 200 + "/profile", headers=bearer(DEMO_KEY))
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "user_id"


def test_demo_shoppers_are_real_and_varied(client: TestClient, shop: ShopWorld) -> None:
    page = client.get("/", params={"shopper": shop.active_shopper()})
    token = _meta(page.text, "shopmode-token")
    assert client.get("/v1/shoppers/demo", headers=bearer(token)).status_code == 403
    answer = client.get("/v1/shoppers/demo", headers=bearer(DEMO_KEY))
    assert answer.status_code == 200
    shoppers = answer.json()["shoppers"]
    ids = [s["user_id"] for s in shoppers]
    known = set(shop.users["user_id"])
    assert len([u for u in ids if u in known]) >= 3
    assert ids[-1] == "guest"
    assert all(s["label"] for s in shoppers)


def test_store_down_is_a_503_with_retry_after(shop: ShopWorld, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    settings = shop.settings(tmp_path, REDIS_URL=dead, redis_socket_timeout=0.2)
    with TestClient(create_app(settings)) as down:
        assert down.get("/").status_code == 200  # the page itself needs no store
        assert _meta(down.get("/").text, "shopmode-shopper") == "guest"
        for path in ("/v1/users/u000001/profile", "/v1/shoppers/demo"):
            answer = down.get(path, headers=bearer(DEMO_KEY))
            assert answer.status_code == 503, path
            assert answer.headers["retry-after"]
            assert answer.headers["content-type"] == "application/problem+json"
