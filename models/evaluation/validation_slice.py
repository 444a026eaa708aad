"""Stand-in for ``models.ranking.splits.validation_split`` (H10a) until it lands on main."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.ranking.decisions import DAY


def validation_start(events: pd.DataFrame, holdout_start: float) -> float:
    """The last 10% (at least a day) of the span of product activity before the holdout."""
    engaged = events.loc[events["product_id"].notna() & (events["ts"] < holdout_start), "ts"]
    first = float(engaged.min()) if len(engaged) else holdout_start - DAY
    days = max(1.0, np.floor(0.1 * (holdout_start - first) / DAY))
    return float(holdout_start - days * DAY)
