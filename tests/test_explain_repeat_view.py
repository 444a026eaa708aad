"""A page viewed again once its explanations settled: through the real app and a real
Redis, with an OpenAI-compatible server (``llm_support``) whose every text the grounding
check rejects, slowly enough that a job's time runs out before the item's tries do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from live_server import seed_shop
from llm_support import SlowLLM, serving
from test_explain_stream import read_stream

from models.explain import Explainer, ScriptedBackend
from service.api.app import create_app
from service.settings import Settings

INVENTED = "These Northpeak boots ship free and are 50% off."
# Each text takes 0.5 s; a job gets two thirds of its 3 s lease: about four of an item's
# six tries fit in one job.
DELAY_S, LEASE_S = 0.5, 3.0


@pytest.fixture
def slow_llm() -> Iterator[SlowLLM]:
    with serving(SlowLLM(INVENTED, delay_s=DELAY_S)) as server:
        yield server


def stream_updates(client: TestClient, url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    return [data for event, data in read_stream(client, url, auth) if event == "explanation"]


def test_an_item_whose_job_ran_out_of_time_gets_its_whole_plan_and_is_not_queued_again(
    slow_llm: SlowLLM,
    service_settings: Callable[..., Settings],
    redis_client: redis.Redis,
    bearer: Callable[[str], dict[str, str]],
) -> None:
    seed_shop(redis_client)
    settings = service_settings(
        llm_backend="openai",
        openai_base_url=slow_llm.base_url,
        openai_model="any-model",
        openai_timeout_s=30.0,
        explain_lease_s=LEASE_S,
        explain_max_attempts=10,
        explanation_stream_s=300.0,
    )
    plan = len(Explainer(ScriptedBackend()).tries("llm"))
    body = {"user_id": "seed1", "k": 2, "explain": "llm"}
    auth = bearer("reader")
    with TestClient(create_app(settings)) as client:
        cold = client.post("/v1/recommendations", json=body, headers=auth).json()
        assert cold["pending_explanations"] == 2
        updates = stream_updates(client, cold["explanations_url"], auth)
        # Settled only once every try of the plan was made and rejected, over more than
        # one job: not when the first job's time ran out.
        assert sorted(u["index"] for u in updates) == [0, 1]
        assert {u["explanation"]["source"] for u in updates} == {"fallback_rejected"}
        assert slow_llm.calls >= 2 * plan

        for _ in range(3):  # the same page again: settled, nothing queued, nothing asked
            calls = slow_llm.calls
            again = client.post("/v1/recommendations", json=body, headers=auth).json()
            assert [i["product_id"] for i in again["items"]] == [
                i["product_id"] for i in cold["items"]
            ]
            assert again["pending_explanations"] == 0
            assert again["explanations_url"] is None
            shown = [i["explanation"] for i in again["items"]]
            assert [(e["source"], e["pending"]) for e in shown] == [
                ("fallback_rejected", False)
            ] * 2
            assert slow_llm.calls == calls
