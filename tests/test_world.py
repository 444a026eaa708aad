"""The synthetic world: real files, real statistics. A world without signal fails here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from world.config import WorldConfig
from world.generate import generate_world
from world.truth import Truth
from world.truth_files import load_truth
from world.vocabulary import CATEGORIES

DAY = 86_400.0
FUNNEL = ("impression", "view", "click", "add_to_cart", "purchase", "search")
INTERESTS = ("follow_brand", "like_category")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough for stable statistics (a few hundred products), small enough to be quick."""
    out = tmp_path_factory.mktemp("world") / "medium"
    generate_world(WorldConfig(users=2_000, products=600, days=21, seed=11), out)
    return out


@pytest.fixture(scope="module")
def events(world: Path) -> pd.DataFrame:
    return pd.read_parquet(world / "events.parquet")


@pytest.fixture(scope="module")
def catalog(world: Path) -> pd.DataFrame:
    return pd.read_parquet(world / "catalog.parquet")


@pytest.fixture(scope="module")
def users(world: Path) -> pd.DataFrame:
    return pd.read_parquet(world / "users.parquet")


@pytest.fixture(scope="module")
def truth(world: Path) -> Truth:
    return load_truth(world)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    config = WorldConfig(users=150, products=80, days=4, seed=3)
    generate_world(config, tmp_path / "a")
    generate_world(config, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) >= 9
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate_world(WorldConfig(users=150, products=80, days=4, seed=4), tmp_path / "c")
    a = (tmp_path / "a" / "events.parquet").read_bytes()
    assert a != (tmp_path / "c" / "events.parquet").read_bytes()


def test_files_follow_the_documented_schemas(
    catalog: pd.DataFrame, users: pd.DataFrame, events: pd.DataFrame, world: Path
) -> None:
    assert list(catalog.columns) == [
        "product_id", "title", "description", "department", "category", "brand",
        "price", "discount", "attributes", "launch_ts",
    ]  # fmt: skip
    assert catalog["price"].dtype == np.float64
    assert catalog["launch_ts"].dtype == np.float64
    assert catalog["product_id"].is_unique
    assert catalog["product_id"].iloc[0] == "p00001"
    assert catalog["discount"].between(0.0, 0.9).all()
    assert (catalog["price"] > 0).all()
    attributes = catalog["attributes"].map(json.loads)
    assert attributes.map(lambda a: {"colour", "material"} <= a.keys()).all()

    assert list(users.columns) == [
        "user_id", "region", "age_band", "signup_ts", "brands_followed", "categories_liked",
    ]  # fmt: skip
    assert users["user_id"].iloc[0] == "u000001"
    assert users["user_id"].is_unique
    assert users["signup_ts"].dtype == np.float64
    assert users["brands_followed"].map(lambda v: all(isinstance(b, str) for b in v)).all()

    assert list(events.columns) == [
        "event_id", "user_id", "type", "product_id", "ts", "price", "quantity", "query",
        "session_id", "position", "brand", "category", "recommendation_id",
    ]  # fmt: skip
    assert str(events["quantity"].dtype) == "Int64"
    assert str(events["position"].dtype) == "Int64"
    assert events["ts"].dtype == np.float64
    assert events["event_id"].is_unique
    assert set(events["type"]) == set(FUNNEL + INTERESTS)
    assert events["recommendation_id"].isna().all()
    summary = json.loads((world / "world.json").read_text())
    assert summary["events"] == len(events)
    assert summary["events_by_type"] == events["type"].value_counts().sort_index().to_dict()


def test_the_catalog_reads_like_a_shop(catalog: pd.DataFrame) -> None:
    assert catalog["department"].nunique() >= 8
    assert catalog["category"].nunique() >= 40
    assert catalog["brand"].nunique() >= 60
    # Brands stay within a department, as real brands do.
    assert catalog.groupby("brand")["department"].nunique().max() == 1
    assert catalog["title"].str.split().str.len().min() >= 3
    assert (catalog["title"].str.split().str[0] == catalog["brand"]).all()
    by_category = catalog.groupby("category")["price"]
    assert by_category.median().max() > 20 * by_category.median().min()
    assert (by_category.max() / by_category.min()).median() > 2
    assert 0.1 < (catalog["discount"] > 0).mean() < 0.4


def test_events_refer_to_known_users_and_products(
    events: pd.DataFrame, catalog: pd.DataFrame, users: pd.DataFrame
) -> None:
    assert set(events["user_id"]) <= set(users["user_id"])
    shown = events["product_id"].dropna()
    assert set(shown) <= set(catalog["product_id"])
    product_events = events[events["type"].isin(FUNNEL[:-1])]
    assert product_events["product_id"].notna().all()


def test_time_runs_forward_inside_the_period(events: pd.DataFrame, truth: Truth) -> None:
    ts = events["ts"].to_numpy()
    assert (np.diff(ts) >= 0).all()
    assert ts.min() >= truth.start_ts
    assert ts.max() < truth.end_ts
    in_session = events.dropna(subset=["session_id"])
    assert in_session.groupby("session_id", sort=False)["ts"].is_monotonic_increasing.all()
    # A session's events stay within a couple of hours, as a visit does.
    span = in_session.groupby("session_id")["ts"].agg(lambda t: t.max() - t.min())
    assert span.max() < 3 * 3600


def test_nothing_happens_before_launch_or_signup(
    events: pd.DataFrame, catalog: pd.DataFrame, users: pd.DataFrame, truth: Truth
) -> None:
    launch = events["product_id"].map(catalog.set_index("product_id")["launch_ts"])
    assert (events["ts"][launch.notna()] >= launch.dropna()).all()
    signup = events["user_id"].map(users.set_index("user_id")["signup_ts"])
    assert (events["ts"] >= signup).all()
    new_arrivals = catalog[catalog["launch_ts"] > truth.start_ts]
    assert len(new_arrivals) > 10
    assert events["product_id"].isin(new_arrivals["product_id"]).any()
    newcomers = users[users["signup_ts"] > truth.start_ts]
    assert events["user_id"].isin(newcomers["user_id"]).any()


def test_popularity_is_heavy_tailed(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    views = events.loc[events["type"] == "view", "product_id"].value_counts()
    top_tenth = views.iloc[: len(catalog) // 10].sum()
    assert top_tenth >= 0.5 * views.sum()


def test_the_funnel_narrows_at_plausible_rates(events: pd.DataFrame) -> None:
    counts = events["type"].value_counts()
    assert counts["view"] > counts["click"] > counts["add_to_cart"] > counts["purchase"] > 0
    assert 0.02 < counts["click"] / counts["impression"] < 0.3
    assert 0.2 < counts["purchase"] / counts["add_to_cart"] < 0.9
    buyers = events.loc[events["type"] == "purchase", "user_id"].nunique()
    assert 1.5 < counts["purchase"] / buyers < 8
    # Every click opens the product page right after.
    in_session = events.dropna(subset=["session_id"])
    after = in_session.groupby("session_id").shift(-1)
    clicks = in_session["type"] == "click"
    assert (after.loc[clicks, "type"] == "view").all()
    assert (after.loc[clicks, "product_id"] == in_session.loc[clicks, "product_id"]).all()
    purchases = events[events["type"] == "purchase"]
    assert purchases["price"].notna().all()
    assert (purchases["quantity"] >= 1).all()


def test_purchase_prices_are_after_discount(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    purchases = events[events["type"] == "purchase"].merge(
        catalog[["product_id", "price", "discount"]], on="product_id", suffixes=("", "_list")
    )
    expected = (purchases["price_list"] * (1 - purchases["discount"])).round(2)
    assert np.allclose(purchases["price"], expected)
    assert (purchases["discount"] > 0).any()


def test_clicks_fall_with_position(events: pd.DataFrame) -> None:
    shown = events[events["type"] == "impression"].groupby("position").size()
    clicked = events[events["type"] == "click"].groupby("position").size()
    rate = (clicked / shown).to_numpy(dtype=float)
    assert len(rate) == 10
    assert rate[0] > 2 * rate[9]
    assert rate[:5].mean() > 1.5 * rate[5:].mean()


def test_purchases_follow_hidden_tastes_far_above_chance(
    events: pd.DataFrame, catalog: pd.DataFrame, truth: Truth
) -> None:
    purchases = events[events["type"] == "purchase"].merge(_categories(catalog), on="product_id")
    category_share = catalog["category"].value_counts(normalize=True)
    in_top, chance = [], []
    for row in purchases.itertuples():
        top = truth.top_categories(str(row.user_id), 2, float(row.ts))
        in_top.append(row.product_category in top)
        chance.append(category_share.reindex(top, fill_value=0.0).sum())
    assert np.mean(in_top) > 0.6
    assert np.mean(in_top) > 4 * np.mean(chance)


def test_declared_interests_agree_with_tastes_more_than_chance(
    users: pd.DataFrame, truth: Truth
) -> None:
    declared = users[users["categories_liked"].map(len) > 0]
    hits = [
        len(set(liked) & set(truth.top_categories(u, 3, truth.start_ts))) / len(liked)
        for u, liked in zip(declared["user_id"], declared["categories_liked"], strict=True)
    ]
    assert np.mean(hits) > 0.6
    assert users["brands_followed"].map(len).gt(0).mean() > 0.3


def test_searches_say_what_the_shopper_wants(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    searches = events[events["type"] == "search"]
    assert searches["query"].notna().all()
    assert searches["product_id"].isna().all()
    names = [c.name.lower() for c in CATEGORIES]
    wanted = searches["query"].map(lambda q: next(n for n in names if n in q))
    assert searches["query"].str.contains(r"under \$\d+").any()
    # The results page (the impressions after a search) is mostly in the searched category.
    following = events.dropna(subset=["session_id"]).copy()
    following["searched"] = following["query"].where(following["type"] == "search")
    following["searched"] = following.groupby("session_id")["searched"].ffill()
    results = following[(following["type"] == "impression") & following["searched"].notna()]
    results = results.merge(_categories(catalog), on="product_id")
    searched = results["searched"].map(dict(zip(searches["query"], wanted, strict=False)))
    assert (results["product_category"].str.lower() == searched).mean() > 0.6


def test_interest_events_name_a_brand_or_category(
    events: pd.DataFrame, catalog: pd.DataFrame
) -> None:
    follows = events[events["type"] == "follow_brand"]
    likes = events[events["type"] == "like_category"]
    assert len(follows) > 20
    assert len(likes) > 20
    assert follows["brand"].isin(catalog["brand"]).all()
    assert follows["product_id"].isna().all()
    assert likes["category"].isin(catalog["category"]).all()
    assert likes["session_id"].isna().all()


def _categories(catalog: pd.DataFrame) -> pd.DataFrame:
    return catalog[["product_id", "category"]].rename(columns={"category": "product_category"})


def _hit_rate(ranked: np.ndarray, bought: set[str]) -> float:
    return len(bought & set(ranked[:10].tolist())) / len(bought)


def test_true_utility_beats_popularity_by_a_wide_margin(
    events: pd.DataFrame, catalog: pd.DataFrame, truth: Truth
) -> None:
    split = truth.end_ts - 7 * DAY
    before = events[events["ts"] < split]
    later = events[(events["ts"] >= split) & (events["type"] == "purchase")]
    bought_before = before[before["type"] == "purchase"]["product_id"].value_counts()
    products = catalog["product_id"].to_numpy()
    popularity = bought_before.reindex(products, fill_value=0).to_numpy(dtype=float)
    oracle_hits, popular_hits = [], []
    for user, group in later.groupby("user_id"):
        at = float(group["ts"].min())
        bought = set(group["product_id"])
        utility = truth.utility(np.array([user]), products, at)
        oracle_hits.append(_hit_rate(products[np.argsort(-utility, kind="stable")], bought))
        launched = np.where(catalog["launch_ts"].to_numpy() <= at, popularity, -1.0)
        popular_hits.append(_hit_rate(products[np.argsort(-launched, kind="stable")], bought))
    assert len(oracle_hits) > 100
    assert np.mean(oracle_hits) >= 2 * np.mean(popular_hits)
    assert np.mean(oracle_hits) > 0.3


@settings(max_examples=12, deadline=None)
# Ten shoppers over two days can make no session at all: an empty log is a valid world.
@example(users=10, products=50, days=2, seed=47)
@given(
    users=st.integers(10, 40),
    products=st.integers(50, 90),
    days=st.integers(2, 4),
    seed=st.integers(0, 10_000),
)
def test_the_smallest_worlds_generate_whole(
    tmp_path_factory: pytest.TempPathFactory, users: int, products: int, days: int, seed: int
) -> None:
    # Categories then hold fewer products than a shopper's favourites; nothing may break.
    out = tmp_path_factory.mktemp("tiny") / "world"
    summary = generate_world(WorldConfig(users=users, products=products, days=days, seed=seed), out)
    events = pd.read_parquet(out / "events.parquet")
    assert len(events) == summary.events
    assert set(events["user_id"]) <= set(pd.read_parquet(out / "users.parquet")["user_id"])
    assert (out / "world.json").exists()
    assert summary.sessions == 0 or len(events) > 0
