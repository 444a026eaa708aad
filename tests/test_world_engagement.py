"""The session plans and the engagement oracle: faithful to what the simulator did."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.evaluation.metrics import ndcg_at_k
from models.ranking.judgements import Judgements
from shopmode.errors import NotFound
from world.engagement import expected_gains
from world.plans import SessionPlans
from world.truth import Truth
from world.truth_files import load_truth

GRADE = {"view": 1, "click": 1, "add_to_cart": 2, "purchase": 3}


@pytest.fixture(scope="module")
def truth(small_world: Path) -> Truth:
    return load_truth(small_world)


@pytest.fixture(scope="module")
def plans(truth: Truth) -> SessionPlans:
    assert truth.sessions is not None
    return truth.sessions


@pytest.fixture(scope="module")
def sessions(small_world: Path) -> pd.DataFrame:
    """Per logged session: its row in the plans, shopper, first event, whether it searched."""
    events = pd.read_parquet(small_world / "events.parquet")
    events = events[events["session_id"].notna()]
    return (
        events.groupby("session_id", sort=True)
        .agg(
            user_id=("user_id", "first"),
            first_ts=("ts", "min"),
            first_type=("type", "first"),
            query=("query", "first"),
            searched=("type", lambda t: bool((t == "search").any())),
        )
        .assign(row=lambda f: f.index.str[1:].astype(int))
    )


@pytest.fixture(scope="module")
def gains(small_world: Path) -> pd.Series:
    """Realised graded gain (2**g - 1) per (session, product) with engagement."""
    events = pd.read_parquet(small_world / "events.parquet")
    engaged = events[events["session_id"].notna() & events["type"].isin(list(GRADE))]
    best = engaged.assign(g=engaged["type"].map(GRADE)).groupby(["session_id", "product_id"])
    return 2.0 ** best["g"].max() - 1.0


def test_plans_say_what_each_logged_session_did(
    plans: SessionPlans, sessions: pd.DataFrame, truth: Truth
) -> None:
    rows = sessions["row"].to_numpy()
    assert len(plans) >= len(sessions) > 300
    assert (truth.user_ids[plans.user[rows]] == sessions["user_id"].to_numpy()).all()
    assert (plans.start_ts[rows] < sessions["first_ts"].to_numpy()).all()
    assert (plans.searches[rows] == sessions["searched"].to_numpy()).all()
    opened_with_search = (sessions["first_type"] == "search").to_numpy()
    assert (opened_with_search == (plans.searches & ~plans.shows_home)[rows]).all()
    # What the shopper typed is what the plans say they would type.
    searched = sessions[sessions["searched"]]
    assert len(searched) > 100
    assert [plans.texts[r] for r in searched["row"]] == searched["query"].tolist()
    assert all(plans.texts[r] is None for r in sessions.loc[~sessions["searched"], "row"])


def test_a_decision_just_before_a_session_finds_that_session(
    plans: SessionPlans, sessions: pd.DataFrame, truth: Truth
) -> None:
    users = truth.user_index(sessions["user_id"].to_numpy())
    found = plans.rows_at(users, sessions["first_ts"].to_numpy() - 1e-3)
    assert np.mean(found == sessions["row"].to_numpy()) > 0.995
    assert (plans.rows_at(users, np.full(len(users), truth.start_ts - 1.0)) == -1).all()


def test_expected_gain_matches_what_shoppers_did_on_average(
    truth: Truth, plans: SessionPlans, gains: pd.Series
) -> None:
    rows = np.arange(len(plans))
    expected = expected_gains(truth, rows, replays=64).sum(axis=1).mean()
    per_session = gains.groupby(level=0).sum()
    realised = per_session.reindex([f"s{r:07d}" for r in rows], fill_value=0.0).mean()
    assert realised > 1.0
    assert abs(expected - realised) / realised < 0.12


def test_the_oracle_ranks_what_shoppers_engaged_with_above_the_taste_oracle(
    truth: Truth, plans: SessionPlans, gains: pd.Series
) -> None:
    engaged = sorted(gains.index.get_level_values(0).unique())
    rows = np.array([int(s[1:]) for s in engaged])
    items, grades = [], []
    for sid in engaged:
        products = gains.loc[sid]
        items.append(truth.product_index(products.index.to_numpy()))
        grades.append(np.log2(products.to_numpy() + 1.0))  # back to the 1-3 grades
    judged = Judgements(items=items, gains=grades)
    simulated = expected_gains(truth, rows, replays=64)
    utility = truth.utility_matrix(plans.user[rows], plans.start_ts[rows])
    oracle = ndcg_at_k(np.argsort(-simulated, axis=1)[:, :10], judged, 10)
    taste = ndcg_at_k(np.argsort(-utility, axis=1)[:, :10], judged, 10)
    assert oracle > taste + 0.1


def test_expected_gains_are_deterministic_by_seed(truth: Truth) -> None:
    rows = np.arange(20)
    first = expected_gains(truth, rows, replays=16, seed=3)
    assert np.array_equal(first, expected_gains(truth, rows, replays=16, seed=3))
    assert not np.array_equal(first, expected_gains(truth, rows, replays=16, seed=4))


def test_a_truth_without_session_plans_is_named(truth: Truth) -> None:
    with pytest.raises(NotFound, match="session plans"):
        expected_gains(replace(truth, sessions=None), np.arange(3))
