"""The shop floor: which products sit in each category and department, and how to draw them.

Products are drawn with replacement from cumulative popularity tables (one binary search
per draw), so no step of the simulation needs a (sessions x whole catalog) matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from world.catalog import CATEGORY_DEPARTMENT
from world.truth import Truth


@dataclass(frozen=True)
class Layout:
    in_category: np.ndarray  # (categories x largest) product indices, -1 padded
    category_cdf: np.ndarray  # popularity CDF within each category row, padded with 1.0
    in_department: np.ndarray  # (departments x largest) product indices, -1 padded
    popularity_cdf: np.ndarray  # over the whole catalog
    popularity_in_category: np.ndarray  # per product, sums to 1 within each category

    @classmethod
    def of(cls, truth: Truth) -> Layout:
        pop = truth.popularity
        in_category = _members(truth.category)
        share = pop / np.bincount(truth.category, weights=pop)[truth.category]
        cdf = np.cumsum(np.where(in_category >= 0, share[np.maximum(in_category, 0)], 0.0), 1)
        cdf /= cdf[:, -1:]
        cdf[in_category < 0] = 1.0
        return cls(
            in_category=in_category,
            category_cdf=cdf,
            in_department=_members(CATEGORY_DEPARTMENT[truth.category]),
            popularity_cdf=np.cumsum(pop) / pop.sum(),
            popularity_in_category=share,
        )

    def popular(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Products drawn by shop-wide popularity."""
        u = rng.random(shape)
        top = self.popularity_cdf.size - 1
        return np.minimum(np.searchsorted(self.popularity_cdf, u), top)

    def from_categories(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        """One product per entry of ``category``, drawn by popularity within it."""
        return _draw_rows(self.category_cdf, self.in_category, category, rng.random(category.shape))


def draw_categories(rng: np.random.Generator, tastes: np.ndarray, per_row: int) -> np.ndarray:
    """``per_row`` categories per row of ``tastes`` (rows sum to 1), with replacement."""
    n, n_cats = tastes.shape
    cdf = np.cumsum(tastes, axis=1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(n)[:, None]).ravel()
    u = rng.random((n, per_row)) + np.arange(n)[:, None]
    index = np.minimum(np.searchsorted(flat, u), flat.size - 1)
    return np.asarray(index - np.arange(n)[:, None] * n_cats)


def _draw_rows(cdf: np.ndarray, members: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    # Offsetting row r by r turns every row's search into one search over a flat array.
    width = cdf.shape[1]
    flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()
    slot = np.searchsorted(flat, row + u) - row * width
    return np.asarray(members[row, np.clip(slot, 0, width - 1)])


def _members(group: np.ndarray) -> np.ndarray:
    """(groups x largest group) member indices, padded with -1."""
    n_groups = int(group.max()) + 1
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=n_groups)
    slot = np.arange(order.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    members = np.full((n_groups, max(int(sizes.max()), 1)), -1, dtype=np.int64)
    members[group[order], slot] = order
    return members
