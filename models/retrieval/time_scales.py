"""Request-time scales from the log's own cadence: how fast "recent" fades, which decayed
affinity and popularity to read, how long a product counts as new.

A shop whose shoppers come back daily and one whose shoppers come back after months need
different scales. ``shopmode train`` derives them from the gaps between a shopper's
consecutive sessions (start to start, over every shopper of the training part):

- recent-item half-life = the median gap, clamped to 1 hour - 30 days;
- affinity and popularity: the store's decayed sum (``HALF_LIVES``) nearest to 1.5 × the
  p90 gap (the store folds its sums at ingest, so a model can only choose among them);
- "new product" = launched within 1.5 × the p90 gap.

They are stored in the model's metadata, and replay and the service both read them from
there: the same scales offline and online. Recency is measured from the shopper's own
last event, so a shopper back after a quiet month still has their last session at full
weight. ``TimeScales()`` are the constants of a fast-moving shop (the defaults before
any model, and for models trained before scales existed).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.definitions import DAY, HALF_LIVES
from models.retrieval.cooccurrence import sessions_of

HOUR = 3600.0
MIN_RECENT_HALF_LIFE = HOUR
MAX_RECENT_HALF_LIFE = 30 * DAY
LONG_SCALE_PER_P90 = 1.5
MIN_NEW_PRODUCT_SECONDS = DAY
MAX_NEW_PRODUCT_SECONDS = 365 * DAY
STORE_HALF_LIFE_SPREAD = 4.0  # warn when no store half-life is within this factor


def nearest_store_half_life(seconds: float) -> str:
    """The store half-life label closest to ``seconds`` on a log scale."""
    return min(HALF_LIVES, key=lambda label: abs(math.log(HALF_LIVES[label] / seconds)))


@dataclass(frozen=True)
class TimeScales:
    """Scales in seconds (half-lives of the store named by their ``HALF_LIVES`` label)."""

    recent_half_life: float = DAY
    affinity_half_life: str = "14d"
    popularity_half_life: str = "14d"
    new_product_seconds: float = 14 * DAY
    median_gap: float | None = None
    p90_gap: float | None = None
    sessions: int = 0

    @classmethod
    def from_gaps(cls, gaps: np.ndarray, sessions: int = 0) -> TimeScales:
        """Scales for a log whose consecutive-session gaps are ``gaps`` (seconds)."""
        gaps = np.asarray(gaps, dtype=np.float64)
        if len(gaps) == 0:
            return cls()
        median, p90 = (float(q) for q in np.quantile(gaps, [0.5, 0.9]))
        long = max(LONG_SCALE_PER_P90 * p90, HOUR)
        return cls(
            recent_half_life=float(np.clip(median, MIN_RECENT_HALF_LIFE, MAX_RECENT_HALF_LIFE)),
            affinity_half_life=nearest_store_half_life(long),
            popularity_half_life=nearest_store_half_life(long),
            new_product_seconds=float(
                np.clip(long, MIN_NEW_PRODUCT_SECONDS, MAX_NEW_PRODUCT_SECONDS)
            ),
            median_gap=median,
            p90_gap=p90,
            sessions=sessions,
        )

    @classmethod
    def from_events(cls, events: pd.DataFrame) -> TimeScales:
        """Scales from the gaps between each shopper's consecutive product sessions."""
        engaged = events[events["product_id"].notna()]
        if engaged.empty:
            return cls()
        engaged = engaged.sort_values(["user_id", "ts"], kind="stable")
        session = sessions_of(engaged)
        starts = (
            pd.DataFrame(
                {"user": engaged["user_id"].to_numpy(), "session": session, "ts": engaged["ts"]}
            )
            .groupby(["user", "session"], sort=False)["ts"]
            .min()
            .reset_index()
            .sort_values(["user", "ts"], kind="stable")
        )
        same_user = starts["user"].to_numpy()[1:] == starts["user"].to_numpy()[:-1]
        gaps = np.diff(starts["ts"].to_numpy(dtype=np.float64))[same_user]
        return cls.from_gaps(gaps[gaps > 0], sessions=len(starts))

    def as_metadata(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, stored: dict[str, Any] | None) -> TimeScales:
        """Scales a model was trained with (today's constants for a model without)."""
        if not stored:
            return cls()
        known = {k: v for k, v in stored.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def store_warning(self) -> str | None:
        """Why the store's decayed sums may not fit this log's cadence, if they do not."""
        if self.median_gap is None or self.median_gap <= 0:
            return None
        ratios = [max(h / self.median_gap, self.median_gap / h) for h in HALF_LIVES.values()]
        if min(ratios) <= STORE_HALF_LIFE_SPREAD:
            return None
        have = ", ".join(HALF_LIVES)
        return (
            f"no store half-life ({have}) is within {STORE_HALF_LIFE_SPREAD:g}x of the log's "
            f"median gap between sessions ({self.median_gap / DAY:.1f} days): decayed "
            "affinities and popularity will fade too fast or too slowly for this shop"
        )

    def describe(self) -> str:
        """One line for ``shopmode train``."""
        if self.median_gap is None or self.p90_gap is None:
            return "time scales: defaults (no repeat sessions in the log)"
        return (
            f"time scales from {self.sessions:,} sessions (gap median "
            f"{_days(self.median_gap)}, p90 {_days(self.p90_gap)}): recent half-life "
            f"{_days(self.recent_half_life)}, affinity {self.affinity_half_life}, popularity "
            f"{self.popularity_half_life}, new products {_days(self.new_product_seconds)}"
        )


def _days(seconds: float) -> str:
    if seconds < DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} d"
