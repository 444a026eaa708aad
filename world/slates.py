"""What the shop shows a shopper, and what they click: the exposure half of a session.

Shared by the simulator (one draw per session) and the engagement oracle (many draws per
session, to estimate how likely each product is to be engaged with). Each function draws
from ``rng`` in a fixed order, so the simulator's output depends only on the seed.
"""

from __future__ import annotations

import numpy as np

from world.catalog import CATEGORY_DEPARTMENT
from world.choice import choices_before_leaving, first_unique, sample_top_k, top_k
from world.layout import Layout, draw_categories
from world.search import Queries, results_scores
from world.truth import Truth

SLATE_SIZE = 10
MAX_CLICKS = 3
FAVOURITES = 3
LEAVE_SLATE = 1.4  # utility of leaving a slate without (another) click
POSITION_BIAS = -0.8 * np.log1p(np.arange(SLATE_SIZE))  # log attention at each position
HOME_DRAWS = 40  # draws (with replacement) to fill a home slate of distinct products
HOME_POPULAR, HOME_IN_TASTE = 0.35, 0.85  # cumulative shares of the home slate's sources

Slate = tuple[np.ndarray, np.ndarray]  # (rows x SLATE_SIZE products, which slots are filled)


def home_slates(
    rng: np.random.Generator, truth: Truth, layout: Layout, user: np.ndarray, t0: np.ndarray
) -> Slate:
    """Home pages: popular, in-taste and random launched products.

    Drawing with replacement and keeping first occurrences is drawing without replacement
    in proportion to the mixture.
    """
    source = rng.random((user.size, HOME_DRAWS))
    tastes = truth.tastes_at(user, t0)
    drawn = np.where(
        source < HOME_POPULAR,
        layout.popular(rng, source.shape),
        np.where(
            source < HOME_IN_TASTE,
            layout.from_categories(rng, draw_categories(rng, tastes, HOME_DRAWS)),
            rng.integers(0, truth.product_ids.size, size=source.shape),
        ),
    )
    launched = truth.launch_ts[drawn] <= t0[:, None]
    return first_unique(drawn, launched, SLATE_SIZE)


def favourites(
    rng: np.random.Generator,
    truth: Truth,
    layout: Layout,
    user: np.ndarray,
    t0: np.ndarray,
    intent: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The intent category's products the shopper would go and look at, best liked first.

    Drawn by liking (utility plus log popularity within the category); also what a
    searching shopper has in mind. Returns (rows x 3 products, which exist).
    """
    candidates = layout.in_category[intent]
    p = np.maximum(candidates, 0)
    liking = truth.utility_at(user[:, None], p, t0[:, None])
    liking += np.log(layout.popularity_in_category[p])
    liking[candidates < 0] = -np.inf
    ranked, valid = sample_top_k(rng, liking, FAVOURITES)
    chosen = np.take_along_axis(candidates, ranked, axis=1)
    missing = FAVOURITES - chosen.shape[1]
    if missing > 0:  # a catalog whose categories hold fewer products than FAVOURITES
        chosen = np.pad(chosen, ((0, 0), (0, missing)), constant_values=-1)
        valid = np.pad(valid, ((0, 0), (0, missing)), constant_values=False)
    return chosen, valid


def search_slates(
    rng: np.random.Generator,
    truth: Truth,
    layout: Layout,
    queries: Queries,
    colour: np.ndarray,
    material: np.ndarray,
    t0: np.ndarray,
) -> Slate:
    """Results pages for ``queries`` (one per row), from the intent's department."""
    shelf = layout.in_department[CATEGORY_DEPARTMENT[queries.category]]
    paid = truth.price * (1.0 - truth.discount)
    results = results_scores(
        rng,
        queries,
        shelf,
        layout.popularity_in_category,
        truth.category,
        truth.brand,
        colour,
        material,
        paid,
    )
    results[truth.launch_ts[np.maximum(shelf, 0)] > t0[:, None]] = -np.inf
    best, shown = top_k(results, SLATE_SIZE)
    return np.take_along_axis(shelf, best, axis=1), shown


def slate_clicks(
    rng: np.random.Generator,
    truth: Truth,
    user: np.ndarray,
    t0: np.ndarray,
    slate: Slate,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clicks on each row's slate: (row, position, click rank) of every click."""
    items, shown = slate
    utility = truth.utility_at(user[:, None], items, t0[:, None])
    attraction = np.where(shown, utility + POSITION_BIAS[None, : items.shape[1]], -np.inf)
    return choices_before_leaving(rng, attraction, LEAVE_SLATE, MAX_CLICKS)
