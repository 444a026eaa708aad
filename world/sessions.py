"""Shopping sessions: slates of impressions, clicks with position bias, the purchase funnel.

Every choice is a multinomial logit on the hidden utility (``Truth``) with a no-choice
option, sampled with the Gumbel trick so a whole batch of sessions is a few array ops:

- a slate (home page: popular + in-taste + random items; or a search results page) is
  shown; the shopper clicks items in Plackett-Luce order while they beat "leave",
  at most ``MAX_CLICKS``, with position bias added to each item's attraction;
- each click opens the product page (a view); some sessions also browse the intent
  category directly (views without a click);
- each viewed item goes to the cart if it beats the cart threshold; each cart item is
  bought if it beats the checkout threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.events.rules import EventType
from world.catalog import Catalog
from world.choice import accepts
from world.config import DAY, WorldConfig
from world.layout import Layout
from world.plans import SessionPlans
from world.search import Queries, make_queries
from world.slates import Slate, favourites, home_slates, search_slates, slate_clicks
from world.truth import Truth

KINDS: tuple[str, ...] = tuple(kind.value for kind in EventType)
IMPRESSION, VIEW, CLICK, CART, PURCHASE, SEARCH = (
    KINDS.index(kind)
    for kind in (
        EventType.IMPRESSION,
        EventType.VIEW,
        EventType.CLICK,
        EventType.ADD_TO_CART,
        EventType.PURCHASE,
        EventType.SEARCH,
    )
)

SESSIONS_PER_DAY = 0.18  # for a shopper of average activity
SEARCH_FIRST = 0.35
SEARCH_AFTER_HOME = 0.2
BROWSE_RATE = 0.5
OFF_TASTE_INTENT = 0.15
# Outside options (the utility of doing nothing) set the funnel's rates.
SKIP_CART = 1.8
SKIP_CHECKOUT = 1.4
CHUNK = 4096  # sessions per batch


@dataclass(frozen=True)
class Schedule:
    user: np.ndarray
    start_ts: np.ndarray  # sorted
    intent: np.ndarray  # category index
    layout: Layout


@dataclass
class SessionEvents:
    """Events as parallel arrays; ``phase`` and ``step`` order them inside a session."""

    session: np.ndarray
    phase: np.ndarray
    step: np.ndarray
    kind: np.ndarray
    product: np.ndarray  # -1: none
    position: np.ndarray  # -1: none
    query: np.ndarray  # index into queries, -1: none
    quantity: np.ndarray  # 0: none
    queries: list[str]


def schedule_sessions(
    config: WorldConfig, truth: Truth, signup_ts: np.ndarray, rng: np.random.Generator
) -> Schedule:
    """When each shopper shops: a heterogeneous Poisson number of sessions per day.

    Shoppers shop from the first full day after signing up; each session has an intent
    category drawn from the shopper's tastes on that day (sometimes something else).
    """
    day_starts = config.start_ts + DAY * np.arange(config.days)
    active = signup_ts[:, None] < day_starts[None, :]
    rate = SESSIONS_PER_DAY * truth.activity[:, None] * active
    counts = rng.poisson(rate).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    user, day = np.divmod(cell, config.days)
    evening = rng.random(cell.size) < 0.6
    hour = np.where(evening, rng.normal(20.0, 1.5, cell.size), rng.uniform(7.0, 22.5, cell.size))
    start = day_starts[day] + np.clip(hour, 0.5, 22.8) * 3600.0
    order = np.argsort(start, kind="stable")
    user, start = user[order], np.round(start[order], 3)

    tastes = truth.tastes_at(user, start)
    roll = rng.random(user.size)[:, None]
    in_taste = np.argmax(np.cumsum(tastes, axis=1) > roll, axis=1)
    explore = rng.integers(0, tastes.shape[1], size=user.size)
    intent = np.where(rng.random(user.size) < OFF_TASTE_INTENT, explore, in_taste)
    return Schedule(user=user, start_ts=start, intent=intent, layout=Layout.of(truth))


def simulate_sessions(
    schedule: Schedule, truth: Truth, catalog: Catalog, rng: np.random.Generator
) -> tuple[SessionEvents, SessionPlans]:
    """Every scheduled session's events, and what each session was for (hidden)."""
    parts: list[dict[str, np.ndarray]] = []
    plans: list[tuple[int, np.ndarray, np.ndarray, Queries, list[str]]] = []
    queries: list[str] = []
    for lo in range(0, schedule.user.size, CHUNK):
        hi = min(lo + CHUNK, schedule.user.size)
        part, searched, home, searching = _simulate_chunk(schedule, lo, hi, truth, catalog, rng)
        texts = searched.texts(truth.brand_names, catalog.material_names)
        part["query"] = np.where(part["query"] >= 0, part["query"] + len(queries), -1)
        queries.extend(texts)
        parts.append(part)
        plans.append((lo, home, searching, searched, texts))
    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    empty = np.zeros(0, dtype=np.int64)
    return SessionEvents(
        session=columns.get("session", empty),
        phase=columns.get("phase", empty),
        step=columns.get("step", empty),
        kind=columns.get("kind", empty),
        product=columns.get("product", empty),
        position=columns.get("position", empty),
        query=columns.get("query", empty),
        quantity=columns.get("quantity", empty),
        queries=queries,
    ), SessionPlans.of(schedule.user, schedule.start_ts, schedule.intent, plans)


class _Log:
    """Accumulates one chunk's events column by column."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {
            k: [] for k in ("session", "phase", "step", "kind", "product", "position", "query")
        }
        self.columns["quantity"] = []

    def add(
        self, session: np.ndarray, phase: int, step: np.ndarray, kind: int, **extra: np.ndarray
    ) -> None:
        n = session.size
        self.columns["session"].append(session)
        self.columns["phase"].append(np.full(n, phase))
        self.columns["step"].append(np.broadcast_to(step, n))
        self.columns["kind"].append(np.full(n, kind))
        for name in ("product", "position", "query", "quantity"):
            default = 0 if name == "quantity" else -1
            self.columns[name].append(np.broadcast_to(extra.get(name, default), n))

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v).astype(np.int64) for k, v in self.columns.items()}


def _simulate_chunk(
    schedule: Schedule, lo: int, hi: int, truth: Truth, catalog: Catalog, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], Queries, np.ndarray, np.ndarray]:
    user, t0, intent = schedule.user[lo:hi], schedule.start_ts[lo:hi], schedule.intent[lo:hi]
    layout = schedule.layout
    session = np.arange(lo, hi)
    n = hi - lo
    log = _Log()

    roll = rng.random((n, 2))
    home = np.flatnonzero(roll[:, 0] >= SEARCH_FIRST)
    searching = np.flatnonzero((roll[:, 0] < SEARCH_FIRST) | (roll[:, 1] < SEARCH_AFTER_HOME))

    home_slate = home_slates(rng, truth, layout, user[home], t0[home])
    views = [_show_slate(rng, log, session, home, home_slate, truth, user, t0, 0)]

    # What they search for or browse: the intent category's products they like.
    favourite, valid = favourites(rng, truth, layout, user, t0, intent)
    queries = make_queries(
        rng,
        intent[searching],
        np.where(valid[searching, 0], favourite[searching, 0], -1),
        truth.price_sensitivity[user[searching]],
        truth.brand,
        catalog.material_code,
    )
    log.add(session[searching], 2, np.zeros(1, np.int64), SEARCH, query=np.arange(searching.size))
    search_slate = search_slates(
        rng, truth, layout, queries, catalog.colour, catalog.material_code, t0[searching]
    )
    views.append(_show_slate(rng, log, session, searching, search_slate, truth, user, t0, 3))

    # Browsing the intent category directly: product pages reached without a slate click.
    wanted = np.minimum(rng.poisson(BROWSE_RATE, n), 3)[:, None] > np.arange(3)[None, :]
    rows, slot = np.nonzero(wanted & valid)
    log.add(session[rows], 5, slot, VIEW, product=favourite[rows, slot])
    views.append((rows, favourite[rows, slot]))

    rows = np.concatenate([v[0] for v in views])
    products = np.concatenate([v[1] for v in views])
    _, first = np.unique(rows * catalog.size + products, return_index=True)
    first.sort()
    rows, products = rows[first], products[first]
    carted = accepts(rng, truth.utility_at(user[rows], products, t0[rows]), SKIP_CART)
    rows, products = rows[carted], products[carted]
    bulk = catalog.bulk[products]
    quantity = np.where(
        bulk, 1 + np.minimum(rng.poisson(0.7, rows.size), 3), 1 + (rng.random(rows.size) < 0.06)
    )
    step = np.arange(rows.size)
    log.add(session[rows], 6, step, CART, product=products, quantity=quantity)
    bought = accepts(rng, truth.utility_at(user[rows], products, t0[rows]), SKIP_CHECKOUT)
    log.add(
        session[rows[bought]],
        7,
        step[bought],
        PURCHASE,
        product=products[bought],
        quantity=quantity[bought],
    )
    return log.arrays(), queries, home, searching


def _show_slate(
    rng: np.random.Generator,
    log: _Log,
    session: np.ndarray,
    rows: np.ndarray,
    slate: Slate,
    truth: Truth,
    user: np.ndarray,
    t0: np.ndarray,
    phase: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Log a slate's impressions, then its clicks and their product views.

    Returns the (row, product) of every view, for the cart step.
    """
    items, shown = slate
    r, pos = np.nonzero(shown)
    log.add(session[rows[r]], phase, pos, IMPRESSION, product=items[r, pos], position=pos)
    r, pos, rank = slate_clicks(rng, truth, user[rows], t0[rows], slate)
    clicked = items[r, pos]
    log.add(session[rows[r]], phase + 1, 2 * rank, CLICK, product=clicked, position=pos)
    log.add(session[rows[r]], phase + 1, 2 * rank + 1, VIEW, product=clicked)
    return rows[r], clicked
