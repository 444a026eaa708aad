"""The hidden ground truth of a world: what each shopper really values, and when.

Only the evaluation oracle and explanation-claim checks may read it; features and
training see events only. The same utility function drives the simulator's choices, so
ranking by ``Truth.utility`` is the best any recommender could do.

Utility of product p for shopper u at time t::

    taste     * log(tastes_u(t)[category_p] + taste_floor)
  + brand     * affinity_u[brand_p]
  - price     * sensitivity_u * log(price_p * (1 - discount_p) / reference_price[category_p])
  + discount  * discount_p
  + quality   * quality_p

where tastes_u(t) moves linearly from ``taste_start`` towards ``taste_end`` by ``drift_u``
over the period. Before a product's launch its utility is ``-inf`` (it cannot be bought).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from shopmode.errors import NotFound
from world.catalog import CATEGORY_REF_PRICE, Catalog
from world.config import WorldConfig
from world.plans import SessionPlans
from world.shoppers import Shoppers
from world.vocabulary import CATEGORIES


@dataclass(frozen=True)
class Coefficients:
    taste: float = 1.0
    taste_floor: float = 0.05
    brand: float = 1.0
    price: float = 0.8
    discount: float = 2.0
    quality: float = 0.6


@dataclass(frozen=True)
class Truth:
    start_ts: float
    end_ts: float
    coefficients: Coefficients
    user_ids: np.ndarray
    taste_start: np.ndarray
    taste_end: np.ndarray
    drift: np.ndarray
    price_sensitivity: np.ndarray
    activity: np.ndarray
    affinity_key: np.ndarray  # sorted user * n_brands + brand
    affinity_value: np.ndarray
    product_ids: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    discount: np.ndarray
    launch_ts: np.ndarray
    quality: np.ndarray
    popularity: np.ndarray
    brand_names: np.ndarray
    colour: np.ndarray  # index into COLOURS, -1 unknown (what a search can match)
    material: np.ndarray  # index into material_names, -1 unknown
    material_names: np.ndarray
    sessions: SessionPlans | None = None  # what each session was for (once generated)

    @classmethod
    def of(cls, config: WorldConfig, catalog: Catalog, shoppers: Shoppers) -> Truth:
        n_brands = len(catalog.brand_names)
        key = shoppers.affinity_user * n_brands + shoppers.affinity_brand
        order = np.argsort(key, kind="stable")
        return cls(
            start_ts=config.start_ts,
            end_ts=config.end_ts,
            coefficients=Coefficients(),
            user_ids=shoppers.user_ids,
            taste_start=shoppers.taste_start,
            taste_end=shoppers.taste_end,
            drift=shoppers.drift,
            price_sensitivity=shoppers.price_sensitivity,
            activity=shoppers.activity,
            affinity_key=key[order],
            affinity_value=shoppers.affinity_value[order],
            product_ids=catalog.product_ids,
            category=catalog.category,
            brand=catalog.brand,
            price=catalog.price,
            discount=catalog.discount,
            launch_ts=catalog.launch_ts,
            quality=catalog.quality,
            popularity=catalog.popularity,
            brand_names=catalog.brand_names,
            colour=catalog.colour,
            material=catalog.material_code,
            material_names=catalog.material_names,
        )

    # -- lookups by id -------------------------------------------------------------------

    @cached_property
    def _users(self) -> pd.Index:
        index: pd.Index = pd.Index(self.user_ids.astype(str))
        return index

    @cached_property
    def _products(self) -> pd.Index:
        index: pd.Index = pd.Index(self.product_ids.astype(str))
        return index

    def user_index(self, user_ids: object) -> np.ndarray:
        """Row numbers of shoppers by id; an unknown id raises ``NotFound``."""
        return _indexer(self._users, user_ids, "user_id")

    def product_index(self, product_ids: object) -> np.ndarray:
        """Row numbers of products by id; an unknown id raises ``NotFound``."""
        return _indexer(self._products, product_ids, "product_id")

    def utility(self, user_ids: object, product_ids: object, at_ts: object) -> np.ndarray:
        """True utility of each product for each shopper at ``at_ts`` (numpy broadcasting).

        ``utility(["u000001"], catalog_ids, ts)`` scores the whole catalog for one shopper;
        ``utility(users[:, None], products[None, :], ts)`` gives a users x products matrix.
        """
        u = self.user_index(user_ids)
        p = self.product_index(product_ids)
        return self.utility_at(u, p, np.asarray(at_ts, dtype=np.float64))

    def top_categories(self, user_id: str, k: int = 3, at_ts: float | None = None) -> list[str]:
        """The shopper's ``k`` favourite categories at ``at_ts`` (default: end of the period)."""
        u = self.user_index(np.array([user_id]))
        ts = self.end_ts if at_ts is None else at_ts
        tastes = self.tastes_at(u, np.array([ts]))[0]
        best = np.argsort(-tastes, kind="stable")[:k]
        return [CATEGORIES[c].name for c in best if tastes[c] > 0]

    # -- index-based, used by the simulator ----------------------------------------------

    def tastes_at(self, u: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Category tastes of shoppers ``u`` at times ``ts`` (one row each)."""
        w = self._drift_weight(u, ts)[:, None]
        return np.asarray((1.0 - w) * self.taste_start[u] + w * self.taste_end[u])

    def utility_at(self, u: np.ndarray, p: np.ndarray, ts: np.ndarray) -> np.ndarray:
        u, p, ts = np.broadcast_arrays(u, p, ts)
        c = self.category[p]
        w = self._drift_weight(u, ts)
        taste = (1.0 - w) * self.taste_start[u, c] + w * self.taste_end[u, c]
        key = u * len(self.brand_names) + self.brand[p]
        pos = np.minimum(np.searchsorted(self.affinity_key, key), len(self.affinity_key) - 1)
        affinity = np.where(self.affinity_key[pos] == key, self.affinity_value[pos], 0.0)
        k = self.coefficients
        value = (
            self._taste_term(taste)
            + k.brand * affinity
            - k.price * self.price_sensitivity[u] * self._relative_price[p]
            + self._product_term[p]
        )
        return np.asarray(np.where(ts >= self.launch_ts[p], value, -np.inf))

    def utility_matrix(self, u: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Utility of every product for shoppers ``u`` at times ``ts``: (len(u), products)."""
        # Taste depends on the category only: take logs per category, then spread.
        taste = self._taste_term(self.tastes_at(u, ts))[:, self.category]
        n_brands = len(self.brand_names)
        lo, hi = np.searchsorted(self.affinity_key, [u * n_brands, (u + 1) * n_brands])
        affinity = np.zeros((len(u), n_brands))
        rows = np.repeat(np.arange(len(u)), hi - lo)
        idx = np.arange(rows.size) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
        idx += np.repeat(lo, hi - lo)
        affinity[rows, self.affinity_key[idx] % n_brands] = self.affinity_value[idx]
        k = self.coefficients
        value = taste + k.brand * affinity[:, self.brand]
        value -= (k.price * self.price_sensitivity[u])[:, None] * self._relative_price[None, :]
        value += self._product_term[None, :]
        value[ts[:, None] < self.launch_ts[None, :]] = -np.inf
        return value

    def _drift_weight(self, u: np.ndarray, ts: np.ndarray) -> np.ndarray:
        elapsed = np.clip((ts - self.start_ts) / (self.end_ts - self.start_ts), 0.0, 1.0)
        return np.asarray(self.drift[u] * elapsed)

    def _taste_term(self, taste: np.ndarray) -> np.ndarray:
        k = self.coefficients
        return np.asarray(k.taste * np.log(taste + k.taste_floor))

    @cached_property
    def _relative_price(self) -> np.ndarray:
        paid = self.price * (1.0 - self.discount)
        return np.asarray(np.log(paid / CATEGORY_REF_PRICE[self.category]))

    @cached_property
    def _product_term(self) -> np.ndarray:
        k = self.coefficients
        return np.asarray(k.discount * self.discount + k.quality * self.quality)


def _indexer(known: pd.Index, ids: object, field: str) -> np.ndarray:
    wanted = np.asarray(ids)
    flat = known.get_indexer(pd.Index(wanted.ravel().astype(str)))
    if (flat < 0).any():
        unknown = wanted.ravel()[np.flatnonzero(flat < 0)[0]]
        raise NotFound(f"unknown {field} {unknown!s}")
    return flat.reshape(wanted.shape)
