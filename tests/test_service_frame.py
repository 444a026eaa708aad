"""The service frame: health, readiness, auth and scopes, limits, problem details, metrics,
model hot reload. Real Redis, the real app through TestClient (lifespan included)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from catalogs import store_catalog, three_products
from fastapi.testclient import TestClient
from live_server import save_tiny_model

from models.ranking.registry import CURRENT_KEY, MODEL_FILE
from service.api.app import create_app
from service.settings import Settings

Bearer = Callable[[str], dict[str, str]]


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def settings(service_settings: Callable[..., Settings], redis_client: redis.Redis) -> Settings:
    store_catalog(redis_client, three_products())
    return service_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_healthz_and_readyz_without_a_model(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["catalog"] == {"ok": True, "detail": "3 products"}
    assert body["checks"]["model"]["ok"] is False


def test_product_by_id_and_unknown_product(client: TestClient, bearer: Bearer) -> None:
    answer = client.get("/v1/products/p1", headers=bearer("reader"))
    assert answer.status_code == 200
    product = answer.json()
    assert product["title"] == "Trail shoe"
    assert product["brand"] == "Northpeak"
    assert product["attributes"] == {"colour": "red"}
    missing = client.get("/v1/products/nope", headers=bearer("reader"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["title"] == "Not Found"


def test_missing_or_unknown_key_is_401_with_challenge(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        answer = client.get("/v1/products/p1", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        problem = answer.json()
        assert set(problem) >= {"type", "title", "status", "detail", "errors"}
        assert problem["status"] == 401


def test_key_without_the_scope_is_403(client: TestClient, bearer: Bearer) -> None:
    answer = client.post("/v1/admin/models/reload", headers=bearer("reader"))
    assert answer.status_code == 403
    assert "admin" in answer.json()["detail"]


def test_open_recommend_never_opens_admin(
    service_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    store_catalog(redis_client, three_products())
    with TestClient(create_app(service_settings(open_recommend=True))) as client:
        assert client.get("/v1/products/p2").status_code == 200
        assert client.post("/v1/admin/models/reload").status_code == 401


def test_body_over_the_limit_is_413(
    service_settings: Callable[..., Settings], bearer: Bearer
) -> None:
    with TestClient(create_app(service_settings(max_body_bytes=1000))) as client:
        declared = client.post(
            "/v1/admin/models/reload", content=b"x" * 1001, headers=bearer("admin")
        )
        assert declared.status_code == 413
        assert declared.json()["errors"][0]["field"] == "body"

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"y" * 100

        streamed = client.post("/v1/admin/models/reload", content=chunks(), headers=bearer("admin"))
        assert streamed.status_code == 413


def test_rate_limit_answers_429_with_retry_after_per_key(
    service_settings: Callable[..., Settings], redis_client: redis.Redis, bearer: Bearer
) -> None:
    store_catalog(redis_client, three_products())
    with TestClient(create_app(service_settings(rate_limit_per_minute=3))) as client:
        codes = [client.get("/v1/products/p1", headers=bearer("reader")).status_code]
        codes += [client.get("/v1/products/p1", headers=bearer("reader")).status_code]
        codes += [client.get("/v1/products/p1", headers=bearer("reader")).status_code]
        limited = client.get("/v1/products/p1", headers=bearer("reader"))
        assert codes == [200, 200, 200]
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.json()["status"] == 429
        # Another key has its own window.
        assert client.get("/v1/products/p1", headers=bearer("writer")).status_code == 200


def test_unknown_route_is_a_problem_and_metrics_count_routes(
    client: TestClient, bearer: Bearer
) -> None:
    assert client.get("/v1/nowhere").json()["status"] == 404
    client.get("/v1/products/p1", headers=bearer("reader"))
    client.get("/v1/products/p2", headers=bearer("reader"))
    text = client.get("/metrics").text
    line = (
        'shopmode_http_requests_total{method="GET",route="/v1/products/{product_id}",status="200"}'
    )
    assert f"{line} 2.0" in text
    assert "shopmode_http_request_seconds_bucket" in text
    assert "shopmode_unhandled_errors_total 0.0" in text


def test_model_hot_reload_keeps_last_good_model(
    client: TestClient, settings: Settings, redis_client: redis.Redis, bearer: Bearer
) -> None:
    models = settings.models_dir
    save_tiny_model(models, "v1")
    redis_client.set(CURRENT_KEY, "v1")
    _wait_for(lambda: client.get("/readyz").json()["model_version"] == "v1")
    assert client.get("/readyz").status_code == 200

    save_tiny_model(models, "v2")
    redis_client.set(CURRENT_KEY, "v2")
    _wait_for(lambda: client.get("/readyz").json()["model_version"] == "v2")

    # The slot loads first, then the recommender is rebuilt around the new model.
    def ranked_by_v2() -> bool:
        answer = client.post(
            "/v1/recommendations", json={"user_id": "u1"}, headers=bearer("reader")
        )
        return bool(answer.json()["model_version"] == "v2")

    _wait_for(ranked_by_v2)

    save_tiny_model(models, "v3")
    (models / "v3" / MODEL_FILE).write_bytes(b"tampered")
    redis_client.set(CURRENT_KEY, "v3")
    _wait_for(lambda: client.get("/readyz").json()["model_error"] is not None)
    ready = client.get("/readyz").json()
    assert ready["model_version"] == "v2"
    assert "v3" in ready["model_error"]
    assert "shopmode_model_reload_failures_total 1.0" in client.get("/metrics").text

    forced = client.post("/v1/admin/models/reload", headers=bearer("admin")).json()
    assert forced["serving"] == "v2"
    assert forced["wanted"] == "v3"
    assert "refusing" in forced["error"]


def test_an_unexpected_error_is_a_bare_500_problem_and_counted(
    service_settings: Callable[..., Settings],
) -> None:
    app = create_app(service_settings())

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("secret internals: /etc/shadow")

    with TestClient(app) as client:
        answer = client.get("/v1/broken")
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "internal error"
        assert "secret" not in answer.text
        assert "Traceback" not in answer.text
        metrics = client.get("/metrics").text
        assert "shopmode_unhandled_errors_total 1.0" in metrics
