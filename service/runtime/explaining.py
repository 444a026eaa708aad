"""The service's explanations: template text at once, LLM text through the job queue.

Built once in the lifespan. ``explain_items`` is the request path: it never waits for the
LLM (beyond ``llm_budget_ms``, 0 by default). Each item gets what is ready: a cached LLM
text, a settled fallback, or the template text marked ``pending`` while a job in the
queue writes its LLM text; the page is kept so its stream can deliver those texts.

A backend that cannot start in this process (no model file, no llama-cpp, a bad endpoint
setting) does not stop the service: with no other workers configured it serves template
text and ``/readyz`` names the problem. The grounding vocabulary follows the catalog.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from features.catalog import Catalog
from features.store.runner import AsyncRunner
from models.evidence import Evidence, Explanation
from models.explain import (
    Explainer,
    ExplanationCache,
    GroundingCheck,
    LLMBackend,
    TemplateBackend,
    Vocabulary,
    backend_id,
    build_backend,
)
from models.explain.queue import ExplanationQueue, Request
from models.explain.worker import ExplainWorker
from service.runtime.explanation_feed import ExplanationFeed
from service.runtime.explanation_pages import Page, PageItem, save_page, where_items_stand
from service.runtime.snapshot import CatalogSnapshot
from service.settings import Settings
from shopmode.errors import LLMUnavailable, StoreUnavailable

log = logging.getLogger("shopmode.service")
# A worker's cache writes: nobody waits on them, and a lost write is a lost text.
WORKER_CACHE_TIMEOUT_S = 2.0


@dataclass
class Explaining:
    """What the request path and the stream need: the explainer (template, cache reads,
    the grounding check), the queue, the feed, and this process's worker if it has one."""

    explainer: Explainer
    backend_id: str
    queue: ExplanationQueue
    feed: ExplanationFeed
    worker: ExplainWorker | None
    llm: bool  # some worker can write LLM text for this backend
    problem: str | None = None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.explainer_of().close()
        self.explainer.close()
        self.explainer.backend.close()


def _backend(settings: Settings) -> tuple[LLMBackend, str | None]:
    if not settings.explain_in_process:
        return TemplateBackend(), None  # separate workers write; this process only reads
    try:
        return (
            build_backend(
                settings.llm_backend,
                model_path=settings.llm_model_path,
                threads=settings.llm_threads,
                base_url=settings.openai_base_url,
                model=settings.openai_model,
                api_key=settings.openai_api_key,
                timeout_s=settings.openai_timeout_s,
            ),
            None,
        )
    except LLMUnavailable as exc:
        problem = f"LLM backend '{settings.llm_backend}' unavailable: {exc}"
        log.warning("%s; explanations use the template", problem)
        return TemplateBackend(), problem


def explainer_for(
    settings: Settings,
    backend: LLMBackend,
    runner: AsyncRunner,
    cache_id: str,
    cache_timeout_s: float | None = None,
) -> Explainer:
    """The explainer of the settings. A request reads the cache as it reads the shopper's
    state (``redis_socket_timeout``; slower is a miss); a worker, which nobody waits on,
    writes with a patient timeout. A read given up early would not answer sooner: its
    misses cost the page's jobs and its record two more round trips, and a busy process
    (this one's own worker writing) would turn whole pages back into jobs."""
    timeout_s = settings.redis_socket_timeout if cache_timeout_s is None else cache_timeout_s
    return Explainer(
        backend,
        GroundingCheck(require_personal=settings.llm_require_personal),
        # Standalone or cluster alike (a page is one MGET, or one GET per key on a cluster).
        cache=ExplanationCache(runner, ttl_s=settings.explanation_cache_ttl_s, timeout_s=timeout_s),
        max_tokens=settings.llm_max_tokens,
        best_of=settings.llm_best_of,
        style=settings.llm_prompt_style,
        backend_id=cache_id,
    )


def queue_for(settings: Settings, runner: AsyncRunner, cache_id: str) -> ExplanationQueue:
    return ExplanationQueue(
        runner,
        cache_id,
        max_jobs=settings.explain_queue_max,
        lease_s=settings.explain_lease_s,
        max_attempts=settings.explain_max_attempts,
        retention_s=settings.explanation_page_ttl_s,
    )


def worker_budget(settings: Settings) -> float:
    """One job's time: well inside its lease, so a live worker is never taken over."""
    return settings.explain_lease_s * 2 / 3


async def build_explaining(
    settings: Settings, runner: AsyncRunner, blocking: AsyncRunner
) -> Explaining:
    """The explainer, queue, feed and (by default) this process's worker."""
    backend, problem = await asyncio.to_thread(_backend, settings)
    try:
        cache_id = (
            backend.id
            if settings.explain_in_process
            else backend_id(
                settings.llm_backend,
                model_path=settings.llm_model_path,
                model=settings.openai_model,
            )
        )
    except LLMUnavailable as exc:
        cache_id, problem = TemplateBackend.id, f"LLM backend unavailable: {exc}"
    explainer = explainer_for(settings, backend, runner, cache_id)
    queue = queue_for(settings, runner, cache_id)
    feed = ExplanationFeed(queue_for(settings, blocking, cache_id))
    worker = None
    if backend.generative:
        writer = explainer_for(settings, backend, runner, cache_id, WORKER_CACHE_TIMEOUT_S)

        def for_worker() -> Explainer:
            writer.check = explainer.check  # follows the catalog with the request path's
            return writer

        worker = ExplainWorker(
            queue,
            for_worker,
            budget_s=worker_budget(settings),
            concurrency=settings.explain_worker_concurrency,
        )
    llm = cache_id != TemplateBackend.id and (worker is not None or not settings.explain_in_process)
    return Explaining(explainer, cache_id, queue, feed, worker, llm, problem)


def follow_catalog(explainer: Explainer, snapshot: CatalogSnapshot) -> None:
    """Point the grounding check at the snapshot's names and words."""
    follow_catalog_of(explainer, snapshot.catalog)


def follow_catalog_of(explainer: Explainer, catalog: Catalog) -> None:
    vocabulary = Vocabulary.from_catalog(catalog)
    check = explainer.check
    explainer.check = GroundingCheck(
        vocabulary,
        max_words=check.max_words,
        max_sentences=check.max_sentences,
        require_citation=check.require_citation,
        require_personal=check.require_personal,
    )


@dataclass(frozen=True)
class Explained:
    """A page's explanations as answered, and how many are still being written."""

    items: list[Explanation | None]
    pending: list[bool]

    @property
    def waiting(self) -> int:
        return sum(self.pending)


async def explain_items(
    explaining: Explaining,
    runner: AsyncRunner,
    settings: Settings,
    evidence: Sequence[Evidence],
    mode: str,
    recommendation_id: str,
    user_id: str,
) -> Explained:
    """What each item shows now; LLM text not ready yet is queued, in rank order."""
    explainer = explaining.explainer
    none = [False] * len(evidence)
    if mode in ("none", "template") or not explaining.llm or not evidence:
        return Explained(
            await explainer.explain(evidence, "none" if mode == "none" else "template"), none
        )
    out = await explainer.from_cache(evidence, mode)
    todo = [i for i, found in enumerate(out) if found is None]
    pending = list(none)
    if todo:
        requests = [Request(evidence[i], mode, rank) for rank, i in enumerate(todo)]
        try:
            accepted = await explaining.queue.enqueue(requests)
            page = Page(
                recommendation_id,
                user_id,
                mode,
                tuple(
                    PageItem(i, evidence[i].product_id, evidence[i])
                    for i, ok in zip(todo, accepted, strict=True)
                    if ok
                ),
            )
            if page.items:
                await save_page(runner, page, settings.explanation_page_ttl_s)
        except StoreUnavailable as exc:
            log.warning("explanation queue unavailable (%s): template text", exc)
            accepted = [False] * len(todo)
        for i, ok in zip(todo, accepted, strict=True):
            text = explainer.writer.write(evidence[i])
            out[i] = Explanation(
                text=text, source="template" if ok else "fallback_busy", grounded=True
            )
            pending[i] = ok
        if explaining.worker is not None and any(accepted):
            explaining.worker.wake.set()
    if any(pending) and settings.llm_budget_ms > 0:
        await _wait_briefly(explaining, evidence, mode, out, pending, settings.llm_budget_ms / 1000)
    return Explained(out, pending)


async def _wait_briefly(
    explaining: Explaining,
    evidence: Sequence[Evidence],
    mode: str,
    out: list[Explanation | None],
    pending: list[bool],
    budget_s: float,
) -> None:
    """Hold the answer up to ``budget_s`` for texts being written (``llm_budget_ms``)."""
    waiting = [i for i, p in enumerate(pending) if p]
    page = Page(
        "", "", mode, tuple(PageItem(i, evidence[i].product_id, evidence[i]) for i in waiting)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    ids = {Request(evidence[i], mode).id for i in waiting}
    while ids and (left := deadline - loop.time()) > 0:
        await explaining.feed.wait(ids, left)
        updates = await where_items_stand(explaining.explainer, explaining.queue, page, page.items)
        for update in updates:
            if not update.pending:
                out[update.index] = update.explanation
                pending[update.index] = False
        ids = {Request(evidence[i], mode).id for i, p in enumerate(pending) if p}
        page = Page("", "", mode, tuple(item for item in page.items if pending[item.index]))
