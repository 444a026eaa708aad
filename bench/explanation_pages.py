"""One page of recommendations and its explanations, over HTTP: ask for the page, follow
its explanation stream (SSE) or poll it to the end, and read an item's evidence back.
What ``bench.bench_llm_http`` measures with."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from models.evidence import Evidence, Reason

WRITTEN = ("llm", "best_of")
SHOWN_LLM = ("llm", "best_of", "cache")


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


def follow_stream(
    http: httpx.Client, url: str, started: float
) -> tuple[list[dict[str, Any]], float | None, float]:
    """The stream's explanation events, when the first LLM text came, when it was done."""
    updates: list[dict[str, Any]] = []
    first: float | None = None
    with http.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=600) as response:
        event, data = "", ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif not line and data:
                if event == "explanation":
                    update = json.loads(data)
                    updates.append(update)
                    if first is None and update["explanation"]["source"] in WRITTEN:
                        first = time.perf_counter() - started
                if event == "done":
                    break
                event, data = "", ""
    return updates, first, time.perf_counter() - started


def poll_to_the_end(
    http: httpx.Client, url: str, started: float
) -> tuple[list[dict[str, Any]], float]:
    deadline = time.monotonic() + 900
    while True:
        found = http.get(url, params={"wait": 30}, timeout=60).json()
        if found["pending"] == 0 or time.monotonic() > deadline:
            return found["items"], time.perf_counter() - started


def ask_page(http: httpx.Client, user: str, mode: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    answer = http.post("/v1/recommendations", json={"user_id": user, "k": 10, "explain": mode})
    answer.raise_for_status()
    return answer.json(), time.perf_counter() - started


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")
