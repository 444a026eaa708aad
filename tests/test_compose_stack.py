"""The demo compose stack, run for real (``make compose-test``): the images built from this
tree, the services started in the order their depends_on states, the seed job, the API
through its published port with the shipped demo key, llama.cpp's server from the ``llm``
profile writing explanations, and Redis's append-only file across a restart of its
container. Skipped unless scripts/compose-test.sh has built the images and set the
project up (see tests/compose_support.py)."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from compose_support import ComposeStack, wait_ready

DEMO_KEY = "sm_demo_key_change_me"  # the key docker-compose.yml ships
AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
GENERATED = {"llm", "fallback_rejected"}  # texts the LLM server wrote (kept or refused)

pytestmark = [
    pytest.mark.compose,
    pytest.mark.slow,
    pytest.mark.llm,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        ComposeStack.from_environment() is None,
        reason="needs the images and project of `make compose-test`",
    ),
]


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    found = ComposeStack.from_environment()
    assert found is not None
    try:
        # Stage by stage, as depends_on says: podman-compose starts dependencies but does
        # not wait for their health or completion.
        found.up("redis")
        found.wait_healthy("redis", timeout=120)
        found.up("llm")  # loads its model while the seed job works
        found.up("seed")
        code = found.wait_exit("seed", timeout=1800)
        assert code == 0, found.logs("seed")
        found.up("api")
        found.wait_healthy("api", timeout=600)
        found.wait_healthy("llm", timeout=300)
        yield found
    finally:
        found.down()


@pytest.fixture(scope="module")
def api(stack: ComposeStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def shopper(api: httpx.Client) -> str:
    answer = api.get("/v1/shoppers/demo", headers=AUTH)
    assert answer.status_code == 200, answer.text
    active: str = answer.json()["shoppers"][0]["user_id"]
    assert active != "guest"
    return active


def recommend(api: httpx.Client, shopper: str, **body: Any) -> dict[str, Any]:
    answer = api.post("/v1/recommendations", json={"user_id": shopper, **body}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def view(shopper: str, product_id: str) -> dict[str, Any]:
    return {
        "event_id": f"compose-{uuid.uuid4().hex}",
        "user_id": shopper,
        "type": "view",
        "product_id": product_id,
        "ts": time.time() - 5,
    }


def test_seed_job_prints_the_key_the_api_serves(stack: ComposeStack) -> None:
    log = stack.logs("seed")
    assert "train: " in log
    assert f"demo API key (recommend, events:write): {DEMO_KEY}" in log


def test_api_image_is_non_root_health_checked_and_under_1_5_gb(stack: ComposeStack) -> None:
    found = json.loads(stack.must(stack.engine, "image", "inspect", os.environ["SHOPMODE_IMAGE"]))
    image = found[0]
    assert image["Config"]["User"] == "shopmode"
    # Docker keeps the health check in Config; podman (docker format) at the top level.
    check = image["Config"].get("Healthcheck") or image.get("Healthcheck")
    assert check is not None
    assert "/healthz" in " ".join(check["Test"])
    assert image["Size"] < 1.5e9, f"{image['Size'] / 1e9:.2f} GB"


def test_every_service_runs_as_a_non_root_user(stack: ComposeStack) -> None:
    # The seed job has exited; it runs the api's image as the same user.
    for service in ("redis", "api", "llm"):
        assert stack.main_process_uid(service) != 0, service


def test_recommendations_with_the_shipped_key(api: httpx.Client, shopper: str) -> None:
    body = recommend(api, shopper, k=5, explain="template")
    assert body["model_version"] is not None
    assert body["degraded"] is False
    assert len(body["items"]) == 5
    for item in body["items"]:
        assert item["reasons"], item
        assert item["explanation"]["source"] == "template"
    # The shop page never holds an API key: it signs the visitor in as one shopper.
    page = api.get("/", params={"shopper": shopper})
    assert page.status_code == 200
    assert DEMO_KEY not in page.text
    token = re.search(r'<meta name="shopmode-token" content="([^"]+)">', page.text)
    assert token is not None, "the demo page carries a shopper token"
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert api.get(f"/v1/users/{shopper}/profile", headers=bearer).status_code == 200
    assert api.get("/v1/users/someone-else/profile", headers=bearer).status_code == 403


def test_bad_requests_are_refused_with_the_field_named(api: httpx.Client) -> None:
    assert api.post("/v1/recommendations", json={"user_id": "u1"}).status_code == 401
    wrong = api.post("/v1/recommendations", json={"user_id": "u1", "k": 0}, headers=AUTH)
    assert wrong.status_code == 422
    assert [error["field"] for error in wrong.json()["errors"]] == ["k"]
    admin = api.post("/v1/admin/models/reload", headers=AUTH)
    assert admin.status_code == 403


def test_ask_in_words_keeps_the_price_bound(api: httpx.Client, shopper: str) -> None:
    answer = api.post(
        "/v1/ask", json={"user_id": shopper, "message": "something under $60", "k": 5}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["intent"]["max_price"] == 60
    assert body["items"]
    assert all(item["price"] <= 60 for item in body["items"])


def test_events_are_applied_once(api: httpx.Client, shopper: str) -> None:
    product = recommend(api, shopper, k=1, explain="none")["items"][0]["product_id"]
    event = view(shopper, product)
    first = api.post("/v1/events", json=event, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 1
    again = api.post("/v1/events", json=event, headers=AUTH)
    assert again.json()["duplicate"] == 1
    profile = api.get(f"/v1/users/{shopper}/profile", headers=AUTH)
    assert profile.status_code == 200, profile.text
    assert product in [recent["product_id"] for recent in profile.json()["recent"]]


def test_llm_profile_writes_explanations(
    stack: ComposeStack, api: httpx.Client, shopper: str
) -> None:
    models = httpx.get(f"{stack.llm_url}/v1/models", timeout=30)
    assert models.status_code == 200
    assert "smollm2" in models.text
    # The answer never waits for the LLM: template text now, the LLM's words on the page's
    # explanation feed as the api's queue worker gets them from the llm server.
    body = recommend(api, shopper, k=2, explain="llm")
    assert body["pending_explanations"] == 2, body
    assert {item["explanation"]["source"] for item in body["items"]} == {"template"}
    deadline = time.monotonic() + 600
    while True:
        polled = api.get(body["explanations_url"], params={"wait": 30}, headers=AUTH)
        assert polled.status_code == 200, polled.text
        if polled.json()["pending"] == 0 or time.monotonic() > deadline:
            break
    settled = polled.json()
    assert settled["pending"] == 0, settled
    sources = {item["explanation"]["source"] for item in settled["items"]}
    assert sources <= GENERATED, sources


def test_redis_keeps_its_data_across_a_restart(
    stack: ComposeStack, api: httpx.Client, shopper: str
) -> None:
    marker = uuid.uuid4().hex
    stack.exec("redis", "redis-cli", "set", "compose-test:marker", marker)
    product = recommend(api, shopper, k=1, explain="none")["items"][0]["product_id"]
    event = view(shopper, product)
    assert api.post("/v1/events", json=event, headers=AUTH).json()["accepted"] == 1

    loaded = "DB loaded from append only file"
    loads_before = stack.logs("redis").count(loaded)
    stack.restart("redis")
    stack.wait_healthy("redis", timeout=120)
    wait_ready(f"{stack.api_url}/readyz", timeout=120)

    assert stack.exec("redis", "redis-cli", "get", "compose-test:marker").strip() == marker
    assert "aof_enabled:1" in stack.exec("redis", "redis-cli", "info", "persistence")
    assert stack.logs("redis").count(loaded) == loads_before + 1
    assert api.post("/v1/events", json=event, headers=AUTH).json()["duplicate"] == 1
    # The API was not restarted and notices by itself; an answer in the moment Redis is
    # still settling may be degraded (that is what degraded answers are for), so the claim is
    # recovery within seconds. tests/test_store_reconnect.py holds the stricter claim that
    # connections the restart broke are replaced without a degraded answer.
    deadline = time.monotonic() + 30
    answers = [recommend(api, shopper, k=5, explain="template")]
    while answers[-1]["degraded"] and time.monotonic() < deadline:
        time.sleep(0.5)
        answers.append(recommend(api, shopper, k=5, explain="template"))
    after = answers[-1]
    notes = [a["note"] for a in answers if a["degraded"]]
    assert after["degraded"] is False, (notes, stack.logs("api")[-3000:])
    assert after["model_version"] is not None
