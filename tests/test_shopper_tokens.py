"""Shopper tokens: minted by an admin call, bound to one shopper, refused when expired,
forged or used for anyone else."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from shop_support import ADMIN_KEY, DEMO_KEY, ShopWorld, bearer, build_shop

from service.api.app import create_app
from service.edge.tokens import AUDIENCE, ISSUER, ShopperTokens, load_secret


@pytest.fixture(scope="module")
def shop(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> ShopWorld:
    return build_shop(redis_server_url, tmp_path_factory.mktemp("tokens") / "world")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def client(shop: ShopWorld, home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(shop.settings(home))) as test_client:
        yield test_client


def mint(client: TestClient, user_id: str, **body: object) -> str:
    answer = client.post(
        "/v1/admin/shopper-tokens", json={"user_id": user_id, **body}, headers=bearer(ADMIN_KEY)
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def other_shopper(shop: ShopWorld, user: str) -> str:
    return str(next(u for u in shop.users["user_id"] if u != user))


def test_an_admin_mints_a_token_for_one_shopper(client: TestClient, shop: ShopWorld) -> None:
    user = shop.active_shopper()
    before = int(time.time())
    answer = client.post(
        "/v1/admin/shopper-tokens",
        json={"user_id": user, "ttl_seconds": 600},
        headers=bearer(ADMIN_KEY),
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["user_id"] == user
    assert body["scopes"] == ["recommend", "events:write"]
    assert before + 600 <= body["expires_at"] <= int(time.time()) + 600
    assert client.get(f"/v1/users/{user}/profile", headers=bearer(body["token"])).status_code == 200


def test_only_an_admin_mints_and_bad_requests_name_the_field(client: TestClient) -> None:
    path = "/v1/admin/shopper-tokens"
    assert client.post(path, json={"user_id": "u1"}).status_code == 401
    assert client.post(path, json={"user_id": "u1"}, headers=bearer(DEMO_KEY)).status_code == 403
    token = mint(client, "u1")
    assert client.post(path, json={"user_id": "u1"}, headers=bearer(token)).status_code == 403
    for body, field in [
        ({"user_id": ""}, "user_id"),
        ({"user_id": "a\x00b"}, "user_id"),
        ({"user_id": "x" * 129}, "user_id"),
        ({"user_id": "u1", "ttl_seconds": 10}, "ttl_seconds"),
        ({"user_id": "u1", "ttl_seconds": 10**9}, "ttl_seconds"),
        ({"user_id": "u1", "ttl_seconds": "60"}, "ttl_seconds"),
        ({"user_id": "u1", "scopes": ["admin"]}, "scopes[0]"),
        ({"user_id": "u1", "scopes": []}, "scopes"),
        ({"user_id": "u1", "extra": 1}, "extra"),
    ]:
        answer = client.post(path, json=body, headers=bearer(ADMIN_KEY))
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] == field, answer.json()


def test_a_token_acts_for_its_own_shopper(client: TestClient, shop: ShopWorld) -> None:
    user = shop.active_shopper()
    auth = bearer(mint(client, user))
    assert (
        client.post("/v1/recommendations", json={"user_id": user, "k": 3}, headers=auth).status_code
        == 200
    )
    assert client.get(f"/v1/users/{user}/recommendations?k=2", headers=auth).status_code == 200
    asked = client.post(
        "/v1/ask", json={"user_id": user, "message": "something for me"}, headers=auth
    )
    assert asked.status_code == 200
    product = str(shop.catalog.product_ids[0])
    event = {"user_id": user, "type": "view", "product_id": product, "ts": time.time() - 1}
    sent = client.post("/v1/events", json=event, headers=auth)
    assert sent.status_code == 200
    assert sent.json()["accepted"] == 1


def test_a_token_is_refused_for_anyone_else_naming_the_field(
    client: TestClient, shop: ShopWorld
) -> None:
    user = shop.active_shopper()
    other = other_shopper(shop, user)
    auth = bearer(mint(client, user))

    def refused(answer: object, field: str) -> None:
        assert answer.status_code == 403, answer.text  # type: ignore[attr-defined]
        problem = answer.json()  # type: ignore[attr-defined]
        assert [e["field"] for e in problem["errors"]] == [field] or field in {
            e["field"] for e in problem["errors"]
        }

    refused(client.post("/v1/recommendations", json={"user_id": other}, headers=auth), "user_id")
    refused(client.get(f"/v1/users/{other}/recommendations", headers=auth), "user_id")
    refused(
        client.post("/v1/ask", json={"user_id": other, "message": "hi"}, headers=auth), "user_id"
    )
    refused(client.get(f"/v1/users/{other}/profile", headers=auth), "user_id")
    product = str(shop.catalog.product_ids[0])
    now = time.time() - 1
    theirs = {"user_id": other, "type": "view", "product_id": product, "ts": now, "event_id": "t-x"}
    mine = {**theirs, "user_id": user, "event_id": "t-mine"}
    refused(client.post("/v1/events", json=theirs, headers=auth), "user_id")
    # A mixed batch is refused whole: nothing of it is applied.
    batch = client.post("/v1/events", json=[mine, theirs], headers=auth)
    refused(batch, "[1].user_id")
    again = client.post("/v1/events", json=mine, headers=bearer(DEMO_KEY)).json()
    assert again["accepted"] == 1, again  # the refused batch stored nothing
    assert client.get("/v1/shoppers/demo", headers=auth).status_code == 403
    assert client.get(f"/v1/users/{user}/features", headers=auth).status_code == 403
    assert client.post("/v1/admin/models/reload", headers=auth).status_code == 403


def test_a_read_only_token_cannot_write_events(client: TestClient, shop: ShopWorld) -> None:
    user = shop.active_shopper()
    auth = bearer(mint(client, user, scopes=["recommend"]))
    product = str(shop.catalog.product_ids[0])
    event = {"user_id": user, "type": "view", "product_id": product, "ts": time.time() - 1}
    answer = client.post("/v1/events", json=event, headers=auth)
    assert answer.status_code == 403
    assert "events:write" in answer.json()["detail"]


def _forge(claims: dict[str, object], key: str = "x" * 48) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def test_expired_forged_and_tampered_tokens_are_401_naming_the_credential(
    client: TestClient, shop: ShopWorld, home: Path
) -> None:
    user = shop.active_shopper()
    secret = load_secret(None, home)
    tokens = ShopperTokens(secret)
    expired = tokens.mint(user, 60, now=time.time() - 3600).token
    good = mint(client, user)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = other_shopper(shop, user)
    tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    base = {"iss": ISSUER, "aud": AUDIENCE, "scope": "recommend", "iat": int(time.time())}
    unsigned = jwt.encode(
        {**base, "sub": user, "exp": int(time.time()) + 600}, None, algorithm="none"
    )
    cases = {
        "expired": expired,
        "other secret": _forge({**base, "sub": user, "exp": int(time.time()) + 600}),
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "alg none": unsigned,
        "no expiry": jwt.encode(
            {**base, "sub": user}, secret.get_secret_value(), algorithm="HS256"
        ),
        "wrong audience": jwt.encode(
            {**base, "aud": "elsewhere", "sub": user, "exp": int(time.time()) + 600},
            secret.get_secret_value(),
            algorithm="HS256",
        ),
        "garbage": "eyJhbGciOi.not-a.token",
    }
    for name, token in cases.items():
        answer = client.get(f"/v1/users/{user}/profile", headers=bearer(token))
        assert answer.status_code == 401, name
        problem = answer.json()
        assert problem["errors"][0]["field"] == "Authorization", name
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (
        "expired"
        in client.get(f"/v1/users/{user}/profile", headers=bearer(expired)).json()["detail"]
    )


def test_every_process_on_one_home_agrees_on_the_secret(
    shop: ShopWorld, home: Path, tmp_path: Path
) -> None:
    user = shop.active_shopper()
    with TestClient(create_app(shop.settings(home))) as first:
        token = mint(first, user)
    with TestClient(create_app(shop.settings(home))) as second:
        assert second.get(f"/v1/users/{user}/profile", headers=bearer(token)).status_code == 200
    assert (home / "secrets" / "token_secret").stat().st_mode & 0o077 == 0
    with TestClient(create_app(shop.settings(tmp_path / "elsewhere"))) as stranger:
        assert stranger.get(f"/v1/users/{user}/profile", headers=bearer(token)).status_code == 401
    configured = shop.settings(tmp_path / "a", token_secret="s" * 40)
    with (
        TestClient(create_app(configured)) as a,
        TestClient(
            create_app(shop.settings(tmp_path / "b", token_secret=SecretStr("s" * 40)))
        ) as b,
    ):
        assert b.get(f"/v1/users/{user}/profile", headers=bearer(mint(a, user))).status_code == 200


def test_a_short_token_secret_is_refused() -> None:
    from pydantic import ValidationError

    from service.settings import Settings

    with pytest.raises(ValidationError, match="at least 32"):
        Settings(token_secret="short")  # type: ignore[arg-type]
