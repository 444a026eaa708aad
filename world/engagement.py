"""The simulator's own expectation of what a shopper engages with in a session.

Given what the generator had decided when a session began (the shopper's tastes at that
moment, drift included; the intent category; whether the home page is shown; whether
they search and what they type), the rest of a session is chance: which products the
home page and results page show, what gets clicked, which favourites get browsed, what
goes in the cart and gets bought. This replays that chance many times with the
simulator's own functions (``world.slates``) and returns each product's expected gain
in the evaluation's grading (``2**g - 1``; view 1, cart 2, purchase 3).

Views are estimated by replaying; the cart and checkout steps are binary logits on the
same utility, so given a view their expectation is exact:
``E[2**g - 1 | viewed] = 1 + 2 P(cart) + 4 P(cart) P(buy)``.
"""

from __future__ import annotations

import math

import numpy as np

from shopmode.errors import NotFound
from world.layout import Layout
from world.search import Queries
from world.sessions import BROWSE_RATE, SKIP_CART, SKIP_CHECKOUT
from world.slates import FAVOURITES, Slate, favourites, home_slates, search_slates, slate_clicks
from world.truth import Truth

REPLAYS = 256
BATCH = 32  # sessions replayed together (BATCH * REPLAYS rows of slates)
# Chance that a session browses at least s + 1 favourites (min(Poisson, 3) > s).
BROWSE_REACH = 1.0 - np.cumsum(
    [math.exp(-BROWSE_RATE) * BROWSE_RATE**k / math.factorial(k) for k in range(FAVOURITES)]
)


def expected_gains(
    truth: Truth, sessions: np.ndarray, replays: int = REPLAYS, seed: int = 0
) -> np.ndarray:
    """Expected graded gain of every product in each session: (len(sessions), products).

    ``sessions`` are rows of ``truth.sessions``. Deterministic for a given ``seed``.
    """
    plans = truth.sessions
    if plans is None:
        raise NotFound("this world's truth has no session plans (regenerate the world)")
    layout = Layout.of(truth)
    rng = np.random.default_rng(seed)
    out = np.zeros((len(sessions), truth.product_ids.size))
    for lo in range(0, len(sessions), BATCH):
        rows = np.asarray(sessions[lo : lo + BATCH])
        viewed = _view_chance(truth, layout, rows, replays, rng)
        utility = truth.utility_matrix(plans.user[rows], plans.start_ts[rows])
        cart = _logit(utility - SKIP_CART)
        out[lo : lo + len(rows)] = viewed * (
            1.0 + 2.0 * cart + 4.0 * cart * _logit(utility - SKIP_CHECKOUT)
        )
    return out


def _view_chance(
    truth: Truth, layout: Layout, rows: np.ndarray, replays: int, rng: np.random.Generator
) -> np.ndarray:
    """Share of replays in which each product's page was viewed: (len(rows), products)."""
    plans = truth.sessions
    assert plans is not None
    n_products = truth.product_ids.size
    session = np.repeat(np.arange(len(rows)), replays)
    replay = np.repeat(rows, replays)
    user, t0 = plans.user[replay], plans.start_ts[replay]
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (replay row, product, chance)

    home = np.flatnonzero(plans.shows_home[replay])
    seen.append(
        _clicked(rng, truth, home, user, t0, home_slates(rng, truth, layout, user[home], t0[home]))
    )

    favourite, valid = favourites(rng, truth, layout, user, t0, plans.intent[replay])
    r, slot = np.nonzero(valid)
    seen.append((r, favourite[r, slot], BROWSE_REACH[slot]))

    searching = np.flatnonzero(plans.searches[replay])
    q = plans.queries
    pick = replay[searching]
    queries = Queries(
        q.category[pick], q.brand[pick], q.colour[pick], q.material[pick], q.cap[pick]
    )
    slate = search_slates(rng, truth, layout, queries, truth.colour, truth.material, t0[searching])
    seen.append(_clicked(rng, truth, searching, user, t0, slate))

    # A product clicked on any slate is viewed for sure; browsed only, with its chance.
    row = np.concatenate([s[0] for s in seen])
    product = np.concatenate([s[1] for s in seen])
    chance = np.concatenate([s[2] for s in seen])
    key = row * n_products + product
    order = np.lexsort((-chance, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    key, chance = key[order][first], chance[order][first]
    cell = session[key // n_products] * n_products + key % n_products
    total = np.bincount(cell, weights=chance, minlength=len(rows) * n_products)
    return total.reshape(len(rows), n_products) / replays


def _clicked(
    rng: np.random.Generator,
    truth: Truth,
    rows: np.ndarray,
    user: np.ndarray,
    t0: np.ndarray,
    slate: Slate,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, pos, _ = slate_clicks(rng, truth, user[rows], t0[rows], slate)
    return rows[r], slate[0][r, pos], np.ones(r.size)


def _logit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(np.clip(-x, -50.0, 50.0))))
