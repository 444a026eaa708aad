"""/v1/recommendations and /v1/users/{id}/recommendations: contract, filters, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pandas as pd
import pytest
import redis
from catalogs import store_catalog
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.catalog import Catalog
from features.events.schema import parse_events
from features.store import keys
from features.store.online import OnlineFeatureStore
from service.api.app import create_app
from service.settings import Settings

Bearer = Callable[[str], dict[str, str]]
CATEGORIES = ["Trail Running", "Outerwear", "Camping", "Cycling"]
BRANDS = ["Northpeak", "Ember", "Velo"]
N = 40


def _catalog() -> Catalog:
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"p{i:02d}" for i in range(N)],
                "title": [f"{CATEGORIES[i % 4]} item {i}" for i in range(N)],
                "category": [CATEGORIES[i % 4] for i in range(N)],
                "brand": [BRANDS[i % 3] for i in range(N)],
                "price": [5.0 + 7.5 * i for i in range(N)],
                "discount": [0.1 * (i % 3) for i in range(N)],
            }
        )
    )


def _events(rows: list[dict[str, Any]]) -> list[Any]:
    events, rejected = parse_events(rows)
    assert not rejected
    return events


@pytest.fixture(scope="module")
def world(redis_server_url: str) -> Catalog:
    return _catalog()


@pytest.fixture
def client(
    service_settings: Callable[..., Settings], redis_client: redis.Redis, world: Catalog
) -> Iterator[TestClient]:
    store_catalog(redis_client, world)
    now = time.time() - 300
    rows = [
        {"event_id": f"seed{i}-{j}", "user_id": f"fan{j}", "type": "purchase"}
        | {"product_id": f"p{i:02d}", "ts": now, "price": 1.0, "quantity": 1}
        for i in range(N)
        for j in range(i % 4)
    ]
    OnlineFeatureStore(redis_client, world).apply(_events(rows))
    with TestClient(create_app(service_settings())) as test_client:
        yield test_client


def ask(client: TestClient, bearer: Bearer, **body: Any) -> Any:
    answer = client.post(
        "/v1/recommendations", json={"user_id": "u1"} | body, headers=bearer("reader")
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_answer_shape_and_explanations(client: TestClient, bearer: Bearer) -> None:
    body = ask(client, bearer, k=5)
    assert set(body) >= {"recommendation_id", "model_version", "user_id", "items", "degraded"}
    assert body["user_id"] == "u1"
    assert len(body["items"]) == 5
    item = body["items"][0]
    assert set(item) >= {"product_id", "title", "category", "brand", "price", "discount"}
    assert item["explanation"]["source"] == "template"
    assert item["explanation"]["grounded"] is True
    assert item["explanation"]["text"]
    assert isinstance(item["reasons"], list)
    assert "total" in body["timings_ms"]
    silent = ask(client, bearer, k=3, explain="none")
    assert all(i["explanation"] is None for i in silent["items"])


def test_without_a_model_the_answer_says_degraded(client: TestClient, bearer: Bearer) -> None:
    body = ask(client, bearer, k=3)
    assert body["model_version"] is None
    assert body["degraded"] is True
    assert "no trained model" in body["note"]


def test_filters_shortfall_is_reported(client: TestClient, bearer: Bearer) -> None:
    body = ask(client, bearer, k=20, context={"category": "Camping", "brand": "Ember"})
    # Camping is i % 4 == 2, Ember is i % 3 == 1: i in {10, 22, 34}.
    assert sorted(i["product_id"] for i in body["items"]) == ["p10", "p22", "p34"]
    assert body["shortfall"] == 17
    assert "only 3 of 20" in body["note"]
    nothing = ask(client, bearer, k=5, context={"category": "Camping", "max_price": 1})
    assert nothing["items"] == []
    assert nothing["shortfall"] == 5


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    category=st.none() | st.sampled_from([*CATEGORIES, "camping", "Nope"]),
    brand=st.none() | st.sampled_from(BRANDS),
    low=st.none() | st.floats(0, 300),
    span=st.none() | st.floats(0, 300),
    k=st.integers(1, 100),
)
def test_filters_are_never_violated(
    client: TestClient,
    bearer: Bearer,
    category: str | None,
    brand: str | None,
    low: float | None,
    span: float | None,
    k: int,
) -> None:
    high = None if span is None else (low or 0) + span
    context = {"category": category, "brand": brand, "min_price": low, "max_price": high}
    if category == "Nope":  # no such aisle: the shopper is told, not shown an empty list
        refused = client.post(
            "/v1/recommendations",
            json={"user_id": "u1", "k": k, "context": context},
            headers=bearer("reader"),
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "context.category"
        return
    body = ask(client, bearer, k=k, context=context)
    assert len(body["items"]) <= k
    assert len(body["items"]) + body["shortfall"] == k
    for item in body["items"]:
        if category is not None:
            assert item["category"].casefold() == category.casefold()
        if brand is not None:
            assert item["brand"] == brand
        if low is not None:
            assert item["price"] >= low
        if high is not None:
            assert item["price"] <= high


def test_purchases_are_excluded_after_the_event(client: TestClient, bearer: Bearer) -> None:
    first = ask(client, bearer, k=3)
    top = first["items"][0]["product_id"]
    bought = {
        "event_id": "buy-1",
        "user_id": "u1",
        "type": "purchase",
        "product_id": top,
        "ts": time.time(),
        "price": 10.0,
        "quantity": 1,
        "recommendation_id": first["recommendation_id"],
    }
    sent = client.post("/v1/events", json=bought, headers=bearer("writer")).json()
    assert sent["accepted"] == 1
    assert sent["attributed"] == 1
    again = ask(client, bearer, k=N)
    assert top not in [i["product_id"] for i in again["items"]]
    assert again["shortfall"] == 1
    kept = ask(client, bearer, k=N, context={"exclude_purchased": False})
    assert top in [i["product_id"] for i in kept["items"]]


def test_served_recommendation_is_recorded_with_a_ttl(
    client: TestClient, bearer: Bearer, redis_client: redis.Redis
) -> None:
    body = ask(client, bearer, k=2)
    key = keys.served_recommendation(body["recommendation_id"])
    record = orjson.loads(redis_client.get(key) or b"{}")
    assert record["user_id"] == "u1"
    assert record["product_ids"] == [i["product_id"] for i in body["items"]]
    assert 0 < redis_client.ttl(key) <= 7 * 24 * 3600


def test_get_form_matches_post_form(client: TestClient, bearer: Bearer) -> None:
    got = client.get(
        "/v1/users/u1/recommendations",
        params={"k": 4, "category": "Cycling", "max_price": 200, "explain": "none"},
        headers=bearer("reader"),
    )
    assert got.status_code == 200
    posted = ask(client, bearer, k=4, context={"category": "Cycling", "max_price": 200})
    assert [i["product_id"] for i in got.json()["items"]] == [
        i["product_id"] for i in posted["items"]
    ]
    bad = client.get(
        "/v1/users/u1/recommendations",
        params={"min_price": 50, "max_price": 10},
        headers=bearer("reader"),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "max_price"
    unknown = client.get(
        "/v1/users/u1/recommendations", params={"brand": "Nobrand"}, headers=bearer("reader")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "brand", "message": "no brand 'Nobrand' in the catalog"}
    ]


def test_names_in_filters_ignore_case(client: TestClient, bearer: Bearer) -> None:
    exact = ask(client, bearer, k=6, context={"category": "Camping", "brand": "Ember"})
    loose = ask(client, bearer, k=6, context={"category": "CAMPING", "brand": "ember"})
    assert [i["product_id"] for i in loose["items"]] == [i["product_id"] for i in exact["items"]]
    assert loose["items"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "u1", "k": 0}, "k"),
        ({"user_id": "u1", "k": 101}, "k"),
        ({"user_id": "u1", "k": "ten"}, "k"),
        ({"user_id": "", "k": 1}, "user_id"),
        ({"user_id": "u\x00", "k": 1}, "user_id"),
        ({"user_id": "x" * 129}, "user_id"),
        ({"k": 1}, "user_id"),
        ({"user_id": "u1", "explain": "poem"}, "explain"),
        ({"user_id": "u1", "context": {"max_price": -1}}, "context.max_price"),
        ({"user_id": "u1", "context": {"max_price": 1e300}}, "context.max_price"),
        ({"user_id": "u1", "context": {"min_price": 9, "max_price": 1}}, "context.max_price"),
        ({"user_id": "u1", "context": {"colour": "red"}}, "context.colour"),
        ({"user_id": "u1", "context": {"query": "q" * 501}}, "context.query"),
        ({"user_id": "u1", "context": []}, "context"),
        ({"user_id": ["u1"]}, "user_id"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(
    client: TestClient, bearer: Bearer, body: dict[str, Any], field: str
) -> None:
    answer = client.post("/v1/recommendations", json=body, headers=bearer("reader"))
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"user_id": "u1", "context": {"max_price": NaN}}',
        b'{"user_id": "u1", "context": {"min_price": Infinity}}',
        b'{"user_id": "u1", "k": 1' + b"0" * 5000 + b"}",
        b'{"user_id": "u1", "context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"{bad json",
        b"",
        b"null",
        b"\xff\xfe",
    ],
)
def test_hostile_bodies_are_4xx(client: TestClient, bearer: Bearer, raw: bytes) -> None:
    answer = client.post(
        "/v1/recommendations",
        content=raw,
        headers=bearer("reader") | {"Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["errors"]


# Empty containers are leaves: hypothesis (6.150+) warns, and pytest fails, when a recursive
# step can return without drawing from ``inner``.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.just([])
    | st.just({}),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "user_id": JSON,
            "k": JSON,
            "explain": JSON,
            "context": JSON | st.fixed_dictionaries({}, optional={"max_price": JSON}),
        },
    )
)
def test_random_bodies_never_reach_the_catch_all(
    client: TestClient, bearer: Bearer, body: dict[str, Any]
) -> None:
    # The standard library writes what hostile clients send: NaN, Infinity, huge integers.
    raw = json.dumps(body).encode()
    answer = client.post(
        "/v1/recommendations",
        content=raw,
        headers=bearer("reader") | {"Content-Type": "application/json"},
    )
    assert answer.status_code in (200, 400, 422), answer.text
    assert "shopmode_unhandled_errors_total 0.0" in client.get("/metrics").text


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/recommendations",
        "/v1/users/{user_id}/recommendations",
        "/v1/events",
        "/v1/products/{product_id}",
        "/v1/users/{user_id}/features",
        "/v1/admin/models/reload",
        "/readyz",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert {"RecommendationCreate", "RecommendationPublic", "Problem", "EventCreate"} <= set(
        schemas
    )
    assert schemas["RecommendationCreate"]["examples"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
