"""Searches: what a shopper types, and the results page the shop answers with.

A query comes from the session's intent: the category's words, sometimes the brand of a
product the shopper would like, a colour or material, and sometimes a price cap
("under $50"). Results favour matching products, then popular ones, with some shuffle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from world.catalog import CATEGORY_REF_PRICE
from world.choice import exponential
from world.vocabulary import CATEGORIES, COLOURS, PRICE_CAPS

_CAPS = np.array(PRICE_CAPS, dtype=np.float64)


@dataclass(frozen=True)
class Queries:
    """One row per search: the intent and the optional refinements (-1 / NaN when absent)."""

    category: np.ndarray
    brand: np.ndarray
    colour: np.ndarray
    material: np.ndarray  # index into material_names
    cap: np.ndarray

    def texts(self, brand_names: np.ndarray, material_names: np.ndarray) -> list[str]:
        out = []
        for i, c in enumerate(self.category.tolist()):
            words = []
            if self.brand[i] >= 0:
                words.append(str(brand_names[self.brand[i]]))
            if self.colour[i] >= 0:
                words.append(COLOURS[self.colour[i]])
            if self.material[i] >= 0:
                words.append(str(material_names[self.material[i]]))
            words.append(CATEGORIES[c].name)
            if not np.isnan(self.cap[i]):
                words.append(f"under ${int(self.cap[i])}")
            out.append(" ".join(words).lower())
        return out


def make_queries(
    rng: np.random.Generator,
    intent: np.ndarray,
    wish: np.ndarray,
    sensitivity: np.ndarray,
    product_brand: np.ndarray,
    product_material: np.ndarray,
) -> Queries:
    """Queries for sessions with intent categories ``intent``.

    ``wish`` is the product each shopper has in mind (a liked one from the intent
    category); its brand or material sometimes makes it into the query.
    """
    n = len(intent)
    roll = rng.random((n, 4))
    has_wish = wish >= 0
    brand = np.where((roll[:, 0] < 0.3) & has_wish, product_brand[wish], -1)
    colour = np.where(roll[:, 1] < 0.12, rng.integers(0, len(COLOURS), size=n), -1)
    material = np.where((roll[:, 2] < 0.1) & has_wish, product_material[wish], -1)
    # Price-sensitive shoppers are the ones who type "under $N".
    wants_cap = roll[:, 3] < 0.08 * np.minimum(sensitivity, 3.0)
    cap_index = np.minimum(np.searchsorted(_CAPS, CATEGORY_REF_PRICE[intent]), len(_CAPS) - 1)
    cap = np.where(wants_cap, _CAPS[cap_index], np.nan)
    return Queries(intent, brand, colour, material, cap)


def results_scores(
    rng: np.random.Generator,
    queries: Queries,
    candidates: np.ndarray,
    popularity_in_category: np.ndarray,
    product_category: np.ndarray,
    product_brand: np.ndarray,
    product_colour: np.ndarray,
    product_material: np.ndarray,
    paid_price: np.ndarray,
) -> np.ndarray:
    """Scores of ``candidates`` (searches x products of the intent's department, -1 padded).

    The results page is the top of each row; padding scores ``-inf``.
    """
    p = np.maximum(candidates, 0)
    noise = -np.log(exponential(rng, candidates.shape))  # Gumbel
    score = np.log(popularity_in_category[p]) + 0.7 * noise
    score += np.where(product_category[p] == queries.category[:, None], 0.0, -4.0)
    b = queries.brand[:, None]
    score += np.where(b >= 0, np.where(product_brand[p] == b, 3.0, -2.0), 0.0)
    col = queries.colour[:, None]
    score += np.where((col >= 0) & (product_colour[p] == col), 1.5, 0.0)
    mat = queries.material[:, None]
    score += np.where((mat >= 0) & (product_material[p] == mat), 1.5, 0.0)
    cap = queries.cap[:, None]
    score += np.where(~np.isnan(cap) & (paid_price[p] > cap), -6.0, 0.0)
    score[candidates < 0] = -np.inf
    return np.asarray(score)
