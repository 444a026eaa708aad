"""The service's explainer: the configured LLM backend behind the grounding check.

Built once in the lifespan (the local model loads in ~0.2 s). A backend that cannot
start (no model file, no llama-cpp, a bad endpoint setting) does not stop the service:
it serves template text and ``/readyz`` names the problem. The grounding vocabulary
(brands, categories, titles) follows the catalog snapshot.
"""

from __future__ import annotations

import asyncio
import logging

from models.explain import (
    Explainer,
    ExplanationCache,
    GroundingCheck,
    TemplateBackend,
    Vocabulary,
    build_backend,
)
from service.redis_link import AsyncRedis
from service.settings import Settings
from service.snapshot import CatalogSnapshot
from shopmode.errors import LLMUnavailable

log = logging.getLogger("shopmode.service")


async def build_explainer(settings: Settings, redis: AsyncRedis) -> tuple[Explainer, str | None]:
    """The explainer, and why the configured LLM backend is not in use (None when it is)."""
    problem = None
    try:
        backend = await asyncio.to_thread(
            build_backend,
            settings.llm_backend,
            model_path=settings.llm_model_path,
            threads=settings.llm_threads,
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            timeout_s=settings.openai_timeout_s,
        )
    except LLMUnavailable as exc:
        problem = f"LLM backend '{settings.llm_backend}' unavailable: {exc}"
        log.warning("%s; explanations use the template", problem)
        backend = TemplateBackend()
    explainer = Explainer(
        backend,
        GroundingCheck(),
        # Standalone or cluster alike: every cache command touches one key.
        cache=ExplanationCache(redis, ttl_s=settings.explanation_cache_ttl_s),
        max_tokens=settings.llm_max_tokens,
        best_of=settings.llm_best_of,
    )
    return explainer, problem


def follow_catalog(explainer: Explainer, snapshot: CatalogSnapshot) -> None:
    """Point the grounding check at the snapshot's names."""
    catalog = snapshot.catalog
    vocabulary = Vocabulary(
        brands=catalog.brands,
        categories=catalog.categories,
        titles=(str(t) for t in catalog.frame["title"]),
    )
    explainer.check = GroundingCheck(vocabulary)
