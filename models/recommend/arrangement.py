"""The final order of a list: diversity re-ranking first, then exploration slots.

Both steps work on rows of one candidate list (``positions`` are their catalog
positions) and leave the ranker's scores untouched: the order changes, never a score.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from models.recommend.diversity import mmr_order
from models.recommend.exploration import DAY, ExplorationPolicy, with_exploration

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# MMR re-ranks this many of the best-scored candidates (never fewer than k).
DIVERSITY_POOL = 60


def arrange(
    catalog: Catalog,
    positions: IntArray,
    scores: FloatArray,
    k: int,
    *,
    diversity: float = 0.0,
    exploration: ExplorationPolicy | None = None,
    signals: FloatArray | None = None,
    promoted: npt.NDArray[np.bool_] | None = None,
    user_id: str = "",
    at: float = 0.0,
) -> tuple[IntArray, frozenset[int]]:
    """Rows of the top ``k`` in display order, and which of them hold an exploration slot.

    ``signals`` (per row) are the products' own decayed interactions, which decide when a
    new product stops needing a slot. ``promoted`` rows (a newcomer's declared interests)
    take every other place in the top ``k`` while they last.
    """
    order = np.argsort(-scores, kind="stable")
    if diversity > 0:
        pool = order[: max(DIVERSITY_POOL, k)]
        picked = mmr_order(
            scores[pool],
            catalog.category_code[positions[pool]],
            catalog.brand_code[positions[pool]],
            diversity,
            len(pool),
        )
        order = np.concatenate([pool[picked], order[len(pool) :]])
    if promoted is not None and promoted.any():
        order = interleave_promoted(order, promoted, k)
    if exploration is None or exploration.slots(k) == 0 or signals is None:
        return order[:k].astype(np.int64), frozenset()
    new = exploration.is_new(catalog.launch_ts[positions], signals, at)
    # Seeded per shopper and day: a reload shows the same list, tomorrow another draw.
    rng = np.random.default_rng(zlib.crc32(f"{user_id}:{int(at // DAY)}".encode()))
    blended = with_exploration(order.tolist(), scores, new, k, exploration, rng)
    return np.asarray(blended.order, dtype=np.int64), blended.explored


def interleave_promoted(order: IntArray, promoted: npt.NDArray[np.bool_], k: int) -> IntArray:
    """``order`` with its best promoted rows moved up to every second place of the top k;
    a row never moves down, and the rest keep their relative order."""
    rank = {int(row): r for r, row in enumerate(order)}
    ahead = [int(i) for i in order if promoted[i]][: (k + 1) // 2]
    moved = set(ahead)
    rest = [int(i) for i in order if int(i) not in moved]
    # Sort keys: the rest at even places, promoted rows at odd ones (or earlier if earned).
    keys = {row: 2 * i for i, row in enumerate(rest)}
    keys.update({row: min(2 * j + 1, rank[row]) for j, row in enumerate(ahead)})
    return np.asarray(sorted(keys, key=lambda row: (keys[row], rank[row])), dtype=np.int64)
