"""Shutting down while an explanation is being written: no try starts after the stop, none
runs on into a closed executor ("cannot schedule new futures after shutdown"), and asyncio
has nothing to complain about, in the Explainer and through the app's lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from evidence_support import boots
from fastapi.testclient import TestClient
from live_server import seed_shop
from llm_support import SlowLLM, serving

from models.explain import Explainer, GroundingCheck, ScriptedBackend, Vocabulary
from service.api.app import create_app
from service.settings import Settings

CHECK = GroundingCheck(Vocabulary(brands=["Northpeak"]))
INVENTED = "These Northpeak boots ship free and are 50% off."


def test_a_cancelled_explain_starts_no_try_after_the_executor_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One try at a time, each hanging until released: best_of has more queued behind it.
    backend = ScriptedBackend(default=INVENTED, delay_s=60.0, concurrent=False)
    explainer = Explainer(backend, CHECK, best_of=3)
    problems: list[dict[str, Any]] = []

    async def shut_down_mid_try() -> set[asyncio.Task[Any]]:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: problems.append(ctx))
        job = asyncio.create_task(explainer.explain([boots("p1"), boots("p2")], "best_of", 60.0))
        for _ in range(1000):  # until the first try is with the backend
            if backend.history:
                break
            await asyncio.sleep(0.01)
        job.cancel()  # the worker is stopped...
        with pytest.raises(asyncio.CancelledError):
            await job
        explainer.close()  # ...then its executor is closed
        backend.release()  # and the try in flight comes back
        for _ in range(100):  # what is left of the job has its chance to run on
            await asyncio.sleep(0.01)
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        left = asyncio.run(shut_down_mid_try())
        gc.collect()
    assert left == set()
    assert len(backend.history) == 1  # no try was started after the stop
    assert problems == []
    assert "never retrieved" not in caplog.text
    assert "cannot schedule" not in caplog.text


@pytest.fixture
def slow_llm() -> Iterator[SlowLLM]:
    with serving(SlowLLM(INVENTED, delay_s=0.5)) as server:
        yield server


def test_the_app_shuts_down_quietly_while_a_job_is_being_written(
    slow_llm: SlowLLM,
    service_settings: Callable[..., Settings],
    redis_client: redis.Redis,
    bearer: Callable[[str], dict[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_shop(redis_client)
    settings = service_settings(
        llm_backend="openai",
        openai_base_url=slow_llm.base_url,
        openai_model="any-model",
        openai_timeout_s=30.0,
    )
    with caplog.at_level(logging.WARNING):
        with TestClient(create_app(settings)) as client:
            answer = client.post(
                "/v1/recommendations",
                json={"user_id": "seed1", "k": 3, "explain": "best_of"},
                headers=bearer("reader"),
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["pending_explanations"] > 0
            for _ in range(3000):  # until the worker is writing (every try is rejected)
                if slow_llm.calls:
                    break
                time.sleep(0.01)
            assert slow_llm.calls
        # the lifespan has ended with the job's tries still to come
        time.sleep(2 * slow_llm.delay_s)  # the try in flight comes back meanwhile
        gc.collect()
    complaints = [r for r in caplog.records if r.name == "asyncio" or r.levelno >= logging.ERROR]
    assert complaints == [], [r.getMessage() for r in complaints]
    assert "cannot schedule" not in caplog.text
