"""Asynchronous explanations through the real app, the real SmolLM2 model and a real Redis:
the answer comes at once, LLM texts follow on the page's stream (SSE, or JSON to poll),
and separate ``shopmode explain-worker`` processes can do the writing, even after one of
them is killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from shop_support import ADMIN_KEY, DEMO_KEY, ShopWorld, bearer, build_shop, train_shop

from features.store import keys
from models.evidence import Evidence, Reason
from models.explain import GroundingCheck, TemplateWriter, Vocabulary
from service.api.app import create_app

pytestmark = pytest.mark.llm
WRITTEN = {"llm", "best_of"}
SETTLED = {"llm", "best_of", "fallback_rejected", "fallback_error", "fallback_timeout"}


@pytest.fixture(scope="module")
def shop(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> ShopWorld:
    world = build_shop(redis_server_url, tmp_path_factory.mktemp("stream") / "world")
    train_shop(world, tmp_path_factory.mktemp("models"))
    return world


def forget_explanations(shop: ShopWorld) -> None:
    """Start cold: no cached texts, no queued jobs (the shop's Redis is shared by the module)."""
    client = redis.Redis.from_url(shop.redis_url)
    try:
        for pattern in (keys.explanation("*", "*", "*"), keys.explain_queue("*", "*")):
            for key in client.scan_iter(match=pattern.replace("%2A", "*"), count=500):
                client.delete(key)
    finally:
        client.close()


def settings_for(shop: ShopWorld, home: Path, **overrides: object) -> Any:
    forget_explanations(shop)
    train_shop(shop, home / "models")
    # A busy shared machine writes a text in seconds, not the usual second: room to finish.
    values: dict[str, object] = {"explanation_stream_s": 300.0, **overrides}
    return shop.settings(home, llm_backend="local", llm_threads=2, **values)


def evidence_of(item: dict[str, Any]) -> Evidence:
    return Evidence(
        product_id=item["product_id"],
        title=item["title"],
        brand=item["brand"] or "",
        category=item["category"],
        price=item["price"],
        discount=item["discount"],
        reasons=[Reason.model_validate(r) for r in item["reasons"]],
    )


def read_stream(client: TestClient, url: str, auth: dict[str, str]) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    headers = {**auth, "Accept": "text/event-stream"}
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = "message", ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif not line and data:
                events.append((event, json.loads(data)))
                event, data = "message", ""
    return events


def test_the_answer_comes_at_once_and_llm_texts_follow_on_the_stream(
    shop: ShopWorld, tmp_path: Path
) -> None:
    user = shop.active_shopper()
    with TestClient(create_app(settings_for(shop, tmp_path))) as client:
        minted = client.post(
            "/v1/admin/shopper-tokens", json={"user_id": user}, headers=bearer(ADMIN_KEY)
        )
        auth = bearer(minted.json()["token"])
        body = {"user_id": user, "k": 4, "explain": "llm"}
        answer = client.post("/v1/recommendations", json=body, headers=auth).json()
        items = answer["items"]
        pending = {i for i, item in enumerate(items) if item["explanation"]["pending"]}
        assert answer["pending_explanations"] == len(pending) > 0
        url = answer["explanations_url"]
        assert url == f"/v1/recommendations/{answer['recommendation_id']}/explanations"
        writer = TemplateWriter()
        for i in pending:  # what shows meanwhile: the template, marked pending
            assert items[i]["explanation"]["source"] == "template"
            assert items[i]["explanation"]["text"] == writer.write(evidence_of(items[i]))

        events = read_stream(client, url, auth)
        assert events[-1][0] == "done"
        updates = [data for event, data in events if event == "explanation"]
        assert {u["index"] for u in updates} == pending
        check = GroundingCheck(Vocabulary.from_catalog(shop.catalog), require_personal=True)
        for update in updates:
            explanation = update["explanation"]
            assert update["pending"] is False
            assert explanation["source"] in SETTLED
            assert explanation["grounded"] is True
            if explanation["source"] in WRITTEN:
                verdict = check.check(explanation["text"], evidence_of(items[update["index"]]))
                assert verdict.grounded, (explanation["text"], verdict.problems)
        written = {
            u["index"]: u["explanation"]["text"]
            for u in updates
            if u["explanation"]["source"] in WRITTEN
        }
        assert written, updates  # the real model wrote at least one grounded text
        assert events[-1][1]["written"] == len(written)

        # The polling form agrees, and nothing is pending any more.
        polled = client.get(url, headers=auth).json()
        assert polled["pending"] == 0
        assert {
            u["index"]: u["explanation"]["text"]
            for u in polled["items"]
            if u["explanation"]["source"] in WRITTEN
        } == written

        # The same page again: written texts come from the cache at once.
        again = client.post("/v1/recommendations", json=body, headers=auth).json()
        assert again["pending_explanations"] == 0
        assert again["explanations_url"] is None
        for i, text in written.items():
            assert again["items"][i]["product_id"] == items[i]["product_id"]
            assert again["items"][i]["explanation"] == {
                "text": text,
                "source": "cache",
                "grounded": True,
                "pending": False,
            }


def test_the_stream_belongs_to_the_shopper_and_bad_requests_name_the_field(
    shop: ShopWorld, tmp_path: Path
) -> None:
    user = shop.active_shopper()
    other = str(next(u for u in shop.users["user_id"] if u != user))
    settings = settings_for(shop, tmp_path, explain_in_process=False)
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/recommendations",
            json={"user_id": user, "k": 3, "explain": "llm"},
            headers=bearer(DEMO_KEY),
        ).json()
        url = answer["explanations_url"]
        token = client.post(
            "/v1/admin/shopper-tokens", json={"user_id": other}, headers=bearer(ADMIN_KEY)
        ).json()["token"]
        refused = client.get(url, headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["field"] == "recommendation_id"
        streamed = client.get(url, headers={**bearer(token), "Accept": "text/event-stream"})
        assert streamed.status_code == 403
        assert client.get(url).status_code == 401
        assert (
            client.get(
                "/v1/recommendations/rec-0000000000000000/explanations", headers=bearer(DEMO_KEY)
            ).status_code
            == 404
        )
        for bad, field in [
            ("/v1/recommendations/rec-xyz/explanations", "recommendation_id"),
            (url + "?wait=31", "wait"),
            (url + "?wait=nan", "wait"),
        ]:
            answer_bad = client.get(bad, headers=bearer(DEMO_KEY))
            assert answer_bad.status_code == 422, bad
            assert answer_bad.json()["errors"][0]["field"] == field
        # No worker runs in this process: the items wait, and polling says so.
        polled = client.get(url + "?wait=0.5", headers=bearer(DEMO_KEY)).json()
        assert polled["pending"] == answer["pending_explanations"] == 3


def test_a_full_queue_keeps_the_template_and_says_so(shop: ShopWorld, tmp_path: Path) -> None:
    settings = settings_for(shop, tmp_path, explain_in_process=False, explain_queue_max=1)
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/recommendations",
            json={"user_id": shop.active_shopper(), "k": 3, "explain": "llm"},
            headers=bearer(DEMO_KEY),
        ).json()
    sources = [(i["explanation"]["source"], i["explanation"]["pending"]) for i in answer["items"]]
    assert sources == [("template", True), ("fallback_busy", False), ("fallback_busy", False)]
    assert answer["pending_explanations"] == 1


def _worker_env(shop: ShopWorld, home: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPMODE_")}
    return clean | {
        "SHOPMODE_REDIS_URL": shop.redis_url,
        "SHOPMODE_HOME": str(home),
        "SHOPMODE_LLM_BACKEND": "local",
        "SHOPMODE_LLM_THREADS": "2",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:  # only the workers this test started
        if process.poll() is None:
            process.kill()
            process.wait()


def _start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from service.cli import main; main()",
        "explain-worker",
        *args,
    ]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


@pytest.mark.fault
def test_separate_workers_write_and_a_killed_workers_job_is_taken_over(
    shop: ShopWorld, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    lease = "10"
    settings = settings_for(shop, tmp_path, explain_in_process=False, explain_lease_s=float(lease))
    env = _worker_env(shop, tmp_path, SHOPMODE_EXPLAIN_LEASE_S=lease)
    client_redis = redis.Redis.from_url(shop.redis_url)
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/recommendations",
            json={"user_id": shop.active_shopper(), "k": 2, "explain": "llm"},
            headers=bearer(DEMO_KEY),
        ).json()
        assert answer["pending_explanations"] == 2
        backend = client.get("/readyz").json()["explanations"]
        leased = keys.explain_queue(backend, "leased")

        # A worker claims the most urgent job and is killed in the middle of writing it.
        doomed = _start_worker(env, tmp_path / "doomed.log")
        workers.append(doomed)
        deadline = time.monotonic() + 120
        while client_redis.zcard(leased) == 0:
            assert doomed.poll() is None, (tmp_path / "doomed.log").read_text()
            assert time.monotonic() < deadline, "the worker never claimed a job"
            time.sleep(0.01)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert client_redis.zcard(leased) == 1  # its lease outlives it

        # Another worker finishes both jobs: the killed one's once its lease runs out.
        survivor = _start_worker(env, tmp_path / "survivor.log", "--max-jobs", "2")
        workers.append(survivor)
        events = read_stream(client, answer["explanations_url"], bearer(DEMO_KEY))
        assert survivor.wait(timeout=300) == 0, (tmp_path / "survivor.log").read_text()
    updates = [data for event, data in events if event == "explanation"]
    assert sorted(u["index"] for u in updates) == [0, 1]
    assert all(u["explanation"]["source"] in SETTLED - {"fallback_timeout"} for u in updates)
    assert "explain-worker stopped:" in (tmp_path / "survivor.log").read_text()
    client_redis.close()
