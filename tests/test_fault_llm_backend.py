"""An OpenAI-compatible LLM server that hangs, dribbles or answers garbage.

The server is real (HTTP on loopback, the chat-completions edge of the protocol); the
openai backend is pointed at it by settings. Whatever it does, every explanation arrives
within the budget as template text, through the explainer and through the service.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from evidence_support import boots
from fastapi.testclient import TestClient
from live_server import seed_shop

from models.explain import Explainer, GroundingCheck, TemplateWriter, Vocabulary
from models.explain.openai_compatible import OpenAICompatibleBackend
from service.api.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.fault

Bearer = Callable[[str], dict[str, str]]
BUDGET_S = 0.5
# Scheduling slack on a small shared machine; far below the 30 s HTTP timeout the
# backend is given, so a response that waited for the server cannot pass.
SLACK_S = 3.0
GARBAGE = "★★★★★ 50% OFF the Item 3 bundle!!! Free shipping, 4.9 stars, you bought 12 of these"
MODES = ["hang", "drip", "garbage", "not_json", "no_choices", "http_500"]


class MisbehavingLLM(ThreadingHTTPServer):
    """Answers ``POST /v1/chat/completions`` the way ``mode`` says; counts the calls."""

    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.calls = 0
        self.released = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: MisbehavingLLM

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        self.server.calls += 1
        mode = self.server.mode
        if mode == "hang":
            self.server.released.wait(60)
            return
        if mode == "drip":  # headers at once, then a byte now and then: never a full body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not self.server.released.wait(0.1):
                self.wfile.write(b" ")
                self.wfile.flush()
            return
        body: bytes
        status = 200
        if mode == "garbage":
            body = json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": request.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": GARBAGE},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
                }
            ).encode()
        elif mode == "not_json":
            body = b"<html><body>502 Bad Gateway</body></html>"
        elif mode == "no_choices":
            body = json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
        else:
            status, body = 500, b'{"error": {"message": "CUDA out of memory"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=MODES)
def llm_server(request: pytest.FixtureRequest) -> Iterator[MisbehavingLLM]:
    server = MisbehavingLLM(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.released.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["llm", "best_of"])
def test_explainer_falls_back_to_the_template_within_the_budget(
    llm_server: MisbehavingLLM, mode: str
) -> None:
    backend = OpenAICompatibleBackend(llm_server.base_url, "any-model", timeout_s=30.0)
    check = GroundingCheck(Vocabulary(brands=["Northpeak"], categories=["Hiking Boots"]))
    explainer = Explainer(backend, check)
    packs = [boots(f"p{i}") for i in range(4)]
    try:
        started = time.monotonic()
        shown = asyncio.run(explainer.explain(packs, mode=mode, budget_s=BUDGET_S))
        elapsed = time.monotonic() - started
    finally:
        llm_server.released.set()
        explainer.close()
        backend.close()
    assert elapsed < BUDGET_S + SLACK_S
    assert llm_server.calls >= 1  # the server was asked: the fallback is not a shortcut
    writer = TemplateWriter()
    for pack, explanation in zip(packs, shown, strict=True):
        assert explanation is not None
        assert explanation.source.startswith("fallback_")
        assert explanation.text == writer.write(pack)
        assert explanation.grounded is True
        assert "50%" not in explanation.text


def test_service_answers_with_template_text_within_the_budget(
    llm_server: MisbehavingLLM,
    service_settings: Callable[..., Settings],
    redis_client: redis.Redis,
    bearer: Bearer,
) -> None:
    seed_shop(redis_client)
    settings = service_settings(
        llm_backend="openai",
        openai_base_url=llm_server.base_url,
        openai_model="any-model",
        openai_timeout_s=30.0,
        llm_budget_ms=int(BUDGET_S * 1000),
    )
    with TestClient(create_app(settings)) as client:
        for user in ("seed1", "seed2", "nobody"):  # later calls queue behind hung ones
            started = time.monotonic()
            answer = client.post(
                "/v1/recommendations",
                json={"user_id": user, "k": 4, "explain": "llm"},
                headers=bearer("reader"),
            )
            elapsed = time.monotonic() - started
            assert answer.status_code == 200, answer.text
            assert elapsed < BUDGET_S + SLACK_S
            items = answer.json()["items"]
            assert items
            for item in items:
                explanation = item["explanation"]
                source = explanation["source"]
                assert source == "template" or source.startswith("fallback_"), source
                assert explanation["grounded"] is True
                assert "50%" not in explanation["text"]
                assert "★" not in explanation["text"]
        assert "shopmode_unhandled_errors_total 0.0" in client.get("/metrics").text
        llm_server.released.set()
    assert llm_server.calls >= 1  # explain=llm did ask the server: the fallback was earned
