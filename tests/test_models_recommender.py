"""The Recommender as the service calls it: a real trained model from the registry, real
point-in-time states, hard filters, faithful reasons, and the heuristic without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from features.catalog import Catalog
from features.ingest import interest_events
from features.offline import OfflineFeatureEngine
from features.state import ProductFeatures, UserState
from features.vector import feature_matrix
from models.evidence import FactValue, Reason
from models.explain.template import PHRASINGS
from models.ranking.features import RANKING_FEATURES, RankingFeatures, group_columns
from models.ranking.ranker import ShopRanker
from models.ranking.reasons import NOT_A_REASON, ScoreDrops, score_drops
from models.ranking.registry import LoadedModel, load_version, save_model
from models.ranking.training import EventLog, Prepared, TrainConfig, prepare, train_ranker
from models.recommend import reasons as why
from models.recommend.recommender import Recommender
from models.recommend.request import RecommendContext
from models.retrieval.candidates import SOURCES, CandidateSet, candidates_for
from models.retrieval.cooccurrence import NeighbourMap, Neighbours, neighbours_from_map
from models.retrieval.learned import LEARNED_FEATURES, ShopperHistory
from models.retrieval.signals import signals_from_state
from shopmode.errors import InvalidInput


@pytest.fixture(scope="module")
def world_log(small_world: Path) -> EventLog:
    events = pd.read_parquet(small_world / "events.parquet")
    declared = interest_events(pd.read_parquet(small_world / "users.parquet"))
    return EventLog(
        events=pd.concat([declared, events], ignore_index=True),
        catalog=Catalog.read(small_world / "catalog.parquet"),
        data_dir=small_world,
    )


@pytest.fixture(scope="module")
def prepared(world_log: EventLog) -> Prepared:
    return prepare(world_log, test_days=7)


@pytest.fixture(scope="module")
def model(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    trained = train_ranker(prepared, TrainConfig(max_iter=60))
    models_dir = tmp_path_factory.mktemp("models")
    meta = save_model(models_dir, trained.estimator, trained.metadata)
    return load_version(models_dir, meta.version)


def _neighbour_map(neighbours: Neighbours, catalog: Catalog, recent: list[str]) -> NeighbourMap:
    out: NeighbourMap = {}
    for product_id in recent:
        index, score = neighbours.of(catalog.position(product_id))
        out[product_id] = [
            (str(catalog.product_ids[i]), float(s)) for i, s in zip(index, score, strict=True)
        ]
    return out


def _busy_users(prepared: Prepared, n: int) -> list[str]:
    events = prepared.engine.events_
    before = events[(events["ts"] < prepared.split_ts) & events["product_id"].notna()]
    return before["user_id"].value_counts().index[:n].astype(str).tolist()


def _inputs(
    prepared: Prepared,
    recommender: Recommender,
    user: str,
    engine: OfflineFeatureEngine | None = None,
) -> tuple[UserState, ProductFeatures, NeighbourMap]:
    at = prepared.split_ts
    state = (engine or prepared.engine).user_state(user, at)
    products = prepared.engine.product_features(at)
    neighbours = _neighbour_map(
        prepared.cooccurrence.as_of(at), prepared.log.catalog, recommender.recent_products(state)
    )
    return state, products, neighbours


def test_ranked_items_carry_sources_and_known_reason_codes(
    prepared: Prepared, model: LoadedModel
) -> None:
    recommender = Recommender(prepared.log.catalog, model)
    state, products, neighbours = _inputs(prepared, recommender, _busy_users(prepared, 1)[0])
    result = recommender.recommend(state, products, neighbours, RecommendContext(k=10))
    assert result.ranking == "model"
    assert not result.degraded
    assert result.model_version == model.version
    assert len(result.items) == 10
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    assert all(item.sources for item in result.items)
    reasons = [r for item in result.items for r in item.reasons]
    assert reasons
    assert all(r.code in PHRASINGS and r.weight > 0 for r in reasons)


def test_removing_the_top_reasons_evidence_lowers_the_score(
    prepared: Prepared, model: LoadedModel, world_log: EventLog
) -> None:
    catalog = prepared.log.catalog
    recommender = Recommender(catalog, model)
    for user in _busy_users(prepared, 40):
        state, products, neighbours = _inputs(prepared, recommender, user)
        result = recommender.recommend(state, products, neighbours, RecommendContext(k=10))
        hit = next(
            (i for i in result.items if i.reasons and i.reasons[0].code == "category_affinity"),
            None,
        )
        if hit is not None:
            break
    assert hit is not None, "no recommendation led by category affinity among busy shoppers"
    category = hit.reasons[0].facts["category"]
    assert category == catalog.category_of(hit.product_id)
    assert (
        int(hit.reasons[0].facts.get("views_7d", hit.reasons[0].facts.get("interactions", 0))) > 0
    )
    events = world_log.events
    in_category = events["product_id"].map(
        lambda p: isinstance(p, str) and catalog.category_of(p) == category
    ) | (events["category"] == category)
    without = events[~((events["user_id"] == user) & in_category)]
    engine = OfflineFeatureEngine(without, catalog)
    position = np.array([catalog.position(hit.product_id)])
    before = recommender.score_products(state, products, neighbours, position)[0]
    state_after, _, neighbours_after = _inputs(prepared, recommender, user, engine)
    after = recommender.score_products(state_after, products, neighbours_after, position)[0]
    assert after < before


def test_filters_are_hard_constraints(prepared: Prepared, model: LoadedModel) -> None:
    catalog = prepared.log.catalog
    recommender = Recommender(catalog, model)
    user = _busy_users(prepared, 1)[0]
    state, products, neighbours = _inputs(prepared, recommender, user)
    category = catalog.categories[int(np.bincount(catalog.category_code).argmax())]
    cap = float(np.median(catalog.price))
    context = RecommendContext(category=category, max_price=cap, k=20)
    result = recommender.recommend(state, products, neighbours, context)
    assert result.items
    for item in result.items:
        assert catalog.category_of(item.product_id) == category
        assert catalog.price[catalog.position(item.product_id)] <= cap
    bought = set(state.purchased)
    assert bought, "the busiest shopper has bought something"
    everything = recommender.recommend(state, products, neighbours, RecommendContext(k=100))
    assert not bought & {i.product_id for i in everything.items}


def test_without_a_model_the_ranking_is_a_labelled_heuristic(prepared: Prepared) -> None:
    recommender = Recommender(prepared.log.catalog, None)
    state, products, neighbours = _inputs(prepared, recommender, _busy_users(prepared, 1)[0])
    result = recommender.recommend(state, products, neighbours, RecommendContext(k=5))
    assert result.ranking == "heuristic"
    assert result.degraded
    assert result.model_version is None
    assert len(result.items) == 5
    favourite = max(state.category_affinity["14d"], key=state.category_affinity["14d"].get)
    top_categories = [prepared.log.catalog.category_of(i.product_id) for i in result.items]
    assert favourite in top_categories


@pytest.mark.parametrize(
    ("context", "field"),
    [
        (RecommendContext(k=0), "k"),
        (RecommendContext(category="No Such Aisle"), "category"),
        (RecommendContext(brand="Nobrand"), "brand"),
        (RecommendContext(min_price=50.0, max_price=10.0), "min_price"),
    ],
)
def test_bad_requests_name_the_field(
    prepared: Prepared, context: RecommendContext, field: str
) -> None:
    recommender = Recommender(prepared.log.catalog, None)
    state, products, neighbours = _inputs(prepared, recommender, _busy_users(prepared, 1)[0])
    with pytest.raises(InvalidInput) as caught:
        recommender.recommend(state, products, neighbours, context)
    assert caught.value.field == field


class CountingRanker(ShopRanker):
    """The served ranker, recording how many rows each ``score_rows`` call scores."""

    calls: list[int]

    def score_rows(self, rows: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
        self.calls.append(len(rows))
        return super().score_rows(rows)


def _brute_force_drops(
    estimator: ShopRanker,
    rows: npt.NDArray[np.float32],
    groups: dict[str, list[int]],
    baseline: npt.NDArray[np.float64],
) -> dict[str, npt.NDArray[np.float64]]:
    """The definition: every reason group set to its baseline in every row, scored by the
    reference model (LightGBM's own predict)."""
    scores = estimator.predict(rows)
    out = {}
    for name, columns in groups.items():
        if name in NOT_A_REASON or not columns:
            continue
        variant = rows.copy()
        variant[:, columns] = baseline[columns].astype(np.float32)
        out[name] = scores - estimator.predict(variant)
    return out


def test_reasons_are_the_score_drops_of_the_reference_model_scoring_only_what_can_change(
    prepared: Prepared, model: LoadedModel
) -> None:
    catalog = prepared.log.catalog
    recommender = Recommender(catalog, model)
    meta = model.metadata
    groups = group_columns(meta.feature_names, {k: list(v) for k, v in meta.feature_groups.items()})
    baseline = np.asarray(meta.baseline)
    counting = CountingRanker.__new__(CountingRanker)
    counting.__setstate__(model.estimator.__getstate__())
    counting.calls = []
    scored = 0
    for user in _busy_users(prepared, 12):
        state, products, neighbours = _inputs(prepared, recommender, user)
        result = recommender.recommend(state, products, neighbours, RecommendContext(k=10))
        positions = catalog.index_of([item.product_id for item in result.items])
        found = candidates_for(
            signals_from_state(state, catalog),
            recommender.snapshot(products),
            neighbours_from_map(catalog, neighbours),
        )
        at = {int(p): i for i, p in enumerate(found.products)}
        rows = recommender.features.rows(state, found, products, state.at)[
            [at[int(p)] for p in positions]
        ]
        scores = counting.score_rows(rows)
        counting.calls.clear()
        drops = score_drops(counting, rows, scores, groups, baseline)
        expected = _brute_force_drops(model.estimator, rows, groups, baseline)
        for i, row_drops in enumerate(drops):
            want = sorted(
                ((name, d[i]) for name, d in expected.items() if d[i] > 1e-9),
                key=lambda pair: -pair[1],
            )
            assert [d.group for d in row_drops] == [name for name, _ in want]
            assert np.allclose([d.drop for d in row_drops], [d for _, d in want], atol=1e-6)
        # One call, scoring only the (group, product) pairs that can change: groups the
        # trees use, on products not already at the baseline on all of the group's columns.
        assert len(counting.calls) == 1
        used = ScoreDrops(counting, groups, baseline).names
        at_baseline = baseline.astype(np.float32)
        can_change = sum(
            int((rows[:, groups[name]] != at_baseline[groups[name]]).any(axis=1).sum())
            for name in used
        )
        assert counting.calls[0] == can_change
        scored += counting.calls[0]
    assert scored > 0


# --- the shown items' reasons against the straightforward computation ---------------------


def _straight_reason(
    catalog: Catalog,
    group: str,
    state: UserState,
    product: int,
    query: str | None,
    cooc_title: str | None,
    share: float,
) -> Reason | None:
    """``ReasonFacts.reason`` written the plain way: every count a walk over the shopper's
    recent items, every catalog value read where it is needed."""
    weight = round(share, 4)
    category = catalog.categories[int(catalog.category_code[product])]
    brand_code = int(catalog.brand_code[product])
    titles = catalog.frame["title"].fillna("").astype(str).to_numpy(dtype=object)
    recent = []  # (position, category code, brand code, ts) of known items, list order
    for item in state.recent:
        position = int(catalog.index_of([item.product_id])[0])
        if position >= 0:
            code = (int(catalog.category_code[position]), int(catalog.brand_code[position]))
            recent.append((position, *code, item.ts))
    if group == "category_affinity":
        in_category = [r for r in recent if r[1] == catalog.category_code[product]]
        views = sum(1 for r in in_category if not state.at - r[3] > 7 * why.DAY)
        if views:
            return Reason(
                code=group, facts={"category": category, "views_7d": views}, weight=weight
            )
        if in_category:
            facts: dict[str, FactValue] = {"category": category, "interactions": len(in_category)}
            return Reason(code=group, facts=facts, weight=weight)
        return why.declared(catalog, state, product, weight)
    if group == "brand_affinity" and brand_code >= 0:
        total = sum(1 for r in recent if r[2] == brand_code)
        if total == 0:
            return why.declared(catalog, state, product, weight)
        facts = {"brand": catalog.brands[brand_code], "interactions": total}
        return Reason(code=group, facts=facts, weight=weight)
    if group == "declared_interest":
        return why.declared(catalog, state, product, weight)
    if group == "recency":
        seen = [r for r in state.recent if r.product_id == catalog.product_ids[product]]
        if not seen:
            return None
        days = int(max(state.at - seen[0].ts, 0.0) // why.DAY)
        facts = {"title": str(titles[product]), "days_ago": days}
        return Reason(code="recently_viewed", facts=facts, weight=weight)
    if group == "price_fit":
        if state.price_viewed.weight <= 0:
            return None
        paid = float(catalog.price[product] * (1.0 - catalog.discount[product]))
        facts = {"price": round(paid, 2), "typical_price": round(state.price_viewed.mean, 2)}
        return Reason(code=group, facts=facts, weight=weight)
    if group in ("popularity", "conversion"):
        return why.popular(category, weight)
    if group == "trending":
        return why.trending(category, weight)
    if group == "discount":
        pct = round(float(catalog.discount[product]) * 100)
        return Reason(code=group, facts={"discount_pct": pct}, weight=weight) if pct > 0 else None
    if group == "freshness":
        launch = float(catalog.launch_ts[product])
        if not (np.isfinite(launch) and (state.at - launch) / why.DAY <= why.NEW_ARRIVAL_DAYS):
            return None
        return why.new_arrival(catalog, product, state.at, weight)
    if group == "similarity_to_recent":
        like = [
            r[0]
            for r in recent
            if r[0] != product
            and (r[1] == catalog.category_code[product] or r[2] == catalog.brand_code[product])
        ]
        if not like:
            return None
        return Reason(
            code="similar_to_recent", facts={"title": str(titles[like[0]])}, weight=weight
        )
    if group == "query_match":
        terms = why.matched_terms(query, str(titles[product]))
        return why.query_match(query, terms, weight) if query else None
    if group == "co_occurrence":
        if cooc_title is None:
            return None
        return Reason(code="co_viewed", facts={"title": cooc_title}, weight=weight)
    return None


def _straight_reasons(
    recommender: Recommender,
    state: UserState,
    products: npt.NDArray[np.int64],
    rows: npt.NDArray[np.float32],
    query: str | None,
    neighbours: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]],
    recent: npt.NDArray[np.int64],
) -> list[list[Reason]]:
    """Every reason group of every shown row set to the baseline and scored (the served
    trees, one call per group), then for each row its groups strongest first, each turned
    into a reason until three distinct codes."""
    catalog, model = recommender.catalog, recommender.model
    assert model is not None
    meta = model.metadata
    groups = group_columns(meta.feature_names, {k: list(v) for k, v in meta.feature_groups.items()})
    baseline = np.asarray(meta.baseline).astype(np.float32)
    used = model.estimator.used_features()
    scores = model.estimator.score_rows(rows)
    drops: dict[str, npt.NDArray[np.float64]] = {}
    for name, columns in groups.items():
        if name in NOT_A_REASON or not columns or not used[columns].any():
            continue
        variant = rows.copy()
        variant[:, columns] = baseline[columns]
        drops[name] = scores - model.estimator.score_rows(variant)
    titles = catalog.frame["title"].fillna("").astype(str).to_numpy(dtype=object)
    out = []
    for i, product in enumerate(products.tolist()):
        cooc_title = None
        for item in recent.tolist():  # most recent first
            if product in neighbours.get(item, (np.zeros(0, np.int64), None))[0].tolist():
                cooc_title = str(titles[item])
                break
        ordered = sorted(
            ((name, float(d[i])) for name, d in drops.items() if d[i] > 1e-9),
            key=lambda pair: -pair[1],
        )
        total = sum(d for _, d in ordered) or 1.0
        found: list[Reason] = []
        for name, drop in ordered:
            reason = _straight_reason(
                catalog, name, state, product, query, cooc_title, drop / total
            )
            if reason is not None and reason.code not in {r.code for r in found}:
                found.append(reason)
            if len(found) == 3:
                break
        out.append(found)
    return out


def test_the_shown_items_reasons_are_the_straightforward_ones_over_random_requests(
    prepared: Prepared, model: LoadedModel
) -> None:
    catalog = prepared.log.catalog
    recommender = Recommender(catalog, model)
    reasoner = recommender.reasoner
    assert reasoner is not None
    calls: list[tuple[Any, ...]] = []
    served = reasoner.reasons

    def recording(*args: Any, **kwargs: Any) -> list[list[Reason]]:
        out = served(*args, **kwargs)
        calls.append((*args, kwargs["recent"], out))
        return out

    reasoner.reasons = recording  # type: ignore[method-assign]
    rng = np.random.default_rng(13)
    users = _busy_users(prepared, 60)
    compared = codes = 0
    seen_codes: set[str] = set()
    for user in rng.choice(users, 24, replace=False).tolist():
        state, products, neighbours = _inputs(prepared, recommender, user)
        query = None
        if rng.random() < 0.4:  # words from a title the shopper saw, or from any product
            titles = reasoner.facts.titles
            picked = catalog.index_of([state.recent[0].product_id])[0] if state.recent else -1
            title = str(titles[picked if picked >= 0 else rng.integers(len(catalog))])
            query = " ".join(rng.permutation(title.split())[:2].tolist())
        context = RecommendContext(k=int(rng.integers(1, 21)), query=query)
        calls.clear()
        recommender.recommend(state, products, neighbours, context)
        if not calls:
            continue
        (_, shown, rows, _, asked, index, recent, got) = calls[0]
        want = _straight_reasons(recommender, state, shown, rows, asked, index, recent)
        assert got == want
        compared += len(shown)
        codes += sum(len(r) for r in got)
        seen_codes |= {r.code for reasons in got for r in reasons}
    assert compared > 100
    assert codes > 2 * compared
    # The facts that changed how they are counted were all exercised.
    assert {"category_affinity", "similar_to_recent", "price_fit", "popular"} <= seen_codes


def test_ranking_rows_are_the_column_stack_of_their_parts_over_random_candidates(
    prepared: Prepared,
) -> None:
    """The rows as one array written block by block equal the plain build: the store's
    features, then the request's columns stacked as float64 and rounded once to float32."""
    catalog = prepared.log.catalog
    features = RankingFeatures(catalog)
    rng = np.random.default_rng(7)
    at = prepared.split_ts
    products = prepared.engine.product_features(at)
    states = [prepared.engine.user_state(u, at) for u in _busy_users(prepared, 6)]
    states.append(UserState(user_id="nobody-yet", at=at))
    for state in states:
        for learned in (False, True):
            n = int(rng.integers(0, min(300, len(catalog)) + 1))
            candidates = CandidateSet(
                products=rng.choice(len(catalog), n, replace=False).astype(np.int64),
                sources=rng.random((n, len(SOURCES))) < 0.3,
                cooc_score=rng.random(n) * (rng.random(n) < 0.5),
                query_score=rng.lognormal(0.0, 2.0, n),
                learned=rng.normal(0.0, 3.0, (n, len(LEARNED_FEATURES))) if learned else None,
            )
            history = ShopperHistory.of(state, catalog)
            share = history.category_count[catalog.category_code[candidates.products]] / max(
                history.category_count.sum(), 1.0
            )
            idle = np.log1p(history.idle_days) if history.size else -1.0
            request = np.column_stack(
                [
                    candidates.query_score,
                    candidates.cooc_score,
                    features.log_paid_vs_category[candidates.products],
                    candidates.sources.astype(np.float64),
                    candidates.learned_features(),
                    np.full(n, np.log1p(history.size)),
                    share,
                    np.full(n, idle),
                ]
            ).astype(np.float32)
            base = feature_matrix(state, candidates.products, products, catalog, at)
            want = np.hstack([base, request])
            got = features.rows(state, candidates, products, at)
            assert got.dtype == np.float32
            assert got.shape == (n, len(RANKING_FEATURES))
            np.testing.assert_array_equal(got, want)
