"""The personalised path: the shopper's state from Redis, ranked by the recommender.

Two round trips at most for a known shopper (their state, then the co-occurrence and
item-kNN neighbours of their recent products and the fitted-window popularity); a shopper
with no behaviour yet costs one more for their region's trending products. Everything
shop-wide is in process. Redis errors propagate: the caller answers from the popularity
snapshot instead.
"""

from __future__ import annotations

import asyncio

from features.catalog import Catalog
from features.store.neighbours import learned_inputs
from features.store.owned import OwnedProducts, owned_flow
from features.store.regions import region_of, trending_in_region
from models.evidence import Evidence
from models.intent import Intent, ProductFilter
from models.recommend.cold_start import has_behaviour
from models.recommend.exploration import ExplorationPolicy
from models.recommend.request import Recommendations, RecommendContext
from models.retrieval.cooccurrence import NEIGHBOURS
from models.retrieval.learned import KNN_WIDTH, POPULAR_DEPTH
from service.answers.timing import Timer
from service.runtime.explaining import explain_items
from service.runtime.state import ServiceState
from service.schemas.recommendations import (
    ExplanationPublic,
    RecommendationCreate,
    RecommendedItemPublic,
)
from shopmode.errors import StoreUnavailable

_REGION_TRENDING = 50


def explainable(pack: Evidence, intent: Intent | None, catalog: Catalog) -> Evidence:
    """The pack with the request as understood for this product (catalog names, the
    product's own words that matched, the gift), never the raw text; a text match with
    nothing of the request left to say is dropped rather than quoting the shopper."""
    if intent is None:
        return pack
    row = catalog.position(pack.product_id)
    texts = (catalog.cells(column)[row] for column in ("title", "description"))
    said = intent.evidence_query(" ".join(t for t in texts if isinstance(t, str)))
    reasons = [
        r if r.code != "query_match" else r.model_copy(update={"facts": {**r.facts, "query": said}})
        for r in pack.reasons
        if r.code != "query_match" or said is not None
    ]
    return pack.model_copy(update={"query": said, "reasons": reasons})


async def personal_items(
    state: ServiceState,
    request: RecommendationCreate,
    product_filter: ProductFilter,
    timer: Timer,
    recommendation_id: str,
) -> tuple[list[RecommendedItemPublic], Recommendations, int]:
    """Ranked, explained items for the shopper, what ranked them, and how many of their
    LLM texts are still being written."""
    store, snapshot, recommender = state.store, state.snapshot, state.recommender
    if store is None or snapshot is None or recommender is None or snapshot.products is None:
        raise StoreUnavailable("the feature store is not ready")
    runner = state.runner
    asked = request.context
    if asked.exclude_purchased or asked.exclude_seen:
        # Two reads at once: the history set costs no extra round trip of waiting.
        user, owned = await asyncio.gather(
            store.user_state(request.user_id), runner.run(owned_flow(request.user_id))
        )
    else:
        user, owned = await store.user_state(request.user_id), OwnedProducts()
    timer.lap("user_state")
    recent = recommender.recent_products(user)
    history = recommender.fitted.history_products(user)
    learned = await runner.run(
        learned_inputs(recent, history, NEIGHBOURS, KNN_WIDTH, POPULAR_DEPTH)
    )
    region: str | None = None
    trending: tuple[tuple[str, float], ...] = ()
    if not has_behaviour(user):
        region = await runner.run(region_of(request.user_id))
        if region is not None:
            trending = tuple(await runner.run(trending_in_region(region, _REGION_TRENDING)))
    timer.lap("neighbours")
    intent = product_filter.intent
    settings = state.settings
    context = RecommendContext(
        # Category, brand and price travel in ``allowed`` (case-insensitive, with the
        # query's understood filters); only the leftover words rank by text.
        query=(intent.relevance_text or None) if intent is not None else request.context.query,
        exclude_purchased=asked.exclude_purchased,
        exclude_seen=asked.exclude_seen,
        owned=owned,
        k=request.k,
        diversity=request.diversity,
        exploration=ExplorationPolicy(
            weight=settings.exploration_weight,
            max_age_days=settings.exploration_max_age_days,
            min_signals=settings.exploration_min_signals,
        ),
        region=region,
        region_trending=trending,
    )
    ranked = recommender.recommend(
        user,
        snapshot.products,
        learned.cooc,
        context,
        allowed=product_filter.mask(snapshot.catalog),
        learned=learned,
    )
    timer.lap("rank")
    catalog = snapshot.catalog
    # Explanations repeat the request as understood (catalog names, the product's own
    # words), never the raw text: nothing typed can steer what an LLM may say.
    evidence = [explainable(item.evidence(catalog), intent, catalog) for item in ranked.items]
    explained = await explain_items(
        state.explaining,
        state.runner,
        settings,
        evidence,
        request.explain,
        recommendation_id,
        request.user_id,
    )
    timer.lap("explain")
    items = []
    for item, pack, explanation, pending in zip(
        ranked.items, evidence, explained.items, explained.pending, strict=True
    ):
        items.append(
            RecommendedItemPublic(
                product_id=item.product_id,
                title=pack.title,
                category=pack.category,
                brand=pack.brand or None,
                price=pack.price,
                discount=pack.discount,
                score=item.score,
                sources=list(item.sources),
                reasons=list(item.reasons),
                explanation=None
                if explanation is None
                else ExplanationPublic(
                    text=explanation.text,
                    source=explanation.source,
                    grounded=explanation.grounded,
                    pending=pending,
                ),
            )
        )
    return items, ranked, explained.waiting
