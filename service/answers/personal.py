"""The personalised path: the shopper's state from Redis, ranked by the recommender.

Two round trips at most (``features.store.shopper_reads``): the shopper's state, history
set, region and the fitted-window popularity; then the co-occurrence and item-kNN
neighbours of their recent products, or for a shopper with no behaviour yet their region's
trending products. Everything else shop-wide is in process. Redis errors propagate: the
caller answers from the popularity snapshot instead.
"""

from __future__ import annotations

import time

from features.catalog import Catalog
from features.state import UserState
from features.store.shopper_reads import NextReads, ReadWidths, shopper_reads
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
_WIDTHS = ReadWidths(
    neighbours=NEIGHBOURS, knn=KNN_WIDTH, popular_depth=POPULAR_DEPTH, trending=_REGION_TRENDING
)


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
    asked = request.context
    fitted, lists = recommender.fitted, recommender.lists
    wanted: dict[str, list[str]] = {}

    def next_reads(user: UserState) -> NextReads:
        timer.lap("user_state")
        wanted["recent"] = recommender.recent_products(user)
        wanted["history"] = fitted.history_products(user)
        return NextReads(
            recent=lists.missing("cooc", wanted["recent"]),
            history=lists.missing("knn", wanted["history"]),
            region_trending=not has_behaviour(user),
        )

    # One round trip for the shopper's own keys (and the fitted-window popularity unless
    # held), one for what their state points at that this recommender does not hold yet
    # (neighbour lists; a newcomer's region trending): often none.
    popular = lists.needs_popular()
    reads = await state.runner.run(
        shopper_reads(
            request.user_id,
            time.time(),
            _WIDTHS,
            next_reads,
            owned=asked.exclude_purchased or asked.exclude_seen,
            cluster=state.runner.cluster,
            popular=popular,
        )
    )
    user, owned = reads.state, reads.owned
    learned = lists.complete(reads.learned, wanted["recent"], wanted["history"], popular)
    region, trending = reads.region, reads.trending
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
