"""A served page's pending explanations, and where each of them stands now.

When an answer goes out with template text for items whose LLM text is still being
written, the page is kept in Redis (``features.store.explain_queue``, TTL
``explanation_page_ttl_s``): the shopper, the mode, and per pending item its rank, product
and evidence pack. The explanation stream and its polling form read it back and ask the
cache and the queue where each item stands. An item the queue has no trace of (Redis lost
it) is asked for again rather than left waiting in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from features.store.explain_queue import load_explanation_page, save_explanation_page
from features.store.runner import AsyncRunner
from models.evidence import Evidence, Explanation, ExplanationSource
from models.explain import Explainer
from models.explain.queue import ExplanationQueue, JobState, Request, job_id


@dataclass(frozen=True)
class PageItem:
    index: int
    product_id: str
    evidence: Evidence


@dataclass(frozen=True)
class Page:
    recommendation_id: str
    user_id: str
    mode: str
    items: tuple[PageItem, ...]


@dataclass(frozen=True)
class ItemUpdate:
    """Where one pending item stands: still pending (template text) or settled."""

    index: int
    product_id: str
    pending: bool
    explanation: Explanation


_SETTLED: dict[str, ExplanationSource] = {
    "rejected": "fallback_rejected",
    "ready": "fallback_rejected",  # written, but no longer passes the check here
    "error": "fallback_error",
    "dropped": "fallback_busy",
}


async def save_page(runner: AsyncRunner, page: Page, ttl_s: int) -> None:
    record = {
        "user_id": page.user_id,
        "mode": page.mode,
        "items": [
            {"index": i.index, "product_id": i.product_id, "evidence": i.evidence.model_dump()}
            for i in page.items
        ],
    }
    await runner.run(save_explanation_page(page.recommendation_id, orjson.dumps(record), ttl_s))


async def load_page(runner: AsyncRunner, recommendation_id: str) -> Page | None:
    raw = await runner.run(load_explanation_page(recommendation_id))
    if raw is None:
        return None
    record = orjson.loads(raw)
    items = tuple(
        PageItem(
            index=int(item["index"]),
            product_id=str(item["product_id"]),
            evidence=Evidence.model_validate(item["evidence"]),
        )
        for item in record["items"]
    )
    return Page(recommendation_id, str(record["user_id"]), str(record["mode"]), items)


async def where_items_stand(
    explainer: Explainer, queue: ExplanationQueue, page: Page, items: Sequence[PageItem]
) -> list[ItemUpdate]:
    """Each item's explanation as it stands: a written text, a settled fallback, or the
    template while its job waits (two round trips: the cache, then the queue)."""
    evidence = [item.evidence for item in items]
    cached = await explainer.from_cache(evidence, page.mode)
    ids = [job_id(page.mode, e.fingerprint()) for e in evidence]
    states = await queue.states(ids)
    lost = [
        Request(item.evidence, page.mode, item.index)
        for item, found, state in zip(items, cached, states, strict=True)
        if found is None and state == "unknown"
    ]
    if lost:
        await queue.enqueue(lost)
    return [
        _update(explainer, page.mode, item, found, state)
        for item, found, state in zip(items, cached, states, strict=True)
    ]


def _update(
    explainer: Explainer,
    mode: str,
    item: PageItem,
    found: Explanation | None,
    state: JobState,
) -> ItemUpdate:
    if found is not None:
        # Written for this page: say which mode wrote it (a later page shows it as cache).
        source: ExplanationSource = found.source
        if source == "cache":
            source = "best_of" if mode == "best_of" else "llm"
        explanation = Explanation(text=found.text, source=source, grounded=True)
        return ItemUpdate(item.index, item.product_id, False, explanation)
    template = explainer.writer.write(item.evidence)
    settled = _SETTLED.get(state)
    if settled is None:  # waiting, being written, or asked for again
        explanation = Explanation(text=template, source="template", grounded=True)
        return ItemUpdate(item.index, item.product_id, True, explanation)
    explanation = Explanation(text=template, source=settled, grounded=True)
    return ItemUpdate(item.index, item.product_id, False, explanation)
