"""One recommendation request, end to end: filters, ranking, explanations, the record.

The full path reads the shopper's state (one Redis round trip), ranks candidates with
the current model (or heuristics when none is trained) and explains the top items. When
Redis is down or too slow it answers from the in-process popularity snapshot instead,
inside the same filters, with ``degraded: true`` and template text. Whatever ranked the
items, every one is checked against the filters before it is returned.
"""

from __future__ import annotations

import logging

from features.catalog import Catalog
from models.intent import IntentVocabulary, ProductFilter, parse_intent
from service.answers.fallback import popular_items
from service.answers.personal import personal_items
from service.answers.served import new_recommendation_id, record_served
from service.answers.timing import Timer
from service.runtime.state import ServiceState
from service.schemas.recommendations import (
    RecommendationCreate,
    RecommendationPublic,
    RecommendedItemPublic,
)
from shopmode.errors import StoreUnavailable

log = logging.getLogger("shopmode.service")


def filter_of(request: RecommendationCreate, catalog: Catalog) -> ProductFilter:
    """The request's hard constraints: the explicit filters plus what its query asks for
    (``InvalidInput`` naming the field of a category or brand the catalog lacks)."""
    context = request.context
    intent = None
    if context.query:
        vocabulary = IntentVocabulary.from_catalog(catalog)
        intent = parse_intent(context.query, vocabulary, field="context.query")
    product_filter = ProductFilter(
        category=context.category,
        brand=context.brand,
        min_price=context.min_price,
        max_price=context.max_price,
        intent=intent,
    )
    return product_filter.check(catalog, prefix="context.")


async def recommend(state: ServiceState, request: RecommendationCreate) -> RecommendationPublic:
    """Answer one request; never raises for a store outage (degrades instead)."""
    timer = Timer()
    snapshot = state.snapshot
    if snapshot is None:
        raise StoreUnavailable("no catalog loaded yet: run `shopmode ingest`", retry_after=5)
    product_filter = filter_of(request, snapshot.catalog)
    notes: list[str] = []
    items: list[RecommendedItemPublic] | None = None
    model_version = None
    heuristic = False
    candidates = 0
    cause = "no_model"
    pending = 0
    recommendation_id = new_recommendation_id()
    if state.health.up:
        try:
            items, ranked, pending = await personal_items(
                state, request, product_filter, timer, recommendation_id
            )
            model_version = ranked.model_version
            heuristic = ranked.degraded
            candidates = ranked.candidates
        except StoreUnavailable as exc:
            state.health.mark_down(exc)
            state.metrics.redis_errors.labels("recommend").inc()
            items = None
    if items is None:
        cause = "store_unavailable"
        notes.append(
            "the feature store is unreachable: most popular products within your filters"
            + ("; purchases could not be excluded" if request.context.exclude_purchased else "")
        )
        items = popular_items(
            snapshot,
            product_filter,
            request.k,
            request.context.query,
            explain=request.explain != "none",
        )
        timer.lap("fallback")
    degraded = cause == "store_unavailable" or heuristic
    if heuristic:
        notes.append("no trained model yet: heuristic ranking")
    passes = product_filter.allows_each(snapshot.catalog, [i.product_id for i in items])
    allowed = [i for i, ok in zip(items, passes, strict=True) if ok]
    if len(allowed) != len(items):
        log.error("ranking returned %d items outside the filters", len(items) - len(allowed))
    shortfall = request.k - len(allowed)
    if shortfall > 0:
        notes.append(
            f"only {len(allowed)} of {request.k} products match {product_filter.describe()}"
        )
    if state.health.up:
        try:
            await record_served(
                state.runner,
                recommendation_id,
                request.user_id,
                [i.product_id for i in allowed],
                model_version,
                state.settings.recommendation_ttl_seconds,
            )
        except StoreUnavailable as exc:
            state.health.mark_down(exc)
            state.metrics.redis_errors.labels("record_served").inc()
        timer.lap("record")
    metrics = state.metrics
    if degraded:
        metrics.degraded.labels(cause).inc()
    for item in allowed:
        if item.explanation is not None:
            metrics.explanations.labels(item.explanation.source).inc()
    return RecommendationPublic(
        recommendation_id=recommendation_id,
        model_version=model_version,
        user_id=request.user_id,
        items=allowed,
        degraded=degraded,
        candidates=candidates,
        shortfall=max(shortfall, 0),
        note="; ".join(notes) or None,
        timings_ms=timer.total(),
        pending_explanations=pending,
        explanations_url=explanations_url(recommendation_id) if pending else None,
    )


def explanations_url(recommendation_id: str) -> str:
    return f"/v1/recommendations/{recommendation_id}/explanations"
